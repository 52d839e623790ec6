"""Checks on confusion-count metrics: selection rate, error rates, precision, accuracy."""

from __future__ import annotations

from typing import ClassVar

from cxaudit.checks.base import Check, CheckOutcome
from cxaudit.checks.bias.cells import confusion_cells, confusion_columns
from cxaudit.checks.bias.evaluate import attribute_sets, reference_phrase, run_metric
from cxaudit.checks.bias.metrics import (
    COUNT_METRICS,
    NOT_FLAGGED_RATE,
    CountMetric,
    higher_is_better,
)
from cxaudit.checks.bias.params import GroupComparisonParams, SelectionRateParams
from cxaudit.checks.bias.values import proportion_values
from cxaudit.context import AuditContext

_COMMON_DOC = """
    Every group of each protected attribute, and of every declared
    intersection, is compared with the best-off group (direction-aware),
    a named ``reference`` group, or ``overall``, as a ``ratio`` or a
    ``difference``. Each group value and each comparison carries a bootstrap
    interval (``n_boot`` replicates drawn over the confusion cells, seeded),
    each gap a two-proportion z-test (Fisher's exact test when an expected
    cell is below 5) with Benjamini–Hochberg adjusted p-values, and the
    smallest gap the data could have detected at 80% power. Groups smaller
    than ``min_group_size`` or with a zero denominator are
    ``insufficient_data``, never pass. ``block_on: significant`` fails only
    gaps that are also statistically significant (others warn).
"""


def run_count_metric(ctx: AuditContext, params: GroupComparisonParams,
                     metric: CountMetric, *, extra_details: dict | None = None) -> CheckOutcome:
    """Evaluate a confusion-count metric for every attribute set of the audit."""
    hib, why = higher_is_better(metric.direction, ctx.policy.system.intervention.value,
                                params.higher_is_better)
    if metric is NOT_FLAGGED_RATE and params.higher_is_better is None:
        why = "not being flagged is the favourable outcome: the group not flagged most often is best-off"

    def values_for(attributes, rng):
        keys, cells = confusion_cells(ctx, attributes, with_label=metric.needs_label)
        return proportion_values(attributes, keys, cells, metric, n_boot=params.n_boot, rng=rng)

    return run_metric(ctx, params, metric=metric.name, title=metric.title,
                      what=f"{metric.name} {params.compare} against "
                           f"{reference_phrase(params)}",
                      higher_is_better=hib, direction_reason=why, values_for=values_for,
                      extra_details={"definition": metric.plain, **(extra_details or {})})


def count_needs(ctx: AuditContext, params: GroupComparisonParams,
                metric: CountMetric) -> list[list[str]]:
    """The ``count_by`` tables :func:`run_count_metric` reads (for the audit's plan)."""
    sets = attribute_sets(ctx, params)
    if isinstance(sets, str):
        return []
    return [confusion_columns(s, with_label=metric.needs_label) for s in sets]


class CountMetricCheck(Check):
    """Base of the confusion-count checks."""

    metric: ClassVar[CountMetric]
    params_model = GroupComparisonParams

    def count_needs(self, ctx: AuditContext) -> list[list[str]]:
        """Counts this check reads: confusion cells per attribute set."""
        return count_needs(ctx, self.params, self.measured(ctx))  # type: ignore[arg-type]

    def measured(self, ctx: AuditContext) -> CountMetric:
        """The metric this check computes."""
        return self.metric

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        return run_count_metric(ctx, self.params, self.metric)  # type: ignore[arg-type]


