"""``explain.counterfactual_flip``: would the decision change if only who you are changed?"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.context import AuditContext, group_column, positive_value
from cxaudit.errors import InputError
from cxaudit.loaders.model import predict
from cxaudit.result import Metric, Status

#: Numeric columns with more distinct values than this are set to the median, others to the mode.
FEW_VALUES = 10


class CounterfactualParams(CheckParams):
    """Declaration of ``explain.counterfactual_flip``."""

    max_flip_share: float = Field(default=0.01, ge=0.0, le=1.0, description="Largest tolerated "
                                  "share of a group's decisions that flip.")
    proxies: list[str] | dict[str, list[str]] = Field(
        default_factory=list, description="Features standing in for a protected attribute "
        "(a list applies to every attribute); changed with it.")
    attributes: list[str] | None = Field(default=None, description="Protected attributes to "
                                         "test (default: all).")
    sample_size: int = Field(default=50_000, ge=100, le=5_000_000, description="Rows "
                             "predicted again (a seeded random sample; all rows when fewer).")
    min_group_size: int = Field(default=30, ge=1, description="Smaller groups report "
                                "insufficient_data.")
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0, description="Coverage of the "
                              "Clopper-Pearson interval of each flip share.")


def _replacement(values: pd.Series) -> Any:
    """The other groups' most common value (categories) or median (many-valued numbers)."""
    clean = values.dropna()
    if clean.empty:
        return None
    numeric = pd.api.types.is_numeric_dtype(clean) and not pd.api.types.is_bool_dtype(clean)
    if numeric and clean.nunique() > FEW_VALUES:
        median = float(clean.median())
        return int(round(median)) if pd.api.types.is_integer_dtype(clean) else median
    counts = clean.value_counts(sort=False)
    return counts.index[np.argmax(counts.to_numpy())]


