"""``cxaudit gate``: audit a registered MLflow model version and promote it only on a pass."""

from __future__ import annotations

import click

from cxaudit.cli.audit import parse_formats


@click.command()
@click.argument("model_uri")
@click.option("--policy", "policy", required=True, type=click.Path(dir_okay=False),
              help="Policy YAML file.")
@click.option("--promote-to", "promote_to", required=True,
              help="Alias to move to this version when it passes (e.g. champion).")
@click.option("--data", "data", default=None, type=click.Path(dir_okay=False),
              help="Data to audit (CSV or Parquet); default: the training dataset the model's "
                   "run logged with mlflow.log_input (lineage).")
@click.option("--tracking-uri", "tracking_uri", default=None,
              help="MLflow tracking URI; default $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db.")
@click.option("--require-approval", is_flag=True,
              help="Promote only with a recorded approval of this audit (fails closed).")
@click.option("--out", "out", default="cxaudit-report", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the reports.")
@click.option("--format", "format", default="json,html,md,junit", show_default=True,
              help="Comma-separated report formats: json, html, md, junit, pdf, model-card.")
@click.option("--strict", is_flag=True, help="Refuse on warnings too.")
@click.option("--trust-model", is_flag=True,
              help="Allow models whose loading runs code (pickle/cloudpickle, custom pyfunc).")
@click.option("--sign-key", default=None, type=click.Path(dir_okay=False),
              help="Ed25519 private key (PEM PKCS#8) to sign manifest.json with.")
@click.option("--trail", default=None, type=click.Path(dir_okay=False),
              help="Audit trail to log to (default: $CXAUDIT_TRAIL or OUT/audit-trail.jsonl).")
@click.option("--no-trail", is_flag=True, help="Do not log this audit in an audit trail.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for sampling.")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="The date the promoted version is used from (YYYY-MM-DD; default: today's "
                   "date by the clock, stated): an NYC LL144 bias audit more than a year "
                   "older than it is refused (Admin. Code § 20-871(a)(1)). The audit's own "
                   "date stays the policy's as_of, else the latest data.timestamp.")
@click.pass_context
def gate(ctx: click.Context, model_uri: str, policy: str, promote_to: str, data: str | None,
         tracking_uri: str | None, require_approval: bool, out: str, format: str,  # noqa: A002
         strict: bool, trust_model: bool, sign_key: str | None, trail: str | None,
         no_trail: bool, seed: int, as_of: str | None = None) -> None:
    """Audit MODEL_URI (models:/NAME/VERSION or models:/NAME@ALIAS), tag it, and promote it.

    An alias is resolved to its version once, and that version is audited. The
    audit is logged as an MLflow run; the version is tagged cxaudit.verdict,
    cxaudit.run_id and cxaudit.policy_sha256; the --promote-to alias moves only
    when the verdict passes (warn passes unless --strict) and the record was
    written. Exit codes: 0 promoted, 1 refused (alias untouched), 2 invalid input
    (e.g. a URI that does not resolve: the message lists what exists), 3 the
    audit errored.
    """
    from cxaudit.cli._output import exit_code, print_summary
    from cxaudit.integrations.registry_gate import run_gate

    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    use_day = None
    if as_of is not None:  # a bad date is exit 2 before anything runs
        from cxaudit.ll144 import parse_use_date

        use_day = parse_use_date(as_of)
    outcome = run_gate(model_uri, policy, promote_to=promote_to, out_dir=out, data=data,
                       tracking_uri=tracking_uri, require_approval=require_approval,
                       strict=strict, seed=seed, formats=parse_formats(format),
                       trust_model=trust_model, sign_key=sign_key,
                       trail=False if no_trail else (trail or True), use_day=use_day)
    print_summary(outcome.result, outcome.written, quiet=quiet)
    click.echo()
    for line in outcome.lines:
        refused = line.startswith("error:") or "NOT moved" in line
        click.echo(line, err=refused)
    verdict_code = exit_code(outcome.result, strict=strict)
    ctx.exit(verdict_code if verdict_code else outcome.exit_code)
