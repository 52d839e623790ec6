"""Remedies for every failing count-metric fairness check of an audit.

For each failing check and each attribute set (an attribute, or a declared intersection)
where a group fails: the group-blind single threshold, fairlearn's group-aware
ThresholdOptimizer, and the retraining curve (ExponentiatedGradient on ``--reference``).
Retraining is fitted once per (constraint, attribute set) and shared by the checks that
need it; a check is fitted on its finest failing attribute set (parity between the
intersection's groups bounds the marginal groups' gaps too) and every failing set is
measured. Decision aids only: nothing here changes a verdict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

NOTE = ("Decision aids computed on the audited data; never applied automatically and they do "
        "not change the audit's verdict.")


def _groups(frame: pd.DataFrame, attributes: list[str]) -> pd.Series:
    from cxaudit.context import group_column

    text = frame[group_column(attributes[0])].astype(str)
    for attribute in attributes[1:]:
        text = text + ", " + frame[group_column(attribute)].astype(str)
    return text


def _codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def failing_sets(result: Any, ctx: Any) -> list[list[str]]:
    """The check's attribute sets (policy order) with at least one failing group."""
    failing = {frozenset(m.group) for m in result.metrics
               if m.group and getattr(m.status, "value", m.status) == "fail"}
    return [s for s in ctx.group_sets() if frozenset(s) in failing]


def check_setup(params: Any, result: Any) -> dict[str, Any] | None:
    """The metric, direction, comparison and bound the check used, from its result."""
    from cxaudit.checks.base import Threshold
    from cxaudit.checks.bias.metrics import COUNT_METRICS

    details = result.details or {}
    metric = COUNT_METRICS.get(str(details.get("metric") or params.type.removeprefix("bias.")))
    if metric is None or details.get("threshold") is None:
        return None
    return {"metric": metric, "hib": bool(details.get("higher_is_better", True)),
            "compare": str(details.get("compare") or "ratio"),
            "bound": Threshold(**details["threshold"]),
            "min_group_size": int(getattr(params, "min_group_size", None) or 1)}


def collect(ctx: Any, *, results: dict[str, Any] | None = None, reference_ctx: Any = None,
            seed: int = 0, bounds: tuple[float, ...] | None = None, max_iter: int | None = None,
            max_rows: int | None = None, reference_note: str | None = None) -> dict[str, Any]:
    """Remedies for the failing count-metric fairness checks.

    ``results``: check id → the audit's result (else each bias check is run here);
    ``reference_ctx``: the reference data's context, for the retraining curve;
    ``reference_note``: why there is no reference context (shown instead of the curve).
    """
    from cxaudit.context import LABEL, SCORE
    from cxaudit.remedies import retrain
    from cxaudit.remedies.legal import legal_warning
    from cxaudit.remedies.thresholds import group_aware, group_blind
    from cxaudit.runner import run_check

    bounds = tuple(bounds or retrain.DEFAULT_BOUNDS)
    max_iter = max_iter or retrain.DEFAULT_MAX_ITER
    max_rows = max_rows or retrain.DEFAULT_MAX_ROWS
    legal = legal_warning(ctx.policy)
    frame = ctx.frame
    label = frame[LABEL].to_numpy(np.int64) if ctx.has_label else None
    estimator = ctx.model.estimator if ctx.model is not None else None
    skipped, items = [], []
    curves: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
    for params in ctx.policy.checks:
        if not params.type.startswith("bias."):
            continue
        result = (results or {}).get(params.id) or run_check(params, ctx)
        status = getattr(result.status, "value", result.status)
        if status in ("error", "inconclusive"):
            skipped.append({"check": params.id, "reason": f"the check is {status}, not failed "
                            f"({result.summary}): no remedy computed"})
        if status != "fail":
            continue
        setup = check_setup(params, result)
        if setup is None:
            skipped.append({"check": params.id, "reason": f"{params.type} does not compare a "
                            "confusion-count metric: no threshold or retraining remedy is offered"})
            continue
        if label is None:
            skipped.append({"check": params.id, "reason": "needs data.label (the outcome)"})
            continue
        sets = failing_sets(result, ctx)
        retraining = _retraining(params.id, setup, sets, ctx, reference_ctx, estimator, label,
                                 curves, seed, bounds, max_iter, max_rows, reference_note)
        for attrs in sets:
            gcodes, groups = _codes(_groups(frame, attrs))
            common = {"metric": setup["metric"], "hib": setup["hib"], "compare": setup["compare"],
                      "bound": setup["bound"], "min_group_size": setup["min_group_size"]}
            if ctx.has_score:
                blind = group_blind(frame[SCORE].to_numpy(float), label, gcodes, groups,
                                    current=ctx.policy.data.decision_threshold, **common)
            else:
                blind = {"offered": False, "reason": "decisions do not come from a score"}
            if estimator is not None and hasattr(estimator, "predict_proba"):
                aware = group_aware(estimator, frame[list(ctx.features)], label,
                                    _groups(frame, attrs).to_numpy(), gcodes, groups, seed=seed,
                                    **common)
                if aware.get("offered"):
                    aware["legal_warning"] = legal["text"]
            else:
                aware = {"offered": False, "reason": "needs a model with predict_proba (--model)"}
            key = " × ".join(attrs)
            items.append({"check": params.id, "metric": setup["metric"].name,
                          "compare": setup["compare"], "threshold": params_threshold(setup),
                          "attribute": key, "attributes": attrs, "group_blind": blind,
                          "group_aware": aware, "retraining": retraining["by_set"].get(
                              key, {"offered": False, "reason": retraining.get("reason", "")})})
    fits = [{"constraint": c, "fitted_on": list(s),
             **{k: v for k, v in info.items() if k != "fitted"},
             "points": [{k: v for k, v in f.items() if k != "mitigator"}
                        for f in info.get("fitted", ())]}
            for (c, s), info in curves.items()]
    return {"note": NOTE, "legal_warning": legal, "remedies": items, "skipped": skipped,
            "retraining_fits": fits}


