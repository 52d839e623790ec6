"""``bias.slices``: search one- and two-condition slices for hidden gaps, with FDR control."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, field_validator

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.checks.bias.metrics import (
    COUNT_METRICS,
    FOLLOWING_DEFAULTS,
    OTHER_DIRECTIONS,
    higher_is_better,
)
from cxaudit.checks.bias.slice_search import encode, search
from cxaudit.context import DECISION, LABEL, SCORE, AuditContext, group_column
from cxaudit.errors import InputError
from cxaudit.result import Metric, Severity, Status

METRICS = (*COUNT_METRICS, "mean_score")
#: The most slicing columns searched (pairs grow with the square).
MAX_COLUMNS = 60


class SlicesParams(CheckParams):
    """Declaration of ``bias.slices``."""

    severity: Severity = Field(default=Severity.WARN, description="Default warn: a slice "
                               "search is exploratory; a discovery is a lead, not a verdict.")
    metric: str = Field(default=FOLLOWING_DEFAULTS["slices"],
                        description=f"The metric compared in each slice: {', '.join(METRICS)}.")
    features: list[str] | None = Field(default=None, description="Columns to slice on "
                                       "(default: the model's features and the protected "
                                       "attributes).")
    proxies: list[str] | dict[str, list[str]] = Field(
        default_factory=list, description="Features declared to stand in for a protected "
        "attribute; slices they define are marked.")
    conditions: int = Field(default=2, ge=1, le=2, description="Conditions per slice: 1 or 2.")
    bins: int = Field(default=4, ge=2, le=20, description="Quantile bins for numeric columns "
                      "with more distinct values than max_categories.")
    max_categories: int = Field(default=20, ge=2, le=200, description="Categories kept per "
                                "column (the rarer ones are pooled as `other`).")
    min_support: float = Field(default=0.01, gt=0.0, lt=0.5, description="Least share of rows "
                               "in a slice (and in its complement).")
    min_group_size: int = Field(default=30, ge=1, description="Least rows in a slice, and "
                                "least rows in the metric's denominator.")
    min_gap: float = Field(default=0.05, ge=0.0, description="Least gap (slice minus "
                           "complement, on the harmful side) that a discovery must show "
                           "to fail the check.")
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0, description="False discovery rate "
                         "(Benjamini–Yekutieli over every slice tried).")
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0, description="Interval coverage.")
    top: int = Field(default=10, ge=1, le=200, description="Worst slices listed.")
    higher_is_better: bool | None = Field(default=None, description="Override the metric's "
                                          "direction.")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric {value!r}; choose one of {', '.join(METRICS)}")
        return value


class Slices(Check):
    """Hidden slices: where the model does worse than everyone else, with FDR control.

    A bias check compares the groups you declared; a gap can hide in a slice
    nobody looked at (older customers on month-to-month contracts). This check
    searches every slice of one and two conditions over the model's features
    and the protected attributes (numbers binned at their quantiles, missing
    values a slice of their own), keeps those with at least ``min_support`` of
    the rows and ``min_group_size`` rows (and as many in the complement),
    compares each slice with its complement on the policy's metric — a
    one-sided two-proportion z-test for rates, Welch's t-test for
    ``mean_score``, on the harmful side of the metric's direction — and
    controls the false discovery rate over every slice tried with
    Benjamini–Yekutieli, which holds for overlapping (dependent) slices. The
    counts come from one pass over the rows (a count table per column and per
    pair of columns). The check fails (default severity warn) when a slice is
    a discovery and worse than its complement by at least ``min_gap``; the
    report lists the number tried and the worst slices with n, value,
    interval, gap and adjusted p, marking those defined by a protected
    attribute or a declared proxy.

    Example::

        - id: hidden-slices
          type: bias.slices
          metric: false_negative_rate
          proxies: {gender: [Partner], SeniorCitizen: [PaymentMethod]}
          min_gap: 0.05
    """

    type = "bias.slices"
    params_model = SlicesParams
    rule = "EU AI Act Art. 10(2)(f)-(g) (examine and mitigate possible biases)"
    requires = frozenset({"decision"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        p: SlicesParams = self.params  # type: ignore[assignment]
        where = ctx.policy.locate("checks", p.id)
        metric = COUNT_METRICS.get(p.metric)
        if metric is not None and metric.needs_label and not ctx.has_label:
            raise InputError(f"{where}: metric {p.metric} needs the observed outcome "
                             "(data.label)", hint="declare data.label, or choose selection_rate")
        if metric is None and not ctx.has_score:
            raise InputError(f"{where}: metric mean_score needs scores (data.score or a model "
                             "with predict_proba)", hint="choose a rate metric")
        columns = self._columns(ctx, p, where)
        roles = self._roles(ctx, p, where)
        wanted = [group_column(c) if c in ctx.protected else c for c in columns]
        extra = [DECISION] + ([LABEL] if ctx.has_label else []) + ([SCORE] if metric is None
                                                                     else [])
        frame = ctx.engine.to_pandas(ctx.frame, list(dict.fromkeys(wanted + extra)))
        rows = len(frame)
        encoded = [encode(c, frame[w], bins=p.bins, max_categories=p.max_categories)
                   for c, w in zip(columns, wanted, strict=True)]
        encoded = [e for e in encoded if len(e.labels) > 1]
        if metric is not None:
            label = frame[LABEL].to_numpy(np.int64) if ctx.has_label else 0
            inputs: dict[str, Any] = {
                "cell": 2 * label + frame[DECISION].to_numpy(np.int64),
                "numerator": metric.numerator, "denominator": metric.denominator}
            direction = metric.direction
        else:
            inputs = {"score": frame[SCORE].to_numpy(float)}
            direction = OTHER_DIRECTIONS["mean_score"]
        hib, why = higher_is_better(direction, ctx.policy.system.intervention.value,
                                    p.higher_is_better)
        min_rows = max(int(np.ceil(p.min_support * rows)), p.min_group_size)
        result = search(encoded, **inputs, higher_is_better=hib, conditions=p.conditions,
                        min_rows=min_rows, min_n=p.min_group_size, alpha=p.alpha,
                        min_gap=p.min_gap, confidence=p.confidence)
        found, adjusted, harm = result.found, result.adjusted, result.harm
        discovery, skipped = result.discovery, result.skipped
        order = np.lexsort((-harm, ~discovery))[: p.top] if len(harm) else np.array([], int)
        if len(harm) and not discovery.any():
            order = np.argsort(found.p, kind="stable")[: p.top]
        listed, metrics = [], []
        for k in order:
            conditions = {encoded[i].column: encoded[i].labels[code] for i, code in found.keys[k]}
            marks = sorted({roles[c] for c in conditions if c in roles})
            row = {"slice": conditions, "rows": int(found.rows[k]), "n": int(found.n[k]),
                   "value": float(found.value[k]), "ci": [float(found.low[k]),
                                                          float(found.high[k])],
                   "complement": float(found.complement[k]),
                   "gap": float(found.value[k] - found.complement[k]),
                   "p_value": float(found.p[k]), "adjusted_p": float(adjusted[k]),
                   "discovery": bool(discovery[k]), "marks": marks}
            listed.append(row)
            metrics.append(Metric(name=p.metric, group=conditions, value=row["value"],
                                  n=row["n"], ci=(row["ci"][0], row["ci"][1]),
                                  p_value=row["adjusted_p"],
                                  status=Status.FAIL if row["discovery"] else Status.PASS,
                                  direction="higher" if hib else "lower",
                                  note=(f"complement {row['complement']:.4g}, gap "
                                        f"{row['gap']:+.4g}" + (f"; {', '.join(marks)}"
                                                                 if marks else ""))))
        tried = len(found.p)
        n_found = int(discovery.sum())
        details: dict[str, Any] = {
            "metric": p.metric, "direction": "higher" if hib else "lower",
            "direction_reason": why, "tried": tried, "left_out_for_support": skipped,
            "min_rows": min_rows, "columns": [e.column for e in encoded],
            "conditions": p.conditions, "discoveries": n_found,
            "fdr_procedure": "Benjamini-Yekutieli (valid under arbitrary dependence) over "
                             "every slice tried",
            "test": "one-sided pooled two-proportion z-test against the complement"
            if metric is not None else "one-sided Welch t-test against the complement",
            "alpha": p.alpha, "min_gap": p.min_gap, "slices": listed}
        if tried == 0:
            return CheckOutcome(status=Status.INCONCLUSIVE, details=details,
                                summary=f"No slice had {min_rows} rows or more on both sides "
                                        f"({skipped} left out for support): nothing tested.")
        if n_found:
            worst = "; ".join(_describe(r) for r in listed[:3])
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), details=details,
                                summary=f"{n_found} of {tried} slices tried are worse than "
                                        f"the rest on {p.metric} by {p.min_gap:g} or more at "
                                        f"FDR {p.alpha:g} (Benjamini-Yekutieli). Worst: "
                                        f"{worst}.")
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=details,
                            summary=f"No slice of {tried} tried is worse than the rest on "
                                    f"{p.metric} by {p.min_gap:g} or more at FDR {p.alpha:g} "
                                    f"(Benjamini-Yekutieli; {skipped} left out for support).")

    @staticmethod
    def _columns(ctx: AuditContext, p: SlicesParams, where: str) -> list[str]:
        if p.features is not None:
            columns = list(dict.fromkeys(p.features))
        else:
            columns = list(dict.fromkeys([*ctx.features, *ctx.protected]))
        missing = [c for c in columns if c not in ctx.data_columns]
        if missing:
            raise InputError(f"{where}: bias.slices columns not in the data: "
                             f"{', '.join(repr(c) for c in missing[:10])}",
                             hint="list columns of the audited data under `features`")
        if not columns:
            raise InputError(f"{where}: bias.slices has no column to slice on",
                             hint="declare data.features or the check's `features`")
        if len(columns) > MAX_COLUMNS:
            raise InputError(f"{where}: bias.slices over {len(columns)} columns would try "
                             f"{len(columns) * (len(columns) - 1) // 2} pairs; at most "
                             f"{MAX_COLUMNS} columns", hint="list the columns under `features`")
        return columns

    @staticmethod
    def _roles(ctx: AuditContext, p: SlicesParams, where: str) -> dict[str, str]:
        roles = dict.fromkeys(ctx.protected, "protected attribute")
        declared = (dict(p.proxies) if isinstance(p.proxies, dict) else {"": list(p.proxies)})
        unknown = [f for fs in declared.values() for f in fs if f not in ctx.data_columns]
        unknown += [a for a in declared if a and a not in ctx.protected]
        if unknown:
            raise InputError(f"{where}: declared proxies are not columns of the data or "
                             f"protected attributes: {', '.join(repr(u) for u in unknown[:10])}",
                             hint="fix `proxies` (mapping protected attribute: [features])")
        for attribute, features in declared.items():
            for feature in features:
                roles.setdefault(feature, f"proxy for {attribute}" if attribute else "proxy")
        return roles


def _describe(row: dict[str, Any]) -> str:
    where = " & ".join(f"{k}={v}" for k, v in row["slice"].items())
    return (f"{where} (n={row['n']}, {row['value']:.3g} [{row['ci'][0]:.3g}, "
            f"{row['ci'][1]:.3g}] vs {row['complement']:.3g}, adj. p {row['adjusted_p']:.2g}"
            + (f", {', '.join(row['marks'])}" if row["marks"] else "") + ")")


CHECKS = (Slices,)
