"""What every consent finding holds: counts, share, bias impact, hashed examples."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from cxaudit.checks.base import CheckOutcome, CheckParams, Threshold
from cxaudit.checks.bias import comparison_value, group_label
from cxaudit.consent.states import STATES, ConsentView
from cxaudit.context import DECISION, UNKNOWN_GROUP, AuditContext, group_column
from cxaudit.masking import examples_enabled, hash_ids
from cxaudit.result import Metric, Status

AFFECTED = "__cx_consent_affected"
STATE_COLUMN = "__cx_consent_state"
NO_ROWS = Threshold(max=0.0)


class ConsentParams(CheckParams):
    """Declaration shared by consent checks."""

    threshold: Threshold = Field(
        default=NO_ROWS, description="Bounds on the share of rows affected (default: none).")
    examples: int = Field(default=5, ge=0, le=20,
                          description="Salted hashes of affected subject ids to list.")
    min_group_size: int = Field(default=30, ge=1, description="Groups smaller than this are "
                                "left out of the bias comparison.")


class LifecycleParams(ConsentParams):
    """Declaration of the lifecycle checks (coverage, withdrawn, expired, refused)."""

    datasets: list[Literal["data", "reference"]] = Field(
        default_factory=lambda: ["data"], min_length=1,
        description="Which rows to check: the audited data, and/or the reference (training) "
        "data given with --reference (same id and timestamp columns).")


def _rates(table: Any, columns: list[str]) -> dict[tuple[str, ...], tuple[int, float]]:
    out: dict[tuple[str, ...], tuple[int, float]] = {}
    grouped = table.groupby(columns, sort=True)
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        n = int(part["count"].sum())
        positive = int(part.loc[part[DECISION] == 1, "count"].sum())
        out[tuple(str(k) for k in key)] = (n, positive / n if n else float("nan"))
    return out


def _lowest_ratio(rates: dict[tuple[str, ...], tuple[int, float]], min_size: int,
                  higher_is_better: bool) -> tuple[float | None, tuple[str, ...] | None]:
    eligible = {k: r for k, (n, r) in rates.items() if n >= min_size and not np.isnan(r)}
    known = [r for k, r in eligible.items() if UNKNOWN_GROUP not in k]
    if len(eligible) < 2 or not known:
        return None, None
    # The best-off *known* group is the reference, as in the bias checks (compare.py).
    best = (max if higher_is_better else min)(known)
    ratios = {k: comparison_value(r, best, compare="ratio", higher_is_better=higher_is_better)
              for k, r in eligible.items()}
    worst = min(sorted(ratios), key=lambda k: ratios[k])
    return ratios[worst], worst


def _state_cells(ctx: AuditContext, view: ConsentView, columns: list[str]) -> Any:
    """Rows per (group columns, decision, consent state) of the audited data: computed once,
    shared by every lifecycle check of the purpose (each one's affected rows are a set of
    states, so its "without those rows" counts are sums of these cells)."""
    key = f"consent.state_cells.{view.rules.purpose}"
    cached = ctx.notes.get(key)
    if cached is None or cached[0] is not view:
        frame = ctx.engine.with_row_values(ctx.frame, STATE_COLUMN, view.state.astype(np.int8))
        cached = (view, ctx.engine.count_by(frame, [*columns, DECISION, STATE_COLUMN]))
        ctx.notes[key] = cached
    return cached[1]


def bias_impact(ctx: AuditContext, affected: np.ndarray, min_group_size: int, *,
                view: ConsentView | None = None, states: tuple[str, ...] | None = None
                ) -> tuple[list[Metric], list[dict[str, Any]], str]:
    """Selection rate per group with all rows and without the affected rows.

    Returns per-group metrics, a details list (lowest selection-rate ratio per
    attribute set, before and after) and one sentence for the summary. When the
    affected rows are exactly the rows of ``view`` in ``states``, the counts come
    from the purpose's shared state cells (no pass over the rows of its own).
    """
    if not ctx.has_decision or not ctx.protected:
        return [], [], ""
    higher_is_better = ctx.policy.system.intervention.value == "assistive"
    metrics: list[Metric] = []
    details: list[dict[str, Any]] = []
    sentences: list[str] = []
    group_sets = list(ctx.group_sets())
    every_column = list(dict.fromkeys(group_column(a) for s in group_sets for a in s))
    if view is not None and states is not None:
        cells = _state_cells(ctx, view, every_column)
        codes = [STATES.index(state) for state in states]
        flag = np.isin(np.asarray(cells[STATE_COLUMN], dtype=np.int64), codes).astype(np.int8)
        finest = cells.drop(columns=[STATE_COLUMN]).assign(**{AFFECTED: flag})
    else:
        # The flag column rides along (row-aligned on every engine) for one count_by.
        frame = ctx.engine.with_row_values(ctx.frame, AFFECTED, affected.astype(np.int8))
        # One pass over the rows at the finest grouping; each attribute set's counts are
        # sums of it (on Spark, one job over the flagged rows instead of one per set).
        finest = ctx.engine.count_by(frame, [*every_column, DECISION, AFFECTED])
    for attributes in group_sets:
        columns = [group_column(a) for a in attributes]
        counts = (finest.groupby([*columns, DECISION, AFFECTED], sort=True, dropna=False)
                  ["count"].sum().reset_index())
        every = _rates(counts, columns)
        kept = _rates(counts[counts[AFFECTED] == 0], columns)
        for key in sorted(every):
            group = dict(zip(attributes, key, strict=True))
            n_all, rate_all = every[key]
            n_kept, rate_kept = kept.get(key, (0, float("nan")))
            metrics.append(Metric(name="selection_rate_all_rows", group=group, value=rate_all,
                                  n=n_all))
            metrics.append(Metric(name="selection_rate_without_affected", group=group,
                                  value=rate_kept, n=n_kept))
        before, worst_before = _lowest_ratio(every, min_group_size, higher_is_better)
        after, worst_after = _lowest_ratio(kept, min_group_size, higher_is_better)
        details.append({"attributes": list(attributes), "lowest_ratio_all_rows": before,
                        "lowest_ratio_without_affected": after,
                        "lowest_group_all_rows": group_label(attributes, worst_before)
                        if worst_before else None,
                        "lowest_group_without_affected": group_label(attributes, worst_after)
                        if worst_after else None})
        if before is not None and after is not None:
            sentences.append(f"{' × '.join(attributes)} {before:.2f} → {after:.2f}")
    sentence = ("Without those rows the lowest selection-rate ratio moves: "
                + "; ".join(sentences) + ".") if sentences else ""
    return metrics, details, sentence


def finding(ctx: AuditContext, view: ConsentView, affected: np.ndarray, params: ConsentParams,
            *, problem: str, clean: str, breakdown: dict[str, int] | None = None,
            extra_metrics: list[Metric] | None = None, extra_details: dict[str, Any] | None = None,
            with_bias: bool = True, states: tuple[str, ...] | None = None) -> CheckOutcome:
    """Build the outcome of a consent check from the mask of affected rows.

    ``states``: the affected rows are exactly ``view.mask(*states)`` (the lifecycle
    checks), which lets the bias impact share one count over the consent states.
    """
    n = len(affected)
    count = int(affected.sum())
    share = count / n if n else 0.0
    ok = params.threshold.holds(share)
    metrics = [
        Metric(name="affected_rows", value=float(count), n=n),
        Metric(name="affected_share", value=share, n=n, threshold=params.threshold.as_dict(),
               status=Status.PASS if ok else Status.FAIL),
    ]
    for state, k in (breakdown or {}).items():
        metrics.append(Metric(name="affected_rows", group={"reason": state}, value=float(k), n=n))
    metrics.extend(extra_metrics or [])
    # Example ids are fetched only when a key lets the report show them (hashed): without
    # one they would be dropped unseen (on Spark, a fetch by position per check).
    shown = params.examples if examples_enabled() else 0
    subjects, examples = view.subjects_where(affected, shown) if count else (0, [])
    details: dict[str, Any] = {
        "purpose": view.rules.purpose,
        "event_time": view.event.source,
        "affected_rows": count,
        "affected_subjects": subjects,
        "example_subjects": hash_ids(examples, limit=params.examples),
        **(extra_details or {}),
    }
    impact = ""
    if count and with_bias:
        bias_metrics, bias_details, impact = bias_impact(ctx, affected, params.min_group_size,
                                                         view=view, states=states)
        metrics.extend(bias_metrics)
        details["bias_impact"] = bias_details
    if count == 0:
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=details,
                            summary=f"{clean} (purpose {view.rules.purpose}; event time: "
                                    f"{view.event.source}).")
    reasons = ""
    if breakdown:
        reasons = " (" + ", ".join(f"{state.replace('_', ' ')} {k:,}"
                                   for state, k in breakdown.items() if k) + ")"
    summary = (f"{count:,} of {n:,} rows ({share:.1%}, {details['affected_subjects']:,} "
               f"subjects) {problem}{reasons}; event time: {view.event.source}."
               + (f" {impact}" if impact else ""))
    status = Status.PASS if ok else Status.FAIL
    if ok:
        summary = f"Within the allowed share ({params.threshold.describe()}): " + summary
    return CheckOutcome(status=status, metrics=tuple(metrics), details=details, summary=summary)


def breakdown_of(view: ConsentView, affected: np.ndarray) -> dict[str, int]:
    """Affected rows per consent state."""
    found = np.bincount(view.state[affected], minlength=len(STATES))
    return {name: int(found[code]) for code, name in enumerate(STATES) if found[code]}


def over_datasets(ctx: AuditContext, params: LifecycleParams, outcome_for: Any
                  ) -> CheckOutcome:
    """Run ``outcome_for(dataset)`` per declared dataset and fold the outcomes into one.

    The audited data's outcome is reported as is; the reference data's metrics
    carry ``group: {dataset: reference}`` and its summary follows.
    """
    outcomes = {name: outcome_for(name) for name in params.datasets}
    if len(outcomes) == 1 and "data" in outcomes:
        return outcomes["data"]
    order = [Status.PASS, Status.INSUFFICIENT_DATA, Status.WARN, Status.FAIL, Status.ERROR]
    status = max((o.status for o in outcomes.values()), key=order.index)
    metrics: list[Metric] = []
    for name, outcome in outcomes.items():
        for m in outcome.metrics:
            metrics.append(m if name == "data" else m.model_copy(
                update={"group": {"dataset": name, **m.group}}))
    label = {"data": "Audited data", "reference": "Reference (training) data"}
    summary = " ".join(f"{label[name]}: {o.summary}" for name, o in outcomes.items())
    return CheckOutcome(status=status, summary=summary, metrics=tuple(metrics),
                        details={name: o.details for name, o in outcomes.items()})
