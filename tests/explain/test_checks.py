"""The explain.* checks end to end on the demo-shaped pipeline, against independent figures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from cxaudit.checks.registry import load_registry
from cxaudit.context import DECISION, group_column
from cxaudit.explain.shared import NOTES_KEY
from cxaudit.masking import hash_id
from cxaudit.result import Status
from cxaudit.runner import run_check, run_checks

from .conftest import FEATURES, aggregate_by_prefix

ALL_CHECKS = """
- {id: drivers, type: explain.global_importance}
- {id: protected, type: explain.protected_driver, top_k: 3, proxies: {gender: [Partner]}}
- {id: divergence, type: explain.group_divergence, threshold: {min: 0.5}}
- {id: reasons, type: explain.reason_codes, positive_outcome: offered a retention discount}
- {id: stability, type: explain.stability}
"""


@pytest.fixture(scope="module")
def reference(pipeline, split):
    """SHAP on every audited row, straight from shap on the fitted trees (census reference)."""
    import shap

    _, audited = split
    transformed = pipeline[:-1].transform(audited[FEATURES])
    raw = shap.TreeExplainer(pipeline[-1]).shap_values(transformed)
    return aggregate_by_prefix(np.asarray(raw), list(pipeline[:-1].get_feature_names_out()),
                               FEATURES)


@pytest.fixture(scope="module")
def audited_ctx(make_policy, make_context, pipeline, split):
    _, audited = split
    ctx = make_context(make_policy(ALL_CHECKS), audited, pipeline)
    return ctx, {r.id: r for r in run_checks(ctx)}


def run_on(ctx, check_type, **declaration):
    """Run one more check on an existing context (it reuses the cached explanation)."""
    cls = load_registry().get(check_type)
    return run_check(cls.params_model(id="extra", type=check_type, **declaration), ctx)


def _ranks(importance):
    order = sorted(range(len(FEATURES)), key=lambda i: (-importance[i], FEATURES[i]))
    return {FEATURES[i]: r for r, i in enumerate(order, start=1)}


def test_one_shared_explanation_and_importance_matches_reference(audited_ctx, reference, split):
    ctx, results = audited_ctx
    assert len(ctx.notes[NOTES_KEY]) == 1  # five checks, one SHAP computation
    assert {r.status for r in results.values()} <= {Status.PASS, Status.FAIL}
    drivers = results["drivers"]
    assert drivers.details["census"] and drivers.details["sample_size"] == len(split[1])
    expected = np.abs(reference).mean(axis=0)  # census: design weights are all 1
    got = {d["feature"]: d for d in drivers.details["importance"]}
    for i, feature in enumerate(FEATURES):
        assert got[feature]["mean_abs_shap"] == pytest.approx(expected[i], rel=1e-9, abs=1e-12)
        lo, hi = got[feature]["ci"]
        assert lo <= got[feature]["mean_abs_shap"] <= hi
    assert [d["feature"] for d in drivers.details["importance"]][:3] == sorted(
        FEATURES, key=lambda f: -expected[FEATURES.index(f)])[:3]
    seniors = split[1]["SeniorCitizen"].astype(str).to_numpy() == "1"
    senior_list = drivers.details["groups"]["SeniorCitizen"]["1"]["importance"]
    contract = next(d for d in senior_list if d["feature"] == "Contract")
    assert contract["mean_abs_shap"] == pytest.approx(
        np.abs(reference[seniors, FEATURES.index("Contract")]).mean())
    assert drivers.details["additivity_max_error"] < 1e-9
    assert drivers.details["output_space"] == "log-odds"


def test_group_divergence_agrees_with_scipy(audited_ctx, reference, split):
    _, results = audited_ctx
    check = results["divergence"]
    audited = split[1]
    gender = audited["gender"].astype(str).to_numpy()
    a = np.abs(reference[gender == "Female"]).mean(axis=0)
    b = np.abs(reference[gender == "Male"]).mean(axis=0)
    used = (a > 0) | (b > 0)
    expected = spearmanr(a[used], b[used]).statistic
    (metric,) = [m for m in check.metrics
                 if m.name == "importance_rank_correlation" and set(m.group) == {"gender"}]
    assert metric.value == pytest.approx(expected, abs=1e-12)
    assert metric.ci[0] <= metric.value + 1e-9 and metric.ci[1] >= metric.value - 1e-9
    pairs = [m for m in check.metrics if m.name == "importance_rank_correlation"]
    assert len(pairs) == 1 + 1 + 6  # gender, SeniorCitizen, and 4 intersection groups pairwise


def test_protected_driver_fails_for_a_top_proxy_and_passes_otherwise(audited_ctx, reference):
    ctx, _ = audited_ctx
    ranks = _ranks(np.abs(reference).mean(axis=0))
    top, low = min(ranks, key=ranks.get), max(ranks, key=ranks.get)
    failing = run_on(ctx, "explain.protected_driver", top_k=3, proxies={"SeniorCitizen": [top]})
    assert failing.status is Status.FAIL
    assert f"{top} (proxy for SeniorCitizen) is driver #1" in failing.summary
    (metric,) = [m for m in failing.metrics if m.name == "importance_rank"]
    assert metric.value == 1 and metric.status is Status.FAIL
    passing = run_on(ctx, "explain.protected_driver", top_k=3, proxies=[low])
    assert passing.status is Status.PASS
    assert f"{low} #{ranks[low]}" in passing.summary
    assert set(passing.details["not_model_inputs"]) == {"gender", "SeniorCitizen"}
    assert len(ctx.notes[NOTES_KEY]) == 1  # still the one explanation


def test_a_protected_attribute_used_as_input_is_a_candidate(make_policy, make_context, split):
    from .conftest import demo_pipeline

    train, audited = split
    features = [*FEATURES, "gender"]
    model = demo_pipeline(max_iter=15, features=features).fit(train[features], train["Churn"])
    policy = make_policy(f"- {{id: p, type: explain.protected_driver, top_k: {len(features)}, "
                         "sample_size: 200}")
    (result,) = run_checks(make_context(policy, audited, model))
    assert result.status is Status.FAIL and "gender (protected attribute)" in result.summary


def test_a_misspelt_proxy_is_an_error_with_a_suggestion(audited_ctx):
    result = run_on(audited_ctx[0], "explain.protected_driver", proxies=["Partnr"])
    assert result.status is Status.ERROR and "did you mean 'Partner'" in result.summary


def test_reason_codes_coverage_and_reasons_match_reference(audited_ctx, pipeline, split,
                                                           reference):
    _, audited = split
    result = run_on(audited_ctx[0], "explain.reason_codes", min_contribution=0.3,
                    positive_outcome="offered a retention discount", examples=20)
    proba = pipeline.predict_proba(audited[FEATURES])[:, list(pipeline.classes_).index("Yes")]
    adverse = proba < 0.5  # assistive: not being offered is the adverse decision
    covered = (reference[adverse] < -0.3).any(axis=1)
    (coverage,) = [m for m in result.metrics if m.name == "reason_coverage"]
    assert coverage.value == pytest.approx(covered.mean())
    assert coverage.n == adverse.sum()
    assert result.status is (Status.PASS if covered.mean() >= 0.95 else Status.FAIL)
    ids = audited["customerID"].to_numpy()
    by_hash = {hash_id(v): i for i, v in enumerate(ids)}
    assert len(result.details["examples"]) == 20
    for example in result.details["examples"]:
        row = by_hash[example["customer"]]
        assert adverse[row]
        pushes = [(reference[row, j], FEATURES[j]) for j in range(len(FEATURES))
                  if reference[row, j] < -0.3]
        expected = [f for _, f in sorted(pushes)[:4]]
        assert [r["feature"] for r in example["reasons"]] == expected
        for reason in example["reasons"]:
            assert reason["feature"] in reason["text"]
            assert "offered a retention discount" in reason["text"]
    text = result.model_dump_json()
    assert not any(str(v) in text for v in ids)  # raw customer ids never appear


def test_punitive_reasons_push_the_score_up(make_policy, make_context, pipeline, split):
    policy = make_policy("- {id: r, type: explain.reason_codes, positive_outcome: flagged, "
                         "sample_size: 300}", intervention="punitive")
    ctx = make_context(policy, split[1], pipeline)
    (result,) = run_checks(ctx)
    assert result.details["examples"]
    for example in result.details["examples"]:
        assert example["decision"] == "flagged"
        assert all(r["shap_value"] > 0 for r in example["reasons"])
    shared = next(iter(ctx.notes[NOTES_KEY].values()))
    flagged = shared.sample.rows[DECISION].to_numpy() == 1
    assert result.details["adverse_in_sample"] == int(flagged.sum())


def test_stability_recomputed_independently(audited_ctx):
    ctx, results = audited_ctx
    shared = next(iter(ctx.notes[NOTES_KEY].values()))
    absv, w = np.abs(shared.explanation.values), shared.sample.weights
    full = set(np.argsort(-np.average(absv, axis=0, weights=w))[:5])
    scores = []
    for counts in shared.counts:  # explicit resamples: repeat each row by its count
        rows = np.repeat(np.arange(len(w)), counts)
        imp = np.average(absv[rows], axis=0, weights=w[rows])
        top = set(np.argsort(-imp)[:5])
        scores.append(len(full & top) / len(full | top))
    (metric,) = [m for m in results["stability"].metrics if m.name == "top_k_jaccard"]
    assert metric.value == pytest.approx(np.mean(scores))


def test_stability_fails_when_drivers_are_interchangeable(make_policy, make_context, split):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(4)
    frame = split[1][["customerID", "gender", "SeniorCitizen"]].copy()
    xs = [f"x{i}" for i in range(6)]
    for x in xs:
        frame[x] = rng.normal(size=len(frame))
    frame["Churn"] = np.where(frame[xs].sum(axis=1) + rng.normal(size=len(frame)) > 0, "Yes", "No")
    model = LogisticRegression().fit(frame[xs], frame["Churn"])
    policy = make_policy("""
