"""Pick the SHAP explainer for a model, run it, and verify additivity.

- Tree ensembles (scikit-learn forests and boosting, LightGBM, XGBoost):
  ``shap.TreeExplainer`` (exact, path-dependent; no background data needed).
- Linear models: ``shap.LinearExplainer`` with the sample's weighted mean as
  background, so a feature's SHAP value is ``coef × (x − mean)``.
- Anything else (or a pipeline whose columns cannot be traced): a
  model-agnostic ``shap.PermutationExplainer`` over the original features with
  an independent masker. Never KernelExplainer (seconds per row).

The output space is stated with every explanation: ``log-odds`` for boosted
trees and linear classifiers, ``probability`` for forests and the
model-agnostic path, ``raw`` for regressors. Additivity is checked against
the model's own output — the probabilities the decisions were made from,
mapped into that space — not against anything the explainer reports.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.errors import ModelError
from cxaudit.explain.pipeline import Untraceable, unwrap
from cxaudit.lean import importing_without
from cxaudit.loaders.model import LoadedModel

_PROBABILITY_TREES = ("RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier",
                      "ExtraTreeClassifier")
_TREE_NAMES = ("RandomForest", "ExtraTrees", "DecisionTree", "ExtraTree", "GradientBoosting",
               "HistGradientBoosting")
_CLIP = 1e-15


@dataclass(frozen=True)
class Explanation:
    """SHAP values on the original features, with how they were obtained."""

    values: np.ndarray
    base_value: float
    output: np.ndarray
    output_space: str
    explainer: str
    features: tuple[str, ...]
    additivity_error: np.ndarray
    seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def additivity_max_error(self) -> float:
        """Largest |sum of SHAP values + base value − model output| over the sample."""
        return float(np.max(self.additivity_error)) if len(self.additivity_error) else 0.0


def import_shap() -> Any:
    """Import shap (about 2.6 s), silencing the deprecation notices its plotting module emits."""
    # shap imports pyspark for Spark ML tree models, which cxaudit does not load.
    with warnings.catch_warnings(), importing_without("pyspark"):
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import shap
    return shap


def _kind(final: Any) -> str:
    name = type(final).__name__
    module = type(final).__module__ or ""
    if module.startswith("lightgbm") or module.startswith("xgboost") or module.startswith(
            "catboost"):
        return "tree"
    if module.startswith("sklearn.") and any(name.startswith(t) for t in _TREE_NAMES):
        return "tree"
    if module.startswith(("sklearn.linear_model", "sklearn.svm")) and hasattr(final, "coef_") \
            and hasattr(final, "intercept_") and name not in ("SVC", "SVR", "NuSVC", "NuSVR"):
        return "linear"
    return "agnostic"


def model_probability(model: LoadedModel, frame: pd.DataFrame, positive: Any
                      ) -> tuple[np.ndarray, bool]:
    """The model's score for the positive class (or raw prediction); True if a probability."""
    if model.predict_fn is not None:
        return np.asarray(model.predict_fn(frame), dtype=float).reshape(-1), True
    estimator = model.estimator
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(frame), dtype=float)
        index = model.positive_index(positive)
        if index is None:
            index = 1 if proba.ndim == 2 and proba.shape[1] == 2 else None
        if index is None:
            raise ModelError(f"cannot tell which class of {list(estimator.classes_)} is positive",
                             hint="set data.positive to one of the model's classes")
        return (proba[:, index] if proba.ndim == 2 else proba), True
    if hasattr(estimator, "predict"):
        return np.asarray(estimator.predict(frame), dtype=float).reshape(-1), False
    raise ModelError(f"the model ({type(estimator).__name__}) has no predict or predict_proba",
                     hint="audit a fitted estimator or pipeline")


def _to_space(score: np.ndarray, space: str) -> np.ndarray:
    if space == "log-odds":
        p = np.clip(score, _CLIP, 1 - _CLIP)
        return np.log(p) - np.log1p(-p)
    return score


