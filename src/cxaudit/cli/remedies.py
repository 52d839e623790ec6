"""``cxaudit remedies``: what would make each failing fairness check pass, and at what cost."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
import numpy as np

#: The file ``--out`` writes (and ``cxaudit audit --remedies`` writes beside the reports).
REMEDIES_FILE = "remedies.json"


def parse_bounds(value: str) -> tuple[float, ...]:
    """``0.01,0.05,0.2`` → the curve's difference bounds (each in (0, 1], at most 8)."""
    try:
        bounds = tuple(sorted({float(v) for v in value.split(",") if v.strip()}))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers",
                                 param_hint="--retrain-bounds") from None
    if not bounds or len(bounds) > 8 or not all(0 < b <= 1 for b in bounds):
        raise click.BadParameter("give 1 to 8 numbers in (0, 1]", param_hint="--retrain-bounds")
    return bounds


@click.command()
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False))
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False))
@click.option("--model", "model_path", type=click.Path(dir_okay=False))
@click.option("--reference", "reference_path", type=click.Path(dir_okay=False),
              help="Reference (training) data: the retraining curve is fitted on it.")
@click.option("--trust-model", is_flag=True,
              help="Allow loading pickle/joblib models (they run code when loaded).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write the remedies as JSON to this file.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help=f"Write {REMEDIES_FILE} into this folder.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of any randomised remedy and of the reference sample.")
@click.option("--retrain-bounds", default="0.01,0.05,0.2", show_default=True,
              help="The constraint's difference_bound at each point of the retraining curve.")
@click.option("--retrain-max-iter", default=3, show_default=True, type=click.IntRange(1, 50),
              help="ExponentiatedGradient iterations per point.")
@click.option("--retrain-rows", default=2000, show_default=True, type=click.IntRange(100),
              help="Reference rows used for retraining (larger data are sampled, stratified).")
def remedies(policy_path: str, data_path: str, model_path: str | None,
             reference_path: str | None, trust_model: bool, json_path: str | None,
             out_dir: str | None, seed: int, retrain_bounds: str, retrain_max_iter: int,
             retrain_rows: int) -> None:
    """For each failing count-metric fairness check: a group-blind single threshold,
    group-aware per-group thresholds (fairlearn ThresholdOptimizer) and a retraining
    trade-off curve (fairlearn ExponentiatedGradient on --reference), with their cost.

    Exit codes: 0 (whatever the remedies say: they never change a verdict), 2 bad input,
    3 internal error."""
    bounds = parse_bounds(retrain_bounds)
    found = compute(policy_path, data_path, model_path=model_path,
                    reference_path=reference_path, trust_model=trust_model, seed=seed,
                    bounds=bounds, max_iter=retrain_max_iter, max_rows=retrain_rows)
    text = json.dumps(finite(found), indent=2, default=str, allow_nan=False)
    targets = [Path(json_path)] if json_path else []
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        targets.append(Path(out_dir) / REMEDIES_FILE)
    for target in targets:
        from cxaudit.render.files import atomic_write

        atomic_write(target, text)
    for line in describe(found):
        click.echo(line)


def compute(policy_path: str, data_path: str, *, model_path: str | None = None,
            reference_path: str | None = None, trust_model: bool = False, seed: int = 0,
            bounds: tuple[float, ...] | None = None, max_iter: int | None = None,
            max_rows: int | None = None, results: dict[str, Any] | None = None,
            trust_types: tuple[str, ...] = ()) -> dict[str, Any]:
    """Load the inputs and collect the remedies (``results``: the audit's, when it ran)."""
    from cxaudit.context import build_context
    from cxaudit.engines import get_engine
    from cxaudit.loaders.model import load_model
    from cxaudit.masking import using_id_key
    from cxaudit.policy.loader import load_policy
    from cxaudit.remedies.collect import collect
    from cxaudit.runner import id_key_of

    policy = load_policy(policy_path)
    engine = get_engine("local")
    ids = [policy.data.id] if policy.data.id else []
    frame = engine.read_table(data_path, role="data", text_columns=ids)
    model = (load_model(model_path, trust=trust_model, trusted_types=trust_types)
             if model_path else None)
    with using_id_key(id_key_of(policy)):
        ctx = build_context(policy, frame, engine, model=model, seed=seed)
        _bias_requirements(ctx)  # a bias check lacking an input it needs: exit 2, as the audit
        reference_ctx = None
        if reference_path:
            reference = engine.read_table(reference_path, role="reference data",
                                          text_columns=ids)
            reference_ctx = build_context(policy, reference, engine, model=model, seed=seed)
        return collect(ctx, results=results, reference_ctx=reference_ctx, seed=seed,
                       bounds=bounds, max_iter=max_iter, max_rows=max_rows)


def _bias_requirements(ctx: Any) -> None:
    """Exit 2 when a bias check needs a label, decisions, scores or a model the inputs lack
    (the audit's own test, limited to the checks remedies read: consent, reference and
    other inputs are not needed here)."""
    from cxaudit.checks.registry import load_registry
    from cxaudit.errors import InputError
    from cxaudit.runner import _NEEDS

    registry = load_registry()
    for params in ctx.policy.checks:
        if not params.type.startswith("bias."):
            continue
        for need in sorted(getattr(registry.get(params.type), "requires", ())):
            if need not in ("label", "decision", "score", "model"):
                continue
            attribute, what = _NEEDS[need]
            if not getattr(ctx, attribute):
                raise InputError(f"{ctx.policy.locate('checks', params.id, 'type')}: check "
                                 f"{params.id!r} ({params.type}) needs {what}",
                                 hint="provide it, or remove the check from the policy")


def finite(value: Any) -> Any:
    """``value`` with infinities and NaN as None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return finite(value.item())
    return value


def _ci(values: Any) -> str:
    return f" [{values[0]:.3g}, {values[1]:.3g}]" if values else ""


def describe(found: dict[str, Any]) -> list[str]:
    """The remedies in words, for the terminal."""
    lines = [found["note"]]
    for item in found["remedies"]:
        lines.append(f"\n{item['check']} ({item['metric']} {item['compare']}, "
                     f"{item['attribute']}):")
        blind, aware, retraining = item["group_blind"], item["group_aware"], item["retraining"]
        if not blind.get("offered"):
            lines.append(f"  group-blind: not offered: {blind['reason']}")
        else:
            a, c = blind["after"], blind["current"]
            lines.append(f"  group-blind: threshold {blind['threshold']:.4g} (now "
                         f"{c['threshold']:.4g}) passes (worst {blind['worst_comparison']:.3g}); "
                         f"accuracy {c['accuracy']:.3f} -> {a['accuracy']:.3f}"
                         f"{_ci(a['accuracy_ci'])}; selected {c['selected']} -> {a['selected']}")
        if not aware.get("offered"):
            lines.append(f"  group-aware: not offered: {aware['reason']}")
        else:
            a = aware["after"]
            lines.append(f"  group-aware: ThresholdOptimizer({aware['constraint']}) "
                         f"{'passes' if aware['passes_policy_check'] else 'does not pass'} the "
                         f"check (worst {aware['worst_comparison']:.3g}); accuracy "
                         f"{a['accuracy']:.3f}; {aware['randomisation']}; needs the group at "
                         "decision time.")
        if not retraining.get("offered"):
            lines.append(f"  retraining: not offered: {retraining['reason']}")
        else:
            now = retraining["current_model"]
            sample = (f", a stratified sample of {retraining['rows_used']:,} of "
                      f"{retraining['reference_rows']:,} reference rows" if retraining["sampled"]
                      else f", {retraining['rows_used']:,} reference rows")
            lines.append(f"  retraining: ExponentiatedGradient({retraining['constraint']}) "
                         f"fitted on {retraining['fitted_on']}{sample}; current model: "
                         f"{item['compare']} {_num(now['worst'])}{_ci(now.get('worst_ci'))}, "
                         f"accuracy {now['accuracy']:.3f}")
            for point in retraining["points"]:
                d, e = point["deterministic"], point["expected"]
                lines.append(f"    bound {point['difference_bound']:g}: {item['compare']} "
                             f"{_num(d['worst'])}{_ci(d.get('worst_ci'))} "
                             f"({'passes' if d['passes'] else 'fails'}), accuracy "
                             f"{d['accuracy']:.3f}{_ci(d['accuracy_ci'])}; randomised: "
                             f"{_num(e['worst'])}, accuracy {e['accuracy']:.3f}")
    for skip in found["skipped"]:
        lines.append(f"\n{skip['check']}: {skip['reason']}")
    if any(i["group_aware"].get("offered") for i in found["remedies"]):
        lines.append(f"\nGroup-aware remedies: {found['legal_warning']['text']}")
    if not found["remedies"] and not found["skipped"]:
        lines.append("No failing fairness check: nothing to remedy.")
    return lines


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3g}"
