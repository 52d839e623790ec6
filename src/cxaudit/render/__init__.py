"""Renderers: the AuditResult as JSON, Markdown, HTML and JUnit.

Nothing renders inside a check. Every file is written atomically, so an
interrupted run leaves the previous report intact.
"""

from __future__ import annotations

from pathlib import Path

from cxaudit.render.files import atomic_write
from cxaudit.result import AuditResult

FORMATS = {
    "json": "audit.json",
    "md": "audit.md",
    "html": "audit.html",
    "junit": "audit.junit.xml",
}


def render(result: AuditResult, fmt: str, *, templates: Path | None = None) -> str:
    """Render ``result`` in one format."""
    if fmt == "json":
        return result.to_json()
    if fmt == "junit":
        from cxaudit.render.junit import render_junit

        return render_junit(result)
    from cxaudit.render.templated import render_template

    return render_template(result, fmt, templates=templates)


def write_reports(result: AuditResult, out_dir: str | Path, formats: list[str], *,
                  templates: Path | None = None) -> dict[str, Path]:
    """Render every format first, then write each file atomically."""
    out = Path(out_dir)
    rendered = {fmt: render(result, fmt, templates=templates) for fmt in formats}
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for fmt, text in rendered.items():
        path = out / FORMATS[fmt]
        atomic_write(path, text)
        written[fmt] = path
    return written
