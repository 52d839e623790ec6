"""``cxaudit report``: work with written audit reports."""

from __future__ import annotations

import click


@click.group()
def report() -> None:
    """Compare and re-render audit reports."""


def _load(path: str):  # type: ignore[no-untyped-def]
    from cxaudit.result import AuditResult

    return AuditResult.read(path, hint="pass the audit.json written by `cxaudit audit`")


@report.command()
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md",
              show_default=True, help="md fits a pull-request comment.")
@click.option("--fail-on-regression", is_flag=True,
              help="Exit 1 when the verdict or any check got worse.")
@click.pass_context
def diff(ctx: click.Context, old: str, new: str, fmt: str, fail_on_regression: bool) -> None:
    """Show what changed between two audits (OLD.json NEW.json)."""

    from cxaudit.diff import diff_audits, render_markdown

    result = diff_audits(_load(old), _load(new))
    if fmt == "json":
        from cxaudit.evidence.bounds import strict_dumps

        click.echo(strict_dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(render_markdown(result), nl=False)
    if fail_on_regression and result.regressed:
        ctx.exit(1)
