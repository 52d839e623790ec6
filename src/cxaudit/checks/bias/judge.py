"""From comparison rows to statuses, metrics and one plain-language summary.

Kept apart from the computation so an audit-wide FDR step can re-judge rows
after adjusting their p-values across every bias check of the audit.

Every comparison gets one of four outcomes:

- ``pass``: the comparison meets the threshold (under ``decide_on: interval``:
  its whole interval does);
- ``fail``: it does not, and the data says so — under ``block_on:
  point_estimate`` the point estimate is outside, under ``block_on:
  significant`` the gap is also significant (adjusted p < alpha), under
  ``decide_on: interval`` the whole interval is outside;
- ``inconclusive``: the data cannot decide — outside the threshold but not
  significant, or an interval that crosses the threshold;
- ``insufficient_data``: the group or its reference cell is too small (or the
  metric is undefined for it).

A check with a failing comparison fails; otherwise one with an inconclusive
comparison is ``inconclusive``; a check that could not judge a single
comparison is ``inconclusive`` too (it measured nothing); a check where some
comparisons were judged and others had too little data is
``insufficient_data``.
"""

from __future__ import annotations

import math
from typing import Any

from cxaudit.checks.base import CheckOutcome, Threshold
from cxaudit.checks.bias.compare import comparison_number
from cxaudit.result import Metric, Status
from cxaudit.stats.significance import benjamini_hochberg

_STATUS_ORDER = (Status.FAIL, Status.INCONCLUSIVE, Status.INSUFFICIENT_DATA)


def adjust_p_values(rows: list[dict[str, Any]], scope: str = "check") -> int:
    """Benjamini–Hochberg across the rows that have a raw p-value; returns their number."""
    tested = [r for r in rows if r["state"] == "compared" and r.get("p_raw") is not None]
    adjusted = benjamini_hochberg([r["p_raw"] for r in tested])
    for row, p in zip(tested, adjusted, strict=True):
        row["p_adjusted"] = float(p)
        row["p_scope"] = scope
    return len(tested)


def _interval(row: dict[str, Any]) -> tuple[float, float] | None:
    ci = row.get("comparison_ci")
    if not ci:
        return None
    marks = row.get("comparison_ci_infinite") or [False, False]
    low = math.inf if marks[0] else ci[0]
    high = math.inf if marks[1] else ci[1]
    if low is None or high is None:
        return None
    return float(low), float(high)


def interval_outcome(interval: tuple[float, float], threshold: Threshold) -> str:
    """``pass`` when the whole interval meets the threshold, ``fail`` when none of it
    does, ``inconclusive`` when it crosses a bound."""
    low, high = interval
    if threshold.holds(low) and threshold.holds(high):
        return Status.PASS.value
    below = threshold.min is not None and high < threshold.min
    above = threshold.max is not None and low > threshold.max
    return Status.FAIL.value if below or above else Status.INCONCLUSIVE.value


def judge_row(row: dict[str, Any], threshold: Threshold, *, block_on: str, alpha: float,
              decide_on: str = "significance") -> None:
    """Set ``row['status']`` (and ``significant``, ``decided_by``) from its comparison."""
    state = row["state"]
    if state == "excluded":
        row["status"] = None
        return
    if state == "insufficient":
        row["status"] = Status.INSUFFICIENT_DATA.value
        return
    if state == "reference":
        row["status"] = Status.PASS.value
        return
    p = row.get("p_adjusted")
    row["significant"] = None if p is None else bool(p < alpha)
    value = comparison_number(row)
    if decide_on == "interval":
        interval = _interval(row)
        if interval is None:
            row["status"] = Status.INCONCLUSIVE.value
            row["decided_by"] = "interval (none: too few defined bootstrap replicates)"
            return
        row["status"] = interval_outcome(interval, threshold)
        row["decided_by"] = "interval"
        return
    if threshold.holds(value):
        row["status"] = Status.PASS.value
        row["decided_by"] = "point estimate"
    elif block_on == "point_estimate":
        row["status"] = Status.FAIL.value
        row["decided_by"] = "point estimate"
    else:
        row["status"] = Status.FAIL.value if row["significant"] else Status.INCONCLUSIVE.value
        row["decided_by"] = "significance"


