"""Group-blind and group-aware threshold remedies for a count-metric fairness check."""

from __future__ import annotations

from typing import Any

import numpy as np

from cxaudit.checks.base import Threshold
from cxaudit.checks.bias.metrics import CountMetric
from cxaudit.stats.intervals import wilson_interval

#: fairlearn ThresholdOptimizer constraints covering a policy metric.
CONSTRAINTS = {"selection_rate": "demographic_parity",
               "true_positive_rate": "true_positive_rate_parity",
               "false_positive_rate": "false_positive_rate_parity",
               "false_negative_rate": "false_negative_rate_parity",
               "true_negative_rate": "true_negative_rate_parity"}


def judge(decision: np.ndarray, label: np.ndarray, gcodes: np.ndarray, groups: list[str],
          metric: CountMetric, hib: bool, compare: str, bound: Threshold,
          min_group_size: int) -> dict[str, Any]:
    """Each group's metric against the best-off group, and whether the bound holds for all."""
    k = len(groups)
    cells = np.bincount(gcodes * 4 + 2 * label + decision, minlength=4 * k).reshape(k, 4)
    num, den = metric.compute(cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = num / den
    ok_group = (cells.sum(axis=1) >= min_group_size) & np.isfinite(value) & (
        np.asarray(groups) != "unknown")
    if not ok_group.any():
        return {"passes": False, "worst": None, "values": {}}
    best = np.nanmax(value[ok_group]) if hib else np.nanmin(value[ok_group])
    with np.errstate(divide="ignore", invalid="ignore"):
        comp = (value / best if hib else best / value) if compare == "ratio" else np.abs(
            value - best)
    comp = np.where(np.isnan(comp), 1.0 if compare == "ratio" else 0.0, comp)
    holds = np.array([bound.holds(float(c)) for c in comp])
    worst = float(np.min(comp[ok_group]) if compare == "ratio" else np.max(comp[ok_group]))
    return {"passes": bool(np.all(holds[ok_group])), "worst": worst,
            "values": {g: float(value[i]) for i, g in enumerate(groups)}}


def _cost(decision: np.ndarray, label: np.ndarray, confidence: float) -> dict[str, Any]:
    n = len(decision)
    correct = int(np.sum(decision == label))
    selected = int(decision.sum())
    acc = wilson_interval(correct, n, confidence)
    sel = wilson_interval(selected, n, confidence)
    return {"accuracy": correct / n, "accuracy_ci": [float(acc[0]), float(acc[1])],
            "selection_rate": selected / n, "selection_rate_ci": [float(sel[0]), float(sel[1])],
            "selected": selected}


def group_blind(score: np.ndarray, label: np.ndarray, gcodes: np.ndarray, groups: list[str],
                metric: CountMetric, hib: bool, compare: str, bound: Threshold,
                min_group_size: int, current: float, confidence: float = 0.95,
                grid: int = 201) -> dict[str, Any]:
    """The single threshold closest to ``current`` that passes, scanned over score quantiles."""
    candidates = np.unique(np.quantile(score, np.linspace(0, 1, grid)))
    passing = []
    for t in candidates:
        decision = (score >= t).astype(np.int64)
        verdict = judge(decision, label, gcodes, groups, metric, hib, compare, bound,
                        min_group_size)
        if verdict["passes"]:
            passing.append((abs(t - current), float(t), verdict, decision))
    before = _cost((score >= current).astype(np.int64), label, confidence)
    if not passing:
        return {"offered": False, "reason": f"no single threshold among {len(candidates)} score "
                "quantiles passes the check", "current": {"threshold": current, **before}}
    _, t, verdict, decision = min(passing, key=lambda x: x[0])
    return {"offered": True, "threshold": t, "worst_comparison": verdict["worst"],
            "group_values": verdict["values"], "current": {"threshold": current, **before},
            "after": _cost(decision, label, confidence),
            "passing_thresholds": [min(p[1] for p in passing), max(p[1] for p in passing)]}


def group_aware(estimator: Any, features: Any, label: np.ndarray, sensitive: np.ndarray,
                gcodes: np.ndarray, groups: list[str], metric: CountMetric, hib: bool,
                compare: str, bound: Threshold, min_group_size: int, seed: int = 0,
                confidence: float = 0.95) -> dict[str, Any]:
    """fairlearn's ThresholdOptimizer (prefit) for the metric's constraint, judged on the policy."""
    constraint = CONSTRAINTS.get(metric.name)
    if constraint is None:
        return {"offered": False, "reason": f"no ThresholdOptimizer constraint covers "
                f"{metric.name}: no group-aware remedy is offered"}
    from fairlearn.postprocessing import ThresholdOptimizer

    optimizer = ThresholdOptimizer(estimator=estimator, constraints=constraint, prefit=True,
                                   predict_method="predict_proba", objective="accuracy_score")
    optimizer.fit(features, label, sensitive_features=sensitive)
    decision = np.asarray(optimizer.predict(features, sensitive_features=sensitive,
                                            random_state=seed)).astype(np.int64)
    verdict = judge(decision, label, gcodes, groups, metric, hib, compare, bound,
                    min_group_size)
    rules = {}
    for group, rule in optimizer.interpolated_thresholder_.interpolation_dict.items():
        rules[str(group)] = {"p_ignore": float(rule.get("p_ignore", 0.0)), "p0": float(rule.p0),
                             "operation0": str(rule.operation0), "p1": float(rule.p1),
                             "operation1": str(rule.operation1)}
    randomised = any(0 < r["p0"] < 1 or r["p_ignore"] > 0 for r in rules.values())
    return {"offered": True, "constraint": constraint, "passes_policy_check": verdict["passes"],
            "worst_comparison": verdict["worst"], "group_values": verdict["values"],
            "after": _cost(decision, label, confidence), "per_group_rules": rules,
            "randomised": randomised,
            "randomisation": ("fairlearn mixes two thresholds at random for some groups; the "
                              f"figures use random_state={seed}" if randomised else
                              "deterministic: one threshold per group"),
            "needs_group_at_decision_time": True}
