"""Checks on scores: AUC, calibration, mean score and the LL144 scoring rate."""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from cxaudit.checks.base import Check, CheckOutcome
from cxaudit.checks.bias.cells import ValueCells, coarsen, value_cells
from cxaudit.checks.bias.evaluate import reference_phrase, run_metric
from cxaudit.checks.bias.metrics import OTHER_DIRECTIONS, Direction, higher_is_better
from cxaudit.checks.bias.params import CalibrationParams, ScoreParams
from cxaudit.checks.bias.values import GroupValues, binary_values
from cxaudit.checks.bias.valuestats import (
    Statistic,
    auc_value,
    auc_values,
    calibration_bands,
    calibration_error,
    calibration_values,
    mean_value,
    statistic_values,
)
from cxaudit.context import SCORE, AuditContext

_BOOT_NOTE = ("bootstrap over distinct (group, label, score) cells; above max_bootstrap_cells "
              "scores are grouped into quantile bins for the intervals only")
_AUC_NOTE = ("DeLong variance from placement values (ties count one half), no resampling; "
             "each group's interval normal on the logit scale; a gap's variance is the sum of "
             "the two groups' (minus twice the covariance against overall), a ratio's interval "
             "normal on the log scale")
_AUC_TESTS = "two-sided z-test of each gap with DeLong's variance"
_CALIBRATION_NOTE = ("bootstrap over (group, score band, label) cells: counts drawn from one "
                     "multinomial (exactly as resampling rows), each cell's score sum given its "
                     "count from a normal with the cell's score mean and variance")


