"""Parameters and plumbing shared by the explain.* checks (see :mod:`.explainability`)."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
from pydantic import Field

from cxaudit.checks.base import CheckOutcome, CheckParams
from cxaudit.context import AuditContext, group_column
from cxaudit.result import Metric, Status

DEFAULT_SAMPLE = 2000


class ExplainParams(CheckParams):
    """Sampling and verification settings every explain.* check accepts.

    Checks declaring the same sampling settings share one SHAP computation;
    the defaults are shared, so set them identically (or not at all).
    """

    sample_size: int = Field(default=DEFAULT_SAMPLE, ge=50, le=50_000,
                             description="Rows explained: a stratified sample by protected "
                             "group × decision (all rows when the data is smaller).")
    min_per_stratum: int = Field(default=30, ge=1, description="Least rows drawn from each "
                                 "protected group × decision stratum (or all of it).")
    n_boot: int = Field(default=200, ge=20, le=2000, description="Bootstrap resamples of the "
                        "sample, for intervals and stability.")
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0, description="Interval coverage.")
    additivity_tolerance: float = Field(default=1e-3, gt=0, description="Largest allowed |sum of "
                                        "SHAP values + base value − model output|, in the "
                                        "explainer's output space (log-odds or probability).")
    background_size: int = Field(default=100, ge=10, le=1000, description="Background rows for "
                                 "the model-agnostic explainer (unused for tree/linear models).")
    permutations: int = Field(default=2, ge=1, le=20, description="Permutations per row for the "
                              "model-agnostic explainer.")

    def settings(self) -> Any:
        """The cache key of the shared computation."""
        from cxaudit.explain.shared import Settings

        return Settings(sample_size=self.sample_size, min_per_stratum=self.min_per_stratum,
                        n_boot=self.n_boot, background_size=self.background_size,
                        permutations=self.permutations)


def prepare(ctx: AuditContext, params: ExplainParams) -> tuple[Any, CheckOutcome | None]:
    """The shared explanation, or the ``error`` outcome every explain check reports.

    An explanation that does not add up to the model's output is an error:
    figures built on it would describe some other model.
    """
    from cxaudit.explain.shared import ExplainFailure, get_shared

    try:
        shared = get_shared(ctx, params.settings())
    except ExplainFailure as exc:
        return None, CheckOutcome(status=Status.ERROR,
                                  summary=f"The model cannot be explained: {exc}",
                                  details={"reason": str(exc)})
    e = shared.explanation
    tolerance = params.additivity_tolerance
    worst = e.additivity_max_error
    ok = bool(np.isfinite(worst) and worst <= tolerance)
    metric = Metric(name="additivity_max_error", value=worst, n=shared.sample.size,
                    threshold={"max": tolerance}, status=Status.PASS if ok else Status.FAIL,
                    note=f"{e.explainer}; output space: {e.output_space}")
    if ok:
        return shared, None
    bad = int(np.sum(~(e.additivity_error <= tolerance)))
    return shared, CheckOutcome(
        status=Status.ERROR,
        summary=(f"The explanations do not add up: SHAP values plus the base value miss the "
                 f"model's output by up to {worst:.3g} ({e.output_space}) on {bad} of "
                 f"{shared.sample.size} sampled rows, above the tolerance {tolerance:g}; "
                 "explanations of this model would be misleading."),
        metrics=(metric,), details=shared.describe())


def additivity_metric(shared: Any, params: ExplainParams) -> Metric:
    """The additivity figure every explain check reports (it passed in :func:`prepare`)."""
    e = shared.explanation
    return Metric(name="additivity_max_error", value=e.additivity_max_error,
                  n=shared.sample.size, threshold={"max": params.additivity_tolerance},
                  status=Status.PASS, note=f"{e.explainer}; output space: {e.output_space}")


def group_masks(shared: Any, attributes: list[str]) -> dict[tuple[str, ...], np.ndarray]:
    """Boolean row mask of every group over ``attributes``, keyed by its text values."""
    columns = [shared.sample.rows[group_column(a)].astype(str).to_numpy() for a in attributes]
    keys = list(zip(*columns, strict=True))
    codes: dict[tuple[str, ...], int] = {}
    labels = np.array([codes.setdefault(k, len(codes)) for k in keys], dtype=np.int64)
    return {key: labels == code for key, code in sorted(codes.items())}


def importance_list(names: tuple[str, ...], values: np.ndarray, order: list[int],
                    limit: int | None = None) -> list[dict[str, Any]]:
    """``[{feature, mean_abs_shap}]`` in ``order``."""
    picked = order if limit is None else order[:limit]
    return [{"feature": names[i], "mean_abs_shap": float(values[i])} for i in picked]


def unknown_columns(names: list[str], ctx: AuditContext) -> list[str]:
    """Messages for names that are not columns of the data (with a suggestion)."""
    problems = []
    for name in names:
        if name in ctx.data_columns:
            continue
        close = difflib.get_close_matches(name, list(ctx.data_columns), n=1)
        problems.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return problems


def describe_sample(shared: Any) -> str:
    """``a stratified sample of 2,000 of 1,000,000 rows`` or ``all 500 rows``."""
    s = shared.sample
    if s.census:
        return f"all {s.size:,} rows"
    return f"a stratified sample of {s.size:,} of {s.population:,} rows"
