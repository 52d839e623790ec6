"""Build the :class:`~cxaudit.context.AuditContext` over a streamed Arrow dataset.

The same derived columns as :func:`cxaudit.context.build_context`, as
per-batch functions of the source columns (nothing is materialised): text
conversions of non-string columns go through pandas per batch so values are
spelled exactly as the local engine spells them. Model predictions are the one
exception: they are computed once, in a single ordered scan, and kept as two
compact arrays (9 bytes per row) that later scans slice by row offset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxaudit.context import (
    DECISION,
    LABEL,
    SCORE,
    UNKNOWN_GROUP,
    AuditContext,
    _require_columns,
    group_column,
    positive_value,
    refuse_missing,
    resolve_features,
)
from cxaudit.engines.arrow_stream import ArrowFrame
from cxaudit.loaders.model import LoadedModel, predict


def _is_text(data_type: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _is_numeric(data_type: Any) -> bool:
    import pyarrow as pa

    return (pa.types.is_integer(data_type) or pa.types.is_floating(data_type)
            or pa.types.is_decimal(data_type) or pa.types.is_boolean(data_type))


def as_text(array: Any) -> Any:
    """The array as Arrow strings, spelled as pandas' ``astype("string")`` spells it."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if _is_text(array.type):
        return array.cast(pa.string())
    text = pd.Series(array.to_pandas()).astype("string")
    return pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())


def first_values(frame: ArrowFrame, column: str, limit: int = 50) -> list[Any]:
    """The first ``limit`` distinct non-missing values of ``column``, in order of appearance."""
    import pyarrow.compute as pc

    seen: dict[Any, None] = {}
    for table in frame.batches([column]):
        for value in pc.unique(pc.drop_null(as_text(table.column(column)))).to_pylist():
            seen.setdefault(value, None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen)


def arrow_positive(frame: ArrowFrame, column: str, declared: Any, *, where: str) -> Any:
    """The positive value of ``column``: declared, True/1, or the one truthy text value."""
    import pyarrow as pa

    if declared is not None:
        return declared
    data_type = frame.dataset.schema.field(column).type
    if pa.types.is_boolean(data_type):
        return True
    if _is_numeric(data_type):
        return 1
    values = pd.Series(first_values(frame, column), name=column, dtype=object)
    return positive_value(values, None, where=where)


def binarise_fn(column: str, data_type: Any, positive: Any) -> Any:
    """Per-batch 0/1 int8: 1 where ``column`` equals ``positive`` (numbers as numbers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    numeric = _is_numeric(data_type) and isinstance(positive, (int, float, bool))

    def derive(batch: Any, offset: int) -> Any:
        values = batch.column(column)
        if numeric:
            if pa.types.is_boolean(values.type):
                values = pc.cast(values, pa.int64())
            equal = pc.equal(values, pa.scalar(float(positive)))
        else:
            equal = pc.equal(as_text(values), pa.scalar(str(positive)))
        return pc.cast(pc.fill_null(equal, False), pa.int8())

    return derive


def group_fn(column: str) -> Any:
    """Per-batch text of a protected attribute; missing or blank → ``unknown``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def derive(batch: Any, offset: int) -> Any:
        text = pc.utf8_trim_whitespace(as_text(batch.column(column)))
        blank = pc.fill_null(pc.equal(text, ""), True)
        return pc.if_else(blank, pa.scalar(UNKNOWN_GROUP), text)

    return derive


def score_fn(column: str) -> Any:
    """Per-batch float64 scores; unparseable text → missing (as ``pd.to_numeric(coerce)``)."""
    import pyarrow as pa

    def derive(batch: Any, offset: int) -> Any:
        values = batch.column(column)
        if _is_numeric(values.type):
            numbers = values.to_numpy(zero_copy_only=False).astype(float)
        else:
            numbers = pd.to_numeric(pd.Series(values.to_pandas()), errors="coerce").to_numpy(float)
        return pa.array(numbers, type=pa.float64())

    return derive


def _missing_count(engine: Any, frame: ArrowFrame, column: str) -> int:
    return int(engine.null_counts(frame, [column])[column].iloc[0])


def model_predictions(frame: ArrowFrame, model: LoadedModel, features: tuple[str, ...], *,
                      positive: Any, threshold: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Predict once, batch by batch in row order; return (decisions, scores or None)."""
    decisions: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for table in frame.batches(list(features)):
        batch_decisions, batch_scores = predict(model, table.to_pandas(), positive=positive,
                                                threshold=threshold)
        decisions.append(np.asarray(batch_decisions, dtype=np.int8))
        if batch_scores is not None:
            scores.append(np.asarray(batch_scores, dtype=float))
    return (np.concatenate(decisions) if decisions else np.zeros(0, np.int8),
            np.concatenate(scores) if scores else None)


def _slice_fn(values: np.ndarray) -> Any:
    import pyarrow as pa

    def derive(batch: Any, offset: int) -> Any:
        return pa.array(values[offset:offset + batch.num_rows])

    return derive


def build_arrow_context(policy: Any, frame: ArrowFrame, engine: Any, *,
                        model: LoadedModel | None = None, consent: Any = None,
                        reference: Any = None, seed: int = 0) -> AuditContext:
    """Validate a dataset against the policy and attach the derived columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = list(frame.dataset.schema.names)
    _require_columns(policy, columns)
    spec = policy.data
    schema = frame.dataset.schema
    derived: dict[str, Any] = {}

    if spec.label:
        refuse_missing(policy, "label", spec.label, _missing_count(engine, frame, spec.label))
        pos = arrow_positive(frame, spec.label, spec.positive, where=policy.locate("data", "label"))
        derived[LABEL] = ((spec.label,), binarise_fn(spec.label, schema.field(spec.label).type, pos))
    else:
        pos = spec.positive if spec.positive is not None else 1

    features = resolve_features(spec, model, columns)

    has_score = False
    if spec.score:
        derived[SCORE] = ((spec.score,), score_fn(spec.score))
        has_score = True
    if spec.prediction:
        refuse_missing(policy, "prediction", spec.prediction,
                       _missing_count(engine, frame, spec.prediction))
        pred_pos = arrow_positive(frame, spec.prediction, spec.positive,
                                  where=policy.locate("data", "prediction"))
        derived[DECISION] = ((spec.prediction,),
                             binarise_fn(spec.prediction, schema.field(spec.prediction).type,
                                         pred_pos))
    elif model is not None:
        decisions, scores = model_predictions(frame, model, features, positive=pos,
                                              threshold=spec.decision_threshold)
        derived[DECISION] = ((), _slice_fn(decisions))
        if scores is not None and not has_score:
            derived[SCORE] = ((), _slice_fn(scores))
            has_score = True
    elif has_score:
        threshold = spec.decision_threshold
        read_score = derived[SCORE][1]

        def from_score(batch: Any, offset: int) -> Any:
            above = pc.greater_equal(read_score(batch, offset), pa.scalar(threshold))
            return pc.cast(pc.fill_null(above, False), pa.int8())

        derived[DECISION] = ((spec.score,), from_score)

    for attr in spec.protected:
        derived[group_column(attr)] = ((attr,), group_fn(attr))

    return AuditContext(
        policy=policy, engine=engine, frame=frame.with_columns(derived),
        data_columns=tuple(columns), features=features, model=model, consent=consent,
        reference=reference, seed=seed, has_label=LABEL in derived,
        has_decision=DECISION in derived, has_score=has_score,
    )
