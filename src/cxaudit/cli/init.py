"""``cxaudit init``: write a starting policy for a model from its data."""

from __future__ import annotations

from pathlib import Path

import click

MODEL_TYPES = ["churn", "recommendation", "next_best_action", "lead_scoring", "pricing",
               "segmentation", "routing", "chatbot", "sentiment", "fraud", "credit_scoring",
               "other"]


@click.command()
@click.option("--model-type", type=click.Choice(MODEL_TYPES), required=True,
              help="What the model does; picks the policy pack.")
@click.option("--data", "data_path", type=click.Path(dir_okay=False, exists=True), required=True,
              help="Customer data (CSV or Parquet) the model scores.")
@click.option("--out", type=click.Path(dir_okay=False), default="policy.yaml", show_default=True,
              help="Policy file to write.")
@click.option("--model", "model_path", default=None, help="The model (.skops): adds the "
              "explanation checks.")
@click.option("--consent", "consent_path", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Consent ledger: adds the consent checks.")
@click.option("--reference", "reference_path", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Training data: adds the drift check.")
@click.option("--purpose", default=None, help="Processing purpose id in the consent ledger "
              "(default: the ledger's most common purpose).")
@click.option("--pack", default=None, help="Use this built-in pack instead of the model "
              "type's.")
@click.option("--name", default=None, help="system.name (default: from the data file name).")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def init(model_type: str, data_path: str, out: str, model_path: str | None,
         consent_path: str | None, reference_path: str | None, purpose: str | None,
         pack: str | None, name: str | None, force: bool) -> None:
    """Write a commented policy for a model from its data, ready to validate and run.

    Picks the pack for --model-type, recognises the id, label, decision and
    time columns, the likely protected attributes (by column name and values)
    and the columns that stand in for them, and keeps the pack's checks that
    the given inputs can run (the others are listed in a comment).
    """
    from cxaudit.errors import InputError
    from cxaudit.init_policy import inspect_data, write_policy
    from cxaudit.loaders.data import read_table
    from cxaudit.policy.loader import load_policy
    from cxaudit.resources import builtin_packs

    target = Path(out)
    if target.exists() and not force:
        raise InputError(f"{out} exists", hint="choose another --out, or pass --force")
    if pack is not None and pack not in builtin_packs():
        raise InputError(f"unknown policy pack {pack!r}",
                         hint=f"built-in packs: {', '.join(builtin_packs())}")
    frame = read_table(data_path, role="data")
    findings = inspect_data(frame)
    available = {k for k, v in (("model", model_path), ("consent", consent_path),
                                ("reference", reference_path)) if v}
    if consent_path and purpose is None:
        ledger = read_table(consent_path, role="consent ledger")
        column = "purpose" if "purpose" in ledger.columns else "purpose_id"
        if column not in ledger.columns:
            raise InputError(f"{consent_path}: no `purpose` column", hint="pass --purpose")
        purpose = str(ledger[column].value_counts().index[0])
    text = write_policy(findings, model_type=model_type, source=Path(data_path).name,
                        name=name or Path(data_path).stem, available=available,
                        purpose=purpose, pack=pack)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    policy = load_policy(target)          # what init writes must validate
    click.echo(f"wrote {out}: {len(policy.checks)} checks"
               + (f", protected {', '.join(findings.protected)}" if findings.protected else
                  ", no protected attribute recognised (add them under data.protected)"))
    args = [f"--policy {out}", f"--data {data_path}"]
    args += [f"--{k} {v}" for k, v in (("model", model_path), ("consent", consent_path),
                                        ("reference", reference_path)) if v]
    click.echo("next: cxaudit audit " + " ".join(args))
