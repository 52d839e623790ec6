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
    if file.exists() and not file.is_file():
        raise ModelError(f"model path {path} is not a regular file", hint="pass a .skops file "
                         "(or .joblib/.pkl with --trust-model); pipes, devices and folders "
                         "are refused")
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


#: Decision code of a row whose decision cannot be computed (the model's output is
#: missing, not a finite number, or a probability outside [0, 1]).
NO_DECISION = -1


def positives(positive: Any) -> list[Any]:
    """``data.positive`` as a list (a scalar is a one-value list)."""
    return list(positive) if isinstance(positive, (list, tuple)) else [positive]


def predict(model: LoadedModel, features: Any, *, positive: Any, threshold: float
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (decisions, scores or None), computed once per audit.

    Decisions are 1/0, or :data:`NO_DECISION` for rows whose decision cannot be
    computed (a missing output; a score that is not finite or, for probabilities,
    outside [0, 1]); the caller counts those rows. A model that raises, returns the
    wrong number of rows or predicts values that are not decisions is a
    :class:`ModelError` (bad input, exit 2) naming the model, never a crash.
    """
    wanted = positives(positive)
    try:
        if model.predict_fn is not None:
            scores = _as_scores(model, model.predict_fn(features), len(features))
            return _threshold(scores, threshold), scores
        estimator = model.estimator
        if hasattr(estimator, "predict_proba"):
            index = _positive_column(model, wanted)
            proba = np.asarray(estimator.predict_proba(features))
            _check_length(model, proba, len(features))
            if proba.ndim == 2:
                if index is None:
                    if proba.shape[1] != 2:
                        raise ModelError(
                            f"model {model.source}: predict_proba returned {proba.shape[1]} "
                            "columns and the model names no classes (classes_)",
                            hint="audit a binary classifier, or give its decisions in a "
                                 "data.prediction column")
                    index = 1
                proba = proba[:, index]
            scores = _as_scores(model, proba, len(features))
            return _threshold(scores, threshold), scores
        raw = estimator.predict(features)
    except ModelError:
        raise
    except Exception as exc:  # the model's own failure: bad input for this model, not a bug
        from cxaudit.masking import mask_message

        raise ModelError(f"model {model.source} raised while predicting: {type(exc).__name__}: "
                         f"{mask_message(str(exc))}",
                         hint="check that the data's feature columns (data.features) have the "
                              "names and types the model was trained on") from None
    return _decisions_from_predict(model, raw, wanted, len(features)), None


def _positive_column(model: LoadedModel, wanted: list[Any]) -> int | None:
    classes = getattr(model.estimator, "classes_", None)
    if classes is None:
        return None
    index = model.positive_index(wanted[0])
    if index is None:
        if len(classes) == 2 and wanted == [1]:
            return 1  # the default positive value against a binary model's own labels
        raise ModelError(f"model {model.source}: its classes {[str(c) for c in classes][:10]} "
                         f"do not include the positive value {wanted[0]!r}",
                         hint="set data.positive to one of the model's classes")
    return index


def _check_length(model: LoadedModel, output: np.ndarray, rows: int) -> None:
    length = output.shape[0] if output.ndim else 0
    if length != rows:
        raise ModelError(f"model {model.source} returned {length} prediction(s) for {rows} "
                         "row(s)", hint="the model must return one prediction per row")


def _as_scores(model: LoadedModel, output: Any, rows: int) -> np.ndarray:
    array = np.asarray(output)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    _check_length(model, array, rows)
    if array.ndim != 1:
        raise ModelError(f"model {model.source} returned predictions of shape {array.shape}, "
                         "not one score per row", hint="return one probability per row")
    try:
        return array.astype(float)
    except (TypeError, ValueError):
        raise ModelError(f"model {model.source} returned scores that are not numbers",
                         hint="the model must return probabilities in [0, 1]") from None


def _threshold(scores: np.ndarray, threshold: float) -> np.ndarray:
    valid = np.isfinite(scores) & (scores >= 0.0) & (scores <= 1.0)
    with np.errstate(invalid="ignore"):
        above = scores >= threshold
    return np.where(valid, above, NO_DECISION).astype(np.int8)


def _decisions_from_predict(model: LoadedModel, raw: Any, wanted: list[Any], rows: int
                            ) -> np.ndarray:
    import pandas as pd

    values = pd.Series(np.asarray(raw, dtype=object).ravel() if np.ndim(raw) else [],
                       dtype=object)
    if np.ndim(raw) != 1:
        raise ModelError(f"model {model.source}: predict returned shape {np.shape(raw)}, not "
                         "one decision per row", hint="return one class label per row")
    _check_length(model, np.asarray(raw, dtype=object), rows)
    missing = values.isna().to_numpy()
    text = values.astype("string")
    hit = text.isin([str(p) for p in wanted]).fillna(False).to_numpy(dtype=bool)
    distinct = text[~missing].unique()
    if len(distinct) > 2 or (len(distinct) == 2 and not hit.any()):
        from cxaudit.masking import shown_values

        raise ModelError(f"model {model.source} predicted {len(distinct)} distinct value(s) "
                         f"({shown_values('prediction', list(distinct)[:50])}), not decisions "
                         f"with the positive value {wanted[0]!r}",
                         hint="audit a classifier whose classes include data.positive, or "
                              "give its decisions in a data.prediction column")
    return np.where(missing, NO_DECISION, hit).astype(np.int8)