class SelectionRate(CountMetricCheck):
    """Selection rate parity: each group receives positive decisions at a similar rate.

    The selection rate of a group is the share of its customers who receive the
    positive decision (a retention offer, a lead call-back, a discount). Parity
    is measured as the ratio of each group's rate to the best-off group's rate
    (the four-fifths rule holds it to at least 0.8), or as the absolute gap.
    With ``system.intervention: punitive`` the best-off group is the one with
    the *lowest* rate, since a positive decision harms the customer; with
    ``rate: favourable`` a punitive decision is compared on its favourable
    outcome instead — each group's not-flagged rate against the highest, as
    the Uniform Guidelines define adverse impact (the EEOC pack does this). The
    details carry Local Law 144 impact-ratio tables (against the highest rate;
    ``exclude_under: 0.02`` leaves small categories out, their counts shown;
    the unknown category is counted).
    {common}
    Example::

        - id: offer-rate-parity
          type: bias.selection_rate
          compare: ratio
          threshold: {{min: 0.8}}
          min_group_size: 50
          block_on: significant
          severity: block
    """

    type = "bias.selection_rate"
    metric = COUNT_METRICS["selection_rate"]
    params_model = SelectionRateParams
    rule = "Four-fifths rule of thumb (29 CFR 1607.4(D)); NYC LL144 impact ratio"
    requires = frozenset({"decision"})

    def measured(self, ctx: AuditContext) -> CountMetric:  # noqa: D102
        params: SelectionRateParams = self.params  # type: ignore[assignment]
        if params.rate == "favourable" and ctx.policy.system.intervention.value == "punitive":
            return NOT_FLAGGED_RATE
        return self.metric

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: SelectionRateParams = self.params  # type: ignore[assignment]
        if self.measured(ctx) is NOT_FLAGGED_RATE:
            return run_count_metric(ctx, params, NOT_FLAGGED_RATE, extra_details={
                "rate": "favourable", "why_rate": "rate: favourable on a punitive decision: the "
                "favourable outcome is not being flagged, so each group's not-flagged rate is "
                "compared with the highest (29 CFR 1607.4(D) defines adverse impact on the rate "
                "of the favourable outcome)"})
        return run_count_metric(ctx, params, self.metric)


SelectionRate.__doc__ = (SelectionRate.__doc__ or "").format(common=_COMMON_DOC)

_RULES = {
    "true_positive_rate": "Equal opportunity (Hardt et al. 2016); Aequitas: assistive interventions",
    "false_negative_rate": "Equal opportunity (Hardt et al. 2016); Aequitas: assistive interventions",
    "false_positive_rate": "Predictive equality; Aequitas: punitive interventions",
    "false_discovery_rate": "Aequitas: punitive interventions",
    "false_omission_rate": "Aequitas: assistive interventions with scarce resources",
}


_DIRECTION_DOC = {
    "higher": "Higher is better for the group (it measures decision quality), so the "
              "best-off group is the one with the highest value.",
    "lower": "Lower is better for the group (it counts errors), so the best-off group is "
             "the one with the lowest value.",
    "intervention": "It is a rate of positive decisions, so its direction follows "
                    "``system.intervention``: assistive, higher is better (the group that "
                    "receives the benefit most often is best-off); punitive, lower is better.",
    "intervention_complement": "It is a rate of negative decisions, so its direction follows "
                               "``system.intervention``: assistive, lower is better (the group "
                               "denied the benefit least often is best-off); punitive, higher "
                               "is better (the group spared most often is best-off).",
}


def _make(metric: CountMetric) -> type[CountMetricCheck]:
    name = "".join(part.title() for part in metric.name.split("_"))
    doc = f"""{metric.title}: the {metric.plain} is similar across groups.

    ``bias.{metric.name}`` compares each group's {metric.name.replace('_', ' ')}
    ({metric.plain}). {_DIRECTION_DOC[metric.direction]} It needs
    observed outcomes (``data.label``) and decisions; ``higher_is_better``
    overrides the direction. See docs/judgment.md for every metric's direction.
    {_COMMON_DOC}
    Example::

        - id: {metric.name.replace('_', '-')}-parity
          type: bias.{metric.name}
          compare: ratio
          threshold: {{min: 0.8}}
          min_group_size: 30
          severity: block
    """
    return type(name, (CountMetricCheck,), {
        "__doc__": doc, "__module__": __name__, "type": f"bias.{metric.name}",
        "metric": metric, "rule": _RULES.get(metric.name, "Group fairness (error-rate parity)"),
        "requires": frozenset({"label", "decision"})})


ERROR_RATE_CHECKS = tuple(_make(m) for name, m in COUNT_METRICS.items() if name != "selection_rate")
COUNT_CHECKS = (SelectionRate, *ERROR_RATE_CHECKS)
