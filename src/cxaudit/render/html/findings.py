"""Findings by concern: failing checks first, passing ones folded with observed vs threshold."""

from __future__ import annotations

import math
from typing import Any

from cxaudit.render.html.fairness import cell_id, failing_rows, interval, num
from cxaudit.render.html.overview import ACTIONS, first_sentence
from cxaudit.render.html.status import CONCERNS, check_tone, concern_of
from cxaudit.render.templated import fmt_group, fmt_threshold
from cxaudit.result import AuditResult, CheckResult, Metric

TABLE_ROWS = 12


def _margin(metric: Metric) -> float:
    """How far inside its threshold a value sits (negative: outside)."""
    t = metric.threshold or {}
    v = metric.value
    if v is None or not math.isfinite(v):
        return -math.inf
    margins = [v - t["min"] for t in (t,) if "min" in t] + [t["max"] - v for t in (t,) if "max" in t]
    return min(margins) if margins else math.inf


def observed(check: CheckResult) -> str:
    """The deciding number against its threshold: the metric closest to (or past) its bound."""
    judged = [m for m in check.metrics if m.threshold]
    if not judged:
        return ""
    worst = min(judged, key=_margin)
    where = f" ({fmt_group(worst.group)})" if worst.group else ""
    n = f", n={num(worst.n)}" if worst.n is not None else ""
    ci = f" [{interval(worst.ci)}]" if worst.ci else ""
    return (f"{worst.name.replace('_', ' ')}{where}: observed {num(worst.value)}{ci}{n} "
            f"against {fmt_threshold(worst.threshold)}")


def metric_rows(check: CheckResult, limit: int | None = TABLE_ROWS) -> tuple[list[dict], int]:
    """Rows of the check's metric table (first ``limit``) and how many were left out."""
    rows = []
    for m in check.metrics:
        rows.append({"name": m.name.replace("_", " "), "group": fmt_group(m.group),
                     "value": num(m.value), "ci": interval(m.ci), "n": num(m.n) if m.n is not None
                     else "", "threshold": fmt_threshold(m.threshold),
                     "p": num(m.p_value) if m.p_value is not None else "",
                     "status": m.status.value if m.status else "", "note": m.note or ""})
    if limit is None or len(rows) <= limit:
        return rows, 0
    return rows[:limit], len(rows) - limit


def _links(check: CheckResult) -> list[dict[str, str]]:
    """Links to the fairness cells of this check's groups outside the threshold."""
    out = []
    for row in failing_rows(check):
        attr = " × ".join(row.get("attributes") or [])
        out.append({"href": "#" + cell_id(attr, str(row.get("label", "")), check.id),
                    "label": f"{row.get('label')} ({num(row.get('comparison'), 2)}, "
                             f"{row.get('status')})"})
    return out


def check_view(check: CheckResult) -> dict[str, Any]:
    """Everything one check's entry shows."""
    tone = check_tone(check)
    concern = concern_of(check.type)
    rows, more = ([], 0) if check.details.get("comparisons") else metric_rows(check)
    not_run = check.status.value in ("error", "not_applicable")
    return {"id": check.id, "type": check.type, "tone": tone, "severity": check.severity.value,
            "status": check.status.value, "summary": check.summary, "rule": check.rule or "",
            "description": check.description or "", "error": check.error or "",
            "observed": observed(check), "rows": rows, "more": more,
            "links": _links(check) if check.details.get("comparisons") else [],
            "fairness": bool(check.details.get("comparisons")),
            "open": check.status.value not in ("pass", "not_applicable"),
            "not_run": not_run, "reason": first_sentence(check.error or check.summary)
            if not_run else "",
            "action": ACTIONS[concern] if tone.key in ("block", "warn", "inconc") else "",
            "waiver": check.waiver, "concern": concern}


def by_concern(result: AuditResult) -> list[dict[str, Any]]:
    """Concern sections, each with its checks worst first."""
    sections = []
    for key, title in CONCERNS:
        checks = [check_view(c) for c in result.checks if concern_of(c.type) == key]
        checks.sort(key=lambda c: (c["tone"].rank, c["id"]))
        sections.append({"key": key, "title": title, "anchor": f"concern-{key}",
                         "attention": [c for c in checks if c["open"]],
                         "passed": [c for c in checks if not c["open"] and not c["not_run"]],
                         # Errors are also findings (above); not-applicable checks only here.
                         "not_run": [c for c in checks if c["not_run"]]})
    return sections


def full_tables(result: AuditResult) -> list[dict[str, Any]]:
    """Every check's metric rows, unabridged, for the appendix."""
    out = []
    for check in result.checks:
        rows, _ = metric_rows(check, limit=None)
        if len(rows) > 1:
            out.append({"id": check.id, "rows": rows,
                        "has_ci": any(r["ci"] for r in rows), "has_p": any(r["p"] for r in rows)})
    return out
