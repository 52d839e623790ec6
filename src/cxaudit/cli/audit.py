"""``cxaudit audit``: run a policy against a model and its data."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

FORMAT_CHOICES = ("json", "html", "md", "junit", "pdf", "model-card", "ll144")


def parse_formats(value: str) -> list[str]:
    """``json,html`` → ``["json", "html"]``; unknown names are a usage error."""
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMAT_CHOICES]
    if unknown or not formats:
        raise click.BadParameter(f"unknown format(s) {', '.join(unknown) or '(none)'}; "
                                 f"choose from {', '.join(FORMAT_CHOICES)}", param_hint="--format")
    return list(dict.fromkeys(formats))


@click.command()
@click.option("--policy", "policy", required=True, type=click.Path(dir_okay=False),
              help="Policy YAML file.")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False),
              help="Customer data to audit (CSV or Parquet).")
@click.option("--model", "model", default=None,
              help="Model: a .skops file, or .joblib/.pkl with --trust-model.")
@click.option("--consent", "consent", default=None, type=click.Path(dir_okay=False),
              help="Consent ledger (CSV or Parquet).")
@click.option("--reference", "reference", default=None, type=click.Path(dir_okay=False),
              help="Reference (training) data for drift checks.")
@click.option("--out", "out", default="cxaudit-report", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the reports.")
@click.option("--format", "format", default="json,html,md,junit", show_default=True,
              help="Comma-separated report formats: json, html, md, junit, pdf, model-card, "
                   "ll144 (the NYC Local Law 144 public summary: audit-ll144.md and .html; "
                   "needs system.ll144 in the policy).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--trust-model", is_flag=True,
              help="Allow loading pickle/joblib models (they run code when loaded).")
@click.option("--trust-type", "trust_types", multiple=True, metavar="TYPE",
              help="Admit one more type in a .skops model beyond cxaudit's reviewed list "
                   "(repeatable; review each type first).")
@click.option("--model-sha256", default=None, help="Refuse the model unless its SHA-256 matches.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for sampling.")
@click.option("--engine", default=None, type=click.Choice(["local", "arrow", "spark"]),
              help="Computation engine (default: the policy's `engine:`, else local).")
@click.option("--templates", default=None, type=click.Path(file_okay=False, exists=True),
              help="Folder with custom report templates (copy of cxaudit's reports/).")
@click.option("--baseline", "baseline", default=None, type=click.Path(exists=True),
              help="Earlier report folder (or its audit.json): the report shows what is new, "
                   "resolved and worse since then.")
@click.option("--waivers", "waivers", default=None, type=click.Path(dir_okay=False),
              help="YAML file with more waivers (a `waivers:` list, as in the policy).")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="The date rules are judged at (YYYY-MM-DD or a time with its UTC offset); "
                   "default: the policy's as_of, else the latest data.timestamp.")
@click.option("--sign-key", default=None, type=click.Path(dir_okay=False),
              help="Ed25519 private key (PEM PKCS#8) to sign manifest.json with.")
@click.option("--trail", default=None, type=click.Path(dir_okay=False),
              help="Audit trail to log to (default: $CXAUDIT_TRAIL or OUT/audit-trail.jsonl).")
@click.option("--no-trail", is_flag=True, help="Do not log this audit in an audit trail.")
@click.option("--mlflow", "to_mlflow", is_flag=True,
              help="Log the audit as an MLflow run and tag the audited model version.")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI; default $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db.")
@click.option("--remedies", "with_remedies", is_flag=True,
              help="Also compute what would fix each failing fairness check (as `cxaudit "
                   "remedies`; retraining needs --reference): a 'What would fix it' section "
                   "and remedies.json. Decision aids: the verdict and audit.json are unchanged.")
@click.pass_context
def audit(ctx: click.Context, policy: str, data: str, model: str | None,
          consent: str | None, reference: str | None, out: str, format: str,  # noqa: A002
          strict: bool, trust_model: bool, model_sha256: str | None, seed: int, engine: str | None,
          templates: str | None, waivers: str | None, sign_key: str | None,
          trail: str | None, no_trail: bool, to_mlflow: bool = False,
          tracking_uri: str | None = None, baseline: str | None = None,
          trust_types: tuple[str, ...] = (), as_of: str | None = None,
          with_remedies: bool = False) -> None:
    """Audit a model and its data against a policy and write the reports.

    Exit codes: 0 pass (warnings allowed unless --strict), 1 the gate blocks,
    2 invalid input, 3 internal error (the gate fails closed).
    """
    from cxaudit.cli._output import exit_code, print_summary, progress_reporter
    from cxaudit.evidence.bundle import prepare_out, write_bundle
    from cxaudit.runner import AuditInputs
    from cxaudit.runner import audit as run_audit

    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    chosen = parse_formats(format)
    trail_choice = False if no_trail else (trail or True)
    # Everything the bundle needs is checked before the audit runs (a bad key, trail or
    # --out is exit 2 with the previous report untouched).
    prepare_out(out, trail=trail_choice, sign_key=sign_key)
    earlier = None
    if baseline:  # a bad baseline is exit 2 before the audit runs
        from cxaudit.render.html.overview import load_baseline

        earlier = load_baseline(baseline)
    _lean_imports(policy, engine)
    inputs = AuditInputs(
        policy=policy, data=data, model=model, consent=consent,
        reference=reference, trust_model=trust_model, model_sha256=model_sha256,
        trust_types=tuple(trust_types),
        engine=engine, seed=seed, waivers=waivers, as_of=as_of)
    scope = contextlib.nullcontext()
    if tracking_uri:  # models:/ and runs:/ URIs resolve against it too
        from cxaudit.integrations.mlflow_common import using_tracking

        scope = using_tracking(tracking_uri)
    with scope:
        result = run_audit(inputs, progress=progress_reporter(quiet))
    rendered = None
    found = _remedies(inputs, result) if with_remedies else None
    if earlier is not None or found is not None:
        from cxaudit.render import render_set

        rendered = render_set(result, chosen, templates=Path(templates) if templates else None,
                              baseline=earlier, remedies=found)
        if found is not None:
            import json

            from cxaudit.cli.remedies import REMEDIES_FILE, finite

            rendered["remedies"] = (REMEDIES_FILE, json.dumps(
                finite(found), indent=2, default=str, allow_nan=False).encode("utf-8"))
    bundle = write_bundle(out, result, chosen, inputs=inputs, sign_key=sign_key,
                          trail=trail_choice, templates=Path(templates) if templates else None,
                          rendered=rendered)
    print_summary(result, bundle.written, quiet=quiet)
    code = exit_code(result, strict=strict)
    if to_mlflow:
        from cxaudit.integrations.mlflow_tracking import log_to_mlflow_or_report

        code = log_to_mlflow_or_report(result, out, code, tracking_uri=tracking_uri)
    ctx.exit(code)


def _remedies(inputs: object, result: object) -> dict:
    """``cxaudit remedies`` for this audit, judged on the audit's own check results and
    tagged with its digest (the report reads remedies.json only for the same audit)."""
    from cxaudit.cli.remedies import compute
    from cxaudit.evidence.manifest import audit_digest

    found = compute(inputs.policy, inputs.data, model_path=inputs.model,
                    reference_path=inputs.reference, trust_model=inputs.trust_model,
                    seed=inputs.seed, trust_types=inputs.trust_types,
                    results={c.id: c for c in result.checks})
    return {"audit_digest": audit_digest(result), **found}


def _lean_imports(policy: str, engine: str | None) -> None:
    """In the console script (one audit, then exit), skip what our dependencies import
    for nothing: pyspark, which GX and shap import whenever it is installed (about
    0.3 s), when the audit will not run on Spark; pytest, which importing skops pulls
    in through scikit-learn's test helpers (about 0.1 s). Freed memory is kept for
    reuse (:func:`cxaudit.lean.reuse_freed_memory`)."""
    import cxaudit.cli

    if not cxaudit.cli.CONSOLE:
        return
    from cxaudit.lean import reuse_freed_memory, skip_on_import
    from cxaudit.policy.loader import declared_engine

    reuse_freed_memory()
    skip_on_import("pytest")
    if (engine or declared_engine(policy) or "local") != "spark":
        skip_on_import("pyspark")
