"""Markdown and HTML reports from Jinja2 templates (shipped under ``reports/``).

Templates get a view model (:func:`cxaudit.render.html.build_view`) instead of
raw pydantic objects, so a user can copy ``reports/`` and point ``--templates``
at their own versions. The formatting helpers here are shared with the model card.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cxaudit.result import AuditResult

TEMPLATE_FILES = {"md": "audit.md.j2", "html": "audit.html.j2"}


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
    """Make text inert Markdown, safe inside a table cell (see :mod:`.markdown_escape`)."""
    from cxaudit.render.markdown_escape import md_escape

    return md_escape(value)


def environment(fmt: str, templates: Path | None = None) -> Any:
    """The Jinja2 environment for ``fmt`` (HTML autoescapes; StrictUndefined everywhere)."""
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
    if fmt == "md":  # every printed value inert, filtered or not (escaped once)
        from cxaudit.render.markdown_escape import md_finalize

        env.finalize = md_finalize
    return env


def render_template(result: AuditResult, fmt: str, *, templates: Path | None = None,
                    print_version: bool = False, baseline: AuditResult | None = None,
                    report_dir: str | Path | None = None, remedies: dict | None = None) -> str:
    """Render the Markdown or HTML report (``print_version``: every table expanded)."""
    from cxaudit.render.html import build_view

    model = build_view(result, baseline=baseline, report_dir=report_dir, remedies=remedies)
    model["print_version"] = print_version
    return environment(fmt, templates).get_template(TEMPLATE_FILES[fmt]).render(**model)
