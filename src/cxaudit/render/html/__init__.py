"""The HTML report: a view model built from the audit, rendered by ``reports/audit.html.j2``.

One self-contained file: inline CSS and SVG, no scripts, no network. The print
stylesheet expands everything, so the PDF (WeasyPrint) is the same document.

:func:`build_view` is shared with the Markdown report (first screen + findings
table). :func:`render_bundle` re-renders the reports of a finished report
folder — with the sign-off block filled from ``approvals.jsonl`` — for
``cxaudit approve`` to call after recording an approval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cxaudit.result import AuditResult


def build_view(result: AuditResult, *, baseline: AuditResult | None = None,
               report_dir: str | Path | None = None,
               remedies: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the HTML and Markdown templates need, already worded."""
    from cxaudit.evidence.manifest import audit_digest
    from cxaudit.render.html import overview, record, sections
    from cxaudit.render.html.fairness import fairness_blocks
    from cxaudit.render.html.findings import by_concern, full_tables
    from cxaudit.render.html.remedies import remedies_view, stored_remedies
    from cxaudit.render.html.status import counts, verdict_words
    from cxaudit.render.rules import NOT_LEGAL_ADVICE

    digest = audit_digest(result)
    rules, rules_left_out = sections.applicable_rules(result)
    return {
        "verdict": result.verdict.value,
        "verdict_reason": result.verdict_reason,
        "words": verdict_words(result),
        "system": result.system,
        "identity": overview.identity(result, digest),
        "counts": counts(result),
        "scorecard": overview.scorecard(result),
        "top": overview.top_findings(result),
        "baseline": overview.baseline_changes(result, baseline),
        "concerns": by_concern(result),
        "fairness": fairness_blocks(result),
        "consent": sections.consent_view(result),
        "explain": sections.explain_view(result),
        "rules": rules,
        "rules_left_out": rules_left_out,
        "signoff": record.signoff(result, report_dir),
        "waivers": record.waivers(result),
        "evidence": record.evidence(result, digest, report_dir),
        "crosswalk": record.CROSSWALK,
        "definitions": record.definitions(result),
        "full_tables": full_tables(result),
        "run_config": record.run_config(result),
        "schema_version": result.schema_version,
        "cxaudit_version": result.versions.get("cxaudit", "?"),
        "not_legal_advice": NOT_LEGAL_ADVICE,
        "remedies": remedies_view(remedies if remedies is not None
                                  else stored_remedies(report_dir, digest)),
    }


def render_html(result: AuditResult, *, templates: Path | None = None, print_version: bool = False,
                baseline: AuditResult | None = None, report_dir: str | Path | None = None,
                remedies: dict[str, Any] | None = None) -> str:
    """Render the HTML report (``print_version``: for WeasyPrint; everything expanded)."""
    from cxaudit.render.templated import environment

    model = build_view(result, baseline=baseline, report_dir=report_dir, remedies=remedies)
    model["print_version"] = print_version
    return environment("html", templates).get_template("audit.html.j2").render(**model)


def render_bundle(report_dir: str | Path, *, templates: Path | None = None,
                  baseline: AuditResult | None = None) -> dict[str, Path]:
    """Re-render the HTML, Markdown and PDF reports present in ``report_dir`` from its audit.json.

    The sign-off block is filled from ``report_dir/approvals.jsonl``. Only files
    that already exist are rewritten; ``audit.json`` is never touched, so the
    audit digest approvals bind stays the same. The caller rewrites the
    manifest afterwards (report files changed).
    """
    from cxaudit.render import render
    from cxaudit.render.files import atomic_write

    root = Path(report_dir)
    result = AuditResult.from_json((root / "audit.json").read_text(encoding="utf-8"))
    written = {}
    for fmt, name in (("html", "audit.html"), ("md", "audit.md"), ("pdf", "audit.pdf")):
        path = root / name
        if path.is_file():
            atomic_write(path, render(result, fmt, templates=templates, baseline=baseline,
                                      report_dir=root))
            written[fmt] = path
    return written
