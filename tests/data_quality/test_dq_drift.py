"""PSI: a hand-computed case, and per-group drift against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cxaudit.checks.data_quality.drift import psi
from cxaudit.errors import InputError
from cxaudit.result import Status


def test_psi_hand_computed():
    # Reference shares 0.5/0.3/0.2, current 0.4/0.4/0.2:
    # (0.4-0.5)ln(0.4/0.5) + (0.4-0.3)ln(0.4/0.3) + 0 = 0.022314 + 0.028768 = 0.051083
    assert psi([50, 30, 20], [40, 40, 20]) == pytest.approx(0.0510826, abs=1e-6)
    assert psi([1, 1], [1, 1]) == 0.0
    assert math.isnan(psi([0, 0], [1, 2]))
    # An empty bin is floored at 1e-4, not infinite: 0.5 ln(0.5/1e-4) + (1e-4 - 0.5) ln(1e-4/0.5)
    assert psi([1, 0], [1, 1]) == pytest.approx(
        (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - 1e-4) * math.log(0.5 / 1e-4))


def _reference_psi(ref: pd.Series, cur: pd.Series, bins: int = 10) -> float:
    """Independent PSI: decile edges of the reference with pandas.cut, missing as a bin."""
    edges = np.unique(np.quantile(ref.dropna(), [i / bins for i in range(1, bins)]))
    cuts = [-np.inf, *edges, np.inf]
    e = pd.cut(ref, cuts, right=False).value_counts(sort=False).to_numpy()
    a = pd.cut(cur, cuts, right=False).value_counts(sort=False).to_numpy()
    e = np.append(e, ref.isna().sum())
    a = np.append(a, cur.isna().sum())
    e = np.maximum(e / e.sum(), 1e-4)
    a = np.maximum(a / a.sum(), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def test_drift_per_feature_and_group(audit, telco):
    rng = np.random.default_rng(3)
    order = rng.permutation(len(telco))
    reference = telco.iloc[order[:3500]].reset_index(drop=True)
    current = telco.iloc[order[3500:]].reset_index(drop=True).copy()
    seniors = current["SeniorCitizen"] == 1
    current.loc[seniors, "MonthlyCharges"] = current.loc[seniors, "MonthlyCharges"] * 1.4
    checks, _ = audit("""
        - id: drift
          type: data.drift
          columns: [MonthlyCharges, tenure, Contract, TotalCharges]
          numeric: [TotalCharges]
        """, current, reference=reference)
    result = checks["drift"]
    by = {(m.group["column"], tuple(sorted((k, v) for k, v in m.group.items() if k != "column"))): m
          for m in result.metrics}
    seniors_metric = by[("MonthlyCharges", (("SeniorCitizen", "1"),))]
    # Bins come from the whole reference, as documented; recompute with those edges.
    edges_ref = reference["MonthlyCharges"]
    expected = _psi_with_edges(edges_ref, reference.loc[reference["SeniorCitizen"] == 1,
                                                        "MonthlyCharges"],
                               current.loc[seniors, "MonthlyCharges"])
    assert seniors_metric.value == pytest.approx(expected, rel=1e-9)
    assert seniors_metric.status is Status.FAIL  # a 40% price rise for seniors only
    overall = by[("MonthlyCharges", ())]
    assert overall.value == pytest.approx(_reference_psi(reference["MonthlyCharges"],
                                                         current["MonthlyCharges"]), rel=1e-9)
    stable = by[("tenure", ())]
    assert stable.value < 0.1 and stable.status is Status.PASS
    total = by[("TotalCharges", ())]  # text column read as numbers; blanks are the missing bin
    numbers = [pd.to_numeric(f["TotalCharges"], errors="coerce") for f in (reference, current)]
    assert total.value == pytest.approx(_reference_psi(*numbers), rel=1e-9)
    contract = by[("Contract", ())]
    e = reference["Contract"].value_counts(normalize=True)
    a = current["Contract"].value_counts(normalize=True).reindex(e.index)
    assert contract.value == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)
    assert result.status is Status.FAIL
    assert "MonthlyCharges [SeniorCitizen=1]" in result.summary


def _psi_with_edges(whole: pd.Series, ref: pd.Series, cur: pd.Series) -> float:
    edges = np.unique(np.quantile(whole.dropna(), [i / 10 for i in range(1, 10)]))
    cuts = [-np.inf, *edges, np.inf]
    e = pd.cut(ref, cuts, right=False).value_counts(sort=False).to_numpy()
    a = pd.cut(cur, cuts, right=False).value_counts(sort=False).to_numpy()
    e = np.maximum(e / e.sum(), 1e-4)
    a = np.maximum(a / a.sum(), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def test_drift_thresholds_and_missing_reference(audit, telco):
    checks, _ = audit("""
        - id: drift
          type: data.drift
          columns: [tenure]
          warn: 0.01
          block: 0.9
        """, telco.assign(tenure=telco["tenure"] + 3), reference=telco)
    assert checks["drift"].status is Status.WARN
    # Without reference data the audit does not start: bad input, exit 2.
    with pytest.raises(InputError, match=r"needs reference \(training\) data: --reference FILE"):
        audit("""
        - id: drift
          type: data.drift
        """, telco)


def test_reference_without_a_protected_attribute_compares_overall(audit, telco):
    checks, _ = audit("""
        - id: drift
          type: data.drift
          columns: [tenure]
        """, telco, reference=telco.drop(columns=["gender"]))
    result = checks["drift"]
    assert result.status is Status.PASS
    assert "lacks it" in result.summary and "gender" in result.summary
    groups = {tuple(sorted(m.group)) for m in result.metrics}
    assert groups == {("column",), ("SeniorCitizen", "column")}
