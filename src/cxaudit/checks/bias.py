"""Bias checks: group fairness metrics compared across customer groups.

Group metrics are functions of per-group counts, computed in one pass by the
engine (``count_by``); everything after that is arithmetic on a small table.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from cxaudit.checks.base import Check, CheckOutcome, CheckParams, Threshold
from cxaudit.context import DECISION, AuditContext, group_column
from cxaudit.result import Metric, Status

DEFAULT_RATIO = Threshold(min=0.8)
DEFAULT_DIFFERENCE = Threshold(max=0.1)


class GroupComparisonParams(CheckParams):
    """Declaration shared by group-fairness checks."""

    compare: Literal["ratio", "difference"] = Field(
        default="ratio",
        description="ratio: group value / reference value (1 is parity); "
        "difference: absolute gap to the reference (0 is parity).",
    )
    reference: str | dict[str, str] | None = Field(
        default=None,
        description="Group to compare against: `best` (default), `overall`, a group value "
        "(for single attributes) or a mapping attribute: value.",
    )
    threshold: Threshold | None = Field(
        default=None, description="Default: {min: 0.8} for ratios, {max: 0.1} for differences."
    )
    min_group_size: int = Field(
        default=30, ge=1, description="Smaller groups report insufficient_data, never pass."
    )
    attributes: list[str] | None = Field(
        default=None, description="Protected attributes to audit (default: all, with intersections)."
    )

    @model_validator(mode="after")
    def _threshold_matches_compare(self) -> GroupComparisonParams:
        if self.threshold is not None and self.compare == "difference" and self.threshold.max is None:
            raise ValueError("a `difference` is held to `threshold: {max: ...}` (the largest gap)")
        return self

    def effective_threshold(self) -> Threshold:
        """The declared threshold, or the default for the comparison."""
        if self.threshold is not None:
            return self.threshold
        return DEFAULT_RATIO if self.compare == "ratio" else DEFAULT_DIFFERENCE


def group_label(attributes: list[str], key: tuple[str, ...]) -> str:
    """``gender=Female, SeniorCitizen=1`` for messages."""
    return ", ".join(f"{a}={v}" for a, v in zip(attributes, key, strict=True))


def compare_groups(values: dict[tuple[str, ...], float], sizes: dict[tuple[str, ...], int],
                   params: GroupComparisonParams, attributes: list[str], *, higher_is_better: bool,
                   overall: float) -> tuple[float | None, tuple[str, ...] | None, dict]:
    """Pick the reference value among groups with enough data.

    Returns (reference value, reference group key or None for overall, eligible groups).
    """
    eligible = {k: v for k, v in values.items()
                if sizes[k] >= params.min_group_size and not np.isnan(v)}
    reference = params.reference
    if reference in (None, "best"):
        if not eligible:
            return None, None, eligible
        pick = max if higher_is_better else min
        key = pick(sorted(eligible), key=lambda k: eligible[k])
        return eligible[key], key, eligible
    if reference == "overall":
        return overall, None, eligible
    wanted = reference if isinstance(reference, dict) else {attributes[0]: reference}
    if set(wanted) != set(attributes):
        return None, None, eligible
    key = tuple(str(wanted[a]) for a in attributes)
    if key not in eligible:
        return None, key, eligible
    return eligible[key], key, eligible


def comparison_value(value: float, reference: float, *, compare: str,
                     higher_is_better: bool) -> float:
    """Ratio (disadvantaged over advantaged, so ≤ 1 against the best) or absolute gap."""
    if compare == "difference":
        return abs(value - reference)
    numerator, denominator = (value, reference) if higher_is_better else (reference, value)
    if denominator == 0:
        return 1.0 if numerator == 0 else float("inf")
    return numerator / denominator


class SelectionRate(Check):
    """Selection rate parity: each group receives positive decisions at a similar rate.

    The selection rate of a group is the share of its customers who receive the
    positive decision (a retention offer, a lead call-back, a discount). Parity
    is measured as the ratio of each group's rate to the best-off group's rate
    (the four-fifths rule holds it to at least 0.8), or as the absolute gap.
    With ``system.intervention: punitive`` the best-off group is the one with
    the *lowest* rate, since a positive decision harms the customer.

    Groups smaller than ``min_group_size`` are reported as ``insufficient_data``
    and never pass. Missing attribute values form the group ``unknown``.

    Example::

        - id: offer-rate-parity
          type: bias.selection_rate
          compare: ratio
          threshold: {min: 0.8}
          min_group_size: 50
          severity: block
    """

    type = "bias.selection_rate"
    params_model = GroupComparisonParams
    rule = "Four-fifths rule of thumb (29 CFR 1607.4(D)); NYC LL144 impact ratio"
    requires = frozenset({"decision"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: GroupComparisonParams = self.params  # type: ignore[assignment]
        threshold = params.effective_threshold()
        higher_is_better = ctx.policy.system.intervention.value == "assistive"
        metrics: list[Metric] = []
        failing: list[str] = []
        insufficient: list[str] = []
        compared = 0
        total = ctx.engine.count_by(ctx.frame, [DECISION])
        overall_n = int(total["count"].sum())
        overall = float(total.loc[total[DECISION] == 1, "count"].sum() / overall_n)
        metrics.append(Metric(name="selection_rate", value=overall, n=overall_n))
        attribute_sets = ctx.group_sets(params.attributes)
        if isinstance(params.reference, dict):
            # A named reference group applies to the attribute set it names.
            attribute_sets = [a for a in attribute_sets if set(a) == set(params.reference)]
        elif params.reference not in (None, "best", "overall"):
            attribute_sets = [a for a in attribute_sets if len(a) == 1]
        for attributes in attribute_sets:
            columns = [group_column(a) for a in attributes]
            counts = ctx.engine.count_by(ctx.frame, [*columns, DECISION])
            table = counts.pivot_table(index=columns, columns=DECISION, values="count",
                                       aggfunc="sum", fill_value=0)
            table = table.reindex(columns=[0, 1], fill_value=0)
            sizes, values = {}, {}
            for key, row in table.iterrows():
                key = key if isinstance(key, tuple) else (key,)
                key = tuple(str(k) for k in key)
                n = int(row[0] + row[1])
                sizes[key] = n
                values[key] = float(row[1] / n) if n else float("nan")
            ref_value, ref_key, eligible = compare_groups(
                values, sizes, params, attributes, higher_is_better=higher_is_better, overall=overall)
            for key in sorted(values):
                group = dict(zip(attributes, key, strict=True))
                label = group_label(attributes, key)
                metrics.append(Metric(name="selection_rate", group=group, value=values[key],
                                      n=sizes[key]))
                if key not in eligible:
                    insufficient.append(label)
                    metrics.append(Metric(
                        name=f"selection_rate_{params.compare}", group=group, value=None,
                        n=sizes[key], threshold=threshold.as_dict(),
                        status=Status.INSUFFICIENT_DATA,
                        note=f"fewer than {params.min_group_size} rows"))
                    continue
                if ref_value is None:
                    continue
                value = comparison_value(values[key], ref_value, compare=params.compare,
                                         higher_is_better=higher_is_better)
                ok = threshold.holds(value)
                compared += 1
                if not ok:
                    failing.append(f"{label} ({value:.2f})")
                metrics.append(Metric(
                    name=f"selection_rate_{params.compare}", group=group, value=value,
                    n=sizes[key], threshold=threshold.as_dict(),
                    status=Status.PASS if ok else Status.FAIL,
                    note=("reference: " + (group_label(attributes, ref_key) if ref_key
                                           else "overall"))))
            if ref_value is None and params.reference not in (None, "best", "overall"):
                return CheckOutcome(
                    status=Status.ERROR,
                    summary=f"Reference group {params.reference!r} is not an eligible group of "
                            f"{' × '.join(attributes)}.",
                    metrics=tuple(metrics))
        kind = "ratio to the best-off group" if params.reference in (None, "best") else (
            f"{params.compare} against {params.reference}")
        if failing:
            status = Status.FAIL
            summary = (f"{len(failing)} group(s) get positive decisions at a rate whose {kind} is "
                       f"outside {threshold.describe()}: {'; '.join(failing[:4])}"
                       f"{' …' if len(failing) > 4 else ''}.")
        elif insufficient or compared == 0:
            status = Status.INSUFFICIENT_DATA
            summary = (f"No group fails, but {len(insufficient)} group(s) have fewer than "
                       f"{params.min_group_size} rows and could not be judged: "
                       f"{'; '.join(insufficient[:4])}.")
        else:
            status = Status.PASS
            summary = (f"Every group's selection rate {kind} is within {threshold.describe()} "
                       f"({compared} comparisons).")
        return CheckOutcome(status=status, summary=summary, metrics=tuple(metrics),
                            details={"higher_is_better": higher_is_better})


CHECKS = (SelectionRate,)

__all__ = ["CHECKS", "GroupComparisonParams", "SelectionRate", "compare_groups"]

