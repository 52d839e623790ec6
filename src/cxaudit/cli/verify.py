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
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="The date the audited tool is used (YYYY-MM-DD): an NYC LL144 bias audit "
                   "more than a year older than it is refused (Admin. Code § 20-871(a)(1)).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def verify(ctx: click.Context, directory: Path, public_key: Path | None,
           require_signature: bool, trail: Path | None, as_json: bool,
           as_of: str | None = None) -> None:
    """Check a report folder: the manifest's signature, every report's SHA-256,
    and the approvals and audit trail chains; with --as-of, that an NYC LL144 bias
    audit is at most a year old on that date of use.

    Exit 0 when everything matches, 1 on any mismatch (each named by file) or an
    LL144 audit too old for the date of use, 2 when the folder, key or date cannot
    be read.
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
        use_day = None
        if as_of is not None:
            from cxaudit.ll144 import parse_use_date

            use_day = parse_use_date(as_of)
        report = verify_bundle(directory, public_key=key, require_signature=require_signature,
                               trail=trail)
    except CxauditError as exc:
        click.echo(f"error: {exc.format()}", err=True)
        ctx.exit(EXIT_INPUT)
        return
    if report.ok:  # the audit.json just verified: is an LL144 audit recent enough?
        _ll144_use(directory, use_day, report)
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


def _ll144_use(directory: Path, use_day: object, report: object) -> None:
    """An NYC LL144 bias audit backs the tool's use for a year (Admin. Code § 20-871(a)(1)):
    too old on the date of use is a problem (exit 1); without --as-of, a note."""
    from cxaudit.ll144 import use_standing

    path = directory / "audit.json"
    if not path.is_file():
        return
    try:
        audit = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(audit, dict):
        return
    allowed, message = use_standing(audit, use_day)  # type: ignore[arg-type]
    if not message:
        return
    (report.problems if allowed is False else report.notes).append(message)  # type: ignore[attr-defined]
