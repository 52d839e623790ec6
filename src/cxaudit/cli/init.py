"""``cxaudit init``: write a starting policy for a model from its data."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

MODEL_TYPES = ["churn", "recommendation", "next_best_action", "lead_scoring", "pricing",
               "segmentation", "routing", "chatbot", "sentiment", "fraud", "credit_scoring",
               "other"]


def _columns(values: tuple[str, ...]) -> list[str] | None:
    """``--protected a,b --protected c`` → [a, b, c]; None when the option is absent."""
    if not values:
        return None
    return [c.strip() for value in values for c in value.split(",") if c.strip()]


def interactive_terminal() -> bool:
    """Prompts only on a terminal, never in CI (``CI`` set) or with piped input."""
    if os.environ.get("CI"):
        return False
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _ask(text: str, default: Any, *, choices: list[str] | None = None) -> str | None:
    """One prompt with the inferred default; '-' answers 'none'."""
    shown = default if default not in (None, "", []) else "-"
    if isinstance(shown, list):
        shown = ",".join(map(str, shown))
    answer = click.prompt(text, default=str(shown),
                          type=click.Choice(choices) if choices else str, show_default=True)
    answer = answer.strip()
    return None if answer in ("-", "") else answer


def _interview(found: Any, choices: Any, columns: list[str]) -> Any:
    """Ask for each role with the inferred default; returns the choices the answers make."""
    from cxaudit.init_policy import Choices

    click.echo(f"Columns: {', '.join(columns)}\n"
               "Press Enter to keep a proposal, '-' for none.")
    protected = _ask("Protected attributes (comma-separated)", list(found.protected))
    label = _ask("Observed outcome column (label)", found.label)
    positive = _ask("Value that counts as positive", found.positive
                    if not isinstance(found.positive, list) else found.positive[0])
    prediction = _ask("Decision column (prediction)", found.prediction)
    score = _ask("Score column (probabilities)", found.score)
    intervention = _ask("A positive decision helps (assistive) or harms (punitive) the person",
                        found.intervention, choices=["assistive", "punitive"])
    features = _ask("The model's inputs (features, comma-separated)",
                    [str(f) for f in found.features])
    return Choices(
        id=_ask("Id column", found.id), label=label, prediction=prediction, score=score,
        positive=positive if positive is not None and positive != str(found.positive) else
        choices.positive, threshold=choices.threshold,
        protected=[c.strip() for c in protected.split(",")] if protected else [],
        intervention=intervention,
        features=[c.strip() for c in features.split(",")] if features else [])


def _model_features(model_path: str | None, trust_types: tuple[str, ...]) -> tuple[list[str] | None, str]:
    """The model's own input names (skops and MLflow models; pickles are not loaded here)."""
    if not model_path:
        return None, ""
    from cxaudit.errors import CxauditError
    from cxaudit.loaders.model import PICKLE_SUFFIXES, load_model

    if model_path.lower().endswith(PICKLE_SUFFIXES):
        return None, "init does not load pickles: pass --features a,b (the model's inputs)"
    try:
        loaded = load_model(model_path, trusted_types=trust_types)
    except CxauditError as exc:
        raise exc
    if not loaded.feature_names:
        return None, "the model names no features: pass --features a,b (its inputs)"
    return list(loaded.feature_names), ""


@click.command()
@click.option("--model-type", type=click.Choice(MODEL_TYPES), required=True,
              help="What the model does; picks the policy pack.")
@click.option("--data", "data_path", type=click.Path(dir_okay=False, exists=True), required=True,
              help="Customer data (CSV or Parquet) the model scores.")
@click.option("--out", type=click.Path(dir_okay=False), default="policy.yaml", show_default=True,
              help="Policy file to write.")
@click.option("--model", "model_path", default=None, help="The model (.skops or an MLflow URI): "
              "its own feature names become data.features; adds the explanation checks.")
@click.option("--trust-type", "trust_types", multiple=True, metavar="TYPE",
              help="Admit one more type in a .skops model beyond cxaudit's reviewed list "
                   "(repeatable).")
