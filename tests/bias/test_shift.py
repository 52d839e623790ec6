"""bias.shift_stress against plain pandas weighted rates, fairlearn, and numpy's weighted quantile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate

from cxaudit.checks.bias.shift import scenario_weights, weighted_quantile

from .conftest import audit_frame


def _frame(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n)
    channel = np.where(g == "a", rng.choice(["web", "shop"], n, p=[0.8, 0.2]),
                       rng.choice(["web", "shop"], n, p=[0.3, 0.7]))
    tenure = rng.integers(0, 72, n)
    p = np.where(channel == "web", 0.5, 0.3) + np.where(g == "a", 0.0, 0.05)
    d = (rng.random(n) < p).astype(int)
    return pd.DataFrame({"g": g, "channel": channel, "tenure": tenure, "d": d,
                         "y": rng.integers(0, 2, n), "s": rng.random(n)})


def test_weighted_rates_and_verdict_match_pandas_and_fairlearn(tmp_path):
    frame = _frame()
    target = {"web": 0.5, "shop": 0.5}
    result = audit_frame(tmp_path, frame, [{
        "id": "s", "type": "bias.shift_stress", "scenarios": [
            {"name": "even", "feature": "channel", "target": target},
            {"name": "pop", "feature": "channel", "within": "population",
             "target": {"web": 0.2, "shop": 0.8}}]}], protected=["g"])
    check = result.checks[0]
    rows = {r["scenario"]: r for r in check.details["results"]}
    base = rows["as audited"]
    mf = MetricFrame(metrics=selection_rate, y_true=frame["y"], y_pred=frame["d"],
                     sensitive_features=frame["g"])
    for row in base["groups"]:
        assert row["value"] == pytest.approx(mf.by_group[row["group"]])
    # within groups: each group's channel mix becomes 50/50 (pandas)
    share = frame.groupby("g")["channel"].value_counts(normalize=True)
    w = frame.apply(lambda r: target[r.channel] / share[(r.g, r.channel)], axis=1)
    for row in rows["even"]["groups"]:
        mask = frame["g"] == row["group"]
        assert row["value"] == pytest.approx(np.average(frame.loc[mask, "d"],
                                                        weights=w[mask]))
        mix = frame.loc[mask].assign(w=w[mask]).groupby("channel")["w"].sum()
        assert (mix / mix.sum()).to_dict() == pytest.approx(target)
    # fairlearn with sample weights agrees on the population scenario
    pop_share = frame["channel"].value_counts(normalize=True)
    wp = frame["channel"].map({"web": 0.2, "shop": 0.8}) / frame["channel"].map(pop_share)
    mfw = MetricFrame(metrics=selection_rate, y_true=frame["y"], y_pred=frame["d"],
                      sensitive_features=frame["g"], sample_params={"sample_weight": wp})
    for row in rows["pop"]["groups"]:
        assert row["value"] == pytest.approx(mfw.by_group[row["group"]])
    ratio = min(mfw.by_group) / max(mfw.by_group)
    assert rows["pop"]["worst_value"] == pytest.approx(ratio)
    assert rows["pop"]["verdict"] == ("pass" if ratio >= 0.8 else "fail")


def test_population_dependent_cutoff_is_recomputed(tmp_path):
    frame = _frame()
    result = audit_frame(tmp_path, frame, [{
        "id": "s", "type": "bias.shift_stress", "selection_share": 0.2, "scenarios": [
            {"name": "young", "feature": "tenure", "edges": [12], "target": [0.7, 0.3],
             "within": "population"}]}],
        protected=["g"], score="s", prediction=None)
    rows = {r["scenario"]: r for r in result.checks[0].details["results"]}
    young = frame["tenure"] < 12
    w = np.where(young, 0.7 / young.mean(), 0.3 / (~young).mean())
    cut = np.quantile(frame["s"], 0.8, weights=w, method="inverted_cdf")
    selected = frame["s"] >= cut
    for row in rows["young"]["groups"]:
        mask = (frame["g"] == row["group"]).to_numpy()
        assert row["value"] == pytest.approx(np.average(selected[mask], weights=w[mask]))


def test_weighted_quantile_matches_numpy():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=500), rng.random(500)
    for q in (0.1, 0.5, 0.8):
        assert weighted_quantile(x, w, q) == np.quantile(x, q, weights=w, method="inverted_cdf")


def test_unreachable_category_is_rescaled_and_noted():
    codes = np.array([0, 0, 1, 1, 1])
    groups = np.array([0, 0, 0, 1, 1])
    w, notes = scenario_weights(codes, 2, np.array([0.5, 0.5]), groups, 2, "groups")
    assert notes and np.all(np.isfinite(w))
    assert w[3:].tolist() == [1.0, 1.0]  # group 1 has only category 1: its weight stays 1
