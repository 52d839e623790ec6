"""The loaded model: what every loader returns (files here, MLflow URIs in
:mod:`cxaudit.integrations.mlflow_models`), so an integration depends on this
module, never on the loader that dispatches to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to predict, with where it came from."""

    estimator: Any
    source: str
    kind: str
    sha256: str | None
    feature_names: tuple[str, ...] | None = None
    #: Optional callable ``DataFrame -> probabilities`` (e.g. MLflow pyfunc); else the estimator.
    predict_fn: Any = None
    #: Types outside skops' defaults and :data:`REVIEWED_SKOPS_TYPES` admitted by the user
    #: (``--trust-type``) to load this model; the rerun command repeats them.
    admitted_types: tuple[str, ...] = ()

    def positive_index(self, positive: Any) -> int | None:
        """Column of ``predict_proba`` that holds the positive class."""
        classes = getattr(self.estimator, "classes_", None)
        if classes is None:
            return None
        for index, value in enumerate(classes):
            if value == positive or str(value) == str(positive):
                return index
        return None
