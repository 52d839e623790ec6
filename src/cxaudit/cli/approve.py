"""``cxaudit approve DIR``: record a sign-off bound to the audit, and show it in the reports."""

from __future__ import annotations

from pathlib import Path

import click

from cxaudit.errors import CxauditError


@click.command("approve")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--approver", required=True, metavar="EMAIL", help="Who signs off.")
@click.option("--role", required=True, help="The role signed for, e.g. product_owner.")
@click.option("--comment", required=True, help="Why the release is accepted.")
@click.option("--trail", type=click.Path(path_type=Path), default=None,
              help="Audit trail to log the approval in (default: $CXAUDIT_TRAIL or "
                   "DIR/audit-trail.jsonl).")
@click.option("--no-trail", is_flag=True, help="Record only in DIR/approvals.jsonl.")
@click.option("--sign-key", type=click.Path(path_type=Path), default=None, metavar="KEY.pem",
              help="Sign the approval with your Ed25519 private key (required when the policy "
                   "registers approvals.approver_keys).")
@click.pass_context
def approve(ctx: click.Context, directory: Path, approver: str, role: str, comment: str,
            trail: Path | None, no_trail: bool, sign_key: Path | None) -> None:
    """Sign off the reports in DIR as ROLE.

    The bundle is verified first; the approval is bound to the audit's content
    (audit.json without its run block), so any change to the audit needs a new
    sign-off. A failing verdict cannot be approved (waive the finding instead).
    """
    from cxaudit.evidence.approvals import approval_status, record_approval
    from cxaudit.evidence.rerender import rerender_with_signoff

    try:
        entry = record_approval(directory, approver=approver, role=role, comment=comment,
                                trail=False if no_trail else (trail or True), sign_key=sign_key)
        approved, missing, approvals = approval_status(directory)
        # The approval binds the audit, not the rendered files: show it in the reports.
        rendered, not_rendered = rerender_with_signoff(directory)
    except CxauditError as exc:
        click.echo(f"error: {exc.format()}", err=True)
        ctx.exit(exc.exit_code)
        return
    data = entry["data"]
    signed = f", signed by {data['signature']['key_id']}" if data.get("signature") else ""
    click.echo(f"recorded approval {entry['seq']} as {role} for audit "
               f"{data['audit_digest'][:12]} (verdict {data['verdict']}{signed})")
    for refused in sorted({a.refused for a in approvals if a.refused}):
        click.echo(f"note: approvals that do not count because {refused}")
    if rendered:
        click.echo(f"sign-off block rendered in {', '.join(rendered)}; manifest updated")
    else:
        click.echo(f"note: the reports keep the sign-off block of the audit ({not_rendered}); "
                   "the approval is in approvals.jsonl")
    if approved:
        click.echo("sign-off complete")
    else:
        click.echo(f"sign-off still missing: {', '.join(missing)}")
