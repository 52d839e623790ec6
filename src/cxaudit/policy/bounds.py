"""Thresholds that can fail: every bound finite and inside what its comparison can measure.

``threshold: {min: .nan}`` passes ("at least nan"), ``{min: -1}`` on a ratio or
``{max: 1}`` on a rate difference pass whatever the data: a gate that cannot fail.
After a check is validated, each of its :class:`~cxaudit.checks.base.Threshold`
fields is held to the range of the value it bounds:

========================  ===============  =========================================
comparison                range            check types
========================  ===============  =========================================
ratio                     (0, ∞)           ``compare: ratio`` of bias checks;
                                           ``data.label_balance``,
                                           ``data.representation``,
                                           ``automation.escalation_parity``
difference of rates       [0, 1]           ``compare: difference`` of bias checks on
                                           rates (selection, error rates, AUC,
                                           calibration error, exposure)
difference of values      [0, ∞)           ``compare: difference`` of
                                           ``bias.mean_score``, ``bias.mean_outcome``,
                                           ``bias.median_outcome`` (any scale)
share of rows             [0, 1]           consent checks, ``automation.disclosure``,
                                           ``automation.handoff``,
                                           ``explain.reason_codes``
similarity, association   [0, 1]           ``explain.stability`` (Jaccard),
                                           ``privacy.proxy`` (Cramér's V, AUC)
rank correlation          [-1, 1]          ``explain.group_divergence`` (Spearman)
========================  ===============  =========================================

A bound outside the range, or a threshold whose every bound sits at the range's
closed end (``{max: 1}`` on a share, ``{min: -1}`` on a correlation), is an error:
the check could never fail. Threshold fields of check types not listed here (plugins)
are held to be finite. Every other number of a check (``data.drift``'s ``block``,
``data.freshness``'s ``max_age_days``, ...) must be finite too, and integers must fit
in 64 bits; YAML's ``.inf``, ``.nan`` and quoted ``"nan"`` all land here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from cxaudit.policy.params import Threshold

#: Largest integer a policy may hold (counts, sizes, days): int64.
MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class Range:
    """The values a measured quantity can take, and how to say so."""

    what: str
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    example: str = "{min: 0.8}"

    def contains(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def text(self) -> str:
        low = "-∞" if self.low == -math.inf else f"{self.low:g}"
        high = "∞" if self.high == math.inf else f"{self.high:g}"
        return f"{'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


RATIO = Range("a ratio", 0.0, math.inf, low_open=True, high_open=True, example="{min: 0.8}")
RATE_DIFFERENCE = Range("a difference of rates", 0.0, 1.0, example="{max: 0.1}")
VALUE_DIFFERENCE = Range("a difference", 0.0, math.inf, high_open=True, example="{max: 0.1}")
SHARE = Range("a share of rows", 0.0, 1.0, example="{max: 0.05}")
SIMILARITY = Range("a similarity", 0.0, 1.0, example="{min: 0.8}")
ASSOCIATION = Range("an association", 0.0, 1.0, example="{max: 0.5}")
CORRELATION = Range("a rank correlation", -1.0, 1.0, example="{min: 0.7}")
ANY = Range("a number", -math.inf, math.inf, low_open=True, high_open=True)

#: Differences of these check types are on the data's own scale (scores, prices).
_UNBOUNDED_DIFFERENCES = frozenset({"bias.mean_score", "bias.mean_outcome",
                                    "bias.median_outcome"})

#: Threshold fields of the check types whose value is not a group comparison.
_FIELDS: dict[str, dict[str, Range]] = {
    "automation.disclosure": {"threshold": SHARE},
    "automation.handoff": {"threshold": SHARE},
    "automation.escalation_parity": {"threshold": RATIO},
    "consent.coverage": {"threshold": SHARE},
    "consent.expired": {"threshold": SHARE},
    "consent.minors": {"threshold": SHARE},
    "consent.objection": {"threshold": SHARE},
    "consent.opt_out_honoured": {"threshold": SHARE},
    "consent.refused": {"threshold": SHARE},
    "consent.withdrawn": {"threshold": SHARE},
    "data.label_balance": {"threshold": RATIO},
    "data.representation": {"threshold": RATIO},
    "explain.group_divergence": {"threshold": CORRELATION},
    "explain.reason_codes": {"threshold": SHARE},
    "explain.stability": {"threshold": SIMILARITY},
    "privacy.proxy": {"cramers_v": ASSOCIATION, "auc": ASSOCIATION},
}


def range_of(params: Any, field: str) -> Range:
    """The range a threshold field of a validated check bounds."""
    check_type = getattr(params, "type", "")
    if check_type in _FIELDS and field in _FIELDS[check_type]:
        return _FIELDS[check_type][field]
    compare = getattr(params, "compare", None)
    if field == "threshold" and compare == "ratio":
        return RATIO
    if field == "threshold" and compare == "difference":
        return VALUE_DIFFERENCE if check_type in _UNBOUNDED_DIFFERENCES else RATE_DIFFERENCE
    if field == "threshold" and check_type.startswith("consent."):
        return SHARE
    return ANY


@dataclass(frozen=True)
class BoundProblem:
    """A problem at ``path`` (relative to the check), with a hint."""

    path: tuple[Any, ...]
    message: str
    hint: str | None = None


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _non_finite(value: Any, path: tuple[Any, ...]) -> Iterator[BoundProblem]:
    if isinstance(value, bool):
        return
    if isinstance(value, float) and not math.isfinite(value):
        yield BoundProblem(path, f"{_number(value)} is not a finite number",
                           "write a number such as 0.8 (`.nan`, `.inf` and \"nan\" are refused)")
    elif isinstance(value, int) and abs(value) > MAX_INT:
        yield BoundProblem(path, f"the number ({len(str(abs(value)))} digits) is too large",
                           f"use a number below {MAX_INT:,}")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _non_finite(getattr(value, name), (*path, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, (*path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*path, index))


def _threshold_problems(threshold: Threshold, span: Range, field: str, raw: Any
                        ) -> Iterator[BoundProblem]:
    raw = raw if isinstance(raw, dict) else {}
    in_range = True
    for side in ("min", "max"):
        value = getattr(threshold, side)
        if value is None:
            continue
        if isinstance(raw.get(side), bool):
            yield BoundProblem((field, side), f"`{field}.{side}` is a number, not "
                               f"{str(raw[side]).lower()}", f"e.g. `{field}: {span.example}`")
            in_range = False
        elif math.isnan(value):
            yield BoundProblem((field, side), f"`{field}.{side}` is nan: no value is ever "
                               f"compared below or above nan, so the check could never fail",
                               f"write a number, e.g. `{field}: {span.example}`")
            in_range = False
        elif math.isinf(value):
            omit = ("omit `min` for no lower bound" if side == "min" and value < 0 else
                    "omit `max` for no upper bound" if side == "max" and value > 0 else
                    "write a finite number")
            yield BoundProblem((field, side), f"`{field}.{side}` is {_number(value)}: a bound "
                               "must be a finite number", f"{omit}, e.g. `{field}: {span.example}`")
            in_range = False
        elif not span.contains(value):
            percent = (span.high == 1.0 and 1.0 < value <= 100.0)
            hint = (f"write percentages as fractions: {value:g} % is {value / 100:g}" if percent
                    else f"e.g. `{field}: {span.example}`")
            yield BoundProblem((field, side), f"`{field}.{side}` is {_number(value)}, outside "
                               f"what {span.what} can be: {span.text()}", hint)
            in_range = False
    if not in_range or span is ANY:
        return
    vacuous_min = threshold.min is None or (not span.low_open and threshold.min <= span.low)
    vacuous_max = threshold.max is None or (not span.high_open and threshold.max >= span.high)
    if vacuous_min and vacuous_max:
        bounds = ", ".join(f"{side}: {_number(getattr(threshold, side))}"
                           for side in ("min", "max") if getattr(threshold, side) is not None)
        yield BoundProblem((field,), f"`{field}: {{{bounds}}}` can never fail: {span.what} is "
                           f"always within {span.text()}",
                           f"tighten it (e.g. `{field}: {span.example}`), or set "
                           "`severity: info` to report without gating")


def check_problems(params: BaseModel, raw: Any) -> list[BoundProblem]:
    """Non-finite or too large numbers, and thresholds that cannot fail, in a validated check.

    Parameters
    ----------
    params
        The validated declaration (a :class:`~cxaudit.checks.base.CheckParams`).
    raw
        The declaration as written (to tell ``yes`` from ``1``).
    """
    problems: list[BoundProblem] = []
    raw = raw if isinstance(raw, dict) else {}
    for name in type(params).model_fields:
        value = getattr(params, name)
        if isinstance(value, Threshold):
            if name in raw:  # defaults are the checks' own, and valid
                problems.extend(_threshold_problems(value, range_of(params, name), name,
                                                    raw.get(name)))
        else:
            problems.extend(_non_finite(value, (name,)))
    return problems


def section_problems(envelope: BaseModel) -> list[BoundProblem]:
    """Non-finite or too large numbers anywhere in the policy's sections (checks aside)."""
    return [problem for name in type(envelope).model_fields if name != "checks"
            for problem in _non_finite(getattr(envelope, name), (name,))]
