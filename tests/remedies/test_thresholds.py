"""Remedies: the group-blind threshold's figures against fairlearn/pandas; the group-aware one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate
from sklearn.linear_model import LogisticRegression

from cxaudit.checks.base import Threshold
from cxaudit.checks.bias.metrics import COUNT_METRICS
from cxaudit.remedies.thresholds import group_aware, group_blind


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n)
    x = rng.normal(size=n) + (g == "a") * 0.8
    y = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(np.int64)
    return pd.DataFrame({"x": x}), y, g


def test_group_blind_threshold_passes_by_fairlearn_and_costs_match_pandas():
    features, y, g = _data()
    score = LogisticRegression().fit(features, y).predict_proba(features)[:, 1]
    gcodes, groups = pd.factorize(pd.Series(g), sort=True)
    out = group_blind(score, y, gcodes, list(groups), COUNT_METRICS["selection_rate"], True,
                      "ratio", Threshold(min=0.8), 30, current=0.5)
    assert out["offered"]
    decision = score >= out["threshold"]
    rates = MetricFrame(metrics=selection_rate, y_true=y, y_pred=decision,
                        sensitive_features=g).by_group
    assert rates.min() / rates.max() >= 0.8
    assert out["worst_comparison"] == pytest.approx(rates.min() / rates.max())
    assert out["after"]["accuracy"] == pytest.approx(np.mean(decision == y))


def test_group_aware_reports_rules_group_need_and_the_law():
    features, y, g = _data()
    model = LogisticRegression().fit(features, y)
    gcodes, groups = pd.factorize(pd.Series(g), sort=True)
    out = group_aware(model, features, y, g, gcodes, list(groups),
                      COUNT_METRICS["selection_rate"], True, "ratio", Threshold(min=0.8), 30)
    assert out["offered"] and out["needs_group_at_decision_time"]
    assert set(out["per_group_rules"]) == {"a", "b"}
    none = group_aware(model, features, y, g, gcodes, list(groups), COUNT_METRICS["precision"],
                       True, "ratio", Threshold(min=0.8), 30)
    assert not none["offered"] and "no group-aware remedy" in none["reason"]