@click.option("--consent", "consent_path", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Consent ledger: adds the consent checks.")
@click.option("--reference", "reference_path", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Training data: adds the drift check.")
@click.option("--purpose", default=None, help="Processing purpose id in the consent ledger "
              "(default: the ledger's most common purpose).")
@click.option("--pack", default=None, help="Use this built-in pack instead of the model "
              "type's.")
@click.option("--id", "id_column", default=None, metavar="COLUMN", help="The id column.")
@click.option("--label", default=None, metavar="COLUMN", help="The observed outcome column.")
@click.option("--positive", default=None, metavar="VALUE",
              help="The value of the label (and prediction) that counts as positive.")
@click.option("--prediction", default=None, metavar="COLUMN", help="The decision column.")
@click.option("--score", default=None, metavar="COLUMN", help="The score column "
              "(probabilities; decisions are score >= --threshold when there is no prediction).")
@click.option("--threshold", default=None, type=click.FloatRange(0, 1), metavar="NUMBER",
              help="Score at or above which a decision is positive (default 0.5).")
@click.option("--protected", multiple=True, metavar="A,B",
              help="Protected attribute columns, comma-separated (repeatable).")
@click.option("--intervention", type=click.Choice(["assistive", "punitive"]), default=None,
              help="Whether a positive decision helps (assistive) or harms (punitive) the person.")
@click.option("--features", multiple=True, metavar="A,B",
              help="The model's input columns, comma-separated (repeatable). Default: the "
                   "model's own names, else every column but the id, label, decision, score, "
                   "time, protected attributes and personal data.")
@click.option("--interactive/--no-interactive", default=None,
              help="Ask for each choice with the inferred default (default: on a terminal, "
                   "never when CI is set or input is piped).")
@click.option("--name", default=None, help="system.name (default: from the data file name).")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def init(model_type: str, data_path: str, out: str, model_path: str | None,
         trust_types: tuple[str, ...], consent_path: str | None, reference_path: str | None,
         purpose: str | None, pack: str | None, id_column: str | None, label: str | None,
         positive: str | None, prediction: str | None, score: str | None,
         threshold: float | None, protected: tuple[str, ...], intervention: str | None,
         features: tuple[str, ...], interactive: bool | None, name: str | None,
         force: bool) -> None:
    """Write a commented policy for a model from its data, ready to validate and run.

    Columns you name (--label, --prediction, --protected …) are taken as given;
    the others are inferred from column names and values, and every inferred
    choice is written as a comment saying why and how to change it. Personal
    data (names, emails, phones, addresses, free text) is left out of
    data.features and the PII check is added. The pack's checks that the
    given inputs can run are kept (the others are listed in a comment).
    """
    from cxaudit.errors import InputError
    from cxaudit.init_policy import Choices, inspect_data, write_policy
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
    choices = Choices(id=id_column, label=label, positive=positive, prediction=prediction,
                      score=score, threshold=threshold, protected=_columns(protected),
                      intervention=intervention, features=_columns(features))
    named, why_not = _model_features(model_path, trust_types)
    findings = inspect_data(frame, choices, model_type=model_type, model_features=named)
    if interactive is None:
        interactive = interactive_terminal()
    if interactive and not os.environ.get("CI"):
        choices = _interview(findings, choices, [str(c) for c in frame.columns])
        findings = inspect_data(frame, choices, model_type=model_type, model_features=named)
    if why_not:
        findings.why["features"] = findings.why.get("features", "") + f" ({why_not})"
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
               + (f", protected {', '.join(map(str, findings.protected))}" if findings.protected
                  else ", no protected attribute recognised (name them with --protected a,b)"))
    inferred = sorted(k.split(":")[0] for k in findings.why)
    if inferred:
        click.echo("inferred (see the comments in the file): " + ", ".join(dict.fromkeys(inferred)))
    args = [f"--policy {out}", f"--data {data_path}"]
    args += [f"--{k} {v}" for k, v in (("model", model_path), ("consent", consent_path),
                                        ("reference", reference_path)) if v]
    args += [f"--trust-type {t}" for t in trust_types]
    click.echo("next: cxaudit audit " + " ".join(args))