- {id: s, type: explain.stability, top_k: 3, sample_size: 200, threshold: {min: 0.95}}
""", data_extra=f"features: [{', '.join(xs)}]")
    (result,) = run_checks(make_context(policy, frame, model))
    assert result.status is Status.FAIL
    assert "LinearExplainer" in result.details["explainer"]


def test_sampled_audit_uses_design_weights(make_policy, make_context, pipeline, split, reference):
    _, audited = split
    policy = make_policy("- {id: g, type: explain.global_importance, sample_size: 400, "
                         "min_per_stratum: 40}")
    ctx = make_context(policy, audited, pipeline)
    (result,) = run_checks(ctx)
    shared = next(iter(ctx.notes[NOTES_KEY].values()))
    assert result.details["sample_size"] == shared.sample.size < len(audited)
    rows = audited.reset_index().set_index("customerID").loc[
        shared.sample.rows["customerID"], "index"].to_numpy()
    expected = np.average(np.abs(reference[rows]), axis=0, weights=shared.sample.weights)
    got = {d["feature"]: d["mean_abs_shap"] for d in result.details["importance"]}
    for i, feature in enumerate(FEATURES):
        assert got[feature] == pytest.approx(expected[i], rel=1e-9, abs=1e-12)
    groups = shared.sample.rows[group_column("SeniorCitizen")]
    assert (groups == "1").sum() >= 40  # the small group is represented


def test_explanations_that_do_not_add_up_are_an_error(make_policy, make_context, pipeline, split):
    from cxaudit.loaders.model import LoadedModel

    from .conftest import demo_pipeline

    train, audited = split
    served = demo_pipeline(max_iter=5).fit(train[FEATURES], train["Churn"])
    model = LoadedModel(estimator=pipeline, source="mlflow", kind="pyfunc", sha256=None,
                        feature_names=tuple(FEATURES),
                        predict_fn=lambda df: served.predict_proba(df)[:, 1])
    policy = make_policy("- {id: g, type: explain.global_importance, sample_size: 200}")
    (result,) = run_checks(make_context(policy, audited, model))
    assert result.status is Status.ERROR and "do not add up" in result.summary
    (metric,) = result.metrics
    assert metric.name == "additivity_max_error" and metric.status is Status.FAIL


def test_a_model_without_predict_is_an_error_and_the_gate_fails_closed(make_policy, split):
    from sklearn.preprocessing import StandardScaler

    from cxaudit.engines.local import LocalEngine
    from cxaudit.loaders.model import from_estimator
    from cxaudit.result import Verdict
    from cxaudit.runner import audit_loaded

    _, audited = split
    scaler = from_estimator(StandardScaler().fit(audited[["tenure", "MonthlyCharges"]]))
    for severity, verdict in (("block", Verdict.ERROR), ("warn", Verdict.WARN)):
        policy = make_policy(f"- {{id: g, type: explain.global_importance, severity: {severity}}}",
                             data_extra="prediction: Churn\nfeatures: [tenure, MonthlyCharges]")
        result = audit_loaded(policy, audited, engine=LocalEngine(), model=scaler)
        (check,) = result.checks
        assert check.status is Status.ERROR and "no predict" in check.summary
        assert result.verdict is verdict


def test_group_divergence_fails_when_groups_are_decided_on_different_grounds(
        make_policy, make_context, split):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(8)
    frame = split[1][["customerID", "gender", "SeniorCitizen"]].copy()
    female = (frame["gender"] == "Female").to_numpy()
    xs = [f"x{i}" for i in range(6)]
    for x in xs:
        frame[x] = rng.normal(size=len(frame))
    frame["segment"] = female.astype(float)  # a proxy the model can split on
    signal = np.where(female, frame[xs[:3]].sum(axis=1), frame[xs[3:]].sum(axis=1))
    frame["Churn"] = np.where(signal + 0.3 * rng.normal(size=len(frame)) > 0, "Yes", "No")
    features = ["segment", *xs]
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(frame[features],
                                                                           frame["Churn"])
    policy = make_policy("- {id: d, type: explain.group_divergence, threshold: {min: 0.5}}",
                         data_extra=f"features: [{', '.join(features)}]")
    ctx = make_context(policy, frame, model)
    (result,) = run_checks(ctx)
    assert result.status is Status.FAIL
    (gender,) = [m for m in result.metrics
                 if m.name == "importance_rank_correlation" and set(m.group) == {"gender"}]
    assert gender.status is Status.FAIL and gender.value < 0
    shared = next(iter(ctx.notes[NOTES_KEY].values()))
    assert shared.sample.census
    absv = np.abs(shared.explanation.values)
    rows_female = shared.sample.rows[group_column("gender")].to_numpy() == "Female"
    a, b = absv[rows_female].mean(axis=0), absv[~rows_female].mean(axis=0)
    used = (a > 0) | (b > 0)
    assert gender.value == pytest.approx(spearmanr(a[used], b[used]).statistic)
    (senior,) = [m for m in result.metrics
                 if m.name == "importance_rank_correlation" and set(m.group) == {"SeniorCitizen"}]
    assert senior.status is Status.PASS
