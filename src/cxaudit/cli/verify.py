"""``cxaudit verify DIR``: check a report bundle against its manifest and signature."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cxaudit.errors import EXIT_BLOCKED, EXIT_INPUT, CxauditError


@click.command("verify")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--public-key", type=click.Path(dir_okay=False, path_type=Path),
              help="The signer's published Ed25519 public key (PEM or ssh-ed25519). Without "
                   "it the signature is checked only against the key inside the bundle, "
                   "which proves integrity, not origin.")
@click.option("--require-signature", is_flag=True,
              help="Fail when the bundle is not signed.")
@click.option("--trail", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="An audit trail kept outside DIR: check its chain and that it logged this "
                   "audit.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def verify(ctx: click.Context, directory: Path, public_key: Path | None,
           require_signature: bool, trail: Path | None, as_json: bool) -> None:
    """Check a report folder: the manifest's signature, every report's SHA-256,
    and the approvals and audit trail chains.

    Exit 0 when everything matches, 1 on any mismatch (each named by file),
    2 when the folder or key cannot be read.
    """
    from cxaudit.evidence import EvidenceError
    from cxaudit.evidence.approvals import approval_status
    from cxaudit.evidence.signing import load_public_key
    from cxaudit.evidence.verify import verify_bundle

    try:
        if not directory.is_dir():
            raise CxauditError(f"report folder not found: {directory}",
                               hint="pass the --out folder of `cxaudit audit`")
        key = load_public_key(public_key) if public_key else None
        report = verify_bundle(directory, public_key=key, require_signature=require_signature,
                               trail=trail)
    except CxauditError as exc:
        click.echo(f"error: {exc.format()}", err=True)
        ctx.exit(EXIT_INPUT)
        return
    approvals_line = None
    if report.ok:
        try:
            approved, missing, approvals = approval_status(directory)
        except EvidenceError as exc:
            report.problems.append(exc.message)
        except CxauditError:  # no audit.json: nothing to say about approvals
            pass
        else:
            if approvals or missing != ["any"]:
                current = sorted({a.role for a in approvals if a.current})
                approvals_line = (f"approvals: {', '.join(current) or 'none current'}"
                                  + ("" if approved else f"; missing: {', '.join(missing)}"))
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "problems": report.problems,
                               "notes": report.notes, "verified_files": report.ok_files,
                               "signed": report.signed, "key_id": report.key_id,
                               "origin_checked": report.origin_checked}, indent=2,
                              allow_nan=False))
    else:
        for name in report.ok_files:
            click.echo(f"ok    {name}")
        for problem in report.problems:
            click.echo(f"FAIL  {problem}")
        for note in report.notes:
            click.echo(f"note: {note}")
        if approvals_line:
            click.echo(approvals_line)
        if report.ok:
            click.echo(f"verified: {len(report.ok_files)} file(s) match the evidence")
        else:
            click.echo(f"NOT VERIFIED: {len(report.problems)} problem(s)", err=True)
    ctx.exit(0 if report.ok else EXIT_BLOCKED)
