"""Checks on continuous outcomes (prices, discounts, offer values) and on exposure."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cxaudit.checks.base import Check, CheckOutcome
from cxaudit.checks.bias.cells import coarsen, value_cells
from cxaudit.checks.bias.evaluate import reference_phrase, run_metric
from cxaudit.checks.bias.metrics import OTHER_DIRECTIONS, higher_is_better
from cxaudit.checks.bias.params import ExposureParams, OutcomeParams
from cxaudit.checks.bias.values import GroupValues, binary_values
from cxaudit.checks.bias.valuestats import Statistic, mean_value, median_value, statistic_values
from cxaudit.context import AuditContext
from cxaudit.result import Status


def _missing_column(ctx: AuditContext, column: str, field: str) -> CheckOutcome | None:
    if column in ctx.data_columns:
        return None
    return CheckOutcome(status=Status.ERROR,
                        summary=f"The check could not run: column {column!r} named by `{field}` "
                                f"is not in the data (columns: {', '.join(ctx.data_columns[:8])}"
                                f"{' …' if len(ctx.data_columns) > 8 else ''}).")


class OutcomeCheck(Check):
    """Base of checks on a per-group statistic of an outcome column."""

    metric: ClassVar[str]
    statistic: ClassVar[Statistic]
    params_model = OutcomeParams

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: OutcomeParams = self.params  # type: ignore[assignment]
        problem = _missing_column(ctx, params.outcome, "outcome")
        if problem:
            return problem
        hib, why = higher_is_better(OTHER_DIRECTIONS[self.metric],
                                    ctx.policy.system.intervention.value,
                                    params.higher_is_better)
        statistic = type(self).statistic
        missing = []

        def values_for(attributes: list[str], rng: np.random.Generator) -> GroupValues:
            exact = value_cells(ctx, attributes, params.outcome, with_label=False)
            missing.append(int(exact.missing.sum()))
            coarse, _ = coarsen(exact, params.max_bootstrap_cells)
            return statistic_values(attributes, exact, coarse, statistic,
                                    n_boot=params.n_boot, rng=rng)

        outcome = run_metric(
            ctx, params, metric=self.metric, title=self.title(),
            what=f"{self.metric} of {params.outcome} {params.compare} against "
                 f"{reference_phrase(params)}",
            higher_is_better=hib, direction_reason=why, values_for=values_for,
            extra_details={"outcome": params.outcome})
        details = {**outcome.details, "rows_without_outcome": missing[0] if missing else 0}
        return outcome.model_copy(update={"details": details})


class MeanOutcome(OutcomeCheck):
    """Mean outcome parity: groups receive similar average values (discounts, prices).

    Compares the mean of a continuous ``outcome`` column per group. Which
    group is best-off follows ``system.intervention`` (assistive: higher is
    better, e.g. discounts); set ``higher_is_better: false`` for prices or fees.
    Intervals and the test of each gap come from a multinomial bootstrap over
    (group, value) counts.

    Example::

        - id: discount-parity
          type: bias.mean_outcome
          outcome: discount_value
          compare: ratio
          threshold: {min: 0.9}
    """

    type = "bias.mean_outcome"
    metric = "mean_outcome"
    statistic = staticmethod(mean_value)
    rule = "Equal treatment in pricing and offers"


class MedianOutcome(OutcomeCheck):
    """Median outcome parity: the typical value (price, discount) is similar across groups.

    Like ``bias.mean_outcome`` with the median (numpy's definition), which
    resists a few extreme values.

    Example::

        - id: median-price-parity
          type: bias.median_outcome
          outcome: monthly_price
          higher_is_better: false
          threshold: {min: 0.95}
    """

    type = "bias.median_outcome"
    metric = "median_outcome"
    statistic = staticmethod(median_value)
    rule = "Equal treatment in pricing and offers"


class Exposure(Check):
    """Exposure parity: each group's share of top-k slots matches its share of customers.

    For recommendation and next-best-action models: a row is exposed when its
    ``rank`` is at most ``k``. A group's exposure is its share of the top-k
    slots divided by its share of rows (1 = proportional). Groups are compared
    with the best-exposed group; gaps are tested as two proportions.

    Example::

        - id: top-offer-exposure
          type: bias.exposure
          rank: offer_rank
          k: 3
          threshold: {min: 0.8}
    """

    type = "bias.exposure"
    params_model = ExposureParams
    rule = "Fair exposure in rankings (Singh & Joachims 2018)"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ExposureParams = self.params  # type: ignore[assignment]
        problem = _missing_column(ctx, params.rank, "rank")
        if problem:
            return problem
        hib, why = higher_is_better(OTHER_DIRECTIONS["exposure"], "assistive",
                                    params.higher_is_better)

        def values_for(attributes: list[str], rng: np.random.Generator) -> GroupValues:
            cells = value_cells(ctx, attributes, params.rank, with_label=False)
            top = cells.value <= params.k
            pos = np.bincount(cells.group[top], weights=cells.count[top],
                              minlength=len(cells.keys)).astype(np.int64)
            gv = binary_values(attributes, cells.keys, pos, cells.n - pos,
                               n_boot=params.n_boot, rng=rng)
            # Share of slots over share of rows = the group's top-k rate over the overall rate.
            scale = gv.overall if gv.overall > 0 else float("nan")
            gv.value = gv.value / scale
            gv.scale = 1.0 / scale
            if gv.replicates is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    gv.replicates = gv.replicates / gv.overall_replicates[:, None]
                gv.overall_replicates = np.ones_like(gv.overall_replicates)
            gv.overall = 1.0
            return gv

        return run_metric(
            ctx, params, metric="exposure", title=self.title(),
            what=f"top-{params.k} exposure {params.compare} against "
                 f"{reference_phrase(params, 'the best-exposed group')}",
            higher_is_better=hib, direction_reason=why, values_for=values_for,
            extra_details={"rank": params.rank, "k": params.k,
                           "definition": "share of top-k slots / share of rows"})


OUTCOME_CHECKS = (MeanOutcome, MedianOutcome, Exposure)
