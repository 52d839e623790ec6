"""``bias.shift_stress``: does the fairness verdict hold when who is in each group changes?"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cxaudit.checks.base import Check, CheckOutcome, CheckParams, Threshold
from cxaudit.checks.bias.metrics import (
    COUNT_METRICS,
    FOLLOWING_DEFAULTS,
    higher_is_better,
)
from cxaudit.context import DECISION, LABEL, SCORE, AuditContext, group_column
from cxaudit.errors import InputError
from cxaudit.result import Metric, Severity, Status
from cxaudit.stats.intervals import wilson_interval


class Scenario(BaseModel):
    """One declared shift: a feature's distribution moved to target shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    feature: str
    edges: list[float] | None = Field(default=None, description="Cut points of a numeric "
                                      "feature; `target` then lists one share per bin.")
    target: dict[str, float] | list[float]
    within: Literal["groups", "population"] = Field(
        default="groups", description="groups: each group's own mix moves to the target; "
        "population: everyone is reweighted the same way.")

    @model_validator(mode="after")
    def _shares(self) -> Scenario:
        shares = list(self.target.values()) if isinstance(self.target, dict) else self.target
        if not shares:
            raise ValueError("`target` names no share")
        if not all(isinstance(s, (int, float)) and math.isfinite(s) and s >= 0 for s in shares):
            raise ValueError("target shares must be finite numbers >= 0")
        if abs(sum(shares) - 1.0) > 1e-6:
            raise ValueError(f"target shares sum to {sum(shares):g}; they must sum to 1")
        if self.edges is not None:
            if not all(math.isfinite(e) for e in self.edges) or any(
                    b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
                raise ValueError("`edges` must be finite and strictly increasing")
            if not isinstance(self.target, list) or len(self.target) != len(self.edges) + 1:
                raise ValueError(f"with {len(self.edges)} edges, `target` lists "
                                 f"{len(self.edges) + 1} shares (one per bin)")
        elif not isinstance(self.target, dict):
            raise ValueError("`target` maps each category to its share (or give `edges`)")
        return self


class ShiftParams(CheckParams):
    """Declaration of ``bias.shift_stress``."""

    severity: Severity = Field(default=Severity.WARN)
    metric: str = Field(default=FOLLOWING_DEFAULTS["shift_stress"],
                        description=f"A count metric ({', '.join(COUNT_METRICS)}).")
    compare: Literal["ratio", "difference"] = "ratio"
    threshold: Threshold | None = Field(default=None, description="Default {min: 0.8} for "
                                        "ratios, {max: 0.1} for differences.")
    attributes: list[str] | None = None
    min_group_size: int = Field(default=30, ge=1)
    scenarios: list[Scenario] = Field(min_length=1, max_length=200)
    selection_share: float | None = Field(
        default=None, gt=0.0, lt=1.0, description="Decisions are the top share of the "
        "population by score: recomputed under each scenario's weights.")
    higher_is_better: bool | None = None
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in COUNT_METRICS:
            raise ValueError(f"unknown metric {value!r}; choose one of {', '.join(COUNT_METRICS)}")
        return value

    @model_validator(mode="after")
    def _difference_has_max(self) -> ShiftParams:
        if self.compare == "difference" and self.threshold is not None \
                and self.threshold.max is None:
            raise ValueError("a `difference` is held to `threshold: {max: ...}` (the largest gap)")
        return self

    def bound(self) -> Threshold:
        """The declared threshold or the default for the comparison."""
        if self.threshold is not None:
            return self.threshold
        return Threshold(min=0.8) if self.compare == "ratio" else Threshold(max=0.1)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value whose weighted lower share reaches ``q`` (inverse of the weighted CDF)."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q * cum[-1], side="left")])


def scenario_weights(codes: np.ndarray, ncat: int, target: np.ndarray, groups: np.ndarray,
                     ngroups: int, within: str) -> tuple[np.ndarray, list[str]]:
    """Row weights moving the category mix to ``target`` (per group or overall)."""
    notes = []
    if within == "population":
        share = np.bincount(codes, minlength=ncat) / len(codes)
        ratio = np.divide(target, share, out=np.zeros(ncat), where=share > 0)
        if np.any((share == 0) & (target > 0)):
            notes.append("some target categories have no rows: their share cannot be reached")
        return ratio[codes], notes
    table = np.bincount(groups * ncat + codes, minlength=ngroups * ncat).reshape(ngroups, ncat)
    share = table / np.maximum(table.sum(axis=1, keepdims=True), 1)
    reachable = np.where(share > 0, target, 0.0)
    total = reachable.sum(axis=1, keepdims=True)
    adjusted = np.divide(reachable, total, out=np.zeros_like(reachable), where=total > 0)
    ratio = np.divide(adjusted, share, out=np.zeros_like(share), where=share > 0)
    if np.any((share == 0) & (target > 0)):
        notes.append("some groups have no rows in a target category: the other categories "
                     "were scaled up to fill it")
    return ratio[groups, codes], notes


class ShiftStress(Check):
    """Shift stress: the fairness verdict when the mix inside each group changes.

    Moving only the groups' shares leaves every group's rate as it is. What
    moves a group's rate is a change in who is inside it: more new customers,
    another region, another channel. Each declared scenario reweights the rows
    so that a feature's distribution matches a target — within each group, or
    for the whole population — and the metric, each group's comparison with
    the best-off group and the verdict are recomputed under the weights
    (exactly, no resampling). Where decisions are the top share of the
    population by score (``selection_share``), the cut-off is recomputed too.
    Each group's rate carries a Wilson interval on the weights' effective
    sample size. The check fails (default severity warn) when a scenario's
    verdict fails, and says which scenarios flip the verdict of the data as
    it is.

    Example::

        - id: holds-under-shift
          type: bias.shift_stress
          metric: selection_rate
          scenarios:
            - {name: more new customers, feature: tenure, edges: [12], target: [0.6, 0.4]}
            - {name: fibre rollout, feature: InternetService, within: population,
               target: {Fiber optic: 0.7, DSL: 0.2, "No": 0.1}}
    """

    type = "bias.shift_stress"
    params_model = ShiftParams
    rule = "EU AI Act Art. 15(4) (robustness); Art. 10(2)(f) (possible biases)"
    requires = frozenset({"decision"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        p: ShiftParams = self.params  # type: ignore[assignment]
        where = ctx.policy.locate("checks", p.id)
        metric = COUNT_METRICS[p.metric]
        if metric.needs_label and not ctx.has_label:
            raise InputError(f"{where}: {p.metric} needs data.label", hint="choose selection_rate")
        if p.selection_share is not None and not ctx.has_score:
            raise InputError(f"{where}: selection_share needs scores", hint="declare data.score")
        attributes = p.attributes if p.attributes is not None else ctx.protected
        bad = [a for a in attributes if a not in ctx.protected]
        bad += [s.feature for s in p.scenarios if s.feature not in ctx.data_columns]
        if bad or not attributes:
            raise InputError(f"{where}: not protected attributes / data columns: "
                             f"{', '.join(repr(b) for b in dict.fromkeys(bad)) or 'none'}",
                             hint="`attributes` from data.protected; each scenario's `feature` "
                                  "a column of the data")
        columns = [group_column(a) for a in attributes] + [s.feature for s in p.scenarios]
        columns += [DECISION] + ([LABEL] if ctx.has_label else [])
        columns += [SCORE] if p.selection_share is not None else []
        frame = ctx.engine.to_pandas(ctx.frame, list(dict.fromkeys(columns)))
        hib, _ = higher_is_better(metric.direction, ctx.policy.system.intervention.value,
                                  p.higher_is_better)
        encoded = {s.name: self._encode(s, frame[s.feature], where) for s in p.scenarios}
        results, metrics, flips = [], [], []
        for attribute in attributes:
            gcodes, groups = pd.factorize(frame[group_column(attribute)].astype(str), sort=True)
            base = self._evaluate(frame, np.ones(len(frame)), gcodes, list(groups), metric,
                                  hib, p)
            results.append({"attribute": attribute, "scenario": "as audited", **base})
            for s in p.scenarios:
                codes, ncat = encoded[s.name]
                target = np.asarray(s.target if isinstance(s.target, list) else
                                    [s.target.get(c, 0.0) for c in ncat], float)
                w, notes = scenario_weights(codes, len(target), target, gcodes, len(groups),
                                            s.within)
                out = self._evaluate(frame, w, gcodes, list(groups), metric, hib, p)
                flipped = out["verdict"] != base["verdict"]
                results.append({"attribute": attribute, "scenario": s.name, "within": s.within,
                                "notes": notes, "flips_verdict": flipped, **out})
                if flipped:
                    flips.append(f"{s.name} ({attribute}: {base['verdict']} -> "
                                 f"{out['verdict']}, worst {out['worst']})")
                metrics.append(Metric(name=f"{p.metric}_{p.compare}_worst",
                                      group={attribute: out["worst"], "scenario": s.name},
                                      value=out["worst_value"],
                                      threshold=p.bound().as_dict(),
                                      status=Status.FAIL if out["verdict"] == "fail"
                                      else Status.PASS,
                                      note="flips the verdict" if flipped else None))
        failing = [r for r in results if r["verdict"] == "fail"]
        details = {"metric": p.metric, "compare": p.compare,
                   "threshold": p.bound().as_dict(), "results": results,
                   "decisions_recomputed": p.selection_share is not None,
                   "method": "row weights (exact reweighting, no resampling)"}
        if failing:
            names = sorted({f"{r['scenario']} ({r['attribute']})" for r in failing})
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), details=details,
                                summary=f"{p.metric} {p.compare} fails under "
                                        f"{len(names)} of {len(results)} scenario(s): "
                                        f"{', '.join(names[:6])}."
                                        + (f" Flips the verdict: {'; '.join(flips[:6])}."
                                           if flips else ""))
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=details,
                            summary=f"{p.metric} {p.compare} passes as audited and under every "
                                    f"one of {len(p.scenarios)} declared scenario(s).")

    @staticmethod
    def _encode(s: Scenario, values: pd.Series, where: str) -> tuple[np.ndarray, list[str]]:
        if s.edges is not None:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
            if np.isnan(numbers).all():
                raise InputError(f"{where}: scenario {s.name!r}: {s.feature!r} holds no numbers",
                                 hint="give `edges` only for numeric features")
            codes = np.searchsorted(np.asarray(s.edges), numbers, side="right")
            codes[np.isnan(numbers)] = len(s.edges) + 1  # missing: weight 0 (no target share)
            return codes, [str(i) for i in range(len(s.edges) + 2)]
        text = values.astype("string").fillna("missing").astype(str)
        codes, cats = pd.factorize(text, sort=True)
        unknown = [c for c in s.target if c not in set(cats)]  # type: ignore[union-attr]
        if unknown:
            raise InputError(f"{where}: scenario {s.name!r}: {s.feature} has no value "
                             f"{', '.join(repr(u) for u in unknown[:5])}",
                             hint="name categories as they are spelled in the data")
        return codes, list(cats)

    @staticmethod
    def _evaluate(frame: pd.DataFrame, w: np.ndarray, gcodes: np.ndarray, groups: list[str],
                  metric: Any, hib: bool, p: ShiftParams) -> dict[str, Any]:
        decision = frame[DECISION].to_numpy(np.int64)
        if p.selection_share is not None:
            score = frame[SCORE].to_numpy(float)
            cut = weighted_quantile(score, w, 1.0 - p.selection_share)
            decision = (score >= cut).astype(np.int64)
        label = frame[LABEL].to_numpy(np.int64) if LABEL in frame else 0
        cell = gcodes * 4 + 2 * label + decision
        k = len(groups)
        sums = np.bincount(cell, weights=w, minlength=4 * k).reshape(k, 4)
        squares = np.bincount(cell, weights=w * w, minlength=4 * k).reshape(k, 4)
        num, den = metric.compute(sums)
        _, den2 = metric.compute(squares)
        rows = np.bincount(gcodes, weights=(w > 0).astype(float), minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = num / den
            n_eff = den**2 / den2
        low, high = wilson_interval(value * n_eff, n_eff, p.confidence)
        eligible = (rows >= p.min_group_size) & np.isfinite(value) & (np.asarray(groups)
                                                                       != "unknown")
        if not eligible.any():
            return {"verdict": "insufficient_data", "worst": None, "worst_value": None,
                    "groups": []}
        best = np.nanmax(value[eligible]) if hib else np.nanmin(value[eligible])
        with np.errstate(divide="ignore", invalid="ignore"):
            if p.compare == "ratio":
                comp = value / best if hib else best / value
            else:
                comp = np.abs(value - best)
        bound = p.bound()
        ok = np.array([bound.holds(float(c)) for c in comp])
        judged = eligible
        worst_i = int(np.flatnonzero(judged)[np.argmin(comp[judged]) if p.compare == "ratio"
                                             else np.argmax(comp[judged])])
        table = [{"group": g, "value": float(value[i]), "effective_n": float(n_eff[i]),
                  "ci": [float(low[i]), float(high[i])], "comparison": float(comp[i]),
                  "judged": bool(judged[i]), "pass": bool(ok[i])}
                 for i, g in enumerate(groups)]
        return {"verdict": "fail" if np.any(judged & ~ok) else "pass",
                "worst": groups[worst_i], "worst_value": float(comp[worst_i]), "groups": table}


CHECKS = (ShiftStress,)