def fmt(value: float | None, digits: int = 2) -> str:
    """A comparison for summaries: ``0.71``, ``∞``, ``n/a``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.{digits}f}"


def _note(row: dict[str, Any]) -> str:
    state = row["state"]
    if state == "reference":
        return "reference group"
    if state == "insufficient":
        return f"{row.get('why', 'insufficient data')} (reference: {row['reference']})"
    if state == "excluded":
        return f"excluded from comparison: {row['share']:.1%} of rows"
    parts = [f"reference: {row['reference']}",
             f"{row['direction']} is better for the group"]
    if row.get("p_raw") is not None:
        parts.append(f"{row['test']} test, raw p={row['p_raw']:.3g}")
        if row.get("significant") is not None:
            parts.append("significant" if row["significant"] else "not significant")
    if row.get("mde") is not None:
        parts.append(f"smallest detectable gap {row['mde']:.3g}")
    if row.get("status") == Status.INCONCLUSIVE.value:
        parts.append("inconclusive: " + ("the interval crosses the threshold"
                                         if row.get("decided_by", "").startswith("interval")
                                         else "outside the threshold but not significant"))
    return "; ".join(parts)


def row_metrics(row: dict[str, Any], threshold: Threshold, compare: str) -> list[Metric]:
    """The group's value metric and its comparison metric."""
    group = row["group"]
    name = row["metric"]
    ci = tuple(row["value_ci"]) if row["value_ci"] else None
    out = [Metric(name=name, group=group, value=row["value"], n=row["n"], ci=ci,
                  direction=row.get("direction"),
                  note=_note(row) if row["state"] == "excluded" else None)]
    if row["state"] == "excluded":
        return out
    interval = _interval(row)
    # The comparison is oriented: a larger ratio / a smaller gap is better for the group.
    out.append(Metric(name=f"{name}_{compare}", group=group, value=comparison_number(row),
                      n=row["n"], ci=interval, threshold=threshold.as_dict(),
                      p_value=row.get("p_adjusted"), status=Status(row["status"]),
                      direction="higher" if compare == "ratio" else "lower", note=_note(row)))
    return out


def _listing(rows: list[dict[str, Any]], limit: int = 4, *, with_p: bool = False,
             with_reference: bool = True) -> str:
    """``gender=Female (0.71 vs gender=Male); …`` — with adjusted p-values when asked."""
    items = []
    for r in rows[:limit]:
        text = fmt(comparison_number(r))
        if with_reference:
            text += f" vs {r['reference']}"
        if with_p and r.get("p_adjusted") is not None:
            text += f" p={r['p_adjusted']:.2g}"
        items.append(f"{r['label']} ({text})")
    return "; ".join(items) + (" …" if len(rows) > limit else "")


def _nothing_judged(rows: list[dict[str, Any]], what: str) -> str:
    reasons: dict[str, int] = {}
    for r in rows:
        if r["state"] == "insufficient":
            reasons[r.get("why", "insufficient data")] = reasons.get(
                r.get("why", "insufficient data"), 0) + 1
    if not rows:
        return f"Nothing could be judged on {what}: the data has no groups to compare."
    if not reasons:
        return (f"Nothing could be judged on {what}: every protected attribute has a single "
                "group (constant or missing), so there is nothing to compare.")
    why = "; ".join(f"{k} ({v} group(s))" for k, v in list(reasons.items())[:3])
    return f"Nothing could be judged on {what}: {why}."


def outcome(rows: list[dict[str, Any]], *, title: str, what: str, threshold: Threshold,
            compare: str, block_on: str, alpha: float, overall: list[Metric],
            details: dict[str, Any], decide_on: str = "significance") -> CheckOutcome:
    """Judge every row and build the check's outcome (status, summary, metrics, details)."""
    for row in rows:
        judge_row(row, threshold, block_on=block_on, alpha=alpha, decide_on=decide_on)
    metrics = list(overall)
    for row in rows:
        metrics.extend(row_metrics(row, threshold, compare))
    by_status = {s: [r for r in rows if r["status"] == s.value] for s in _STATUS_ORDER}
    compared = sum(1 for r in rows if r["state"] == "compared")
    bound = threshold.describe()
    fails, undecided, short = (by_status[s] for s in _STATUS_ORDER)
    refs = {r["reference"] for r in fails or undecided}
    one_ref = len(refs) == 1
    only = next(iter(refs)) if one_ref else None
    against = f" (reference: {only})" if only and only not in what else ""
    tail = ""
    if short:
        tail = f" {len(short)} group(s) could not be judged (insufficient data)."
    if fails:
        status = Status.FAIL
        significance = block_on == "significant" and decide_on != "interval"
        kind = "significantly " if significance else ""
        whole = " (their whole interval is outside)" if decide_on == "interval" else ""
        summary = (f"{len(fails)} group(s) {kind}fail the threshold ({bound}){whole} on {what}"
                   f"{against}: "
                   f"{_listing(fails, with_p=significance, with_reference=not one_ref)}.{tail}")
    elif undecided:
        status = Status.INCONCLUSIVE
        why = ("their intervals cross the threshold" if decide_on == "interval" else
               f"the gap is not statistically significant (alpha {alpha:g})")
        summary = (f"Inconclusive: {len(undecided)} group(s) fall outside the threshold ({bound}) "
                   f"on {what}{against} or cannot be told apart from it — {why}: "
                   f"{_listing(undecided, with_p=True, with_reference=not one_ref)}.{tail}")
    elif compared == 0:
        status = Status.INCONCLUSIVE
        summary = _nothing_judged(rows, what)
    elif short:
        status = Status.INSUFFICIENT_DATA
        labels = "; ".join(r["label"] for r in short[:4])
        summary = (f"No group fails {what}, but {len(short)} group(s) could not be judged: "
                   f"{labels}{' …' if len(short) > 4 else ''}.")
    else:
        status = Status.PASS
        summary = (f"Every group meets the threshold ({bound}) on {what} "
                   f"({compared} comparisons).")
    details = {**details, "title": title, "comparisons": rows, "block_on": block_on,
               "decide_on": decide_on, "alpha": alpha, "threshold": threshold.as_dict(),
               "compare": compare, "compared": compared}
    return CheckOutcome(status=status, summary=summary, metrics=tuple(metrics), details=details)