def weighted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """Median of values repeated ``counts`` times (numpy's definition)."""
    order = np.argsort(values, kind="stable")
    v, c = values[order], np.cumsum(counts[order])
    total = int(c[-1])
    lo = v[np.searchsorted(c, (total - 1) // 2, side="right")]
    hi = v[np.searchsorted(c, total // 2, side="right")]
    return float((lo + hi) / 2.0)


class ScoreCheck(Check):
    """Base of checks on a per-group statistic of the score."""

    metric: ClassVar[str]
    direction: ClassVar[Direction]
    with_label: ClassVar[bool] = False
    definition: ClassVar[str]
    params_model = ScoreParams

    @abc.abstractmethod
    def statistic(self) -> Statistic:
        """The per-group statistic."""

    def extra(self, cells: list[ValueCells]) -> dict:
        """Additional details (e.g. calibration bands)."""
        return {}

    def interval_details(self) -> dict:
        """How the intervals and tests are made (details entries)."""
        return {"bootstrap": _BOOT_NOTE}

    def group_values(self, attributes: list[str], exact: ValueCells,
                     rng: np.random.Generator) -> tuple[GroupValues, bool]:
        """Values with intervals for one attribute set, and whether scores were binned."""
        params: ScoreParams = self.params  # type: ignore[assignment]
        coarse, used = coarsen(exact, params.max_bootstrap_cells)
        return statistic_values(attributes, exact, coarse, self.statistic(),
                                n_boot=params.n_boot, rng=rng), used

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ScoreParams = self.params  # type: ignore[assignment]
        hib, why = higher_is_better(self.direction, ctx.policy.system.intervention.value,
                                    params.higher_is_better)
        seen: list[ValueCells] = []
        coarse_used = []

        def values_for(attributes: list[str], rng: np.random.Generator) -> GroupValues:
            exact = value_cells(ctx, attributes, SCORE, with_label=self.with_label)
            seen.append(exact)
            values, used = self.group_values(attributes, exact, rng)
            coarse_used.append(used)
            return values

        outcome = run_metric(
            ctx, params, metric=self.metric, title=self.title(),
            what=f"{self.metric} {params.compare} against {reference_phrase(params)}",
            higher_is_better=hib, direction_reason=why, values_for=values_for,
            extra_details={"definition": self.definition, **self.interval_details()})
        missing = int(seen[0].missing.sum()) if seen else 0
        details = {**outcome.details, **self.extra(seen), "rows_without_score": missing,
                   "bootstrap_binned": any(coarse_used)}
        return outcome.model_copy(update={"details": details})


class AUC(ScoreCheck):
    """AUC parity: the score ranks customers equally well in every group.

    The area under the ROC curve of the score against the observed outcome,
    per group (ties count one half, as scikit-learn's ``roc_auc_score``).
    A group whose outcomes are all one class has no AUC: insufficient_data.
    Intervals and tests use DeLong's variance (placement values, ties count
    one half), computed from the (group, label, score) counts without
    resampling: each group's interval is normal on the logit scale; a gap's
    variance is the sum of the two groups' (against ``overall``, minus twice
    their covariance), its interval normal (a ratio's on the log scale) and its
    test a z-test. ``n_boot: 0`` turns intervals and tests off.

    Example::

        - id: ranking-quality-parity
          type: bias.auc
          compare: difference
          threshold: {max: 0.05}
    """

    type = "bias.auc"
    metric = "auc"
    direction = OTHER_DIRECTIONS["auc"]
    with_label = True
    definition = "area under the ROC curve of the score per group"
    requires = frozenset({"label", "score"})
    rule = "Group fairness (equal ranking quality)"

    def statistic(self) -> Statistic:  # noqa: D102
        return auc_value

    def interval_details(self) -> dict:  # noqa: D102
        return {"intervals": _AUC_NOTE, "tests": _AUC_TESTS}

    def group_values(self, attributes: list[str], exact: ValueCells,  # noqa: D102
                     rng: np.random.Generator) -> tuple[GroupValues, bool]:
        return auc_values(attributes, exact, intervals=self.params.n_boot > 0), False


class Calibration(ScoreCheck):
    """Calibration parity: a score means the same outcome rate in every group.

    Expected calibration error per group: over ``bins`` equal-width score
    bands, the row-weighted mean of |observed outcome rate − mean score|.
    Lower is better; compared as a ``difference`` by default. The details
    list observed vs predicted rate per band and group. Intervals and the
    test of each gap come from a bootstrap over (group, band, label) counts:
    the counts are drawn exactly as resampling rows would draw them, each
    cell's score sum from a normal with the cell's own score mean and variance.

    Example::

        - id: calibration-parity
          type: bias.calibration
          bins: 10
          threshold: {max: 0.05}
    """

    type = "bias.calibration"
    metric = "calibration_error"
    direction = OTHER_DIRECTIONS["calibration_error"]
    with_label = True
    definition = "expected calibration error over equal-width score bands"
    requires = frozenset({"label", "score"})
    params_model = CalibrationParams
    rule = "Calibration within groups (Kleinberg et al. 2016)"

    def statistic(self) -> Statistic:  # noqa: D102
        return calibration_error(self.params.bins)  # type: ignore[attr-defined]

    def interval_details(self) -> dict:  # noqa: D102
        return {"bootstrap": _CALIBRATION_NOTE}

    def group_values(self, attributes: list[str], exact: ValueCells,  # noqa: D102
                     rng: np.random.Generator) -> tuple[GroupValues, bool]:
        params: CalibrationParams = self.params  # type: ignore[assignment]
        return calibration_values(attributes, exact, params.bins, n_boot=params.n_boot,
                                  rng=rng), False

    def extra(self, cells: list[ValueCells]) -> dict:  # noqa: D102
        return {"bands": [band for c in cells for band in
                          calibration_bands(c, self.params.bins)]}  # type: ignore[attr-defined]


class MeanScore(ScoreCheck):
    """Mean score parity: groups receive similar scores on average.

    With ``system.intervention: assistive`` a higher mean score (e.g. a
    higher churn score that earns a retention offer) is better-off; with
    ``punitive``, lower.

    Example::

        - id: mean-score-parity
          type: bias.mean_score
          compare: ratio
          threshold: {min: 0.8}
    """

    type = "bias.mean_score"
    metric = "mean_score"
    direction = OTHER_DIRECTIONS["mean_score"]
    definition = "mean score per group"
    requires = frozenset({"score"})
    rule = "Demographic parity of scores"

    def statistic(self) -> Statistic:  # noqa: D102
        return mean_value


class ScoringRate(Check):
    """Scoring rate parity (NYC Local Law 144): share of each group scoring above the median.

    For tools that output continuous scores, LL144 defines the scoring rate
    of a category as the share of its individuals whose score is above the
    median score of the full sample; the impact ratio is each category's
    rate over the highest. The median is held fixed in the bootstrap.
    Details carry the LL144 table (``exclude_under: 0.02`` option, unknown count).

    Example::

        - id: ll144-scoring-rate
          type: bias.scoring_rate
          threshold: {min: 0.8}
          exclude_under: 0.02
    """

    type = "bias.scoring_rate"
    params_model = ScoreParams
    requires = frozenset({"score"})
    rule = "NYC Local Law 144 (6 RCNY 5-301) impact ratio for scores"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ScoreParams = self.params  # type: ignore[assignment]
        hib, why = higher_is_better(OTHER_DIRECTIONS["scoring_rate"],
                                    ctx.policy.system.intervention.value,
                                    params.higher_is_better)
        state: dict = {}

        def values_for(attributes: list[str], rng: np.random.Generator) -> GroupValues:
            cells = value_cells(ctx, attributes, SCORE, with_label=False)
            if "median" not in state:
                state["median"] = (weighted_median(cells.value, cells.count)
                                   if len(cells.count) else float("nan"))
            above = cells.value > state["median"]
            pos = np.bincount(cells.group[above], weights=cells.count[above],
                              minlength=len(cells.keys)).astype(np.int64)
            return binary_values(attributes, cells.keys, pos, cells.n - pos,
                                 n_boot=params.n_boot, rng=rng)

        outcome = run_metric(
            ctx, params, metric="scoring_rate", title=self.title(),
            what=f"scoring_rate {params.compare} against {reference_phrase(params)}",
            higher_is_better=hib, direction_reason=why, values_for=values_for,
            extra_details={"definition": "share of the group scoring above the full-sample median"})
        details = {**outcome.details, "median_score": state.get("median")}
        return outcome.model_copy(update={"details": details})


SCORE_CHECKS = (AUC, Calibration, MeanScore, ScoringRate)