def _class_slice(values: Any, base: Any, index: int | None) -> tuple[np.ndarray, float]:
    """One output's SHAP matrix and base value, whatever shape shap returned."""
    base = np.atleast_1d(np.asarray(base, dtype=float))
    if isinstance(values, list):
        pick = index if index is not None else len(values) - 1
        return np.asarray(values[pick], dtype=float), float(base[min(pick, len(base) - 1)])
    values = np.asarray(values, dtype=float)
    if values.ndim == 3:
        pick = index if index is not None else values.shape[2] - 1
        return values[:, :, pick], float(base[pick])
    return values, float(base[-1] if len(base) > 1 and index is None else base[0])


def explain(model: LoadedModel, frame: pd.DataFrame, features: tuple[str, ...], *, positive: Any,
            weights: np.ndarray, background_size: int, permutations: int, seed: int
            ) -> Explanation:
    """Explain ``model`` on the sampled rows ``frame[features]``.

    Parameters
    ----------
    model
        The audited model.
    frame
        Sampled rows, holding at least ``features``.
    features
        Input features in the order the model receives them.
    positive
        The positive class (``data.positive``).
    weights
        Design weights of the rows (background means are weighted).
    background_size, permutations, seed
        Model-agnostic path only: background rows, permutations per row, seed.

    Raises
    ------
    ModelError
        When the model cannot be explained (no usable predict, an explainer failure).
    """
    X = frame[list(features)]
    started = time.perf_counter()
    estimator = model.estimator
    notes: list[str] = []
    if estimator is None and model.predict_fn is None:
        raise ModelError("the model has no estimator or predict function to explain")
    try:
        score, is_probability = model_probability(model, X, positive)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"the model failed to predict on the sampled rows: "
                         f"{type(exc).__name__}: {str(exc)[:200]}") from None
    kind, unwrapped = "agnostic", None
    if estimator is not None:
        try:
            unwrapped = unwrap(estimator, features)
            kind = _kind(unwrapped.final)
        except Untraceable as exc:
            notes.append(f"explained model-agnostically: {exc}")
    if kind != "agnostic" and unwrapped is not None:
        try:
            values, base, space, name = _explain_exact(kind, unwrapped, X, model, positive,
                                                       weights, is_probability)
        except Exception as exc:  # unsupported internals: fall back, and say so
            notes.append(f"{kind} explainer failed ({type(exc).__name__}: {str(exc)[:160]}); "
                         "explained model-agnostically")
            kind = "agnostic"
    if kind == "agnostic":
        values, base, space, name = _explain_agnostic(model, X, positive, weights, background_size,
                                                      permutations, seed, is_probability)
    output = _to_space(score, space)
    error = np.abs(values.sum(axis=1) + base - output)
    error = np.where(np.isfinite(error), error, np.inf)
    return Explanation(values=values, base_value=base, output=output, output_space=space,
                       explainer=name, features=tuple(features), additivity_error=error,
                       seconds=time.perf_counter() - started, notes=tuple(notes))


def _explain_exact(kind: str, unwrapped: Any, X: pd.DataFrame, model: LoadedModel, positive: Any,
                   weights: np.ndarray, is_probability: bool
                   ) -> tuple[np.ndarray, float, str, str]:
    shap = import_shap()
    final = unwrapped.final
    matrix = unwrapped.transform(X) if unwrapped.transform is not None else X
    index = _final_class_index(final, positive)
    classifier = is_probability and hasattr(final, "predict_proba")
    with warnings.catch_warnings():
        # LightGBM binary models: shap warns that its output format changed.
        warnings.filterwarnings("ignore", message=".*output has changed to a list.*")
        if kind == "tree":
            explainer = shap.TreeExplainer(final)
            raw = explainer.shap_values(matrix, check_additivity=False)
            space = ("probability" if type(final).__name__ in _PROBABILITY_TREES
                     else "log-odds") if classifier else "raw"
        else:
            dense = np.asarray(matrix, dtype=float)
            mean = np.average(dense, axis=0, weights=weights)
            explainer = shap.LinearExplainer(final, (mean, np.eye(dense.shape[1])))
            raw = explainer.shap_values(dense)
            space = "log-odds" if classifier else "raw"
    values, base = _class_slice(raw, explainer.expected_value, index)
    single_output = not isinstance(raw, list) and np.ndim(raw) == 2
    if single_output and index == 0 and space == "log-odds":
        # Binary boosters explain the margin of class 1; the positive class is class 0.
        values, base = -values, -base
    if values.ndim != 2 or values.shape[0] != len(X):
        raise ModelError(f"{type(explainer).__name__} returned SHAP values of shape "
                         f"{values.shape} for {len(X)} rows")
    if unwrapped.transform is not None:
        values = unwrapped.aggregate(values, X.shape[1])
        how = " (pipeline columns, e.g. one-hot, summed back to their input feature)"
    else:
        how = ""
    return values, base, space, f"shap.{type(explainer).__name__} on {type(final).__name__}{how}"