def params_threshold(setup: dict[str, Any]) -> dict[str, float]:
    bound = setup["bound"]
    return {k: v for k, v in (("min", bound.min), ("max", bound.max)) if v is not None}


def _retraining(check_id: str, setup: dict[str, Any], sets: list[list[str]], ctx: Any,
                reference_ctx: Any, estimator: Any, label: np.ndarray,
                curves: dict[tuple[str, tuple[str, ...]], dict[str, Any]], seed: int,
                bounds: tuple[float, ...], max_iter: int, max_rows: int,
                reference_note: str | None) -> dict[str, Any]:
    """The curve of one check, measured on each failing attribute set."""
    from cxaudit.context import LABEL
    from cxaudit.remedies import retrain

    constraint = retrain.EG_CONSTRAINTS.get(setup["metric"].name)
    if constraint is None:
        return {"by_set": {}, "reason": f"no fairlearn reductions constraint covers "
                f"{setup['metric'].name}: no retraining remedy is offered"}
    why = retrain.why_not_retrainable(estimator)
    if why is None and reference_ctx is None:
        why = reference_note or ("needs the reference (training) data: --reference FILE")
    if why is None and not reference_ctx.has_label:
        why = "the reference data have no label (data.label)"
    if why is None and reference_ctx.frame[LABEL].nunique() < 2:
        why = ("the reference data's label has one value only (no positive or no negative "
               "outcome): nothing to retrain on")
    if why is not None or not sets:
        return {"by_set": {}, "reason": why or "no failing group"}
    x = ctx.frame[list(ctx.features)]
    by_set = {}
    for attrs in sets:
        # Fitted on the largest failing set holding these attributes (an intersection's
        # parity bounds its marginals' gaps too), so a curve serves several sets.
        fit_on = tuple(max((s for s in sets if set(attrs) <= set(s)), key=len))
        info = _fitted(curves, (constraint, fit_on), ctx, reference_ctx, estimator, seed,
                       bounds, max_iter, max_rows)
        if "error" in info:
            by_set[" × ".join(attrs)] = {"offered": False,
                                         "reason": f"fitting failed: {info['error']}"}
            continue
        gcodes, groups = _codes(_groups(ctx.frame, attrs))
        current = retrain.cells_of(_decisions(ctx), label, gcodes, len(groups))
        points = []
        for fit in info["fitted"]:
            point = retrain.evaluate_point(fit["mitigator"], x, label, gcodes, groups,
                                           setup["metric"], setup["hib"], setup["compare"],
                                           setup["bound"], setup["min_group_size"])
            points.append({"difference_bound": fit["difference_bound"],
                           "n_models": fit["n_models"], **point})
        now = {**retrain.accuracy_of(current, 0.95, True),
               **retrain.policy_comparison(current, groups, setup["metric"], setup["hib"],
                                           setup["compare"], setup["bound"],
                                           setup["min_group_size"])}
        by_set[" × ".join(attrs)] = {
            "offered": True, "constraint": constraint, "fitted_on": " × ".join(fit_on),
            "reference_rows": info["reference_rows"], "rows_used": info["rows_used"],
            "sampled": info["sampled"], "max_iter": info["max_iter"], "seed": info["seed"],
            "current_model": now, "points": points,
            "passing_points": [p["difference_bound"] for p in points
                               if p["deterministic"]["passes"]],
            "passing_points_randomised": [p["difference_bound"] for p in points
                                          if p["expected"]["passes"]],
            "how": ("fairlearn ExponentiatedGradient on the reference data (the model's "
                    "estimator cloned; sample weights on its final step), measured on the "
                    "audited data. 'expected': the randomised mixture's expected counts; "
                    "'deterministic': its probability of a positive decision ≥ 0.5.")}
    return {"by_set": by_set}


def _fitted(curves: dict[tuple[str, tuple[str, ...]], dict[str, Any]],
            key: tuple[str, tuple[str, ...]], ctx: Any, reference_ctx: Any, estimator: Any,
            seed: int, bounds: tuple[float, ...], max_iter: int, max_rows: int) -> dict[str, Any]:
    """The curve fitted for ``(constraint, attribute set)``, fitted once and cached."""
    from cxaudit.context import LABEL
    from cxaudit.remedies import retrain

    if key in curves:
        return curves[key]
    constraint, fit_on = key
    ref = reference_ctx.frame
    strata = (_groups(ref, list(fit_on)) + "|" + ref[LABEL].astype(str)).to_numpy()
    rows = retrain.stratified_sample(strata, max_rows, seed)
    sample = ref.iloc[rows]
    try:
        fitted = retrain.fit_curve(estimator, sample[list(ctx.features)],
                                   sample[LABEL].to_numpy(np.int64),
                                   _groups(sample, list(fit_on)).to_numpy(), constraint,
                                   bounds=bounds, max_iter=max_iter, seed=seed)
    except Exception as exc:  # the estimator cannot be fitted this way: say so
        curves[key] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    else:
        curves[key] = {"fitted": fitted, "reference_rows": int(len(ref)),
                       "rows_used": int(len(rows)), "sampled": bool(len(rows) < len(ref)),
                       "max_iter": max_iter, "seed": seed}
    return curves[key]


def _decisions(ctx: Any) -> np.ndarray:
    from cxaudit.context import DECISION

    return ctx.frame[DECISION].to_numpy(float)
