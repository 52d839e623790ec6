"""Proxy strength against scipy and scikit-learn, and planted proxies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats.contingency import association
from sklearn.metrics import mutual_info_score

from cxaudit.checks.privacy.proxy import contingency, cramers_v, discretise, mutual_information
from cxaudit.resources import demo_dataset
from cxaudit.result import Status


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_cramers_v_and_mi_match_scipy_and_sklearn(data):
    n = data.draw(st.integers(20, 300))
    a = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    b = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    codes_a, codes_b = pd.factorize(a)[0], pd.factorize(b)[0]
    table = contingency(codes_a, codes_b)
    assert mutual_information(table) == pytest.approx(mutual_info_score(a, b), abs=1e-12)
    if min(table.shape) > 1:
        assert cramers_v(table) == pytest.approx(
            association(table, method="cramer", correction=False), abs=1e-12)


def test_discretise_bins_numbers_and_pools_rare_text():
    values = pd.Series(np.arange(1000, dtype=float))
    codes = discretise(values, bins=10)
    assert np.bincount(codes).tolist() == [100] * 10
    text = pd.Series([f"id{i}" for i in range(500)])
    assert len(np.unique(discretise(text, bins=5))) == 11  # 10 most frequent + "other"
    numeric_text = pd.Series(["1.5", "2.5", " ", *[str(i) for i in range(100)]])
    assert len(np.unique(discretise(numeric_text, bins=4))) <= 5  # bins + missing


POLICY = """
cxaudit: 1
system: {name: t}
data:
  id: customerID
  label: Churn
  positive: "Yes"
  protected: [gender, SeniorCitizen]
  features: [tenure, Contract, MonthlyCharges, InternetService, PaymentMethod, planted]
checks:
  - {id: px, type: privacy.proxy, top: 3}
"""


def test_planted_proxy_is_found_and_real_features_measured(run_policy):
    frame = pd.read_csv(demo_dataset())
    rng = np.random.default_rng(1)
    # "planted" copies gender 90% of the time.
    noise = rng.random(len(frame)) < 0.1
    frame["planted"] = np.where(noise, rng.choice(["x", "y"], len(frame)),
                                np.where(frame["gender"] == "Female", "x", "y"))
    out = run_policy(POLICY, frame)["px"]
    assert out.status is Status.FAIL
    top = out.details["top_proxies"]["gender"][0]
    assert top["feature"] == "planted"
    expected = association(pd.crosstab(frame["planted"], frame["gender"]).to_numpy(),
                           method="cramer")
    assert top["cramers_v"] == pytest.approx(expected, abs=1e-4)
    assert out.details["auc"]["gender"] > 0.85
    # SeniorCitizen: no planted proxy; the telco features carry it only weakly.
    assert 0.55 < out.details["auc"]["SeniorCitizen"] < 0.8
    assert "planted ~ gender" in out.summary


def test_real_features_pass_default_bounds(run_policy):
    frame = pd.read_csv(demo_dataset())
    frame["planted"] = "same"
    out = run_policy(POLICY, frame)["px"]
    assert out.status is Status.PASS, out.summary
    assert out.details["auc"]["gender"] < 0.6