class CounterfactualFlip(Check):
    """Counterfactual flips: decisions that change when only the protected attribute changes.

    For each protected attribute that is a model input, and each declared
    proxy that is one, every sampled customer's value is set to the most
    common value among the *other* groups (the median, for numbers with many
    values), everything else left as it is, and the model predicts again. The
    share of decisions that flip, per group, with a Clopper-Pearson interval,
    says whether the model treats the person differently because of who they
    are (or what stands in for it). A group whose share is above
    ``max_flip_share`` fails the check (default severity block). When the
    attribute is not a model input and no proxy of it is, the check is
    ``not_applicable`` and says so — never a pass.

    Example::

        - id: no-flips
          type: explain.counterfactual_flip
          max_flip_share: 0.01
          proxies: {gender: [Partner], SeniorCitizen: [PaymentMethod, Dependents]}
    """

    type = "explain.counterfactual_flip"
    params_model = CounterfactualParams
    rule = "ECOA / Reg. B (12 CFR 1002.4(a)); EU Charter Art. 21 (non-discrimination)"
    requires = frozenset({"model"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        p: CounterfactualParams = self.params  # type: ignore[assignment]
        where = ctx.policy.locate("checks", p.id)
        attributes = p.attributes if p.attributes is not None else ctx.protected
        unknown = [a for a in attributes if a not in ctx.protected]
        declared = dict(p.proxies) if isinstance(p.proxies, dict) else {
            a: list(p.proxies) for a in attributes}
        unknown += [a for a in declared if a not in ctx.protected]
        unknown += [f for fs in declared.values() for f in fs if f not in ctx.data_columns]
        if unknown:
            raise InputError(f"{where}: not protected attributes or data columns: "
                             f"{', '.join(repr(u) for u in dict.fromkeys(unknown))}",
                             hint="`attributes` names data.protected entries; `proxies` maps "
                                  "them to columns of the data")
        features = list(ctx.features)
        plan = {a: [c for c in [a, *declared.get(a, [])] if c in features] for a in attributes}
        reasons = {a: f"{a} is not a model input and no declared proxy of it is"
                   + (f" (declared: {', '.join(declared[a])})" if declared.get(a) else "")
                   for a, cols in plan.items() if not cols}
        plan = {a: cols for a, cols in plan.items() if cols}
        if not plan:
            return CheckOutcome(status=Status.NOT_APPLICABLE, details={"reasons": reasons},
                                summary="Not applicable: " + "; ".join(reasons.values())
                                + ". Declare proxies (`proxies`) to test what stands in for "
                                  "them.")
        frame = self._sample(ctx, p, [group_column(a) for a in plan])
        spec = ctx.policy.data
        positive = spec.positive
        if positive is None and spec.label and spec.label in frame:
            positive = positive_value(frame[spec.label], None, where=where)
        positive = 1 if positive is None else positive
        original, _ = predict(ctx.model, frame[features], positive=positive,
                              threshold=spec.decision_threshold)
        metrics, rows, failing, small = [], [], [], []
        for attribute, columns in plan.items():
            groups = frame[group_column(attribute)].astype(str).to_numpy()
            changed = frame[features].copy()
            swaps: dict[str, dict[str, Any]] = {}
            for group in sorted(set(groups)):
                mask = groups == group
                swaps[group] = {}
                for column in columns:
                    value = _replacement(frame.loc[~mask, column])
                    if value is not None:
                        changed.loc[mask, column] = value
                    swaps[group][column] = None if value is None else str(value)
            after, _ = predict(ctx.model, changed, positive=positive,
                               threshold=spec.decision_threshold)
            valid = (original >= 0) & (after >= 0)
            flips = valid & (original != after)
            for group in sorted(set(groups)):
                mask = (groups == group) & valid
                n, k = int(mask.sum()), int(flips[mask].sum())
                share = k / n if n else float("nan")
                if n:
                    ci = stats.binomtest(k, n).proportion_ci(p.confidence, method="exact")
                    low, high = float(ci.low), float(ci.high)
                else:
                    low = high = float("nan")
                status = (Status.INSUFFICIENT_DATA if n < p.min_group_size else
                          Status.FAIL if share > p.max_flip_share else Status.PASS)
                label = {attribute: group}
                metrics.append(Metric(name="flip_share", group=label, value=share, n=n,
                                      ci=(low, high), threshold={"max": p.max_flip_share},
                                      status=status, direction="lower",
                                      note=f"changed {', '.join(columns)} to "
                                           + ", ".join(f"{c}={v}" for c, v in
                                                       swaps[group].items())))
                rows.append({"attribute": attribute, "group": group, "n": n, "flips": k,
                             "share": share, "ci": [low, high], "changed": swaps[group],
                             "status": status.value})
                if status is Status.FAIL:
                    failing.append(f"{attribute}={group}: {k} of {n} flip ({share:.2%} "
                                   f"[{low:.2%}, {high:.2%}])")
                elif status is Status.INSUFFICIENT_DATA:
                    small.append(f"{attribute}={group}")
        details = {"changed_columns": plan, "not_applicable": reasons, "groups": rows,
                   "sample_rows": len(frame), "max_flip_share": p.max_flip_share,
                   "interval": "Clopper-Pearson (exact)", "confidence": p.confidence}
        tail = f" Not tested: {'; '.join(reasons.values())}." if reasons else ""
        if failing:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), details=details,
                                summary=f"Changing only {self._what(plan)} flips more than "
                                        f"{p.max_flip_share:.2%} of decisions: "
                                        + "; ".join(failing) + "." + tail)
        if small and len(small) == len(rows):
            return CheckOutcome(status=Status.INCONCLUSIVE, metrics=tuple(metrics),
                                details=details, summary="Every group is smaller than "
                                f"{p.min_group_size} sampled rows.{tail}")
        worst = max((r for r in rows if r["n"] >= p.min_group_size), key=lambda r: r["share"])
        status = Status.INSUFFICIENT_DATA if small else Status.PASS
        return CheckOutcome(status=status, metrics=tuple(metrics), details=details,
                            summary=f"Changing only {self._what(plan)} flips at most "
                                    f"{worst['share']:.2%} of a group's decisions "
                                    f"({worst['attribute']}={worst['group']}, "
                                    f"[{worst['ci'][0]:.2%}, {worst['ci'][1]:.2%}]), within "
                                    f"{p.max_flip_share:.2%}." + tail
                                    + (f" Too few rows: {', '.join(small)}." if small else ""))

    @staticmethod
    def _what(plan: dict[str, list[str]]) -> str:
        return "; ".join(f"{a} ({', '.join(c)})" for a, c in plan.items())

    @staticmethod
    def _sample(ctx: AuditContext, p: CounterfactualParams, groups: list[str]) -> pd.DataFrame:
        label = [ctx.policy.data.label] if ctx.policy.data.label else []
        columns = list(dict.fromkeys([*ctx.features, *groups, *label]))
        frame = ctx.engine.to_pandas(ctx.frame, columns)
        if len(frame) > p.sample_size:
            rng = np.random.default_rng(ctx.seed)
            keep = np.sort(rng.choice(len(frame), p.sample_size, replace=False))
            frame = frame.iloc[keep]
        return frame.reset_index(drop=True)


CHECKS = (CounterfactualFlip,)