def _final_class_index(final: Any, positive: Any) -> int | None:
    classes = getattr(final, "classes_", None)
    if classes is None:
        return None
    for i, value in enumerate(classes):
        if value == positive or str(value) == str(positive):
            return i
    return 1 if len(classes) == 2 else None


def _explain_agnostic(model: LoadedModel, X: pd.DataFrame, positive: Any, weights: np.ndarray,
                      background_size: int, permutations: int, seed: int, is_probability: bool
                      ) -> tuple[np.ndarray, float, str, str]:
    shap = import_shap()
    codes, decode = _encode(X)
    rng = np.random.default_rng(seed)
    size = min(background_size, len(codes))
    picked = rng.choice(len(codes), size=size, replace=False, p=weights / weights.sum())
    background = codes[np.sort(picked)]

    def f(matrix: np.ndarray) -> np.ndarray:
        return model_probability(model, decode(matrix), positive)[0]

    masker = shap.maskers.Independent(background, max_samples=size)
    explainer = shap.PermutationExplainer(f, masker, seed=seed)
    max_evals = max(1, permutations) * (2 * X.shape[1] + 1)
    result = explainer(codes, max_evals=max_evals, silent=True)
    values = np.asarray(result.values, dtype=float)
    base = float(np.atleast_1d(result.base_values)[0])
    space = "probability" if is_probability else "raw"
    return values, base, space, (f"shap.PermutationExplainer (model-agnostic, {permutations} "
                                 f"permutation(s), {size} background rows)")


def _encode(X: pd.DataFrame) -> tuple[np.ndarray, Any]:
    """Numeric matrix for the masker, and the inverse back to the original columns."""
    columns, decoders = [], []
    for name in X.columns:
        series = X[name]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            columns.append(series.to_numpy(dtype=float, na_value=np.nan))
            decoders.append(None)
        else:
            code, uniques = pd.factorize(series, use_na_sentinel=True)
            columns.append(code.astype(float))
            decoders.append((np.asarray(uniques, dtype=object), series.dtype))
    matrix = np.column_stack(columns) if columns else np.empty((len(X), 0))
    names = list(X.columns)
    dtypes = [X[n].dtype for n in names]

    def decode(m: np.ndarray) -> pd.DataFrame:
        data = {}
        for j, name in enumerate(names):
            if decoders[j] is None:
                data[name] = _numeric(m[:, j], dtypes[j])
                continue
            uniques, dtype = decoders[j]
            code = m[:, j].astype(int)
            out = uniques[np.clip(code, 0, max(len(uniques) - 1, 0))] if len(uniques) else \
                np.full(len(code), None, dtype=object)
            out = np.where(code < 0, None, out)
            data[name] = pd.Series(out, dtype=dtype)
        return pd.DataFrame(data)

    return matrix, decode


def _numeric(column: np.ndarray, dtype: Any) -> Any:
    """Restore an integer column's dtype when the values allow it; else floats."""
    if pd.api.types.is_integer_dtype(dtype) and not np.isnan(column).any():
        return column.astype(dtype)
    return column
