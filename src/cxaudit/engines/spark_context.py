"""Build the :class:`~cxaudit.context.AuditContext` for a Spark DataFrame.

Mirrors :func:`cxaudit.context.build_context` column for column, as Spark
expressions: ``LABEL`` and ``DECISION`` as 0/1 bytes, ``SCORE`` as double and
one text column per protected attribute with missing or blank values as
``unknown``. Predictions come from the policy's prediction/score column or
from the model, shipped once to the executors (a broadcast variable; a
closure under Spark Connect) and applied batch by batch with ``mapInPandas``.
The predicted frame is persisted so the model runs once per audit.
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
from cxaudit.loaders.model import LoadedModel

_MODEL_SCORE = "__cx_model_score"
#: Every character Python's ``str.strip()`` removes (``str.isspace``), so Spark
#: trims protected-attribute text exactly as the local engine does.
PY_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


def _types(frame: Any) -> dict[str, Any]:
    return {f.name: f.dataType for f in frame.schema.fields}


def _is_numeric(data_type: Any) -> bool:
    from pyspark.sql.types import BooleanType, NumericType

    return isinstance(data_type, (NumericType, BooleanType))


def as_text(name: str, data_type: Any) -> Any:
    """The column as text, spelled as pandas' ``astype("string")`` spells it."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType

    column = F.col(name)
    if isinstance(data_type, BooleanType):
        return F.when(column, F.lit("True")).when(~column, F.lit("False"))
    return column.cast("string")


def spark_positive(frame: Any, name: str, declared: Any, *, where: str) -> Any:
    """The positive value of column ``name`` (declared, 1/True, or the one truthy text value)."""
    from pyspark.sql.types import BooleanType

    if declared is not None:
        return declared
    data_type = _types(frame)[name]
    if isinstance(data_type, BooleanType):
        return True
    if _is_numeric(data_type):
        return 1
    values = [r[0] for r in frame.select(as_text(name, data_type)).distinct().limit(50).collect()]
    return positive_value(pd.Series(values, name=name, dtype=object), None, where=where)


def spark_binarise(name: str, data_type: Any, positive: Any) -> Any:
    """0/1 byte column: 1 where the value equals ``positive`` (numbers compared as numbers)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType

    if _is_numeric(data_type) and isinstance(positive, (int, float, bool)):
        if isinstance(positive, bool) and not isinstance(data_type, BooleanType):
            positive = int(positive)
        if isinstance(data_type, BooleanType) and not isinstance(positive, bool):
            test = F.col(name).cast("int") == F.lit(positive)
        else:
            test = F.col(name) == F.lit(positive)
    else:
        test = as_text(name, data_type) == F.lit(str(positive))
    return F.coalesce(test, F.lit(False)).cast("byte")


def _integers_read_as_floats(engine: Any, frame: Any, columns: list[str],
                             types: dict[str, Any]) -> set[str]:
    """Integer columns with missing values, which pandas (the local engine) reads as floats."""
    from pyspark.sql.types import IntegralType

    integral = [c for c in columns if isinstance(types[c], IntegralType)]
    if not integral:
        return set()
    nulls = engine.null_counts(frame, integral)
    return {c for c in integral if int(nulls[c].iloc[0])}


def group_text(name: str, data_type: Any, *, floated: bool = False) -> Any:
    """Protected attribute as trimmed text; missing or blank → ``unknown``.

    ``floated``: an integer column with missing values is spelled as pandas
    spells the floats it reads it as (``1`` → ``1.0``), so groups keep the
    local engine's names.
    """
    from pyspark.sql import functions as F

    text = as_text(name, data_type)
    if floated:
        text = F.concat(text, F.lit(".0"))
    text = F.btrim(text, F.lit(PY_WHITESPACE))
    return F.when(text.isNull() | (text == ""), F.lit(UNKNOWN_GROUP)).otherwise(text)


def _missing_count(engine: Any, frame: Any, name: str) -> int:
    return int(engine.null_counts(frame, [name])[name].iloc[0])


def with_model_predictions(frame: Any, model: LoadedModel, features: tuple[str, ...], *,
                           positive: Any, threshold: float) -> Any:
    """Append ``DECISION`` and the model's score, predicted batch by batch on the executors."""
    from pyspark.sql.types import ByteType, DoubleType, StructField, StructType

    from cxaudit.loaders.model import predict

    schema = StructType([*frame.schema.fields, StructField(DECISION, ByteType(), False),
                         StructField(_MODEL_SCORE, DoubleType(), True)])
    try:  # classic Spark: one broadcast copy per executor
        shipped = frame.sparkSession.sparkContext.broadcast(model)
        unwrap = True
    except Exception:  # Spark Connect has no SparkContext: the closure carries the model
        shipped, unwrap = model, False
    wanted = list(features)

    def predict_batches(batches: Any) -> Any:
        loaded = shipped.value if unwrap else shipped
        for batch in batches:
            decisions, scores = predict(loaded, batch[wanted], positive=positive,
                                        threshold=threshold)
            batch[DECISION] = np.asarray(decisions, dtype=np.int8)
            batch[_MODEL_SCORE] = (np.asarray(scores, dtype=float) if scores is not None
                                   else np.full(len(batch), np.nan))
            yield batch

    return frame.mapInPandas(predict_batches, schema)


