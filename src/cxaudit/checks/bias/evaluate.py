"""Run one bias metric over every attribute set and judge it.

The pieces: per-set values (:mod:`.values`), comparisons (:mod:`.compare`),
Benjamini–Hochberg within the check and the outcome (:mod:`.judge`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from cxaudit.checks.base import CheckOutcome
from cxaudit.checks.bias.compare import compare_set, group_label
from cxaudit.checks.bias.judge import adjust_p_values, outcome
from cxaudit.checks.bias.ll144 import impact_table
from cxaudit.checks.bias.params import GroupComparisonParams
from cxaudit.checks.bias.values import GroupValues
from cxaudit.context import AuditContext
from cxaudit.result import Metric, Status
from cxaudit.stats.bootstrap import percentile_interval
from cxaudit.stats.intervals import logit_interval, wilson_interval

#: Metrics whose LL144 impact-ratio table is added to the details.
IMPACT_TABLE_METRICS = frozenset({"selection_rate", "scoring_rate"})


def check_rng(seed: int, check_id: str) -> np.random.Generator:
    """A generator seeded from the audit seed and the check id (independent per check)."""
    return np.random.default_rng([int(seed), zlib.crc32(check_id.encode())])


def reference_phrase(params: GroupComparisonParams, best: str = "the best-off group") -> str:
    """How the comparison's reference reads in a summary."""
    ref = params.reference
    if ref in (None, "best"):
        return best
    if ref == "overall":
        return "all customers"
    if isinstance(ref, dict):
        return ", ".join(f"{k}={v}" for k, v in ref.items())
    return str(ref)


def attribute_sets(ctx: AuditContext, params: GroupComparisonParams) -> list[list[str]] | str:
    """The attribute sets to audit, or a message saying what is wrong."""
    declared = ctx.protected
    if not declared:
        return "the policy declares no protected attributes (data.protected)"
    unknown = [a for a in params.attributes or [] if a not in declared]
    if unknown:
        return (f"attribute(s) {', '.join(unknown)} in `attributes` are not declared under "
                f"data.protected ({', '.join(declared)})")
    return ctx.group_sets(params.attributes)


def overall_metric(name: str, gv: GroupValues, params: GroupComparisonParams) -> Metric:
    """The metric over all rows (empty group), with its interval."""
    ci = None
    if params.ci_method == "wilson" and gv.is_proportion:
        low, high = wilson_interval(gv.successes.sum(), gv.trials.sum(), params.confidence)
        ci = (float(low) * gv.scale, float(high) * gv.scale)
    elif gv.overall_replicates is not None:
        low, high = percentile_interval(gv.overall_replicates[:, None], params.confidence)
        ci = (float(low[0]), float(high[0]))
    elif gv.overall_variance is not None:
        low, high = logit_interval(gv.overall, gv.overall_variance, params.confidence)
        ci = (float(low), float(high))
    if ci is not None and not all(np.isfinite(ci)):
        ci = None
    return Metric(name=name, value=gv.overall, n=gv.overall_n, ci=ci)


def evaluate(value_sets: list[GroupValues], params: GroupComparisonParams, *, metric: str,
             title: str, what: str, higher_is_better: bool, direction_reason: str,
             extra_details: dict[str, Any] | None = None) -> CheckOutcome:
    """Compare, adjust, judge: the outcome of one bias check over all attribute sets."""
    rows: list[dict[str, Any]] = []
    references = {}
    named_used = False
    if isinstance(params.reference, dict):
        attributes = {a for gv in value_sets for a in gv.attributes}
        unknown = [a for a in params.reference if a not in attributes]
        if unknown:
            return CheckOutcome(
                status=Status.ERROR,
                summary=f"The check could not run: the reference names attribute(s) "
                        f"{', '.join(unknown)}, which this check does not audit "
                        f"({', '.join(sorted(attributes))}).",
                details={"hint": "name protected attributes (data.protected) in `reference`"})
    for gv in value_sets:
        set_rows, description, named = compare_set(gv, params, higher_is_better=higher_is_better,
                                                   metric=metric)
        rows.extend(set_rows)
        references[" × ".join(gv.attributes)] = description
        named_used = named_used or (named and any(r["group"] == r["reference_group"]
                                                   for r in set_rows))
    if params.reference not in (None, "best", "overall") and not named_used and any(
            gv.keys for gv in value_sets):
        groups = "; ".join(group_label(gv.attributes, k) for gv in value_sets for k in gv.keys)
        return CheckOutcome(
            status=Status.ERROR,
            summary=f"The check could not run: reference group {params.reference!r} does not "
                    f"occur in the data (groups: {groups[:300]}).",
            details={"hint": "set `reference` to a group that occurs in the data, or to `best` "
                             "/ `overall`"})
    tested = adjust_p_values(rows)
    details: dict[str, Any] = {
        "metric": metric, "what": what, "higher_is_better": higher_is_better,
        "direction": direction_reason, "direction_rule": "higher" if higher_is_better else "lower",
        "references": references,
        "n_boot": params.n_boot, "ci_method": params.ci_method, "confidence": params.confidence,
        "p_value_adjustment": f"Benjamini-Hochberg across the {tested} comparison(s) of this check",
        "mde": f"smallest absolute gap detectable at 80% power, alpha {params.alpha:g}",
        "tests": "two-proportion z-test, or Fisher's exact test when an expected cell is below 5; "
                 "for non-proportions a bootstrap test (p bounded below by 2/(n_boot+1))",
        **(extra_details or {}),
    }
    if metric in IMPACT_TABLE_METRICS:
        details["impact_tables"] = [impact_table(gv, exclude_under=params.exclude_under)
                                    for gv in value_sets if gv.is_proportion]
    overall = ([overall_metric(metric, value_sets[0], params).model_copy(
        update={"direction": "higher" if higher_is_better else "lower"})] if value_sets else [])
    return outcome(rows, title=title, what=what, threshold=params.effective_threshold(),
                   compare=params.compare, block_on=params.block_on, alpha=params.alpha,
                   overall=overall, details=details, decide_on=params.decide_on)


def run_metric(ctx: AuditContext, params: GroupComparisonParams, *, metric: str, title: str,
               what: str, higher_is_better: bool, direction_reason: str,
               values_for: Callable[[list[str], np.random.Generator], GroupValues],
               extra_details: dict[str, Any] | None = None) -> CheckOutcome:
    """Build values for each attribute set with ``values_for`` and evaluate them."""
    sets = attribute_sets(ctx, params)
    if isinstance(sets, str):
        return CheckOutcome(status=Status.ERROR, summary=f"The check could not run: {sets}.")
    rng = check_rng(ctx.seed, params.id)
    value_sets = [values_for(attributes, rng) for attributes in sets]
    return evaluate(value_sets, params, metric=metric, title=title, what=what,
                    higher_is_better=higher_is_better, direction_reason=direction_reason,
                    extra_details=extra_details)
