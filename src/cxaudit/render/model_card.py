"""A model card filled from the audit (Mitchell et al., "Model Cards for Model Reporting").

The JSON form is built first; the Markdown card renders that same dictionary,
so the two never disagree. Sections the audit cannot know (training procedure,
intended users beyond the policy's declarations) say so instead of guessing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cxaudit.result import AuditResult, Status

FAIRNESS_PREFIXES = ("bias.",)


def model_card(result: AuditResult) -> dict[str, Any]:
    """The model card as a dictionary (the JSON form)."""
    system = result.system
    bias = [c for c in result.checks if c.type.startswith(FAIRNESS_PREFIXES)]
    other = [c for c in result.checks if not c.type.startswith(FAIRNESS_PREFIXES)]
    factors = sorted({attr for c in bias for m in c.metrics for attr in m.group})
    limits = []
    for check in result.checks:
        if check.status in (Status.INSUFFICIENT_DATA, Status.INCONCLUSIVE):
            limits.append(f"{check.id}: {check.summary}")
        elif check.status is Status.ERROR:
            limits.append(f"{check.id} could not run: {check.summary}")
    small = sorted({" × ".join(f"{k}={v}" for k, v in m.group.items())
                    for c in bias for m in c.metrics if m.status is Status.INSUFFICIENT_DATA})
    if small:
        limits.append("Groups too small to judge: " + "; ".join(small[:10])
                      + (" …" if len(small) > 10 else ""))
    if not any(m.ci for c in bias for m in c.metrics):
        limits.append("Fairness figures are point estimates without confidence intervals.")
    limits.append("Metrics describe the audited data; they may not hold for other populations "
                  "or after drift.")
    limits.append("Group fairness metrics can conflict with each other; passing one does not "
                  "imply the others. This card is not legal advice.")

    def check_entry(check: Any) -> dict[str, Any]:
        return {
            "id": check.id, "type": check.type, "status": check.status.value,
            "severity": check.severity.value, "summary": check.summary, "rule": check.rule,
            "metrics": [
                {"name": m.name, "group": m.group, "value": m.value, "ci": m.ci, "n": m.n,
                 "threshold": m.threshold, "status": m.status.value if m.status else None}
                for m in check.metrics if m.group
            ],
        }

    return {
        "model_details": {
            "name": system.get("name"), "type": system.get("model_type"),
            "owner": system.get("owner"), "approver": system.get("approver"),
            "model_artifact_sha256": result.inputs["model"].sha256 if "model" in result.inputs
            else None,
        },
        "intended_use": {
            "purpose": system.get("purpose"), "intervention": system.get("intervention"),
            "automation": system.get("automation"), "description": system.get("description"),
        },
        "factors": {"protected_attributes": factors},
        "evaluation_data": {name: {"file": rec.path, "rows": rec.rows, "sha256": rec.sha256}
                            for name, rec in sorted(result.inputs.items())
                            if name in ("data", "reference", "consent")},
        "fairness_analysis": [check_entry(c) for c in bias],
        "other_checks": [{"id": c.id, "type": c.type, "status": c.status.value,
                          "summary": c.summary} for c in other],
        "audit": {"verdict": result.verdict.value, "reason": result.verdict_reason,
                  "policy_sha256": result.policy.get("sha256"),
                  "cxaudit": result.versions.get("cxaudit"),
                  "schema_version": result.schema_version},
        "caveats_and_recommendations": limits,
    }


def model_card_json(result: AuditResult) -> str:
    """Deterministic JSON model card."""
    from cxaudit.evidence.bounds import strict_dumps

    return strict_dumps(model_card(result), indent=2, sort_keys=True, default=list) + "\n"


def render_model_card_markdown(result: AuditResult, *, templates: Path | None = None) -> str:
    """The Markdown model card, rendered from :func:`model_card`."""
    import jinja2

    from cxaudit.render.templated import fmt_group, fmt_number, fmt_threshold, md_cell
    from cxaudit.resources import data_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates or data_dir("reports"))),
                             autoescape=False, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    from cxaudit.render.markdown_escape import md_finalize

    env.filters.update(md=md_cell, num=fmt_number, group=fmt_group, threshold=fmt_threshold)
    env.finalize = md_finalize  # every printed value inert Markdown
    return env.get_template("model-card.md.j2").render(card=model_card(result))
