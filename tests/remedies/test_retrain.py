"""Retraining remedy: ExponentiatedGradient's curve checked against fairlearn/sklearn on raw rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cxaudit.checks.base import Threshold
from cxaudit.checks.bias.metrics import COUNT_METRICS
from cxaudit.remedies import retrain
from cxaudit.stats.intervals import wilson_interval


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    x1 = rng.normal(size=n) + (g == "a") * 1.0
    x2 = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x1 + 0.5 * x2)))).astype(np.int64)
    return pd.DataFrame({"x1": x1, "x2": x2}), y, g


def test_curve_points_match_fairlearn_metrics_on_raw_rows():
    x_ref, y_ref, g_ref = _data(seed=1)
    x, y, g = _data(seed=2)
    model = make_pipeline(StandardScaler(), LogisticRegression())
    fitted = retrain.fit_curve(model, x_ref, y_ref, g_ref, "DemographicParity",
                               bounds=(0.01, 0.2), max_iter=5)
    gcodes, groups = pd.factorize(pd.Series(g), sort=True)
    for fit in fitted:
        point = retrain.evaluate_point(fit["mitigator"], x, y, gcodes, list(groups),
                                       COUNT_METRICS["selection_rate"], True, "ratio",
                                       Threshold(min=0.8), 30)
        p = fit["mitigator"]._pmf_predict(x)[:, 1]
        decision = (p >= 0.5).astype(int)
        rates = MetricFrame(metrics=selection_rate, y_true=y, y_pred=decision,
                            sensitive_features=g).by_group
        det = point["deterministic"]
        assert det["worst"] == pytest.approx(rates.min() / rates.max())
        assert det["passes"] == bool(rates.min() / rates.max() >= 0.8)
        assert det["accuracy"] == pytest.approx(accuracy_score(y, decision))
        lo, hi = wilson_interval(int((decision == y).sum()), len(y), 0.95)
        assert det["accuracy_ci"] == pytest.approx([float(lo), float(hi)])
        # Katz log interval of the worst ratio, from the raw counts
        sel = pd.Series(decision).groupby(g).agg(["sum", "count"])
        worst, best = rates.idxmin(), rates.idxmax()
        se = np.sqrt(1 / sel.loc[worst, "sum"] - 1 / sel.loc[worst, "count"]
                     + 1 / sel.loc[best, "sum"] - 1 / sel.loc[best, "count"])
        ratio = rates.min() / rates.max()
        assert det["worst_ci"] == pytest.approx([ratio * np.exp(-1.959964 * se),
                                                 ratio * np.exp(1.959964 * se)], rel=1e-5)
        # expected form: the randomised mixture's expected selection rates and accuracy
        expected = pd.Series(p).groupby(g).mean()
        assert point["expected"]["worst"] == pytest.approx(expected.min() / expected.max())
        assert point["expected"]["accuracy"] == pytest.approx(np.mean(p * y + (1 - p) * (1 - y)))


def test_curve_is_deterministic_and_equals_fairlearn_fitted_alone():
    x_ref, y_ref, g_ref = _data(seed=3)
    a = retrain.fit_curve(LogisticRegression(), x_ref, y_ref, g_ref, "DemographicParity",
                          bounds=(0.05,), max_iter=4)[0]["mitigator"]
    b = retrain.fit_curve(LogisticRegression(), x_ref, y_ref, g_ref, "DemographicParity",
                          bounds=(0.05,), max_iter=4)[0]["mitigator"]
    alone = ExponentiatedGradient(LogisticRegression(), DemographicParity(difference_bound=0.05),
                                  max_iter=4).fit(x_ref, y_ref, sensitive_features=g_ref)
    np.testing.assert_array_equal(a._pmf_predict(x_ref), b._pmf_predict(x_ref))
    np.testing.assert_allclose(a._pmf_predict(x_ref), alone._pmf_predict(x_ref))


def test_difference_interval_is_newcombes_published_example():
    # Newcombe (1998), Stat Med 17:873, example (b): 56/70 vs 48/80 -> [0.0524, 0.3339]
    lo, hi = retrain.difference_interval(56, 70, 48, 80, 0.95)
    assert lo == pytest.approx(0.0524, abs=5e-4) and hi == pytest.approx(0.3339, abs=5e-4)


def test_tpr_difference_on_the_policys_terms():
    x, y, g = _data(seed=4)
    score = LogisticRegression().fit(x, y).predict_proba(x)[:, 1]
    decision = (score >= 0.5).astype(float)
    gcodes, groups = pd.factorize(pd.Series(g), sort=True)
    cells = retrain.cells_of(decision, y, gcodes, len(groups))
    out = retrain.policy_comparison(cells, list(groups), COUNT_METRICS["true_positive_rate"],
                                    True, "difference", Threshold(max=0.1), 30)
    tpr = MetricFrame(metrics=true_positive_rate, y_true=y, y_pred=decision,
                      sensitive_features=g).by_group
    assert out["worst"] == pytest.approx(tpr.max() - tpr.min())
    assert out["worst_ci"][0] <= out["worst"] <= out["worst_ci"][1]


def test_estimators_without_sample_weight_are_refused_with_the_reason():
    assert retrain.why_not_retrainable(make_pipeline(StandardScaler(), LogisticRegression())) is None
    reason = retrain.why_not_retrainable(make_pipeline(StandardScaler(), KNeighborsClassifier()))
    assert "KNeighborsClassifier" in reason and "sample_weight" in reason
    assert "cannot be cloned" in retrain.why_not_retrainable(object())
    assert "model" in retrain.why_not_retrainable(None)


def test_stratified_sample_keeps_every_stratum_and_is_seeded():
    strata = np.array(["a|0"] * 900 + ["a|1"] * 90 + ["b|1"] * 10)
    rows = retrain.stratified_sample(strata, 100, 0)
    assert len(rows) == 100 and set(strata[rows]) == {"a|0", "a|1", "b|1"}
    np.testing.assert_array_equal(rows, retrain.stratified_sample(strata, 100, 0))
    assert len(retrain.stratified_sample(strata, 5000, 0)) == 1000
