"""Behaviour of the bias checks through the real runner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxaudit.checks.bias.fdr import adjust_audit_p_values
from cxaudit.result import AuditResult, Status

from .conftest import audit_frame, cells_frame, metric

TELCO_DATA = {"label": "Churn", "prediction": "offer", "score": "score"}


def test_telco_intervals_and_insufficient_data(tmp_path, telco):
    """A public dataset: every group value has an interval around it; a large
    min_group_size turns the smaller groups into insufficient_data, never pass."""
    checks = [{"id": "tpr", "type": "bias.true_positive_rate", "min_group_size": 1200,
               "n_boot": 300}]
    result = audit_frame(tmp_path, telco, checks, protected=["gender", "SeniorCitizen"],
                         intersections=[["gender", "SeniorCitizen"]], **TELCO_DATA).checks[0]
    seniors = metric(result, "true_positive_rate_ratio", {"SeniorCitizen": "1"})
    assert seniors.status is Status.INSUFFICIENT_DATA and seniors.value is None
    assert "fewer than 1200 rows" in seniors.note
    for m in result.metrics:
        if m.name == "true_positive_rate" and m.group:
            assert m.ci is not None and m.ci[0] <= m.value <= m.ci[1]
    female = metric(result, "true_positive_rate_ratio", {"gender": "Female"})
    male = metric(result, "true_positive_rate_ratio", {"gender": "Male"})
    assert {female.status, male.status} <= {Status.PASS, Status.FAIL, Status.WARN}
    assert result.status in (Status.INSUFFICIENT_DATA, Status.FAIL, Status.WARN)
    rows = {r["label"]: r for r in result.details["comparisons"]}
    compared = [r for r in rows.values() if r["state"] == "compared"]
    assert compared and all(r["mde"] > 0 for r in compared)


def _gap_frame():
    # A: 10 of 40 selected (0.25); B: 7 of 40 (0.175): ratio 0.7, but far from significant.
    return cells_frame({"A": [30, 10, 0, 0], "B": [33, 7, 0, 0]})


@pytest.mark.parametrize(("block_on", "status"), [("point_estimate", Status.FAIL),
                                                  ("significant", Status.INCONCLUSIVE)])
def test_block_on_distinguishes_significant_from_point_estimate(tmp_path, block_on, status):
    checks = [{"id": "sr", "type": "bias.selection_rate", "block_on": block_on, "n_boot": 0}]
    result = audit_frame(tmp_path, _gap_frame(), checks, protected=["g"]).checks[0]
    b = metric(result, "selection_rate_ratio", {"g": "B"})
    assert b.value == pytest.approx(0.7)
    assert b.p_value == pytest.approx(stats.chi2_contingency([[10, 30], [7, 33]],
                                                             correction=False).pvalue)
    assert b.status is status and result.status is status
    assert ("not statistically significant" in result.summary) == (status is Status.INCONCLUSIVE)


def test_significant_gap_fails_under_block_on_significant(tmp_path):
    frame = cells_frame({"A": [300, 200, 0, 0], "B": [400, 100, 0, 0]})
    checks = [{"id": "sr", "type": "bias.selection_rate", "block_on": "significant"}]
    result = audit_frame(tmp_path, frame, checks, protected=["g"]).checks[0]
    assert result.status is Status.FAIL
    assert metric(result, "selection_rate_ratio", {"g": "B"}).p_value < 1e-6


def test_p_values_are_benjamini_hochberg_adjusted_within_the_check(tmp_path, telco):
    checks = [{"id": "fpr", "type": "bias.false_positive_rate", "n_boot": 0}]
    result = audit_frame(tmp_path, telco, checks, protected=["gender", "SeniorCitizen", "Partner"],
                         intersections=[["gender", "SeniorCitizen"]], **TELCO_DATA).checks[0]
    rows = [r for r in result.details["comparisons"] if r.get("p_raw") is not None]
    assert len(rows) >= 4
    expected = stats.false_discovery_control([r["p_raw"] for r in rows], method="bh")
    np.testing.assert_allclose([r["p_adjusted"] for r in rows], expected, rtol=1e-12)


def test_reference_overall_tests_each_group_against_everyone_else(tmp_path):
    frame = cells_frame({"A": [30, 20, 0, 0], "B": [40, 10, 0, 0], "C": [25, 25, 0, 0]})
    checks = [{"id": "sr", "type": "bias.selection_rate", "reference": "overall",
               "compare": "difference", "n_boot": 0}]
    result = audit_frame(tmp_path, frame, checks, protected=["g"]).checks[0]
    b = metric(result, "selection_rate_difference", {"g": "B"})
    assert b.value == pytest.approx(abs(10 / 50 - 55 / 150))
    row = [r for r in result.details["comparisons"] if r["label"] == "g=B"][0]
    raw = stats.chi2_contingency([[10, 40], [45, 55]], correction=False).pvalue
    assert row["p_raw"] == pytest.approx(raw) and row["test"] == "z"


def test_named_reference_and_missing_reference(tmp_path):
    frame = cells_frame({"A": [30, 20, 0, 0], "B": [40, 10, 0, 0]})
    named = [{"id": "sr", "type": "bias.selection_rate", "reference": "B", "n_boot": 0}]
    result = audit_frame(tmp_path, frame, named, protected=["g"]).checks[0]
    # against B (rate 0.2), A (0.4) is better off: its ratio 0.4/0.2 = 2 passes `min: 0.8`
    a = metric(result, "selection_rate_ratio", {"g": "A"})
    assert a.value == pytest.approx(2.0) and a.status is Status.PASS
    assert "reference: g=B" in a.note
    missing = [{"id": "sr", "type": "bias.selection_rate", "reference": "Z", "n_boot": 0}]
    bad = audit_frame(tmp_path, frame, missing, protected=["g"], name="p2.yaml").checks[0]
    assert bad.status is Status.ERROR and "'Z' does not occur" in bad.summary


def test_named_reference_applies_to_the_sets_that_have_it(tmp_path, telco):
    checks = [{"id": "sr", "type": "bias.selection_rate", "reference": "Female", "n_boot": 0},
              {"id": "srx", "type": "bias.selection_rate", "n_boot": 0,
               "reference": {"gender": "Male", "SeniorCitizen": "0"}}]
    result = audit_frame(tmp_path, telco, checks, protected=["gender", "SeniorCitizen"],
                         intersections=[["gender", "SeniorCitizen"]], **TELCO_DATA)
    single, pair = result.checks
    assert single.details["references"]["gender"] == "gender=Female"
    assert single.details["references"]["SeniorCitizen"] != "gender=Female"  # best-off instead
    assert metric(single, "selection_rate_ratio", {"gender": "Female"}).value == 1.0
    assert pair.details["references"]["gender × SeniorCitizen"] == "gender=Male, SeniorCitizen=0"


def test_unknown_attribute_is_an_error_result_not_an_exception(tmp_path):
    checks = [{"id": "sr", "type": "bias.selection_rate", "attributes": ["age"]}]
    result = audit_frame(tmp_path, _gap_frame(), checks, protected=["g"]).checks[0]
    assert result.status is Status.ERROR and "age" in result.summary


def test_ll144_table_exclusion_and_unknown_count(tmp_path):
    rng = np.random.default_rng(3)
    race = rng.choice(["White", "Black", "Asian", "Other"], 2000, p=[0.6, 0.3, 0.09, 0.01])
    frame = pd.DataFrame({"race": race, "d": (rng.random(2000) < 0.3).astype(int),
                          "y": 0})
    frame.loc[:24, "race"] = None  # 25 rows with no recorded category
    checks = [{"id": "sr", "type": "bias.selection_rate", "exclude_under": 0.02, "n_boot": 50}]
    result = audit_frame(tmp_path, frame, checks, protected=["race"]).checks[0]
    [table] = result.details["impact_tables"]
    cats = {c["category"]: c for c in table["categories"]}
    assert table["unknown_rows"] == 25 and cats["race=unknown"]["impact_ratio"] is None
    other = cats["race=Other"]
    assert other["excluded"] and other["rows"] > 0 and other["impact_ratio"] is None
    usable = [c for c in cats.values() if not c["excluded"] and not c["unknown"]]
    top = max(c["rate"] for c in usable)
    for c in usable:
        assert c["impact_ratio"] == pytest.approx(c["rate"] / top)
        assert c["selected"] == int(((frame["race"] == c["category"][5:]) & (frame["d"] == 1)).sum())
    assert not [m for m in result.metrics if m.name == "selection_rate_ratio"
                and m.group == {"race": "Other"}]


def test_wilson_interval_option(tmp_path):
    checks = [{"id": "sr", "type": "bias.selection_rate", "ci_method": "wilson", "n_boot": 0}]
    result = audit_frame(tmp_path, _gap_frame(), checks, protected=["g"]).checks[0]
    a = metric(result, "selection_rate", {"g": "A"})
    ref = stats.binomtest(10, 40).proportion_ci(method="wilson")
    assert a.ci == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_result_round_trips_through_json_and_is_seeded(tmp_path, telco):
    checks = [{"id": "sr", "type": "bias.selection_rate", "n_boot": 200},
              {"id": "auc", "type": "bias.auc", "n_boot": 100}]
    kwargs = {"protected": ["gender"], **TELCO_DATA}
    first = audit_frame(tmp_path, telco, checks, seed=3, **kwargs)
    second = audit_frame(tmp_path, telco, checks, seed=3, **kwargs)
    other = audit_frame(tmp_path, telco, checks, seed=4, **kwargs)
    assert AuditResult.from_json(first.to_json()).checks == first.checks
    assert first.checks == second.checks
    assert first.checks[0].metrics != other.checks[0].metrics  # intervals move with the seed


def test_audit_wide_fdr_adjusts_across_checks(tmp_path, telco):
    checks = [{"id": "sr", "type": "bias.selection_rate", "n_boot": 0},
              {"id": "fpr", "type": "bias.false_positive_rate", "n_boot": 0},
              {"id": "tpr", "type": "bias.true_positive_rate", "n_boot": 0,
               "block_on": "significant"}]
    result = audit_frame(tmp_path, telco, checks, protected=["gender", "SeniorCitizen"],
                         **TELCO_DATA)
    adjusted = adjust_audit_p_values(result.checks)
    rows = [r for c in adjusted for r in c.details["comparisons"] if r.get("p_raw") is not None]
    expected = stats.false_discovery_control([r["p_raw"] for r in rows], method="bh")
    np.testing.assert_allclose([r["p_adjusted"] for r in rows], expected, rtol=1e-12)
    for check in adjusted:
        assert "all 3 bias check(s)" in check.details["p_value_adjustment"]
        for m in check.metrics:
            if m.p_value is not None:
                [row] = [r for r in check.details["comparisons"] if r["group"] == m.group]
                assert m.p_value == row["p_adjusted"]
    # the runner already applies the audit-wide correction, and applying it again changes nothing
    assert "all 3 bias check(s)" in result.checks[0].details["p_value_adjustment"]
    assert [m.p_value for c in result.checks for m in c.metrics] == [
        m.p_value for c in adjusted for m in c.metrics]


def test_auto_without_labels_falls_back_to_selection_rate(tmp_path):
    frame = _gap_frame().drop(columns="y")
    checks = [{"id": "auto", "type": "bias.auto", "n_boot": 0}]
    result = audit_frame(tmp_path, frame, checks, protected=["g"], label=None).checks[0]
    assert result.details["chosen_metric"] == "selection_rate"
    assert "needs observed outcomes" in result.summary


def test_comparison_value_is_a_plain_float_for_scalars():
    """Other families (consent) call it on scalars and put the result in JSON details."""
    from cxaudit.checks.bias import comparison_value

    ratio = comparison_value(0.3, 0.4, compare="ratio", higher_is_better=True)
    assert type(ratio) is float and ratio == pytest.approx(0.75)
    assert comparison_value(0.3, 0.4, compare="ratio", higher_is_better=False) == pytest.approx(
        0.4 / 0.3, abs=1e-15)
    assert comparison_value(0.0, 0.0, compare="ratio", higher_is_better=True) == 1.0
    assert comparison_value(0.2, 0.5, compare="difference", higher_is_better=True) == (
        pytest.approx(0.3, abs=1e-15))
