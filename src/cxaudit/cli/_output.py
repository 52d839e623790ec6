"""Terminal output shared by commands: the verdict line and the table of checks."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import click

from cxaudit.errors import EXIT_BLOCKED, EXIT_INPUT, EXIT_INTERNAL, EXIT_PASS
from cxaudit.result import AuditResult, Severity, Status, Verdict

COLOURS = {"pass": "green", "warn": "yellow", "fail": "red", "error": "magenta",
           "insufficient_data": "blue", "inconclusive": "yellow", "not_applicable": "white"}


def exit_code(result: AuditResult, *, strict: bool) -> int:
    """0 pass (and warn unless strict), 1 the gate blocks, 2 a blocking check could not read
    an input it was given (bad input, the user's to fix), 3 the audit errored (a bug)."""
    if result.verdict is Verdict.ERROR:
        errored = [c for c in result.checks
                   if c.status is Status.ERROR and c.severity is Severity.BLOCK]
        if errored and all(c.details.get("input_error") for c in errored):
            return EXIT_INPUT
        return EXIT_INTERNAL
    if result.verdict is Verdict.FAIL or (strict and result.verdict is Verdict.WARN):
        return EXIT_BLOCKED
    return EXIT_PASS


def print_summary(result: AuditResult, written: dict[str, Path], *, quiet: bool = False) -> None:
    """Verdict first, then one row per check, then where the reports are."""
    width = min(shutil.get_terminal_size((100, 20)).columns, 120)
    verdict = result.verdict.value
    click.echo(click.style(f"Verdict: {verdict.upper()}", fg=COLOURS[verdict], bold=True)
               + f" — {result.verdict_reason}")
    if quiet:
        return
    click.echo()
    id_width = max([len(c.id) for c in result.checks] + [5])
    status_width = 17
    for check in result.checks:
        status = check.status.value
        prefix = f"  {status:<{status_width}} {check.id:<{id_width}}  "
        summary_width = max(width - len(prefix), 30)
        lines = textwrap.wrap(check.summary, summary_width) or [""]
        styled = prefix.replace(status, click.style(status, fg=COLOURS[status]), 1)
        click.echo(styled + lines[0])
        for line in lines[1:]:
            click.echo(" " * len(prefix) + line)
    if written:
        click.echo()
        for fmt, path in written.items():
            click.echo(f"  {fmt:<6} {path}")


def progress_reporter(quiet: bool):  # type: ignore[no-untyped-def]
    """A ``progress(done, total, check_id)`` for terminals; None in CI, pipes or --quiet."""
    import os
    import sys

    if quiet or os.environ.get("CI") or not sys.stderr.isatty():
        return None
    width = 28

    def report(done: int, total: int, check_id: str) -> None:
        filled = int(width * done / max(total, 1))
        line = f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {check_id[:40]:<40}"
        sys.stderr.write(line)
        if done == total:
            sys.stderr.write("\r" + " " * len(line) + "\r")
        sys.stderr.flush()

    return report
