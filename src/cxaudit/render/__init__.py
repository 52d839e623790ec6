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
    "pdf": "audit.pdf",
    "model-card": "model-card.md",
    "ll144": "audit-ll144.md",
}

#: Files a format writes beside its own: ``{format: ((key, file name), ...)}`` — the model
#: card's JSON form, the LL144 public summary's HTML form.
COMPANIONS = {
    "model-card": (("model-card-json", "model-card.json"),),
    "ll144": (("ll144-html", "audit-ll144.html"),),
}


def companions(result: AuditResult, formats: list[str]) -> dict[str, tuple[str, str]]:
    """``{key: (file name, text)}`` of the files the chosen formats write beside their own."""
    out: dict[str, tuple[str, str]] = {}
    if "model-card" in formats:
        from cxaudit.render.model_card import model_card_json

        out["model-card-json"] = ("model-card.json", model_card_json(result))
    if "ll144" in formats:
        from cxaudit.render.ll144 import render_ll144_html

        out["ll144-html"] = ("audit-ll144.html", render_ll144_html(result))
    return out


def render(result: AuditResult, fmt: str, *, templates: Path | None = None,
           baseline: AuditResult | None = None,
           report_dir: str | Path | None = None, remedies: dict | None = None) -> str | bytes:
    """Render ``result`` in one format (bytes for PDF).

    ``baseline``: an earlier audit, for the "since the baseline" panel of the
    HTML, PDF and Markdown reports. ``report_dir``: the report folder, whose
    approvals log fills the sign-off block. ``remedies``: ``cxaudit remedies``' output
    for the "What would fix it" section (HTML and Markdown; else read from the report
    folder's remedies.json when it belongs to this audit).
    """
    if fmt == "pdf":
        from cxaudit.render.pdf import render_pdf

        return render_pdf(result, templates=templates, baseline=baseline, report_dir=report_dir)
    if fmt == "model-card":
        from cxaudit.render.model_card import render_model_card_markdown

        return render_model_card_markdown(result, templates=templates)
    if fmt == "ll144":
        from cxaudit.render.ll144 import render_ll144_markdown

        return render_ll144_markdown(result)
    if fmt == "json":
        return result.to_json()
    if fmt == "junit":
        from cxaudit.render.junit import render_junit

        return render_junit(result)
    if fmt == "html":
        from cxaudit.render.html import render_html

        return render_html(result, templates=templates, baseline=baseline, report_dir=report_dir,
                           remedies=remedies)
    from cxaudit.render.templated import render_template

    return render_template(result, fmt, templates=templates, baseline=baseline,
                           report_dir=report_dir, remedies=remedies)


def render_set(result: AuditResult, formats: list[str], *, templates: Path | None = None,
               baseline: AuditResult | None = None,
               report_dir: str | Path | None = None,
               remedies: dict | None = None) -> dict[str, tuple[str, bytes]]:
    """``{format: (file name, bytes)}`` of every report, for :func:`cxaudit.evidence.bundle.write_bundle`.

    Like the bundle's own ``render_all``, with a baseline for the "since the
    baseline" panel and a report folder whose approvals fill the sign-off block.
    """
    rendered: dict[str, tuple[str, bytes]] = {}
    for fmt in formats:
        text = render(result, fmt, templates=templates, baseline=baseline, report_dir=report_dir,
                      remedies=remedies)
        rendered[fmt] = (FORMATS[fmt], text.encode("utf-8") if isinstance(text, str) else text)
    for key, (name, text) in companions(result, formats).items():
        rendered[key] = (name, text.encode("utf-8"))
    return rendered


def write_reports(result: AuditResult, out_dir: str | Path, formats: list[str], *,
                  templates: Path | None = None,
                  baseline: AuditResult | None = None) -> dict[str, Path]:
    """Render every format first, then write each file atomically."""
    out = Path(out_dir)
    rendered = {fmt: render(result, fmt, templates=templates, baseline=baseline,
                            report_dir=out if out.is_dir() else None) for fmt in formats}
    out.mkdir(parents=True, exist_ok=True)
    names = dict(FORMATS)
    for key, (name, text) in companions(result, formats).items():
        rendered[key], names[key] = text, name
    written = {}
    for fmt, text in rendered.items():
        path = out / names[fmt]
        atomic_write(path, text)
        written[fmt] = path
    return written
