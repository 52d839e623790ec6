"""One explanation per audit: sample, SHAP values and bootstrap, cached on the context.

Every ``explain.*`` check calls :func:`get_shared`; the first call draws the
stratified sample, runs the explainer and draws the bootstrap counts, and
stores them in ``ctx.notes`` under the sampling settings. Checks that declare
the same settings (the defaults do) therefore share one SHAP computation. A
model that cannot be explained is cached as the failure, so every check
reports the same reason without trying again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from cxaudit.context import DECISION, SCORE, AuditContext, group_column
from cxaudit.errors import ModelError
from cxaudit.explain.explainers import Explanation, explain
from cxaudit.explain.sampling import StratifiedSample, bootstrap_counts, draw_sample
from cxaudit.explain.stats import interval, replicate_means, weighted_mean

NOTES_KEY = "cxaudit.explain"


class ExplainFailure(Exception):
    """The model could not be explained; the message says why."""


@dataclass(frozen=True)
class Settings:
    """What determines the computation (and so the cache key)."""

    sample_size: int = 2000
    min_per_stratum: int = 30
    n_boot: int = 200
    background_size: int = 100
    permutations: int = 2


@dataclass(frozen=True, eq=False)
class Shared:
    """The sample, its SHAP values and bootstrap counts, with derived global figures."""

    sample: StratifiedSample
    explanation: Explanation
    counts: np.ndarray
    settings: Settings
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        """Explained features, in model order."""
        return self.explanation.features

    @cached_property
    def abs_values(self) -> np.ndarray:
        """|SHAP| per row and feature."""
        return np.abs(self.explanation.values)

    @cached_property
    def importance(self) -> np.ndarray:
        """Design-weighted mean |SHAP| per feature."""
        return weighted_mean(self.abs_values, self.sample.weights)

    @cached_property
    def replicates(self) -> np.ndarray:
        """Mean |SHAP| per feature in every bootstrap replicate ``(n_boot, m)``."""
        return replicate_means(self.abs_values, self.sample.weights, self.counts)

    def importance_interval(self, confidence: float) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap percentile interval of every feature's mean |SHAP|."""
        return interval(self.replicates, confidence)

    def group_values(self, attribute: str) -> np.ndarray:
        """The protected attribute's group (text) of every sampled row."""
        return self.sample.rows[group_column(attribute)].astype(str).to_numpy()

    @property
    def decisions(self) -> np.ndarray:
        """0/1 decision of every sampled row."""
        return self.sample.rows[DECISION].to_numpy().astype(int)

    def describe(self) -> dict[str, Any]:
        """The facts a report needs about how the explanation was made."""
        e = self.explanation
        return {
            "explainer": e.explainer,
            "output_space": e.output_space,
            "base_value": e.base_value,
            "sample_size": self.sample.size,
            "population": self.sample.population,
            "census": self.sample.census,
            "strata": list(self.sample.design),
            "bootstrap_replicates": int(self.counts.shape[0]),
            "additivity_max_error": e.additivity_max_error,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "notes": list(e.notes),
        }


def get_shared(ctx: AuditContext, settings: Settings) -> Shared:
    """The audit's explanation for ``settings``, computed on first use.

    Raises
    ------
    ExplainFailure
        When the model cannot be explained (the same failure for every caller).
    """
    cache: dict[Settings, Shared | ExplainFailure] = ctx.notes.setdefault(NOTES_KEY, {})
    found = cache.get(settings)
    if found is None:
        try:
            found = _compute(ctx, settings)
        except ExplainFailure as exc:
            found = exc
        except ModelError as exc:
            found = ExplainFailure(exc.message + (f" ({exc.hint})" if exc.hint else ""))
        cache[settings] = found
    if isinstance(found, ExplainFailure):
        raise found
    return found


def _compute(ctx: AuditContext, settings: Settings) -> Shared:
    if ctx.model is None:
        raise ExplainFailure("no model was given (--model): there is nothing to explain")
    if not ctx.features:
        raise ExplainFailure("the model's input features are unknown: list them under "
                             "data.features in the policy")
    model = ctx.model
    if model.estimator is None and model.predict_fn is None:
        raise ExplainFailure("the model has neither an estimator nor a predict function")
    if model.predict_fn is None and not (hasattr(model.estimator, "predict_proba")
                                         or hasattr(model.estimator, "predict")):
        raise ExplainFailure(f"the model ({type(model.estimator).__name__}) has no predict or "
                             "predict_proba method, so its decisions cannot be explained")
    spec = ctx.policy.data
    columns = list(ctx.features)
    if ctx.has_score:
        columns.append(SCORE)
    if spec.id and spec.id in ctx.data_columns and spec.id not in columns:
        columns.append(spec.id)
    clock = time.perf_counter()
    sample = draw_sample(ctx, size=settings.sample_size, floor=settings.min_per_stratum,
                         columns=columns, seed=ctx.seed)
    if sample.size == 0:
        raise ExplainFailure("the data has no rows to explain")
    sampled_at = time.perf_counter()
    positive = spec.positive if spec.positive is not None else 1
    try:
        explanation = explain(model, sample.rows, ctx.features, positive=positive,
                              weights=sample.weights, background_size=settings.background_size,
                              permutations=settings.permutations, seed=ctx.seed)
    except ModelError:
        raise
    except ImportError as exc:
        raise ExplainFailure(f"SHAP is not available ({exc}); reinstall cxaudit with its "
                             "dependencies (pip install cxaudit)") from None
    except Exception as exc:
        raise ExplainFailure(f"the explainer failed on {type(model.estimator).__name__}: "
                             f"{type(exc).__name__}: {str(exc)[:300]}") from None
    explained_at = time.perf_counter()
    counts = bootstrap_counts(sample.strata, settings.n_boot, ctx.seed + 1)
    return Shared(sample=sample, explanation=explanation, counts=counts, settings=settings,
                  seconds={"sample": sampled_at - clock, "shap": explained_at - sampled_at,
                           "bootstrap": time.perf_counter() - explained_at})
