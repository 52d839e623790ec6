"""``cxaudit log verify|show``: check and read the hash-chained audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cxaudit.errors import EXIT_BLOCKED, EXIT_INPUT


def _trail(path: Path | None) -> Path:
    from cxaudit.evidence.trail import resolve_trail_path

    resolved = resolve_trail_path(path)
    if not resolved.is_file():
        raise click.exceptions.Exit(_missing(resolved))
    return resolved


def _missing(path: Path) -> int:
    click.echo(f"error: no audit trail at {path}\n  hint: pass the trail file or the report "
               "folder that holds audit-trail.jsonl (or set CXAUDIT_TRAIL)", err=True)
    return EXIT_INPUT


def _mask_email(text: str) -> str:
    local, at, domain = text.partition("@")
    return f"{local[:1]}***@{domain}" if at else text


@click.group("log")
def log() -> None:
    """Check and read the audit trail (audits, approvals, waivers)."""


@log.command("verify")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--head", "expect_head", metavar="HASH",
              help="An entry hash recorded earlier: it must still be in the trail (detects "
                   "removal of the newest entries).")
@click.pass_context
def verify_log(ctx: click.Context, path: Path | None, expect_head: str | None) -> None:
    """Check every entry and link of the trail at PATH (file or report folder).

    Exit 0 when the chain is intact, 1 when an entry was edited, deleted or
    reordered, 2 when there is no trail.
    """
    from cxaudit.evidence.trail import verify_trail

    trail = _trail(path)
    report = verify_trail(trail, expect_head=expect_head)
    for problem in report.problems:
        click.echo(f"FAIL  {problem}")
    if not report.ok:
        click.echo(f"NOT VERIFIED: {len(report.problems)} problem(s) in {trail.name}", err=True)
        ctx.exit(EXIT_BLOCKED)
    head = report.head
    click.echo(f"ok    {trail.name}: {len(report.entries)} entries, chain intact")
    if head:
        click.echo(f"head: entry {head['seq']} {head['hash']}")
        click.echo("note: a chain cannot show its newest entries being cut off; keep the head "
                   "elsewhere and check later with --head")


@log.command("show")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["audit", "approval", "waiver"]), default=None,
              help="Only entries of this kind.")
@click.option("--last", type=click.IntRange(min=1), default=None, help="Only the newest N.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON Lines.")
@click.option("--show-emails", is_flag=True, help="Show approvers' emails unmasked.")
def show(path: Path | None, kind: str | None, last: int | None, as_json: bool,
         show_emails: bool) -> None:
    """List the trail's entries, oldest first (approver emails masked unless asked)."""
    from cxaudit.evidence.trail import summarize, verify_trail

    trail = _trail(path)
    report = verify_trail(trail)
    entries = [e for e in report.entries if kind is None or e.get("kind") == kind]
    if last is not None:
        entries = entries[-last:]
    for entry in entries:
        data = dict(entry.get("data") or {})
        if not show_emails and isinstance(data.get("approver"), str):
            data["approver"] = _mask_email(data["approver"])
        shown = {**entry, "data": data}
        if as_json:
            click.echo(json.dumps(shown, sort_keys=True, allow_nan=False))
        else:
            click.echo(f"{entry['seq']:>5}  {entry.get('time', '')}  {summarize(shown)}")
    if not report.ok:
        click.echo(f"warning: the trail fails verification ({len(report.problems)} problem(s)); "
                   "run `cxaudit log verify`", err=True)
