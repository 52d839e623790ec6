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
from cxaudit.stats.intervals import logit_interval, wilson_interval, z_quantile
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


def named_mapping(params: GroupComparisonParams, attributes: list[str],
                  keys: list[tuple[str, ...]]) -> dict[str, str]:
    """The attributes of this set that the named reference names, with their values.

    A mapping names its attributes (those in this set); a bare value names every
    attribute of the set that has a group with that value. Empty: no named
    reference here (the set is compared with its best-off group).
    """
    ref = params.reference
    if ref in (None, "best", "overall"):
        return {}
    if isinstance(ref, dict):
        return {a: str(ref[a]) for a in attributes if a in ref}
    value = str(ref)
    return {a: value for j, a in enumerate(attributes) if any(k[j] == value for k in keys)}


@dataclass
class Reference:
    """What one group is compared against: a group (or cell) of the same set, or everyone.

    ``kind`` is ``best`` (the best-off group), ``named`` (the cell the named
    reference gives for this group) or ``overall``; ``index`` is the reference
    group's position in the set (None for overall or when it has a ``problem``).
    """

    kind: str  # best | overall | named
    index: int | None
    label: str
    group: dict[str, str] | None = None
    problem: str | None = None


def _best(gv: GroupValues, eligible: np.ndarray, higher_is_better: bool) -> Reference:
    """The best-off group: among groups with enough data and a defined value, never unknown."""
    candidates = [i for i in range(len(gv.keys))
                  if eligible[i] and UNKNOWN_GROUP not in gv.keys[i]]
    if not candidates:
        return Reference("best", None, "best-off group",
                         problem="no group has enough data to serve as the reference")
    values = gv.value[candidates]
    pick = int(np.argmax(values) if higher_is_better else np.argmin(values))
    index = candidates[pick]
    key = gv.keys[index]
    return Reference("best", index, group_label(gv.attributes, key),
                     dict(zip(gv.attributes, key, strict=True)))


def pick_references(gv: GroupValues, eligible: np.ndarray, params: GroupComparisonParams,
                    higher_is_better: bool) -> tuple[list[Reference], str, bool]:
    """Each group's reference, a description of the set's reference, and whether a
    named reference applied to this set.

    Named references carry into intersections cell by cell: a group is compared
    with the cell that has the named value in each attribute the reference names
    and the group's own values in the others (race=African-American × sex=Female
    against race=Caucasian × sex=Female). A reference cell that is missing or
    under ``min_group_size`` makes the comparison ``insufficient_data`` — never a
    silent fallback to another group.
    """
    n = len(gv.keys)
    if params.reference == "overall":
        ref = Reference("overall", None, "overall")
        return [ref] * n, "overall", False
    mapping = named_mapping(params, gv.attributes, gv.keys)
    if not mapping:
        ref = _best(gv, eligible, higher_is_better)
        return [ref] * n, ref.label, False
    index = {k: i for i, k in enumerate(gv.keys)}
    refs = []
    for key in gv.keys:
        cell = tuple(mapping.get(a, key[j]) for j, a in enumerate(gv.attributes))
        label = group_label(gv.attributes, cell)
        group = dict(zip(gv.attributes, cell, strict=True))
        at = index.get(cell)
        if at is None:
            refs.append(Reference("named", None, label, group,
                                  problem=f"reference cell {label} has no rows"))
        elif not eligible[at]:
            why = (f"fewer than {params.min_group_size} rows" if gv.n[at] < params.min_group_size
                   else "the metric is undefined for it")
            refs.append(Reference("named", None, label, group,
                                  problem=f"reference cell {label} has insufficient data ({why})"))
        else:
            refs.append(Reference("named", at, label, group))
    named = ", ".join(f"{a}={v}" for a, v in mapping.items())
    others = [a for a in gv.attributes if a not in mapping]
    description = named + (f" × the group's own {', '.join(others)}" if others else "")
    return refs, description, True


