"""Load a model for auditing. Model files are code: pickles need explicit trust.

Preferred: skops (``.skops``), which loads only types you trust. joblib and
pickle files run arbitrary code when loaded, so they load only with
``trust=True`` (``--trust-model``), optionally pinned to a SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cxaudit.errors import ModelError
from cxaudit.loaders.data import sha256_file

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


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

    def positive_index(self, positive: Any) -> int | None:
        """Column of ``predict_proba`` that holds the positive class."""
        classes = getattr(self.estimator, "classes_", None)
        if classes is None:
            return None
        for index, value in enumerate(classes):
            if value == positive or str(value) == str(positive):
                return index
        return None


def load_model(path: str, *, trust: bool = False, expected_sha256: str | None = None) -> LoadedModel:
    """Load a model file; raise :class:`ModelError` with what to do on failure."""
    if path.startswith(("models:/", "runs:/", "mlflow-artifacts:/")):
        try:
            from cxaudit.integrations.mlflow_models import load_mlflow_model
        except ImportError:
            raise ModelError(f"cannot load {path}: MLflow model URIs need the MLflow integration",
                             hint="pip install 'cxaudit[mlflow]'") from None
        loaded = load_mlflow_model(path, trust=trust)
        if expected_sha256 and loaded.sha256 != expected_sha256.lower():
            raise ModelError(f"model {loaded.source} has SHA-256 {loaded.sha256}, not the pinned "
                             f"{expected_sha256}", hint="the registered artifact changed since it "
                             "was pinned; re-check it before trusting it")
        return loaded
    file = Path(path)
    if not file.is_file():
        raise ModelError(f"model file not found: {path}", hint="check the path, or omit --model "
                         "and name a prediction column in the policy (data.prediction)")
    digest = sha256_file(file)
    if expected_sha256 and digest != expected_sha256.lower():
        raise ModelError(f"model file {path} has SHA-256 {digest}, not the pinned {expected_sha256}",
                         hint="the file changed since it was pinned; re-check it before trusting it")
    suffix = file.suffix.lower()
    if suffix == ".skops":
        estimator = _load_skops(file, trust)
        kind = "skops"
    elif suffix in PICKLE_SUFFIXES:
        if not trust:
            raise ModelError(
                f"refusing to load {path}: pickle and joblib files run code when loaded",
                hint="if you trust this file, pass --trust-model (and --model-sha256 to pin it); "
                     "better, save the model with skops (skops.io.dump)")
        estimator = _load_pickle(file)
        kind = "joblib" if suffix == ".joblib" else "pickle"
    else:
        raise ModelError(f"unsupported model file {path}",
                         hint="use a .skops file (preferred), or .joblib/.pkl with --trust-model")
    if not (hasattr(estimator, "predict") or hasattr(estimator, "predict_proba")):
        raise ModelError(f"the object in {path} ({type(estimator).__name__}) has no predict method",
                         hint="save the fitted estimator or pipeline itself")
    names = getattr(estimator, "feature_names_in_", None)
    return LoadedModel(estimator=estimator, source=str(path), kind=kind, sha256=digest,
                       feature_names=tuple(str(n) for n in names) if names is not None else None)


def _load_skops(file: Path, trust: bool) -> Any:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=file)
        if untrusted and not trust:
            shown = ", ".join(untrusted[:5]) + (" …" if len(untrusted) > 5 else "")
            raise ModelError(f"model file {file} contains types skops does not trust by default: "
                             f"{shown}", hint="review them; pass --trust-model to load them")
        return sio.load(file, trusted=untrusted or None)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"cannot load skops model {file}: {type(exc).__name__}: {exc}",
                         hint="was it written by skops.io.dump with compatible versions?") from None


def _load_pickle(file: Path) -> Any:
    import joblib

    try:
        return joblib.load(file)
    except Exception as exc:
        raise ModelError(f"cannot load model {file}: {type(exc).__name__}: {exc}",
                         hint="the file may be corrupt or need packages that are not installed"
                         ) from None


def from_estimator(estimator: Any, *, source: str = "<in-memory>") -> LoadedModel:
    """Wrap an in-memory fitted estimator (used by the MLflow evaluator and tests)."""
    names = getattr(estimator, "feature_names_in_", None)
    return LoadedModel(estimator=estimator, source=source, kind="in-memory", sha256=None,
                       feature_names=tuple(str(n) for n in names) if names is not None else None)


def predict(model: LoadedModel, features: Any, *, positive: Any, threshold: float
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (decisions as 0/1, scores or None), computed once per audit."""
    if model.predict_fn is not None:
        scores = np.asarray(model.predict_fn(features), dtype=float)
        return (scores >= threshold).astype(np.int8), scores
    estimator = model.estimator
    if hasattr(estimator, "predict_proba"):
        index = model.positive_index(positive)
        proba = np.asarray(estimator.predict_proba(features))
        if index is None:
            if proba.ndim == 2 and proba.shape[1] == 2:
                index = 1
            else:
                raise ModelError(f"the model's classes {list(estimator.classes_)} do not include "
                                 f"the positive value {positive!r}",
                                 hint="set data.positive to one of the model's classes")
        scores = proba[:, index] if proba.ndim == 2 else proba
        return (scores >= threshold).astype(np.int8), scores.astype(float)
    raw = np.asarray(estimator.predict(features))
    decisions = np.array([v == positive or str(v) == str(positive) for v in raw], dtype=np.int8)
    return decisions, None
