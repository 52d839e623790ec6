"""Retraining remedy: fairlearn's ExponentiatedGradient on the reference (training) data,
its trade-off curve (the policy's own fairness comparison against accuracy) measured on
the audited data.

The model's estimator is cloned and refitted with sample weights (a scikit-learn
``Pipeline`` gets them on its final step; the other steps are refitted unweighted).
ExponentiatedGradient returns a *randomised* classifier (a mixture of fitted models);
the curve reports it two ways, both deterministic: ``expected`` (the mixture's exact
expected counts from ``_pmf_predict`` — what the randomised classifier does on average)
and ``deterministic`` (the mixture's probability of a positive decision thresholded at
0.5, a classifier one could deploy as is). Intervals (Wilson for accuracy and rates,
Katz log for a ratio, Newcombe for a difference) are given for the deterministic one,
whose counts are real counts.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from cxaudit.checks.base import Threshold
from cxaudit.checks.bias.metrics import CountMetric
from cxaudit.stats.intervals import wilson_interval, z_quantile

#: fairlearn reductions constraint covering a policy metric (FNR = 1 - TPR, TNR = 1 - FPR:
#: the same differences).
EG_CONSTRAINTS = {"selection_rate": "DemographicParity",
                  "true_positive_rate": "TruePositiveRateParity",
                  "false_negative_rate": "TruePositiveRateParity",
                  "false_positive_rate": "FalsePositiveRateParity",
                  "true_negative_rate": "FalsePositiveRateParity",
                  "equalized_odds": "EqualizedOdds"}
#: The constraint's difference_bound at each point of the curve.
DEFAULT_BOUNDS = (0.01, 0.05, 0.2)
#: ExponentiatedGradient iterations per point (each fits the estimator up to ~9 times).
DEFAULT_MAX_ITER = 3
#: Reference rows used for fitting; larger reference data are sampled (stratified).
DEFAULT_MAX_ROWS = 2000


def final_step(estimator: Any) -> tuple[Any, str | None]:
    """``(the estimator that is fitted last, its Pipeline step name or None)``."""
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:
        name, last = steps[-1]
        inner, _ = final_step(last)
        return inner, name
    return estimator, None


def why_not_retrainable(estimator: Any) -> str | None:
    """None when the estimator can be cloned and fitted with sample weights, else why not."""
    from sklearn.base import clone
    from sklearn.utils.validation import has_fit_parameter

    if estimator is None:
        return "needs a model (--model)"
    try:
        clone(estimator)
    except Exception as exc:  # not a scikit-learn estimator (e.g. an MLflow pyfunc)
        return (f"the model's estimator ({type(estimator).__name__}) cannot be cloned as a "
                f"scikit-learn estimator ({type(exc).__name__}), so it cannot be refitted")
    last, _ = final_step(estimator)
    if getattr(last, "steps", None) is not None:  # nested pipelines: not routed
        return "the model is a nested pipeline; sample weights cannot be routed to its classifier"
    if not has_fit_parameter(last, "sample_weight"):
        return (f"{type(last).__name__}.fit does not accept sample_weight, which fairlearn's "
                "reductions need to reweight the training rows")
    return None


def weighted_estimator(estimator: Any) -> Any:
    """An unfitted clone whose ``fit(X, y, sample_weight)`` weights the final step."""
    from sklearn.base import BaseEstimator, ClassifierMixin, clone

    _, step = final_step(estimator)
    if step is None:
        return clone(estimator)

    class _FinalStepWeighted(ClassifierMixin, BaseEstimator):
        def __init__(self, pipeline: Any = None) -> None:
            self.pipeline = pipeline

        def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:  # noqa: N803
            extra = {} if sample_weight is None else {f"{step}__sample_weight": sample_weight}
            self.fitted_ = clone(self.pipeline).fit(X, y, **extra)
            self.classes_ = self.fitted_.classes_
            return self

        def predict(self, X: Any) -> Any:  # noqa: N803
            return self.fitted_.predict(X)

    return _FinalStepWeighted(clone(estimator))


def stratified_sample(strata: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Sorted row positions of a stratified sample of ``limit`` rows (all rows if fewer)."""
    n = len(strata)
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    codes, inverse = np.unique(strata, return_inverse=True)
    chosen = []
    for k in range(len(codes)):
        rows = np.flatnonzero(inverse == k)
        take = max(1, int(round(limit * len(rows) / n)))
        chosen.append(rng.choice(rows, size=min(take, len(rows)), replace=False))
    return np.sort(np.concatenate(chosen))


def cells_of(decision: np.ndarray, label: np.ndarray, gcodes: np.ndarray, k: int) -> np.ndarray:
    """Per-group confusion cells ``(k, 4)`` (TN, FP, FN, TP); ``decision`` may be a
    probability of a positive decision (expected counts)."""
    p = np.asarray(decision, dtype=float)
    base = gcodes * 4 + 2 * label
    pos = np.bincount(base + 1, weights=p, minlength=4 * k)
    neg = np.bincount(base, weights=1.0 - p, minlength=4 * k)
    return (pos + neg).reshape(k, 4)


def ratio_interval(x1: float, n1: float, x2: float, n2: float,
                   confidence: float) -> list[float] | None:
    """Katz log interval of (x1/n1) / (x2/n2); None when a count is zero."""
    if min(x1, x2, n1, n2) <= 0:
        return None
    z = z_quantile(confidence)
    se = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    centre = np.log((x1 / n1) / (x2 / n2))
    return [float(np.exp(centre - z * se)), float(np.exp(centre + z * se))]