def build_spark_context(policy: Any, frame: Any, engine: Any, *, model: LoadedModel | None = None,
                        consent: Any = None, reference: Any = None,
                        seed: int = 0) -> AuditContext:
    """Validate a Spark DataFrame against the policy and derive the audit columns."""
    from pyspark.sql import functions as F

    columns = [str(c) for c in frame.columns]
    _require_columns(policy, columns)
    spec = policy.data
    types = _types(frame)
    derived: dict[str, Any] = {}

    if spec.label:
        refuse_missing(policy, "label", spec.label, _missing_count(engine, frame, spec.label))
        pos = spark_positive(frame, spec.label, spec.positive, where=policy.locate("data", "label"))
        derived[LABEL] = spark_binarise(spec.label, types[spec.label], pos)
    else:
        pos = spec.positive if spec.positive is not None else 1

    features = resolve_features(spec, model, columns)

    has_score = False
    if spec.score:
        derived[SCORE] = F.expr(f"try_cast(`{spec.score}` AS DOUBLE)")
        has_score = True
    use_model = False
    if spec.prediction:
        refuse_missing(policy, "prediction", spec.prediction,
                       _missing_count(engine, frame, spec.prediction))
        pred_pos = spark_positive(frame, spec.prediction, spec.positive,
                                  where=policy.locate("data", "prediction"))
        derived[DECISION] = spark_binarise(spec.prediction, types[spec.prediction], pred_pos)
    elif model is not None:
        use_model = True
    elif has_score:
        derived[DECISION] = F.coalesce(derived[SCORE] >= F.lit(spec.decision_threshold),
                                       F.lit(False)).cast("byte")

    floated = _integers_read_as_floats(engine, frame, spec.protected, types)
    for attr in spec.protected:
        derived[group_column(attr)] = group_text(attr, types[attr], floated=attr in floated)

    out = frame.withColumns(derived) if derived else frame
    has_decision = DECISION in derived
    if use_model:
        out = with_model_predictions(out, model, features, positive=pos,
                                     threshold=spec.decision_threshold)
        has_decision = True
        model_scores = model.predict_fn is not None or hasattr(model.estimator, "predict_proba")
        if model_scores and not has_score:
            out = out.withColumn(SCORE, F.col(_MODEL_SCORE))
            has_score = True
        out = out.drop(_MODEL_SCORE)
    # Every check scans the frame (one or more jobs each): cache it once, with its derived
    # columns, instead of re-reading the source and re-deriving them per job (memory and
    # disk, so a table larger than the executors' memory spills rather than fails).
    out = out.persist()
    return AuditContext(
        policy=policy, engine=engine, frame=out, data_columns=tuple(columns), features=features,
        model=model, consent=consent, reference=reference, seed=seed,
        has_label=LABEL in derived, has_decision=has_decision, has_score=has_score,
    )
