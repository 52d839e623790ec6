"""PDF through WeasyPrint: the HTML report's content, paginated for print."""

from __future__ import annotations

from pathlib import Path

from cxaudit.errors import InputError
from cxaudit.result import AuditResult


def render_pdf(result: AuditResult, *, templates: Path | None = None,
               baseline: AuditResult | None = None, report_dir: str | Path | None = None) -> bytes:
    """Render the HTML report and lay it out as PDF (no network access)."""
    try:
        import weasyprint
    except ImportError:
        raise InputError("the PDF report needs WeasyPrint",
                         hint="pip install 'cxaudit[pdf]'") from None
    from cxaudit.render.html import render_html

    html = render_html(result, templates=templates, print_version=True, baseline=baseline,
                       report_dir=report_dir)

    def no_fetch(url: str, *args: object, **kwargs: object) -> dict:
        # The report is self-contained; refuse anything that tries to load.
        raise ValueError(f"the report must not load external resources ({url})")

    return weasyprint.HTML(string=html, url_fetcher=no_fetch).write_pdf()
