"""Load a model for auditing. Model files are code: pickles need explicit trust.

Preferred: skops (``.skops``), which loads only types it and cxaudit trust:
skops' defaults plus :data:`REVIEWED_SKOPS_TYPES` (what scikit-learn's estimators
and LightGBM's scikit-learn wrappers need), plus any type the user admits one at
a time (``--trust-type TYPE``). joblib and pickle files run arbitrary code when
loaded, so they load only with ``trust=True`` (``--trust-model``), optionally
pinned to a SHA-256; ``--trust-model`` does not widen what a skops file may hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cxaudit.errors import ModelError
from cxaudit.lean import importing_without
from cxaudit.loaders.data import sha256_file
from cxaudit.loaders.loaded_model import LoadedModel

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")

#: Types skops does not trust by default that cxaudit admits in a ``.skops`` file, each
#: reviewed for what loading it runs. skops rebuilds an object of such a type by
#: ``cls.__new__(cls)`` and then ``__setstate__`` (or ``__dict__.update``) with a state
#: made only of trusted nodes (arrays, numbers, strings, containers, other listed types);
#: no type here calls ``eval``/``exec``, imports by name, opens files or runs a callable
#: taken from its state. Reviewed against scikit-learn 1.5-1.9 and LightGBM 4.x.
REVIEWED_SKOPS_TYPES: dict[str, str] = {
    # scikit-learn trees (DecisionTree*, RandomForest*, ExtraTrees*, GradientBoosting*,
    # AdaBoost, Bagging): Cython __setstate__ copies node and value arrays, checking
    # their dtypes and shapes.
    "sklearn.tree._tree.Tree": "tree arrays, copied and dtype-checked by Cython",
    # HistGradientBoosting*: a holder of the nodes array and the bin thresholds.
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor":
        "holds the nodes array and bitsets",
    # Loss and link objects of gradient boosting and linear models (older scikit-learn
    # versions store them on the estimator): plain attributes, no callables in state.
    "sklearn._loss.loss.HalfBinomialLoss": "loss parameters only",
    "sklearn._loss.loss.HalfMultinomialLoss": "loss parameters only",
    "sklearn._loss.loss.ExponentialLoss": "loss parameters only",
    "sklearn._loss._loss.CyHalfBinomialLoss": "Cython object without state",
    "sklearn._loss._loss.CyHalfMultinomialLoss": "Cython object without state",
    "sklearn._loss._loss.CyExponentialLoss": "Cython object without state",
    "sklearn._loss.link.LogitLink": "stateless link function",
    "sklearn._loss.link.HalfLogitLink": "stateless link function",
    "sklearn._loss.link.MultinomialLogit": "stateless link function",
    "sklearn._loss.link.Interval": "two numbers and two flags",
    # Voting and stacking ensembles keep named estimators in a Bunch (a dict subclass).
    "sklearn.utils._bunch.Bunch": "a dict with attribute access",
    # CalibratedClassifierCV: holders of a fitted estimator and calibrator parameters.
    "sklearn.calibration._CalibratedClassifier": "holds an estimator and calibrators",
    "sklearn.calibration._SigmoidCalibration": "two floats (a, b)",
    # KNeighborsClassifier: Cython __setstate__ copies the tree's arrays; the metric is
    # rebuilt from its name and parameters.
    "sklearn.neighbors._kd_tree.KDTree": "tree arrays copied by Cython",
    "sklearn.neighbors._ball_tree.BallTree": "tree arrays copied by Cython",
    "sklearn.metrics._dist_metrics.EuclideanDistance64": "Cython metric without callables",
    # MLPClassifier keeps its optimizer: learning-rate numbers and moment arrays.
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer": "numbers and arrays",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer": "numbers and arrays",
    # OneHotEncoder/OrdinalEncoder record a dtype: rebuilt by numpy from its text name.
    "numpy.dtype": "rebuilt from its name by numpy",
    # LightGBM's scikit-learn wrappers: the estimator is a scikit-learn BaseEstimator
    # (its __setstate__ sets attributes); the Booster's __setstate__ parses the text
    # model in its state with LightGBM's model-string parser (no Python code runs);
    # the parameters are kept in an OrderedDict.
    "lightgbm.sklearn.LGBMClassifier": "sklearn estimator state (attributes)",
    "lightgbm.sklearn.LGBMRegressor": "sklearn estimator state (attributes)",
    "lightgbm.sklearn.LGBMRanker": "sklearn estimator state (attributes)",
    "lightgbm.basic.Booster": "text model parsed by LightGBM's model-string loader",
    "collections.OrderedDict": "a dict that keeps insertion order",
}


def load_model(path: str, *, trust: bool = False, expected_sha256: str | None = None,
               trusted_types: tuple[str, ...] | list[str] = ()) -> LoadedModel:
    """Load a model file; raise :class:`ModelError` with what to do on failure.

    ``trust`` admits pickle and joblib files (and MLflow models stored as pickles);
    ``trusted_types`` admits named types in a skops file beyond the reviewed ones.
    """
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
    admitted: tuple[str, ...] = ()
    if suffix == ".skops":
        estimator, admitted = _load_skops(file, tuple(trusted_types))
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
    return LoadedModel(estimator=estimator, source=str(path), kind=kind, sha256=digest,
                       feature_names=model_feature_names(estimator), admitted_types=admitted)


def model_feature_names(estimator: Any) -> tuple[str, ...] | None:
    """The input column names a fitted model declares: scikit-learn's ``feature_names_in_``
    (pipelines and LightGBM's wrappers fitted on a DataFrame), else a LightGBM Booster's
    ``feature_name()`` unless LightGBM made them up (``Column_0`` …)."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return tuple(str(n) for n in names)
    if not type(estimator).__module__.startswith("lightgbm"):
        return None
    try:  # a wrapper's booster_, or a Booster itself; an unfitted one has no names
        booster = getattr(estimator, "booster_", estimator)
        found = [str(n) for n in booster.feature_name()]
    except Exception:
        return None
    if found and not all(n == f"Column_{i}" for i, n in enumerate(found)):
        return tuple(found)
    return None


def _import_skops() -> Any:
    # Importing skops lists scikit-learn's estimators (its trusted types), which imports
    # pytest for scikit-learn's test helpers; the trusted types are the same without it.
    with importing_without("pytest"):
        import skops.io as sio
    return sio


def _load_skops(file: Path, admitted: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    sio = _import_skops()

    try:
        untrusted = list(sio.get_untrusted_types(file=file))
        unknown = [t for t in untrusted if t not in REVIEWED_SKOPS_TYPES and t not in admitted]
        if unknown:
            shown = ", ".join(unknown[:10]) + (f" … ({len(unknown)} in all)"
                                               if len(unknown) > 10 else "")
            raise ModelError(
                f"model file {file} holds {len(unknown)} type(s) that neither skops nor "
                f"cxaudit's reviewed list trusts: {shown}",
                hint="loading a type can run its code: review each one, then admit it with "
                     "--trust-type TYPE (repeat the option per type), e.g. --trust-type "
                     f"{unknown[0]}; --trust-model does not apply to skops files")
        used = tuple(t for t in untrusted if t not in REVIEWED_SKOPS_TYPES)
        return sio.load(file, trusted=untrusted or None), used
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
    return LoadedModel(estimator=estimator, source=source, kind="in-memory", sha256=None,
                       feature_names=model_feature_names(estimator))


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