def difference_interval(x1: float, n1: float, x2: float, n2: float,
                        confidence: float) -> list[float] | None:
    """Newcombe's hybrid score interval of x1/n1 - x2/n2 (method 10); None when n is 0."""
    if min(n1, n2) <= 0:
        return None
    l1, u1 = (float(v) for v in wilson_interval(x1, n1, confidence))
    l2, u2 = (float(v) for v in wilson_interval(x2, n2, confidence))
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return [float(lower), float(upper)]


def policy_comparison(cells: np.ndarray, groups: list[str], metric: CountMetric, hib: bool,
                      compare: str, bound: Threshold, min_group_size: int,
                      confidence: float = 0.95, intervals: bool = True) -> dict[str, Any]:
    """The check's comparison of each group with the best-off group, from confusion cells:
    whether the bound holds for every group large enough, the worst group and its interval."""
    num, den = metric.compute(cells)
    size = cells.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = num / den
    ok = (size >= min_group_size) & np.isfinite(value) & (np.asarray(groups) != "unknown")
    if not ok.any():
        return {"passes": False, "worst": None, "worst_group": None, "values": {}}
    idx = np.flatnonzero(ok)
    best = idx[np.argmax(value[idx])] if hib else idx[np.argmin(value[idx])]
    comps = {}
    for i in idx:
        if compare == "ratio":
            top, bottom = (value[i], value[best]) if hib else (value[best], value[i])
            comps[i] = float(top / bottom) if bottom > 0 else (1.0 if top == 0 else float("inf"))
        else:
            comps[i] = float(abs(value[i] - value[best]))
    worst_i = min(comps, key=comps.get) if compare == "ratio" else max(comps, key=comps.get)
    out: dict[str, Any] = {
        "passes": all(bound.holds(c) for c in comps.values()),
        "worst": comps[worst_i], "worst_group": groups[worst_i],
        "best_group": groups[best],
        "values": {groups[i]: float(value[i]) for i in idx}}
    if intervals:
        g, b = worst_i, best
        if compare == "ratio":
            args = (num[g], den[g], num[b], den[b]) if hib else (num[b], den[b], num[g], den[g])
            out["worst_ci"] = ratio_interval(*(float(a) for a in args), confidence)
        else:
            ci = difference_interval(float(num[g]), float(den[g]), float(num[b]), float(den[b]),
                                     confidence)
            out["worst_ci"] = (None if ci is None else
                               sorted(abs(v) for v in ci) if ci[0] * ci[1] > 0 else
                               [0.0, max(abs(v) for v in ci)])
    return out


def accuracy_of(cells: np.ndarray, confidence: float, intervals: bool) -> dict[str, Any]:
    """Accuracy and selection rate over all groups, with Wilson intervals for real counts."""
    total = cells.sum()
    correct = cells[:, 0].sum() + cells[:, 3].sum()
    selected = cells[:, 1].sum() + cells[:, 3].sum()
    out: dict[str, Any] = {"accuracy": float(correct / total),
                           "selection_rate": float(selected / total)}
    if intervals:
        out["accuracy_ci"] = [float(v) for v in wilson_interval(correct, total, confidence)]
        out["selection_rate_ci"] = [float(v) for v in wilson_interval(selected, total, confidence)]
    return out


def fit_curve(estimator: Any, x_ref: Any, y_ref: np.ndarray, s_ref: np.ndarray,
              constraint: str, *, bounds: tuple[float, ...] = DEFAULT_BOUNDS,
              max_iter: int = DEFAULT_MAX_ITER, seed: int = 0) -> list[dict[str, Any]]:
    """Fitted ExponentiatedGradient mixtures, one per ``difference_bound``."""
    from fairlearn import reductions
    from threadpoolctl import threadpool_limits

    fitted = []
    for bound in bounds:
        started = time.perf_counter()
        moment = getattr(reductions, constraint)(difference_bound=bound)
        mitigator = reductions.ExponentiatedGradient(weighted_estimator(estimator), moment,
                                                     max_iter=max_iter)
        # One OpenMP thread: on a busy machine, gradient boosting's threads spin-wait and a
        # fit takes ten times longer; the result does not depend on the thread count.
        with threadpool_limits(limits=1, user_api="openmp"):
            np.random.seed(seed)  # estimators without a random_state draw from numpy's global
            mitigator.fit(x_ref, y_ref, sensitive_features=s_ref)
        fitted.append({"difference_bound": bound, "mitigator": mitigator,
                       "n_models": int(len(mitigator.predictors_)),
                       "seconds": round(time.perf_counter() - started, 2)})
    return fitted


def evaluate_point(mitigator: Any, x: Any, label: np.ndarray, gcodes: np.ndarray,
                   groups: list[str], metric: CountMetric, hib: bool, compare: str,
                   bound: Threshold, min_group_size: int,
                   confidence: float = 0.95) -> dict[str, Any]:
    """One point of the curve on the audited data: expected and deterministic forms."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        p = np.asarray(mitigator._pmf_predict(x))[:, 1]
    k = len(groups)
    out: dict[str, Any] = {"randomised_share": float(np.mean((p > 0) & (p < 1)))}
    for form, decision, intervals in (("expected", p, False),
                                      ("deterministic", (p >= 0.5).astype(float), True)):
        cells = cells_of(decision, label, gcodes, k)
        out[form] = {**accuracy_of(cells, confidence, intervals),
                     **policy_comparison(cells, groups, metric, hib, compare, bound,
                                         min_group_size, confidence, intervals)}
    return out
