"""Group completeness, representation and label balance against pandas on raw rows."""

from __future__ import annotations

import numpy as np
import pytest

from cxaudit.errors import PolicyError
from cxaudit.policy.loader import load_policy
from cxaudit.result import Status


def _metric(result, name, **group):
    found = [m for m in result.metrics if m.name == name and m.group == group]
    assert len(found) == 1, (name, group, [m.group for m in result.metrics if m.name == name])
    return found[0]


def test_completeness_rates_match_pandas_and_count_blanks(audit, telco):
    checks, _ = audit("""
        - id: complete
          type: data.group_completeness
          columns: [TotalCharges, tenure]
        """, telco)
    result = checks["complete"]
    assert result.status is Status.PASS
    blank = telco["TotalCharges"].isna() | telco["TotalCharges"].str.strip().eq("")
    for value, rate in blank.groupby(telco["gender"]).mean().items():
        metric = _metric(result, "missing_rate", column="TotalCharges", gender=str(value))
        assert metric.value == pytest.approx(rate)
        assert metric.n == int((telco["gender"] == value).sum())
    overall = _metric(result, "missing_rate", column="TotalCharges")
    assert overall.value == pytest.approx(11 / len(telco))


def test_completeness_fails_when_one_group_is_much_emptier(audit, telco):
    frame = telco.copy()
    seniors = np.flatnonzero(frame["SeniorCitizen"].to_numpy() == 1)
    rng = np.random.default_rng(7)
    frame.loc[rng.choice(seniors, size=300, replace=False), "MonthlyCharges"] = np.nan
    checks, _ = audit("""
        - id: complete
          type: data.group_completeness
          columns: [MonthlyCharges]
          max_gap: 0.05
          max_ratio: 2
        """, frame)
    result = checks["complete"]
    assert result.status is Status.FAIL
    rates = frame["MonthlyCharges"].isna().groupby(frame["SeniorCitizen"]).mean()
    gap = _metric(result, "missing_rate_gap", column="MonthlyCharges", attributes="SeniorCitizen")
    assert gap.value == pytest.approx(rates[1] - rates[0])
    assert gap.status is Status.FAIL
    assert "SeniorCitizen=1" in result.summary
    by_gender = _metric(result, "missing_rate_gap", column="MonthlyCharges", attributes="gender")
    assert by_gender.status is Status.PASS


def test_completeness_needs_both_gap_and_ratio(audit, telco):
    frame = telco.copy()
    frame.loc[frame.index[frame["gender"] == "Male"][:20], "tenure"] = np.nan  # 0.6% vs 0%
    checks, _ = audit("""
        - id: complete
          type: data.group_completeness
          columns: [tenure]
          attributes: [gender]
        """, frame)
    ratio = _metric(checks["complete"], "missing_rate_ratio", column="tenure", attributes="gender")
    assert ratio.value is None  # infinite: the other group has no missing values
    assert checks["complete"].status is Status.PASS  # but the gap is tiny


def test_representation_against_declared_shares(audit, telco):
    checks, _ = audit("""
        - id: seniors
          type: data.representation
          attribute: SeniorCitizen
          shares: {0: 0.70, 1: 0.30}
        """, telco)
    result = checks["seniors"]
    shares = telco["SeniorCitizen"].value_counts(normalize=True)
    ratio = _metric(result, "share_ratio", SeniorCitizen="1")
    assert ratio.value == pytest.approx(shares[1] / 0.30)
    assert result.status is (Status.FAIL if shares[1] / 0.30 < 0.8 else Status.PASS)
    assert result.status is Status.FAIL  # 16% seniors against 30% in the population


def test_representation_from_file_and_unknown_groups(audit, telco, tmp_path):
    (tmp_path / "census.csv").write_text("group,share\nFemale,0.5\nMale,0.45\nOther,0.05\n",
                                         encoding="utf-8")
    checks, _ = audit("""
        - id: gender
          type: data.representation
          attribute: gender
          shares_file: census.csv
          threshold: {min: 0.8, max: 1.25}
        """, telco)
    result = checks["gender"]
    assert _metric(result, "share_ratio", gender="Other").value == 0.0
    assert result.status is Status.FAIL and "Other" in result.summary
    male = _metric(result, "share_ratio", gender="Male")
    assert male.value == pytest.approx((telco["gender"] == "Male").mean() / 0.45)


@pytest.mark.parametrize(("shares", "message"), [
    ("{Female: 51, Male: 49}", "sum to 100"),
    ("{Yes: 0.5, No: 0.5}", "YAML boolean"),
])
def test_representation_share_errors_are_located(write_policy, shares, message):
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(f"""
            - id: r
              type: data.representation
              attribute: Partner
              shares: {shares}
            """))
    (problem,) = caught.value.problems
    assert message in problem.message
    assert problem.path.startswith("checks[0].shares")
    assert problem.line == 13


def test_label_balance_matches_pandas(audit, telco):
    checks, _ = audit("""
        - id: balance
          type: data.label_balance
          threshold: {min: 0.8, max: 1.25}
        """, telco)
    result = checks["balance"]
    churn = telco["Churn"].eq("Yes")
    overall = churn.mean()
    for value, rate in churn.groupby(telco["SeniorCitizen"]).mean().items():
        metric = _metric(result, "positive_rate_ratio", SeniorCitizen=str(value))
        assert metric.value == pytest.approx(rate / overall)
    # Seniors churn at about 42% against 26.5% overall: 1.59 times, outside 1.25.
    assert result.status is Status.FAIL and "SeniorCitizen=1" in result.summary
    assert _metric(result, "positive_rate_ratio", gender="Male").status is Status.PASS
