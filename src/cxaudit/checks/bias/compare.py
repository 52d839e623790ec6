"""Compare each group with a reference: value, interval, test, detectable effect.

Produces one comparison row per (attribute set, group); rows are plain dicts so
the check's details carry them and an audit-wide FDR step can re-judge them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxaudit.checks.bias.params import GroupComparisonParams
from cxaudit.checks.bias.values import GroupValues
from cxaudit.context import UNKNOWN_GROUP
from cxaudit.stats.bootstrap import percentile_interval
from cxaudit.stats.intervals import wilson_interval
from cxaudit.stats.significance import (
    compare_proportions,
    mde_from_standard_error,
    minimum_detectable_effect,
)


def group_label(attributes: list[str], key: tuple[str, ...]) -> str:
    """``gender=Female, SeniorCitizen=1`` for messages."""
    return ", ".join(f"{a}={v}" for a, v in zip(attributes, key, strict=True))


def comparison_value(value: Any, reference: Any, *, compare: str, higher_is_better: bool) -> Any:
    """Ratio (disadvantaged over advantaged, so ≤ 1 against the best) or absolute gap.

    Works elementwise on arrays. A ratio with a zero denominator is 1 when both
    are 0 and infinite otherwise. Scalars in, a Python float out.
    """
    if np.ndim(value) == 0 and np.ndim(reference) == 0:
        return float(_comparison_array(value, reference, compare=compare,
                                       higher_is_better=higher_is_better))
    return _comparison_array(value, reference, compare=compare, higher_is_better=higher_is_better)


def _comparison_array(value: Any, reference: Any, *, compare: str,
                      higher_is_better: bool) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if compare == "difference":
        return np.abs(value - reference)
    num, den = (value, reference) if higher_is_better else (reference, value)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, num / np.where(den != 0, den, 1.0),
                       np.where(num == 0, 1.0, np.inf))
    return np.where(np.isnan(value) | np.isnan(reference), np.nan, out)


def _named_reference(params: GroupComparisonParams, attributes: list[str]) -> tuple[str, ...] | None:
    ref = params.reference
    if ref in (None, "best", "overall"):
        return None
    if isinstance(ref, dict):
        return tuple(str(ref[a]) for a in attributes) if set(ref) == set(attributes) else None
    return (str(ref),) if len(attributes) == 1 else None


@dataclass
class Reference:
    """What one attribute set's groups are compared against."""

    kind: str  # best | overall | named
    index: int | None
    label: str
    problem: str | None = None


def pick_reference(gv: GroupValues, eligible: np.ndarray, params: GroupComparisonParams,
                   higher_is_better: bool) -> Reference:
    """Choose the reference group (direction-aware best, overall, or a named group).

    A named reference applies to the attribute sets it names (a bare value: the
    single attributes that have it; a mapping: the set with exactly those
    attributes); other sets are compared with their best-off group.
    """
    if params.reference == "overall":
        return Reference("overall", None, "overall")
    named = _named_reference(params, gv.attributes)
    if named is not None and named in gv.keys:
        index = gv.keys.index(named)
        label = group_label(gv.attributes, named)
        if not eligible[index]:
            return Reference("named", None, label, problem=f"reference group {label} has "
                             "insufficient data")
        return Reference("named", index, label)
    candidates = [i for i in range(len(gv.keys))
                  if eligible[i] and UNKNOWN_GROUP not in gv.keys[i]]
    if not candidates:
        return Reference("best", None, "best-off group",
                         problem="no group has enough data to serve as the reference")
    values = gv.value[candidates]
    pick = int(np.argmax(values) if higher_is_better else np.argmin(values))
    index = candidates[pick]
    return Reference("best", index, group_label(gv.attributes, gv.keys[index]))


