"""Unwrap scikit-learn pipelines: explain the final estimator, report original features.

A pipeline such as ``ColumnTransformer(OneHotEncoder, passthrough) → trees``
is explained by transforming the rows with the preprocessing steps, running the
exact explainer for the final estimator on the transformed matrix, and summing
the SHAP values of every transformed column back onto the input feature it was
made from (all one-hot columns of ``Contract`` become ``Contract``).

Why sum rather than explain the whole pipeline model-agnostically: SHAP values
are additive, so the sum over a feature's columns is exactly the attribution
of that group of columns, the total still reproduces the model output (the
additivity check is unchanged), and the tree/linear explainers are exact and
orders of magnitude faster than a permutation explainer over the pipeline.

When a step cannot be traced back to input features (a transformer that mixes
columns, such as PCA), :class:`Untraceable` is raised and the caller falls back
to the model-agnostic explainer on the original features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


class Untraceable(Exception):
    """A pipeline step whose output columns cannot be mapped to input features."""


@dataclass(frozen=True)
class Unwrapped:
    """The final estimator, how to reach its input, and where its columns come from."""

    final: Any
    transform: Callable[[Any], np.ndarray] | None
    #: For every column the final estimator sees, the index of its source feature.
    source: np.ndarray
    steps: tuple[str, ...]

    def aggregate(self, values: np.ndarray, n_features: int) -> np.ndarray:
        """Sum per-column SHAP values ``(n, columns)`` into per-feature ``(n, n_features)``."""
        out = np.zeros((values.shape[0], n_features), dtype=float)
        np.add.at(out.T, self.source, values.T)
        return out


def unwrap(estimator: Any, features: Sequence[str]) -> Unwrapped:
    """Split ``estimator`` into preprocessing and final estimator, tracing columns.

    Parameters
    ----------
    estimator
        A fitted estimator or scikit-learn ``Pipeline``.
    features
        The original input feature names, in the order the model receives them.

    Raises
    ------
    Untraceable
        When a preprocessing step's outputs cannot be mapped to input features.
    """
    features = list(features)
    identity = np.arange(len(features))
    steps = getattr(estimator, "steps", None)
    if steps is None or not hasattr(estimator, "__getitem__"):
        return Unwrapped(final=estimator, transform=None, source=identity, steps=())
    names = features
    source = identity
    used: list[str] = []
    for name, step in steps[:-1]:
        if step is None or step == "passthrough":
            continue
        names, source = _trace_step(step, names, source, features)
        used.append(f"{name}:{type(step).__name__}")
    final = steps[-1][1]
    if final is None or final == "passthrough":
        raise Untraceable("the pipeline has no final estimator")
    prep = estimator[:-1]

    def transform(frame: Any) -> np.ndarray:
        out = prep.transform(frame)
        if hasattr(out, "toarray"):
            out = out.toarray()
        return np.asarray(out, dtype=float)

    # A nested pipeline as the final step: unwrap it too.
    inner = unwrap(final, names) if getattr(final, "steps", None) is not None else None
    if inner is not None:
        def chained(frame: Any, _inner: Unwrapped = inner) -> np.ndarray:
            return _inner.transform(transform(frame)) if _inner.transform else transform(frame)

        return Unwrapped(final=inner.final, transform=chained, source=source[inner.source],
                         steps=(*used, *inner.steps))
    return Unwrapped(final=final, transform=transform, source=source, steps=tuple(used))


def _trace_step(step: Any, names: list[str], source: np.ndarray, features: list[str]
                ) -> tuple[list[str], np.ndarray]:
    """Output names and source feature index of every output column of one step."""
    if type(step).__name__ == "ColumnTransformer" and hasattr(step, "output_indices_"):
        return _trace_column_transformer(step, names, source)
    if not hasattr(step, "get_feature_names_out"):
        raise Untraceable(f"step {type(step).__name__} does not name its output columns")
    try:
        out = [str(n) for n in step.get_feature_names_out(names)]
    except Exception as exc:
        raise Untraceable(f"step {type(step).__name__}: {exc}") from None
    positions = _match(out, names, type(step).__name__)
    return out, source[positions]


def _trace_column_transformer(ct: Any, names: list[str], source: np.ndarray
                              ) -> tuple[list[str], np.ndarray]:
    width = max((s.stop for s in ct.output_indices_.values()), default=0)
    out_names = [""] * width
    out_source = np.full(width, -1, dtype=np.int64)
    for name, trans, columns in ct.transformers_:
        piece = ct.output_indices_.get(name)
        if trans == "drop" or piece is None or piece.stop == piece.start:
            continue
        inputs = _column_positions(ct, name, columns, names)
        sub_names = [names[i] for i in inputs]
        if trans == "passthrough":
            got = sub_names
            positions = list(range(len(inputs)))
        elif len(inputs) == 1:
            got = [sub_names[0]] * (piece.stop - piece.start)
            positions = [0] * len(got)
        else:
            if not hasattr(trans, "get_feature_names_out"):
                raise Untraceable(f"transformer {name!r} ({type(trans).__name__}) does not name "
                                  "its output columns")
            try:
                got = [str(n) for n in trans.get_feature_names_out(sub_names)]
            except Exception as exc:
                raise Untraceable(f"transformer {name!r}: {exc}") from None
            positions = _match(got, sub_names, name)
        if len(got) != piece.stop - piece.start:
            raise Untraceable(f"transformer {name!r} produced {piece.stop - piece.start} "
                              f"columns but names {len(got)}")
        for offset, (label, pos) in enumerate(zip(got, positions, strict=True)):
            out_names[piece.start + offset] = label
            out_source[piece.start + offset] = source[inputs[pos]]
    if (out_source < 0).any():
        raise Untraceable("some output columns of the ColumnTransformer have no source column")
    return out_names, out_source


def _column_positions(ct: Any, name: str, columns: Any, names: list[str]) -> list[int]:
    known = getattr(ct, "_transformer_to_input_indices", None)
    if isinstance(known, dict) and name in known:
        return [int(i) for i in known[name]]
    if isinstance(columns, str):
        columns = [columns]
    if isinstance(columns, slice) or callable(columns):
        raise Untraceable(f"cannot resolve the columns of transformer {name!r}")
    positions = []
    for column in np.atleast_1d(columns).tolist():
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            positions.append(int(column))
        elif str(column) in names:
            positions.append(names.index(str(column)))
        else:
            raise Untraceable(f"transformer {name!r} uses column {column!r}, which is not a "
                              "model input")
    return positions


def _match(outputs: list[str], inputs: list[str], where: str) -> list[int]:
    """Map output names to inputs: same name, else the longest ``input_`` prefix."""
    by_length = sorted(range(len(inputs)), key=lambda i: -len(inputs[i]))
    positions = []
    for label in outputs:
        if label in inputs:
            positions.append(inputs.index(label))
            continue
        hit = next((i for i in by_length if label.startswith(inputs[i] + "_")), None)
        if hit is None:
            raise Untraceable(f"{where}: output column {label!r} cannot be traced to an input")
        positions.append(hit)
    return positions
