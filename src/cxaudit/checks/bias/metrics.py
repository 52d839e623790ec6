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

#: ``higher``/``lower``: fixed direction (metrics of decision *quality*: precision,
#: NPV, accuracy, AUC are higher-is-better; FDR, FOR, error rate, calibration error
#: lower-is-better). ``intervention``: a rate of *positive* decisions (selection
#: rate, TPR, FPR; mean score): higher is better when a positive decision helps the
#: customer (assistive), lower when it harms them (punitive). ``intervention_complement``:
#: a rate of *negative* decisions (FNR = 1 - TPR, TNR = 1 - FPR): the reverse.
#: The best-off group is always the one the decisions favour.
Direction = Literal["higher", "lower", "intervention", "intervention_complement"]


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
    _m("true_positive_rate", (TP,), (FN, TP), "intervention", "True positive rate parity",
       "share of customers with a positive outcome whom the model selects"),
    _m("false_positive_rate", (FP,), (TN, FP), "intervention", "False positive rate parity",
       "share of customers with a negative outcome whom the model wrongly selects"),
    _m("false_negative_rate", (FN,), (FN, TP), "intervention_complement", "False negative rate parity",
       "share of customers with a positive outcome whom the model misses"),
    _m("true_negative_rate", (TN,), (TN, FP), "intervention_complement", "True negative rate parity",
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


#: The favourable-outcome rate of a punitive decision: the share of customers *not*
#: flagged. The Uniform Guidelines define adverse impact on the rate of the
#: favourable outcome, so the EEOC checks use it for punitive decisions.
NOT_FLAGGED_RATE = CountMetric(
    "not_flagged_rate", (TN, FN), ALL, "higher", False, "Not-flagged rate parity",
    "share of customers who are not flagged (the favourable outcome of a punitive decision)")


#: Directions of the metrics that are not confusion-count ratios (the checks read them here).
OTHER_DIRECTIONS: dict[str, Direction] = {
    "not_flagged_rate": "higher",  # the favourable rate of a punitive decision (EEOC)
    "auc": "higher", "calibration_error": "lower", "mean_score": "intervention",
    "scoring_rate": "intervention", "mean_outcome": "intervention",
    "median_outcome": "intervention", "exposure": "higher",
}


def higher_is_better(direction: Direction, intervention: str, override: bool | None) -> tuple[bool, str]:
    """Resolve a metric's direction and say why (for the report)."""
    if override is not None:
        return override, "set by the policy (higher_is_better)"
    if direction == "higher":
        return True, "a higher value is better for the group (the metric measures decision quality)"
    if direction == "lower":
        return False, "a lower value is better for the group (the metric counts harm or errors)"
    punitive = intervention == "punitive"
    if direction == "intervention":
        if punitive:
            return False, ("a rate of positive decisions, and system.intervention is punitive: "
                           "a positive decision harms the customer, so the group that receives "
                           "fewest is best-off")
        return True, ("a rate of positive decisions, and system.intervention is assistive: a "
                      "positive decision benefits the customer, so the group that receives most "
                      "is best-off")
    if punitive:
        return True, ("a rate of negative decisions, and system.intervention is punitive: a "
                      "negative decision spares the customer, so the group that receives most "
                      "is best-off")
    return False, ("a rate of negative decisions, and system.intervention is assistive: a "
                   "negative decision withholds the benefit, so the group that receives fewest "
                   "is best-off")


def metric_direction(metric: str) -> Direction:
    """The direction rule of a metric named in a policy (a count metric or another one)."""
    found = COUNT_METRICS.get(metric)
    return found.direction if found is not None else OTHER_DIRECTIONS[metric]


#: The default ``metric:`` of the checks that follow a declared metric (their params read
#: it from here, so that this module never imports them).
FOLLOWING_DEFAULTS = {"slices": "error_rate", "shift_stress": "selection_rate"}


def metric_following_checks() -> dict[str, str]:
    """Checks with no metric of their own: ``{check name: its default metric}``.

    ``bias.slices`` compares each slice with its complement, and ``bias.shift_stress``
    each group with the best-off group under a scenario's weights, on the metric the
    policy declares (``metric:``), so each takes that metric's direction (and so follows
    ``system.intervention`` exactly as the metric does); their rows in the table are
    their default metric's."""
    return dict(FOLLOWING_DEFAULTS)


def direction_table() -> dict[str, dict[str, str]]:
    """``{metric: {assistive: higher|lower, punitive: higher|lower}}`` for the docs' table
    (with a row for each check that follows a declared metric: its default metric's)."""
    out = {}
    following = [(name, metric_direction(metric))
                 for name, metric in metric_following_checks().items()]
    for name, direction in [*((m.name, m.direction) for m in COUNT_METRICS.values()),
                            *OTHER_DIRECTIONS.items(), *following]:
        out[name] = {i: "higher" if higher_is_better(direction, i, None)[0] else "lower"
                     for i in ("assistive", "punitive")}
    return out
