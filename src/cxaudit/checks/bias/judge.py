"""From comparison rows to statuses, metrics and one plain-language summary.

Kept apart from the computation so an audit-wide FDR step can re-judge rows
after adjusting their p-values across every bias check of the audit.
"""

from __future__ import annotations

from typing import Any

from cxaudit.checks.base import CheckOutcome, Threshold
from cxaudit.result import Metric, Status
from cxaudit.stats.significance import benjamini_hochberg

_STATUS_ORDER = (Status.FAIL, Status.WARN, Status.INSUFFICIENT_DATA)


def adjust_p_values(rows: list[dict[str, Any]], scope: str = "check") -> int:
    """Benjamini–Hochberg across the rows that have a raw p-value; returns their number."""
    tested = [r for r in rows if r["state"] == "compared" and r.get("p_raw") is not None]
    adjusted = benjamini_hochberg([r["p_raw"] for r in tested])
    for row, p in zip(tested, adjusted, strict=True):
        row["p_adjusted"] = float(p)
        row["p_scope"] = scope
    return len(tested)


def judge_row(row: dict[str, Any], threshold: Threshold, *, block_on: str, alpha: float) -> None:
    """Set ``row['status']`` (and ``significant``) from its comparison and adjusted p."""
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
    if threshold.holds(row["comparison"]):
        row["status"] = Status.PASS.value
    elif block_on == "point_estimate" or row["significant"]:
        row["status"] = Status.FAIL.value
    else:
        row["status"] = Status.WARN.value


def _note(row: dict[str, Any]) -> str:
    state = row["state"]
    if state == "reference":
        return "reference group"
    if state == "insufficient":
        return row.get("why", "insufficient data")
    if state == "excluded":
        return f"excluded from comparison: {row['share']:.1%} of rows"
    parts = [f"reference: {row['reference']}"]
    if row.get("p_raw") is not None:
        parts.append(f"{row['test']} test, raw p={row['p_raw']:.3g}")
        if row.get("significant") is not None:
            parts.append("significant" if row["significant"] else "not significant")
    if row.get("mde") is not None:
        parts.append(f"smallest detectable gap {row['mde']:.3g}")
    return "; ".join(parts)


def row_metrics(row: dict[str, Any], threshold: Threshold, compare: str) -> list[Metric]:
    """The group's value metric and its comparison metric."""
    group = row["group"]
    name = row["metric"]
    ci = tuple(row["value_ci"]) if row["value_ci"] else None
    out = [Metric(name=name, group=group, value=row["value"], n=row["n"], ci=ci,
                  note=_note(row) if row["state"] == "excluded" else None)]
    if row["state"] == "excluded":
        return out
    cci = tuple(row["comparison_ci"]) if row.get("comparison_ci") else None
    out.append(Metric(name=f"{name}_{compare}", group=group, value=row["comparison"], n=row["n"],
                      ci=cci, threshold=threshold.as_dict(), p_value=row.get("p_adjusted"),
                      status=Status(row["status"]), note=_note(row)))
    return out


def _listing(rows: list[dict[str, Any]], limit: int = 4, *, with_p: bool = False) -> str:
    """``gender=Female (0.71); …`` — with adjusted p-values when significance decides."""
    items = []
    for r in rows[:limit]:
        text = f"{r['label']} ({r['comparison']:.2f})"
        if with_p and r.get("p_adjusted") is not None:
            text += f" p={r['p_adjusted']:.2g}"
        items.append(text)
    return "; ".join(items) + (" …" if len(rows) > limit else "")


def outcome(rows: list[dict[str, Any]], *, title: str, what: str, threshold: Threshold,
            compare: str, block_on: str, alpha: float, overall: list[Metric],
            details: dict[str, Any]) -> CheckOutcome:
    """Judge every row and build the check's outcome (status, summary, metrics, details)."""
    for row in rows:
        judge_row(row, threshold, block_on=block_on, alpha=alpha)
    metrics = list(overall)
    for row in rows:
        metrics.extend(row_metrics(row, threshold, compare))
    by_status = {s: [r for r in rows if r["status"] == s.value] for s in _STATUS_ORDER}
    compared = sum(1 for r in rows if r["state"] == "compared")
    bound = threshold.describe()
    fails, warns, short = (by_status[s] for s in _STATUS_ORDER)
    tail = ""
    if short:
        tail = f" {len(short)} group(s) could not be judged (insufficient data)."
    if fails:
        status = Status.FAIL
        kind = "significantly " if block_on == "significant" else ""
        summary = (f"{len(fails)} group(s) {kind}fail the threshold ({bound}) on {what}: "
                   f"{_listing(fails, with_p=block_on == 'significant')}.{tail}")
    elif warns:
        status = Status.WARN
        summary = (f"{len(warns)} group(s) fall outside the threshold ({bound}) on {what}, but "
                   f"the gap is not statistically significant (alpha {alpha:g}): "
                   f"{_listing(warns, with_p=True)}.{tail}")
    elif short or compared == 0:
        status = Status.INSUFFICIENT_DATA
        labels = "; ".join(r["label"] for r in short[:4])
        summary = (f"No group fails {what}, but {len(short)} group(s) could not be judged: "
                   f"{labels}{' …' if len(short) > 4 else ''}." if short else
                   f"No group could be compared on {what}.")
    else:
        status = Status.PASS
        summary = (f"Every group meets the threshold ({bound}) on {what} "
                   f"({compared} comparisons).")
    details = {**details, "title": title, "comparisons": rows, "block_on": block_on,
               "alpha": alpha, "threshold": threshold.as_dict(), "compare": compare,
               "compared": compared}
    return CheckOutcome(status=status, summary=summary, metrics=tuple(metrics), details=details)
