"""DeLong AUC and variance from cells, against scikit-learn, the paper's pairwise
formulas on raw rows and a case worked by hand; and the AUC check's intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cxaudit.checks.bias.cells import ValueCells
from cxaudit.checks.bias.valuestats import auc_value, auc_values, statistic_values
from cxaudit.stats.auc import delong
from cxaudit.stats.intervals import logit_interval, z_quantile


def _rows(seed: int = 3, n: int = 1500):
    rng = np.random.default_rng(seed)
    g = rng.choice(3, n, p=[0.55, 0.35, 0.10])
    score = np.round(np.clip(rng.beta(2, 3, n) + 0.05 * g, 0, 1), 2)  # rounded: many ties
    y = (rng.random(n) < np.clip(score, 0, 1)).astype(np.int64)
    return g, y, score


def _cells(g, y, score, keys=3) -> ValueCells:
    frame = pd.DataFrame({"g": g, "y": y, "v": score}).value_counts().reset_index()
    frame = frame.sort_values(["g", "v", "y"])
    return ValueCells(keys=[(str(k),) for k in range(keys)], group=frame["g"].to_numpy(),
                      label=frame["y"].to_numpy(), value=frame["v"].to_numpy(dtype=float),
                      count=frame["count"].to_numpy(), missing=np.zeros(keys, np.int64))


def _paper(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """DeLong et al. (1988) on raw rows: psi over all pairs, placements, S10/m + S01/n."""
    x, v = score[y == 1], score[y == 0]
    psi = (x[:, None] > v[None, :]) + 0.5 * (x[:, None] == v[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    auc = psi.mean()
    s10 = ((v10 - auc) ** 2).sum() / (len(x) - 1)
    s01 = ((v01 - auc) ** 2).sum() / (len(v) - 1)
    return float(auc), float(s10 / len(x) + s01 / len(v))


def test_hand_computed_case():
    # positives {0.9, 0.7}, negatives {0.8, 0.3}: V10 = (1, 0.5), V01 = (0.5, 1), AUC 0.75,
    # S10 = S01 = var(1, 0.5) = 0.125, variance 0.125/2 + 0.125/2 = 0.125.
    stats = delong(np.zeros(4, np.int64), np.array([0.3, 0.7, 0.8, 0.9]), np.array([0, 1, 0, 1]),
                   np.ones(4), 1)
    assert stats.auc[0] == 0.75
    assert stats.variance[0] == pytest.approx(0.125, abs=1e-15)
    # a tie between a positive and a negative counts one half
    tied = delong(np.zeros(3, np.int64), np.array([0.2, 0.6, 0.6]), np.array([0, 0, 1]),
                  np.ones(3), 1)
    assert tied.auc[0] == 0.75


def test_point_values_match_sklearn_and_the_bootstrap_statistic():
    g, y, score = _rows()
    cells = _cells(g, y, score)
    gv = auc_values(["g"], cells, intervals=True)
    for k in range(3):
        assert gv.value[k] == pytest.approx(roc_auc_score(y[g == k], score[g == k]), abs=1e-12)
    assert gv.overall == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    # bit for bit what the bootstrap statistic gives (the value the check reported before)
    np.testing.assert_array_equal(gv.value, auc_value(cells, cells.count[None, :])[0])


def test_variance_matches_the_papers_formulas():
    g, y, score = _rows(seed=11, n=900)
    gv = auc_values(["g"], _cells(g, y, score), intervals=True)
    for k in range(3):
        auc, var = _paper(y[g == k], score[g == k])
        assert gv.value[k] == pytest.approx(auc, abs=1e-12)
        assert gv.variance[k] == pytest.approx(var, rel=1e-9)
    assert gv.overall_variance == pytest.approx(_paper(y, score)[1], rel=1e-9)


def test_undefined_groups():
    # group 1: one class only (no AUC); group 2: a single positive (no variance)
    g = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2])
    y = np.array([0, 1, 0, 1, 0, 0, 1, 0, 0])
    s = np.array([0.1, 0.9, 0.4, 0.3, 0.5, 0.6, 0.7, 0.2, 0.8])
    gv = auc_values(["g"], _cells(g, y, s), intervals=True)
    assert math.isnan(gv.value[1]) and math.isnan(gv.variance[1])
    assert gv.value[2] == 0.5 and math.isnan(gv.variance[2])
    low, high = logit_interval(gv.value, gv.variance)
    assert np.isnan(low[1:]).all() and np.isfinite(low[0])


def test_variances_and_covariance_agree_with_the_bootstrap():
    g, y, score = _rows(seed=5, n=2500)
    cells = _cells(g, y, score)
    gv = auc_values(["g"], cells, intervals=True)
    boot = statistic_values(["g"], cells, cells, auc_value, n_boot=3000,
                            rng=np.random.default_rng(1))
    np.testing.assert_allclose(np.sqrt(gv.variance), boot.replicates.std(0, ddof=1), rtol=0.08)
    assert math.sqrt(gv.overall_variance) == pytest.approx(
        boot.overall_replicates.std(ddof=1), rel=0.08)
    cov = [np.cov(boot.replicates[:, k], boot.overall_replicates)[0, 1] for k in range(3)]
    np.testing.assert_allclose(gv.overall_covariance, cov, rtol=0.2)


def test_logit_interval():
    low, high = logit_interval(0.9, 0.0004, 0.95)
    z = z_quantile(0.95)
    half = z * 0.02 / (0.9 * 0.1)
    assert low == pytest.approx(1 / (1 + math.exp(-(math.log(9) - half))), rel=1e-12)
    assert high == pytest.approx(1 / (1 + math.exp(-(math.log(9) + half))), rel=1e-12)
    assert 0.9 - low > high - 0.9  # longer on the side away from 1
    assert logit_interval(1.0, 0.0) == (1.0, 1.0)


@pytest.mark.parametrize("compare", ["difference", "ratio"])
def test_the_check_reports_delong_intervals_and_tests(tmp_path, compare):
    from tests.bias.conftest import audit_frame

    g, y, score = _rows(seed=21, n=1200)
    frame = pd.DataFrame({"g": np.array(["a", "b", "c"])[g], "y": y, "score": score})
    check = {"id": "auc", "type": "bias.auc", "compare": compare, "min_group_size": 10}
    result = audit_frame(tmp_path, frame, [check], protected=["g"], prediction=None,
                         score="score").checks[0]
    rows = {r["label"]: r for r in result.details["comparisons"]}
    ref = rows["g=" + max("abc", key=lambda k: roc_auc_score(y[g == "abc".index(k)],
                                                          score[g == "abc".index(k)]))]
    assert ref["state"] == "reference"
    z = z_quantile(0.95)
    for k, name in enumerate("abc"):
        row = rows[f"g={name}"]
        auc, var = _paper(y[g == k], score[g == k])
        low, high = logit_interval(auc, var)
        assert row["value_ci"] == pytest.approx([low, high], rel=1e-9)
        if row["state"] != "compared":
            continue
        r_auc, r_var = _paper(y[g == "abc".index(ref["label"][-1])],
                              score[g == "abc".index(ref["label"][-1])])
        se = math.sqrt(var + r_var)
        gap = auc - r_auc
        assert row["test"] == "delong"
        assert row["p_raw"] == pytest.approx(math.erfc(abs(gap) / se / math.sqrt(2)), rel=1e-9)
        if compare == "difference":
            lo, hi = gap - z * se, gap + z * se
            want = [0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi))]
        else:
            se_log = math.sqrt(var / auc ** 2 + r_var / r_auc ** 2)
            want = [auc / r_auc * math.exp(-z * se_log), auc / r_auc * math.exp(z * se_log)]
        assert row["comparison_ci"] == pytest.approx(want, rel=1e-9)
    overall = [m for m in result.metrics if m.name == "auc" and not m.group][0]
    assert overall.ci == pytest.approx(logit_interval(*_paper(y, score)), rel=1e-9)


def test_reference_overall_uses_the_covariance(tmp_path):
    from tests.bias.conftest import audit_frame

    g, y, score = _rows(seed=22, n=1200)
    frame = pd.DataFrame({"g": np.array(["a", "b", "c"])[g], "y": y, "score": score})
    check = {"id": "auc", "type": "bias.auc", "compare": "difference", "reference": "overall",
             "min_group_size": 10}
    result = audit_frame(tmp_path, frame, [check], protected=["g"], prediction=None,
                         score="score").checks[0]
    rows = [r for r in result.details["comparisons"] if r["state"] == "compared"]
    assert len(rows) == 3 and all(r["test"] == "delong" and r["p_raw"] is not None for r in rows)
    cells = _cells(g, y, score)
    gv = auc_values(["g"], cells, intervals=True)
    for k, row in enumerate(rows):
        se = math.sqrt(gv.variance[k] + gv.overall_variance - 2 * gv.overall_covariance[k])
        assert se < math.sqrt(gv.variance[k] + gv.overall_variance)  # positively correlated
        gap = gv.value[k] - gv.overall
        assert row["p_raw"] == pytest.approx(math.erfc(abs(gap) / se / math.sqrt(2)), rel=1e-9)


def test_n_boot_zero_reports_no_intervals(tmp_path):
    from tests.bias.conftest import audit_frame

    g, y, score = _rows(seed=23, n=600)
    frame = pd.DataFrame({"g": np.array(["a", "b", "c"])[g], "y": y, "score": score})
    check = {"id": "auc", "type": "bias.auc", "n_boot": 0, "min_group_size": 10}
    result = audit_frame(tmp_path, frame, [check], protected=["g"], prediction=None,
                         score="score").checks[0]
    for row in result.details["comparisons"]:
        assert row["value_ci"] is None and row["comparison_ci"] is None and row["p_raw"] is None