def compare_set(gv: GroupValues, params: GroupComparisonParams, *, higher_is_better: bool,
                metric: str) -> tuple[list[dict[str, Any]], Reference]:
    """One row per group: value and interval, comparison with interval, raw p, MDE."""
    share = gv.n / max(gv.overall_n, 1)
    excluded = (share < params.exclude_under) if params.exclude_under else np.zeros(len(gv.keys), bool)
    defined = np.isfinite(gv.value) & ((gv.trials > 0) if gv.is_proportion else True)
    eligible = (gv.n >= params.min_group_size) & defined & ~excluded
    ref = pick_reference(gv, eligible, params, higher_is_better)
    conf = params.confidence
    if params.ci_method == "wilson" and gv.is_proportion:
        v_low, v_high = wilson_interval(gv.successes, gv.trials, conf)
        v_low, v_high = v_low * gv.scale, v_high * gv.scale
    elif gv.replicates is not None:
        v_low, v_high = percentile_interval(gv.replicates, conf)
    else:
        v_low = v_high = np.full(len(gv.keys), np.nan)
    if ref.kind == "overall":
        ref_value, ref_reps = gv.overall, gv.overall_replicates
    elif ref.index is not None:
        ref_value = gv.value[ref.index]
        ref_reps = gv.replicates[:, ref.index] if gv.replicates is not None else None
    else:
        ref_value, ref_reps = float("nan"), None
    boot = None
    if gv.replicates is not None and ref_reps is not None:
        comparisons = comparison_value(gv.replicates, ref_reps[:, None], compare=params.compare,
                                       higher_is_better=higher_is_better)
        c_low, c_high = percentile_interval(comparisons, conf)
        boot = (c_low, c_high, gv.replicates - ref_reps[:, None])
    rows = []
    for i, key in enumerate(gv.keys):
        row: dict[str, Any] = {
            "metric": metric, "attributes": list(gv.attributes),
            "group": dict(zip(gv.attributes, key, strict=True)),
            "label": group_label(gv.attributes, key), "n": int(gv.n[i]),
            "share": float(share[i]), "value": _f(gv.value[i]),
            "value_ci": _ci(v_low[i], v_high[i]), "reference": ref.label,
            "comparison": None, "comparison_ci": None, "p_raw": None, "test": None,
            "mde": None, "state": "compared"}
        if gv.is_proportion:
            row["successes"], row["trials"] = int(gv.successes[i]), int(gv.trials[i])
        if excluded[i]:
            row["state"] = "excluded"
        elif not eligible[i]:
            row["state"] = "insufficient"
            row["why"] = (f"fewer than {params.min_group_size} rows" if gv.n[i] < params.min_group_size
                          else "zero denominator: the metric is undefined for this group")
        elif ref.problem:
            row["state"] = "insufficient"
            row["why"] = ref.problem
        elif ref.kind != "overall" and i == ref.index:
            row["state"] = "reference"
            row["comparison"] = 1.0 if params.compare == "ratio" else 0.0
        if row["state"] == "compared":
            _fill_comparison(row, gv, i, ref, ref_value, boot, params, higher_is_better)
        rows.append(row)
    return rows, ref


def _fill_comparison(row: dict[str, Any], gv: GroupValues, i: int, ref: Reference,
                     ref_value: float, boot: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
                     params: GroupComparisonParams, higher_is_better: bool) -> None:
    row["comparison"] = _f(comparison_value(gv.value[i], ref_value, compare=params.compare,
                                            higher_is_better=higher_is_better))
    diffs = None
    if boot is not None:
        row["comparison_ci"] = _ci(boot[0][i], boot[1][i])
        diffs = boot[2][:, i]
        diffs = diffs[np.isfinite(diffs)]
    if gv.is_proportion:
        x, t = int(gv.successes[i]), int(gv.trials[i])
        if ref.kind == "overall":  # test the group against everyone else
            xr, tr = int(gv.successes.sum()) - x, int(gv.trials.sum()) - t
        else:
            xr, tr = int(gv.successes[ref.index]), int(gv.trials[ref.index])
        p, test = compare_proportions(x, t, xr, tr)
        p_ref = xr / tr if tr else float("nan")
        row["mde"] = _f(minimum_detectable_effect(p_ref, t, tr, alpha=params.alpha) * gv.scale)
    elif diffs is not None and len(diffs) >= 2:
        # Bootstrap test of "no gap": how often the replicate gap crosses zero.
        below, above = np.mean(diffs <= 0), np.mean(diffs >= 0)
        p = min(1.0, 2.0 * max(min(below, above), 1.0 / (len(diffs) + 1)))
        test = "bootstrap"
        row["mde"] = _f(mde_from_standard_error(float(np.std(diffs, ddof=1)), alpha=params.alpha))
    else:
        p, test = float("nan"), "none"
    row["p_raw"], row["test"] = _f(p), test


def _f(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _ci(low: Any, high: Any) -> list[float] | None:
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return [low, high]