def _interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval that keeps +inf replicates (infinite ratios) in the ordering."""
    big = np.finfo(float).max
    reps = np.where(np.isposinf(replicates), big, replicates)
    low, high = percentile_interval(reps, confidence)
    return np.where(low >= big, np.inf, low), np.where(high >= big, np.inf, high)


def compare_set(gv: GroupValues, params: GroupComparisonParams, *, higher_is_better: bool,
                metric: str) -> tuple[list[dict[str, Any]], str, bool]:
    """One row per group: value and interval, reference, comparison with interval, raw p, MDE.

    Returns the rows, a description of the set's reference and whether a named
    reference applied to the set.
    """
    share = gv.n / max(gv.overall_n, 1)
    excluded = (share < params.exclude_under) if params.exclude_under else np.zeros(len(gv.keys), bool)
    defined = np.isfinite(gv.value) & ((gv.trials > 0) if gv.is_proportion else True)
    eligible = (gv.n >= params.min_group_size) & defined & ~excluded
    refs, description, named = pick_references(gv, eligible, params, higher_is_better)
    conf = params.confidence
    if params.ci_method == "wilson" and gv.is_proportion:
        v_low, v_high = wilson_interval(gv.successes, gv.trials, conf)
        v_low, v_high = v_low * gv.scale, v_high * gv.scale
    elif gv.replicates is not None:
        v_low, v_high = percentile_interval(gv.replicates, conf)
    elif gv.variance is not None:
        v_low, v_high = logit_interval(gv.value, gv.variance, conf)
    else:
        v_low = v_high = np.full(len(gv.keys), np.nan)
    direction = "higher" if higher_is_better else "lower"
    rows = []
    for i, key in enumerate(gv.keys):
        ref = refs[i]
        row: dict[str, Any] = {
            "metric": metric, "attributes": list(gv.attributes),
            "group": dict(zip(gv.attributes, key, strict=True)),
            "label": group_label(gv.attributes, key), "n": int(gv.n[i]),
            "share": float(share[i]), "value": _f(gv.value[i]),
            "value_ci": _ci(v_low[i], v_high[i]), "direction": direction,
            "reference": ref.label, "reference_group": ref.group, "reference_kind": ref.kind,
            "reference_value": None, "comparison": None, "comparison_ci": None, "p_raw": None,
            "test": None, "mde": None, "state": "compared"}
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
            row["reference_value"] = row["value"]
        if row["state"] == "compared":
            _fill_comparison(row, gv, i, ref, params, higher_is_better)
        rows.append(row)
    return rows, description, named


def _set_number(row: dict[str, Any], key: str, value: float) -> None:
    """Store a comparison: finite as is, +inf as null with ``<key>_infinite: true``."""
    value = float(value)
    if math.isinf(value) and value > 0:
        row[key], row[f"{key}_infinite"] = None, True
    else:
        row[key] = _f(value)


def _fill_comparison(row: dict[str, Any], gv: GroupValues, i: int, ref: Reference,
                     params: GroupComparisonParams, higher_is_better: bool) -> None:
    if gv.variance is not None:
        _fill_normal_comparison(row, gv, i, ref, params, higher_is_better)
        return
    if ref.kind == "overall":
        ref_value, ref_reps = gv.overall, gv.overall_replicates
    else:
        ref_value = gv.value[ref.index]
        ref_reps = gv.replicates[:, ref.index] if gv.replicates is not None else None
    row["reference_value"] = _f(ref_value)
    _set_number(row, "comparison", comparison_value(gv.value[i], ref_value, compare=params.compare,
                                                    higher_is_better=higher_is_better))
    diffs = None
    if gv.replicates is not None and ref_reps is not None:
        reps = comparison_value(gv.replicates[:, i], ref_reps, compare=params.compare,
                                higher_is_better=higher_is_better)
        low, high = _interval(reps[:, None], params.confidence)
        low, high = float(low[0]), float(high[0])
        if not (math.isnan(low) or math.isnan(high)):
            row["comparison_ci"] = [_f(low), _f(high)]  # +inf bounds: null, marked below
            if math.isinf(high):
                row["comparison_ci_infinite"] = [math.isinf(low), True]
        diffs = gv.replicates[:, i] - ref_reps
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


def _fill_normal_comparison(row: dict[str, Any], gv: GroupValues, i: int, ref: Reference,
                            params: GroupComparisonParams, higher_is_better: bool) -> None:
    """Comparison, interval and test from analytic variances (AUC: DeLong).

    The gap ``d = value - reference`` has variance ``var + var_ref`` (groups of
    one set share no rows) or ``var + var_all - 2 cov`` against everyone. A
    difference's interval is the image of ``d ± z·se`` under ``|·|`` (it holds
    0 when that interval crosses 0); a ratio's is ``exp(log ratio ± z·se_log)``
    by the delta method. The test of no gap is a two-sided z-test on ``d``.
    """
    value = float(gv.value[i])
    var = float(gv.variance[i])
    if ref.kind == "overall":
        ref_value, ref_var = gv.overall, gv.overall_variance
        cov = float(gv.overall_covariance[i]) if gv.overall_covariance is not None else math.nan
    else:
        ref_value, ref_var, cov = float(gv.value[ref.index]), float(gv.variance[ref.index]), 0.0
    ref_var = math.nan if ref_var is None else float(ref_var)
    row["reference_value"] = _f(ref_value)
    _set_number(row, "comparison", comparison_value(value, ref_value, compare=params.compare,
                                                    higher_is_better=higher_is_better))
    gap = value - ref_value
    var_gap = var + ref_var - 2.0 * cov
    se = math.sqrt(var_gap) if math.isfinite(var_gap) and var_gap >= 0 else math.nan
    if not math.isfinite(se):
        row["p_raw"], row["test"] = None, "none"
        return
    z = z_quantile(params.confidence)
    if params.compare == "difference":
        low, high = gap - z * se, gap + z * se
        bounds = [0.0 if low <= 0.0 <= high else min(abs(low), abs(high)), max(abs(low), abs(high))]
    else:
        num, den = (value, ref_value) if higher_is_better else (ref_value, value)
        bounds = [math.nan, math.nan]
        if num > 0 and den > 0:
            var_log = var / value ** 2 + ref_var / ref_value ** 2 - 2.0 * cov / (value * ref_value)
            if var_log >= 0:
                half = z * math.sqrt(var_log)
                bounds = [num / den * math.exp(-half), num / den * math.exp(half)]
    if all(math.isfinite(b) for b in bounds):
        row["comparison_ci"] = [_f(b) for b in bounds]
    p = math.erfc(abs(gap) / se / math.sqrt(2.0)) if se > 0 else float(gap == 0)
    row["p_raw"], row["test"] = _f(p), "delong"
    row["mde"] = _f(mde_from_standard_error(se, alpha=params.alpha))


def comparison_number(row: dict[str, Any], key: str = "comparison") -> float | None:
    """A stored comparison back as a number (+inf for the infinite marker)."""
    if row.get(f"{key}_infinite"):
        return math.inf
    return row.get(key)


def _f(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _ci(low: Any, high: Any) -> list[float] | None:
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return [low, high]
