"""``cxaudit demo``: train a churn model on real telecom data and audit it."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--out", "out_dir", default="cxaudit-demo", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the demo's inputs and reports.")
@click.option("--format", "formats", default="json,html,md,junit", show_default=True,
              help="Comma-separated report formats.")
def demo(out_dir: str, formats: str) -> None:
    """Train a churn model on IBM's telco churn data and audit its retention offers.

    Writes the model, the scored customers, a generated consent ledger and the
    policy into --out, runs the same audit `cxaudit audit` runs, and prints
    the verdict. The demo itself exits 0 whatever the verdict; in CI,
    `cxaudit audit` exits 1 when the gate blocks.
    """
    import time

    from cxaudit.cli._output import print_summary
    from cxaudit.cli.audit import parse_formats
    from cxaudit.demo import build_demo
    from cxaudit.demo.findings import describe_findings
    from cxaudit.evidence.bundle import prepare_out, write_bundle
    from cxaudit.runner import AuditInputs, audit

    started = time.perf_counter()
    chosen = parse_formats(formats)
    out = Path(out_dir)
    prepare_out(out)
    click.echo("Training a churn model on 4,930 telco customers (IBM sample data, Apache-2.0)…")
    files = build_demo(out)
    click.echo(f"Scoring {files.data.name} and auditing against {files.policy}.\n"
               "The consent ledger is generated deterministically (the public data has none).\n")
    inputs = AuditInputs(policy=str(files.policy), data=str(files.data),
                         model=str(files.model), consent=str(files.consent),
                         reference=str(files.reference))
    result = audit(inputs)
    # The same evidence bundle as `cxaudit audit`: manifest.json and the audit trail.
    written = write_bundle(out, result, chosen, inputs=inputs).written
    print_summary(result, written)
    if result.verdict.value != "pass":
        click.echo(f"\nThis {result.verdict.value.upper()} is expected: the data holds a real "
                   "fairness gap and the generated consent ledger deliberate withdrawals and "
                   "objections. The demo exits 0 whatever the verdict (it is a demonstration); "
                   "`cxaudit audit` on the same files exits 1 when the gate blocks.")
    findings = describe_findings(result)
    if findings:
        click.echo("\nWhat the audit found:")
        for line in findings:
            click.echo(f"  - {line}")
    if "html" in written:
        click.echo(f"\nOpen the report: {written['html'].resolve()}")
    click.echo(f"Rerun it yourself: cxaudit audit --policy {files.policy} --data {files.data} "
               f"--model {files.model} --consent {files.consent} --reference {files.reference} "
               f"--out {out}")
    click.echo(f"(demo finished in {time.perf_counter() - started:.1f} s)")
