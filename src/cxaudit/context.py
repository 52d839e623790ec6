"""The audit context: data, decisions, scores and groups, each computed once.

Every check reads from the same context; predictions are made once per audit.
Derived columns are added under reserved names so checks never guess:

- ``LABEL`` (0/1 observed outcome), ``DECISION`` (0/1 decision), ``SCORE``
  (float score, when one exists);
- ``group_column(attr)``: the protected attribute as text, with missing
  values as the explicit group ``unknown`` (counted and shown, never dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.engines.base import Engine
from cxaudit.errors import DataError
from cxaudit.loaders.data import missing_column_error
from cxaudit.loaders.model import LoadedModel, predict
from cxaudit.policy.model import Policy

LABEL = "__cx_label"
DECISION = "__cx_decision"
SCORE = "__cx_score"
UNKNOWN_GROUP = "unknown"
_TRUTHY = {"yes", "y", "true", "t", "1", "positive", "pos"}


def group_column(attribute: str) -> str:
    """Name of the derived text column for a protected attribute."""
    return f"__cx_group__{attribute}"


@dataclass(frozen=True)
class AuditContext:
    """Everything checks read; built once by :func:`build_context`."""

    policy: Policy
    engine: Engine
    frame: Any
    data_columns: tuple[str, ...]
    features: tuple[str, ...]
    model: LoadedModel | None = None
    consent: Any = None
    reference: Any = None
    seed: int = 0
    has_label: bool = False
    has_decision: bool = False
    has_score: bool = False
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def protected(self) -> list[str]:
        """Protected attributes declared in the policy."""
        return list(self.policy.data.protected)

    def group_sets(self, attributes: list[str] | None = None) -> list[list[str]]:
        """Attribute sets to audit: each attribute alone, then each declared intersection."""
        single = [[a] for a in (attributes or self.protected)]
        wanted = set(attributes or self.protected)
        combos = [list(c) for c in self.policy.data.intersections if set(c) <= wanted]
        return single + combos


def positive_value(series: pd.Series, declared: Any, *, where: str) -> Any:
    """The value of ``series`` that counts as positive."""
    if declared is not None:
        return declared
    if pd.api.types.is_bool_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series):
        return 1
    values = {str(v) for v in series.dropna().unique()[:50]}
    truthy = [v for v in values if v.lower() in _TRUTHY]
    if len(truthy) == 1:
        return truthy[0]
    raise DataError(f"{where}: cannot tell which value of {series.name!r} is positive "
                    f"(values include {', '.join(sorted(values)[:5])})",
                    hint="set data.positive in the policy, e.g. `positive: \"Yes\"`")


def binarise(series: pd.Series, positive: Any) -> np.ndarray:
    """0/1 array: 1 where ``series`` equals ``positive`` (numbers compared as numbers)."""
    if pd.api.types.is_numeric_dtype(series) and isinstance(positive, (int, float, bool)):
        return (series.to_numpy() == positive).astype(np.int8)
    return (series.astype("string").to_numpy() == str(positive)).astype(np.int8)


def _require_columns(policy: Policy, columns: list[str]) -> None:
    spec = policy.data
    named: list[tuple[tuple[Any, ...], str, str]] = []
    for key in ("id", "label", "prediction", "score", "timestamp"):
        value = getattr(spec, key)
        if value:
            named.append((("data", key), value, f"data.{key} column"))
    for index, attr in enumerate(spec.protected):
        named.append((("data", "protected", index), attr, "protected attribute"))
    for index, feature in enumerate(spec.features or []):
        named.append((("data", "features", index), feature, "feature"))
    for path, column, what in named:
        if column not in columns:
            raise missing_column_error(column, columns, role="data", where=policy.locate(*path),
                                       what=what)


_MISSING_HINTS = {
    "label": ("label", "drop or fill those rows before auditing; labels are never guessed"),
    "prediction": ("prediction", "every audited row needs a decision"),
}


def refuse_missing(policy: Policy, key: str, column: str, count: int,
                   lines: list[int] | None = None) -> None:
    """Raise the bad-input error for missing labels or decisions (any engine)."""
    if not count:
        return
    what, hint = _MISSING_HINTS[key]
    where = f" (file lines {lines} …)" if lines else ""
    raise DataError(f"{policy.locate('data', key)}: {what} column {column!r} has {count} "
                    f"missing value(s){where}", hint=hint)


def resolve_features(spec: Any, model: LoadedModel | None, columns: list[str]) -> tuple[str, ...]:
    """Model inputs: declared in the policy, else what the model declares, else every
    column the policy does not reserve; a feature the data lacks is bad input."""
    features = tuple(spec.features or (model.feature_names if model and model.feature_names
                                       else ()))
    if not features:
        reserved = {spec.id, spec.label, spec.prediction, spec.score, spec.timestamp}
        features = tuple(c for c in columns if c not in reserved)
    if model is not None:
        absent = [f for f in features if f not in columns]
        if absent:
            raise missing_column_error(absent[0], columns, role="data", where=model.source,
                                       what="model feature")
    return features


def build_context(policy: Policy, frame: pd.DataFrame, engine: Engine, *,
                  model: LoadedModel | None = None, consent: Any = None, reference: Any = None,
                  seed: int = 0) -> AuditContext:
    """Validate the data against the policy and derive labels, decisions and groups."""
    native = getattr(engine, "build_context", None)
    if native is not None:  # engines whose frames are not pandas derive the columns natively
        return native(policy, frame, model=model, consent=consent, reference=reference, seed=seed)
    columns = [str(c) for c in frame.columns]
    _require_columns(policy, columns)
    spec = policy.data
    frame = frame.copy()
    derived: dict[str, Any] = {}

    if spec.label:
        label = frame[spec.label]
        missing = label.isna().to_numpy()
        refuse_missing(policy, "label", spec.label, int(missing.sum()),
                       (np.flatnonzero(missing)[:5] + 2).tolist())  # +2: header, 1-based
        pos = positive_value(label, spec.positive, where=policy.locate("data", "label"))
        derived[LABEL] = binarise(label, pos)
    else:
        pos = spec.positive if spec.positive is not None else 1

    features = resolve_features(spec, model, columns)

    has_score = False
    if spec.score:
        derived[SCORE] = pd.to_numeric(frame[spec.score], errors="coerce").to_numpy(dtype=float)
        has_score = True
    if spec.prediction:
        prediction = frame[spec.prediction]
        refuse_missing(policy, "prediction", spec.prediction, int(prediction.isna().sum()))
        pred_pos = positive_value(prediction, spec.positive, where=policy.locate("data", "prediction"))
        derived[DECISION] = binarise(prediction, pred_pos)
    elif model is not None:
        decisions, scores = predict(model, frame[list(features)], positive=pos,
                                    threshold=spec.decision_threshold)
        derived[DECISION] = decisions
        if scores is not None and not has_score:
            derived[SCORE] = scores
            has_score = True
    elif has_score:
        derived[DECISION] = (derived[SCORE] >= spec.decision_threshold).astype(np.int8)

    for attr in spec.protected:
        values = frame[attr]
        text = values.astype("string").fillna(UNKNOWN_GROUP).str.strip()
        text = text.mask(text == "", UNKNOWN_GROUP)
        derived[group_column(attr)] = text.astype(object).to_numpy()

    frame = frame.assign(**derived)
    return AuditContext(
        policy=policy, engine=engine, frame=frame, data_columns=tuple(columns), features=features,
        model=model, consent=consent, reference=reference, seed=seed,
        has_label=LABEL in derived, has_decision=DECISION in derived, has_score=has_score,
    )
