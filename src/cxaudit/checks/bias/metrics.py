"""The confusion-count metrics: each a ratio of sums of confusion cells.

Cells are indexed ``2 * label + decision``: 0 = true negative, 1 = false
positive, 2 = false negative, 3 = true positive. Every count metric is
``sum(cells[numerator]) / sum(cells[denominator])``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

TN, FP, FN, TP = 0, 1, 2, 3
ALL = (TN, FP, FN, TP)

#: ``higher``/``lower``: fixed direction; ``intervention``: higher is better
#: when a positive decision helps the customer (assistive), lower when punitive.
Direction = Literal["higher", "lower", "intervention"]


@dataclass(frozen=True)
class CountMetric:
    """A metric defined by numerator and denominator confusion cells."""

    name: str
    numerator: tuple[int, ...]
    denominator: tuple[int, ...]
    direction: Direction
    needs_label: bool
    title: str
    plain: str

    def compute(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(successes, trials) along the last axis of ``cells`` (shape ``(..., 4)``)."""
        cells = np.asarray(cells)
        num = cells[..., list(self.numerator)].sum(axis=-1)
        den = cells[..., list(self.denominator)].sum(axis=-1)
        return num, den


def _m(name: str, num: tuple[int, ...], den: tuple[int, ...], direction: Direction, title: str,
       plain: str, needs_label: bool = True) -> CountMetric:
    return CountMetric(name, num, den, direction, needs_label, title, plain)


COUNT_METRICS: dict[str, CountMetric] = {m.name: m for m in (
    _m("selection_rate", (FP, TP), ALL, "intervention", "Selection rate parity",
       "share of customers who receive the positive decision", needs_label=False),
    _m("true_positive_rate", (TP,), (FN, TP), "higher", "True positive rate parity",
       "share of customers with a positive outcome whom the model selects"),
    _m("false_positive_rate", (FP,), (TN, FP), "lower", "False positive rate parity",
       "share of customers with a negative outcome whom the model wrongly selects"),
    _m("false_negative_rate", (FN,), (FN, TP), "lower", "False negative rate parity",
       "share of customers with a positive outcome whom the model misses"),
    _m("true_negative_rate", (TN,), (TN, FP), "higher", "True negative rate parity",
       "share of customers with a negative outcome whom the model correctly leaves out"),
    _m("precision", (TP,), (FP, TP), "higher", "Precision (positive predictive value) parity",
       "share of selected customers whose outcome is positive"),
    _m("false_discovery_rate", (FP,), (FP, TP), "lower", "False discovery rate parity",
       "share of selected customers whose outcome is negative"),
    _m("false_omission_rate", (FN,), (TN, FN), "lower", "False omission rate parity",
       "share of customers left out whose outcome is positive"),
    _m("negative_predictive_value", (TN,), (TN, FN), "higher",
       "Negative predictive value parity",
       "share of customers left out whose outcome is negative"),
    _m("accuracy", (TN, TP), ALL, "higher", "Accuracy parity",
       "share of customers whose decision matches their outcome"),
    _m("error_rate", (FP, FN), ALL, "lower", "Error rate parity",
       "share of customers whose decision does not match their outcome"),
)}


def higher_is_better(direction: Direction, intervention: str, override: bool | None) -> tuple[bool, str]:
    """Resolve a metric's direction and say why (for the report)."""
    if override is not None:
        return override, "set by the policy (higher_is_better)"
    if direction == "higher":
        return True, "a higher value is better for the group"
    if direction == "lower":
        return False, "a lower value is better for the group (the metric counts harm or errors)"
    if intervention == "punitive":
        return False, "system.intervention is punitive: a positive decision harms the customer"
    return True, "system.intervention is assistive: a positive decision benefits the customer"
