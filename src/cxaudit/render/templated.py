"""Markdown and HTML reports from Jinja2 templates (shipped under ``reports/``).

Templates get a small view model instead of raw pydantic objects, so a user
can copy ``reports/`` and point ``--templates`` at their own versions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cxaudit.render.rules import NOT_LEGAL_ADVICE, rules_covered
from cxaudit.result import AuditResult, CheckResult, Metric

TEMPLATE_FILES = {"md": "audit.md.j2", "html": "audit.html.j2"}
STATUS_ORDER = {"error": 0, "fail": 1, "inconclusive": 2, "insufficient_data": 3, "warn": 4,
                "pass": 5, "not_applicable": 6}
MAX_ROWS = 60
MAX_BARS = 40


def fmt_number(value: Any) -> str:
    """Four significant digits; ``n/a`` for missing or undefined values."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def fmt_group(group: dict[str, str]) -> str:
    """``gender=Female × SeniorCitizen=1``; ``overall`` for the empty group."""
    return " × ".join(f"{k}={v}" for k, v in group.items()) or "overall"


def fmt_threshold(threshold: dict[str, float] | None) -> str:
    """``≥ 0.8``, ``≤ 0.1`` or both."""
    if not threshold:
        return ""
    parts = []
    if "min" in threshold:
        parts.append(f"≥ {threshold['min']:g}")
    if "max" in threshold:
        parts.append(f"≤ {threshold['max']:g}")
    return ", ".join(parts)


def md_cell(value: Any) -> str:
    """Make text safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _bar(metric: Metric) -> dict[str, float] | None:
    """Geometry for a small bar with whiskers and the threshold line (0..scale)."""
    if metric.value is None or not math.isfinite(metric.value):
        return None
    bounds = [metric.value, *(metric.ci or ()), *((metric.threshold or {}).values()), 1.0]
    scale = max(b for b in bounds if b is not None and math.isfinite(b))
    scale = scale * 1.05 if scale > 0 else 1.0

    def pct(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else max(0.0, min(100.0, 100 * x / scale))

    threshold = metric.threshold or {}
    return {"value": pct(metric.value) or 0.0,
            "ci_low": pct(metric.ci[0]) if metric.ci else None,
            "ci_high": pct(metric.ci[1]) if metric.ci else None,
            "threshold": pct(threshold.get("min", threshold.get("max")))}


def _charts(check: CheckResult) -> dict[str, Any]:
    """One SVG per metric that varies across groups (at most MAX_BARS bars)."""
    from cxaudit.render.svg import Bar, bar_chart

    by_name: dict[str, list[Metric]] = {}
    for metric in check.metrics:
        if metric.group:
            by_name.setdefault(metric.name, []).append(metric)
    charts = {}
    for name, metrics in by_name.items():
        if len(metrics) < 2 or len(metrics) > MAX_BARS:
            continue
        distinct = {m.value for m in metrics if m.value is not None}
        if len(distinct) < 2 and not any(m.ci for m in metrics):
            continue  # nothing varies across groups: the table says it all
        threshold = next((m.threshold for m in metrics if m.threshold), None) or {}
        line = threshold.get("min", threshold.get("max"))
        bars = [Bar(label=fmt_group(m.group), value=m.value,
                    low=m.ci[0] if m.ci else None, high=m.ci[1] if m.ci else None,
                    status=m.status.value if m.status else "") for m in metrics]
        charts[name] = bar_chart(bars, title=f"{name.replace('_', ' ')} by group",
                                 threshold=line,
                                 threshold_label=fmt_threshold(threshold) if threshold else "")
    return charts


def _check_view(check: CheckResult, *, chart: bool = False) -> dict[str, Any]:
    tables: dict[str, list[dict[str, Any]]] = {}
    for metric in check.metrics:
        tables.setdefault(metric.name, []).append({
            "group": fmt_group(metric.group),
            "value": fmt_number(metric.value),
            "ci": (f"{fmt_number(metric.ci[0])} – {fmt_number(metric.ci[1])}"
                   if metric.ci else ""),
            "n": fmt_number(metric.n) if metric.n is not None else "",
            "p_value": fmt_number(metric.p_value) if metric.p_value is not None else "",
            "threshold": fmt_threshold(metric.threshold),
            "status": metric.status.value if metric.status else "",
            "note": metric.note or "",
            "bar": _bar(metric) if metric.threshold else None,
        })
    charts = _charts(check) if chart else {}
    truncated = {}
    for name, rows in tables.items():
        if len(rows) > MAX_ROWS:
            truncated[name] = len(rows) - MAX_ROWS
            tables[name] = rows[:MAX_ROWS]
    return {
        "id": check.id, "type": check.type, "status": check.status.value,
        "severity": check.severity.value, "summary": check.summary, "rule": check.rule,
        "description": check.description, "error": check.error, "tables": tables,
        "truncated": truncated,
        "charts": charts,
        "has_ci": any(m.ci for m in check.metrics),
        "has_p": any(m.p_value is not None for m in check.metrics),
    }


def view_model(result: AuditResult, *, chart: bool = False) -> dict[str, Any]:
    """Everything the templates need, already formatted."""
    checks = [_check_view(c, chart=chart) for c in result.checks]
    severity = {"block": 0, "warn": 1, "info": 2}
    ordered = sorted(checks, key=lambda c: (STATUS_ORDER.get(c["status"], 9),
                                            severity.get(c["severity"], 3), c["id"]))
    return {
        "verdict": result.verdict.value,
        "verdict_reason": result.verdict_reason,
        "system": result.system,
        "policy": result.policy,
        "checks": ordered,
        "counts": result.counts(),
        "inputs": {k: v.model_dump(mode="json") for k, v in sorted(result.inputs.items())},
        "versions": result.versions,
        "settings": result.settings,
        "run": result.run,
        "schema_version": result.schema_version,
        "rules": rules_covered(result),
        "not_legal_advice": NOT_LEGAL_ADVICE,
    }


def render_template(result: AuditResult, fmt: str, *, templates: Path | None = None,
                    print_version: bool = False) -> str:
    """Render the Markdown or HTML report (``print_version``: every table expanded)."""
    import jinja2

    from cxaudit.resources import data_dir

    folder = templates or data_dir("reports")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=(fmt == "html"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_cell
    env.filters["num"] = fmt_number
    model = view_model(result, chart=fmt == "html")
    model["print_version"] = print_version
    return env.get_template(TEMPLATE_FILES[fmt]).render(**model)
