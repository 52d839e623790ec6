"""Policy parameters of the bias checks (each model is a check type's schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cxaudit.checks.base import CheckParams, Threshold

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
        description="Group to compare against: `best` (default: the best-off group with at "
        "least min_group_size rows, never `unknown`), `overall`, a group value or a mapping "
        "attribute: value. A named reference carries into intersections cell by cell: a group "
        "is compared with the cell that has the named value in each named attribute and its "
        "own values in the others; a reference cell under min_group_size is insufficient_data.",
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
    block_on: Literal["point_estimate", "significant"] = Field(
        default="point_estimate",
        description="point_estimate: a group outside the threshold fails; significant: it fails "
        "only when its gap is also statistically significant (adjusted p < alpha), and is "
        "otherwise inconclusive (which blocks unless on_inconclusive: warn).",
    )
    decide_on: Literal["significance", "interval"] = Field(
        default="significance",
        description="significance (default): the point estimate decides, with block_on; "
        "interval: the comparison's bootstrap interval decides — wholly inside the threshold "
        "passes, wholly outside fails, across a bound is inconclusive.",
    )
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0,
                         description="Significance level for the (BH-adjusted) p-values.")
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0,
                              description="Coverage of the confidence intervals.")
    n_boot: int = Field(default=1000, ge=0, le=100_000,
                        description="Bootstrap replicates (0: no intervals or tests; "
                        "AUC's intervals are DeLong's and need no replicates).")
    ci_method: Literal["bootstrap", "wilson"] = Field(
        default="bootstrap",
        description="Interval for each group's rate: bootstrap percentile, or Wilson score "
        "(rates only; ratios and differences always use the bootstrap).",
    )
    higher_is_better: bool | None = Field(
        default=None,
        description="Override the metric's direction (which group is best-off).",
    )
    exclude_under: float | None = Field(
        default=None, ge=0.0, lt=1.0,
        description="Leave categories with less than this share of rows out of the comparison "
        "(NYC LL144 allows 0.02); their counts are still shown.",
    )

    @model_validator(mode="after")
    def _threshold_matches_compare(self) -> GroupComparisonParams:
        if self.threshold is not None and self.compare == "difference" and self.threshold.max is None:
            raise ValueError("a `difference` is held to `threshold: {max: ...}` (the largest gap)")
        if self.decide_on == "interval":
            if self.block_on == "significant":
                raise ValueError("`decide_on: interval` and `block_on: significant` are two ways "
                                 "to decide; choose one")
            if self.n_boot == 0:
                raise ValueError("`decide_on: interval` needs bootstrap intervals (n_boot > 0)")
        return self

    def effective_threshold(self) -> Threshold:
        """The declared threshold, or the default for the comparison."""
        if self.threshold is not None:
            return self.threshold
        return DEFAULT_RATIO if self.compare == "ratio" else DEFAULT_DIFFERENCE


class SelectionRateParams(GroupComparisonParams):
    """``bias.selection_rate``: which rate of the decision is compared."""

    rate: Literal["selection", "favourable"] = Field(
        default="selection",
        description="selection (default): the share of positive decisions, best-off by "
        "system.intervention; favourable: the rate of the favourable outcome, as the Uniform "
        "Guidelines define adverse impact — the selection rate for assistive decisions, the "
        "not-flagged rate for punitive ones (each group against the highest).",
    )


class ScoreParams(GroupComparisonParams):
    """Score metrics: AUC, calibration, mean score, scoring rate."""

    bins: int = Field(default=10, ge=2, le=1000,
                      description="Equal-width score bands for calibration.")
    max_bootstrap_cells: int = Field(
        default=10_000, ge=100,
        description="Above this many distinct (group, label, score) cells, the bootstrap "
        "(intervals only) runs on scores grouped into quantile bins.",
    )


class CalibrationParams(ScoreParams):
    """Calibration compares expected calibration errors, by default as differences."""

    compare: Literal["ratio", "difference"] = Field(
        default="difference", description="difference (default): gap in calibration error.")


class OutcomeParams(GroupComparisonParams):
    """Continuous outcomes (prices, discounts, offer values)."""

    outcome: str = Field(description="Column holding the outcome, e.g. `discount_value`.")
    max_bootstrap_cells: int = Field(default=10_000, ge=100)


class ExposureParams(GroupComparisonParams):
    """Rankings: share of top-k slots against share of customers."""

    rank: str = Field(description="Column holding each row's rank position (1 = top).")
    k: int = Field(default=10, ge=1, description="Top-k slots that count as exposure.")


class AutoParams(GroupComparisonParams):
    """`bias.auto`: the metric follows from the intervention (Aequitas fairness tree)."""

    goal: Literal["errors", "representation"] = Field(
        default="errors",
        description="errors: parity of the errors that matter for the intervention; "
        "representation: parity of selection rates.",
    )
