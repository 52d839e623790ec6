"""``cxaudit remedies``: what would make each failing fairness check pass, and at what cost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

NOTE = ("Decision aids computed on the audited data; never applied automatically and they do "
        "not change the audit's verdict.")


@click.command()
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False))
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False))
@click.option("--model", "model_path", type=click.Path(dir_okay=False))
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write the remedies as JSON to this file.")
@click.option("--seed", default=0, show_default=True, help="Seed of any randomised remedy.")
def remedies(policy_path: str, data_path: str, model_path: str | None, json_path: str | None,
             seed: int) -> None:
    """For each failing count-metric fairness check: a group-blind single threshold and
    group-aware per-group thresholds (fairlearn ThresholdOptimizer), with their cost."""
    from cxaudit.engines import get_engine
    from cxaudit.loaders.data import read_table
    from cxaudit.loaders.model import load_model
    from cxaudit.policy.loader import load_policy

    policy = load_policy(policy_path)
    model = load_model(model_path) if model_path else None
    engine = get_engine("local")
    frame = read_table(data_path)
    from cxaudit.context import build_context

    ctx = build_context(policy, frame, engine, model=model, seed=seed)
    found = collect(ctx, seed)
    click.echo(NOTE)
    for item in found:
        click.echo(f"\n{item['check']} ({item['metric']} {item['compare']}, {item['attribute']}):")
        for kind in ("group_blind", "group_aware"):
            r = item[kind]
            if not r.get("offered"):
                click.echo(f"  {kind}: not offered: {r['reason']}")
            elif kind == "group_blind":
                a, c = r["after"], r["current"]
                click.echo(f"  group_blind: threshold {r['threshold']:.4g} (now {c['threshold']:.4g})"
                           f" passes (worst {r['worst_comparison']:.3g}); accuracy "
                           f"{c['accuracy']:.3f} -> {a['accuracy']:.3f} [{a['accuracy_ci'][0]:.3f}, "
                           f"{a['accuracy_ci'][1]:.3f}]; selected {c['selected']} -> {a['selected']}")
            else:
                a = r["after"]
                click.echo(f"  group_aware: ThresholdOptimizer({r['constraint']}) "
                           f"{'passes' if r['passes_policy_check'] else 'does not pass'} the "
                           f"check (worst {r['worst_comparison']:.3g}); accuracy {a['accuracy']:.3f}; "
                           f"{r['randomisation']}; needs the group at decision time. "
                           f"{r['legal_warning']}")
        click.echo(f"  retraining: {item['retraining']}")
    if not found:
        click.echo("No failing count-metric fairness check: nothing to remedy.")
    if json_path:
        Path(json_path).write_text(json.dumps({"note": NOTE, "remedies": found}, indent=2,
                                              default=str), encoding="utf-8")


def collect(ctx: Any, seed: int) -> list[dict[str, Any]]:
    """Remedies for every failing ``bias.<count metric>`` check of the policy."""
    import numpy as np

    from cxaudit.checks.bias.metrics import COUNT_METRICS, higher_is_better
    from cxaudit.context import LABEL, SCORE, group_column
    from cxaudit.remedies.thresholds import group_aware, group_blind
    from cxaudit.result import Status
    from cxaudit.runner import run_check

    out = []
    frame = ctx.frame
    for params in ctx.policy.checks:
        name = params.type.removeprefix("bias.")
        metric = COUNT_METRICS.get(name)
        if metric is None or not ctx.has_label or run_check(params, ctx).status is not Status.FAIL:
            continue
        hib, _ = higher_is_better(metric.direction, ctx.policy.system.intervention.value,
                                  params.higher_is_better)
        label = frame[LABEL].to_numpy(np.int64)
        for attribute in params.attributes or ctx.protected:
            import pandas as pd

            gcodes, groups = pd.factorize(frame[group_column(attribute)].astype(str), sort=True)
            common = {"metric": metric, "hib": hib, "compare": params.compare,
                          "bound": params.effective_threshold(),
                          "min_group_size": params.min_group_size}
            if ctx.has_score:
                blind = group_blind(frame[SCORE].to_numpy(float), label, gcodes, list(groups),
                                    current=ctx.policy.data.decision_threshold, **common)
            else:
                blind = {"offered": False, "reason": "decisions do not come from a score"}
            if ctx.model is not None and hasattr(ctx.model.estimator, "predict_proba"):
                aware = group_aware(ctx.model.estimator, frame[list(ctx.features)], label,
                                    frame[group_column(attribute)].astype(str).to_numpy(),
                                    gcodes, list(groups), seed=seed, **common)
            else:
                aware = {"offered": False, "reason": "needs a model with predict_proba (--model)"}
            out.append({"check": params.id, "metric": name, "compare": params.compare,
                        "attribute": attribute, "group_blind": blind, "group_aware": aware,
                        "retraining": "not offered in this version (ExponentiatedGradient on "
                                      "--reference data is not implemented yet)"})
    return out
