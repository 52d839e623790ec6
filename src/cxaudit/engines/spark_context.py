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

from cxaudit.context import (
    DECISION,
    DISTINCT_LIMIT,
    LABEL,
    SCORE,
    UNKNOWN_GROUP,
    AuditContext,
    RowProblem,
    _personal,
    _range_words,
    _require_columns,
    group_column,
    refuse_invalid_rows,
    refuse_missing,
    refuse_nested,
    resolve_features,
    resolve_positive,
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


def spark_positive(frame: Any, name: str, declared: Any, *, where: str) -> list[Any]:
    """The positive values of column ``name`` (declared, 1/True, or the one truthy text
    value), validated against its distinct values as
    :func:`cxaudit.context.resolve_positive` does."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType

    data_type = _types(frame)[name]
    boolean = isinstance(data_type, BooleanType)
    numeric = _is_numeric(data_type) and not boolean
    column = F.col(name) if numeric or boolean else as_text(name, data_type)
    values = [r[0] for r in frame.select(column.alias("v")).where(F.col("v").isNotNull())
              .distinct().limit(DISTINCT_LIMIT + 1).collect()]
    return resolve_positive(values, declared, column=name, where=where, numeric=numeric,
                            boolean=boolean)


def nested_type(data_type: Any) -> str | None:
    """``"lists"``/``"mappings"`` for Spark array, map and struct types."""
    from pyspark.sql.types import ArrayType, MapType, StructType

    if isinstance(data_type, ArrayType):
        return "lists"
    if isinstance(data_type, (MapType, StructType)):
        return "mappings"
    return None


def spark_binarise(name: str, data_type: Any, positive: Any) -> Any:
    """0/1 byte column: 1 where the value equals ``positive`` (one value or a list; numbers
    compared as numbers)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType

    wanted = list(positive) if isinstance(positive, (list, tuple)) else [positive]
    if _is_numeric(data_type) and all(isinstance(p, (int, float, bool)) for p in wanted):
        if isinstance(data_type, BooleanType):
            test = F.col(name).cast("int").isin([int(p) for p in wanted])
        else:
            test = F.col(name).cast("double").isin([float(p) for p in wanted])
    else:
        test = as_text(name, data_type).isin([str(p) for p in wanted])
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


def _score_tests(policy: Any, name: str, *, decides: bool) -> list[tuple[str, Any, str, str]]:
    """(key, invalid-row condition, problem, hint) for a declared score column."""
    from pyspark.sql import functions as F

    spec = policy.data
    raw = F.col(name)
    number = F.expr(f"try_cast(`{name}` AS DOUBLE)")
    infinite = F.abs(number) == F.lit(float("inf"))
    tests = [("score_missing", raw.isNull(),
              "have no score (an empty cell or a missing-value marker such as NA)", ""),
             ("score_not_number", raw.isNotNull() & (number.isNull() | F.isnan(number)
                                                     | F.coalesce(infinite, F.lit(False))),
              "hold a score that is not a finite number", "")]
    bounds = spec.score_range or ((0.0, 1.0) if decides else None)
    if bounds is not None:
        problem, hint = _range_words(spec, bounds)
        finite = number.isNotNull() & ~F.isnan(number) & ~F.coalesce(infinite, F.lit(False))
        tests.append(("score_outside", finite & ((number < F.lit(float(bounds[0])))
                                                 | (number > F.lit(float(bounds[1])))),
                      problem, hint))
    return tests


def _examples(frame: Any, name: str, condition: Any) -> str:
    """Up to three offending values of ``name`` for a message, masked when personal."""
    from cxaudit.masking import shown_values

    rows = frame.where(condition).select(frame[name].cast("string")).limit(50).collect()
    values = [r[0] for r in rows]
    if not values:
        return ""
    return "values " + shown_values(name, values[:3], personal=_personal(name, values))


def build_spark_context(policy: Any, frame: Any, engine: Any, *, model: LoadedModel | None = None,
                        consent: Any = None, reference: Any = None,
                        seed: int = 0) -> AuditContext:
    """Validate a Spark DataFrame against the policy and derive the audit columns.

    Rows whose decision cannot be computed are counted in one aggregation over the
    cached frame (Spark keeps no file line numbers: messages give counts and masked
    examples); within ``data.max_invalid_decisions`` they are filtered out.
    """
    from pyspark.sql import functions as F

    columns = [str(c) for c in frame.columns]
    _require_columns(policy, columns)
    spec = policy.data
    types = _types(frame)
    for attr in spec.protected:
        refuse_nested(policy, attr, nested_type(types[attr]))
    derived: dict[str, Any] = {}

    if spec.label:
        refuse_missing(policy, "label", spec.label, _missing_count(engine, frame, spec.label))
        pos = spark_positive(frame, spec.label, spec.positive, where=policy.locate("data", "label"))
        derived[LABEL] = spark_binarise(spec.label, types[spec.label], pos)
    else:
        pos = spec.positive if spec.positive is not None else 1

    features = resolve_features(spec, model, columns)

    # (key, condition, where, column, problem, hint): rows that cannot be audited
    tests: list[tuple[str, Any, str, str, str, str]] = []
    has_score = False
    if spec.score:
        derived[SCORE] = F.expr(f"try_cast(`{spec.score}` AS DOUBLE)")
        has_score = True
        where = policy.locate("data", "score")
        tests += [(key, condition, where, spec.score, problem, hint) for key, condition, problem,
                  hint in _score_tests(policy, spec.score,
                                       decides=not spec.prediction and model is None)]
    use_model = False
    if spec.prediction:
        tests.append(("prediction_missing", F.col(spec.prediction).isNull(),
                      policy.locate("data", "prediction"), spec.prediction,
                      "have no decision (an empty cell or a missing-value marker such as NA)", ""))
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
        # A model that raises on the data is bad input (exit 2): try it on the driver first.
        from cxaudit.loaders.model import predict

        predict(model, frame.select(*features).limit(256).toPandas(), positive=pos,
                threshold=spec.decision_threshold)
        out = with_model_predictions(out, model, features, positive=pos,
                                     threshold=spec.decision_threshold)
        has_decision = True
        where = f"model {model.source}"
        score = F.col(_MODEL_SCORE)
        no_decision = F.col(DECISION) < 0
        if model.predict_fn is not None or hasattr(model.estimator, "predict_proba"):
            not_finite = no_decision & (score.isNull() | F.isnan(score)
                                        | (F.abs(score) == F.lit(float("inf"))))
            tests += [("model_not_finite", not_finite, where, "predict_proba",
                       "have a probability that is not a finite number",
                       "the model returned NaN or infinite probabilities for those rows"),
                      ("model_outside", no_decision & ~not_finite, where, "predict_proba",
                       "have a probability outside [0, 1]",
                       "the model must return probabilities, not margins or scores")]
        else:
            tests.append(("model_missing", no_decision, where, "prediction",
                          "have no prediction (missing output)", ""))
    # Every check scans the frame (one or more jobs each): cache it once, with its derived
    # columns, instead of re-reading the source and re-deriving them per job (memory and
    # disk, so a table larger than the executors' memory spills rather than fails).
    out = out.persist()
    notes: dict[str, Any] = {}
    if tests:
        invalid_any = F.lit(False)
        for _, condition, *_ in tests:
            invalid_any = invalid_any | F.coalesce(condition, F.lit(False))
        sums = [F.sum(F.when(F.coalesce(c, F.lit(False)), 1).otherwise(0)).alias(k)
                for k, c, *_ in tests]
        try:
            row = out.agg(F.count(F.lit(1)).alias("__rows"), *sums,
                          F.sum(F.when(invalid_any, 1).otherwise(0)).alias("__invalid")
                          ).collect()[0]
        except Exception as exc:  # the model failed on the executors (after the trial rows)
            if not use_model:
                raise
            from cxaudit.errors import ModelError
            from cxaudit.masking import mask_message

            out.unpersist()
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
            raise ModelError(f"model {model.source} failed while predicting on the executors: "
                             f"{mask_message(detail or type(exc).__name__)}",
                             hint="check that the data's feature columns (data.features) have "
                                  "the names and types the model was trained on") from None
        invalid = int(row["__invalid"] or 0)
        if invalid:
            problems = [RowProblem(where, column, problem, int(row[key] or 0), None,
                                   _examples(out, column, condition)
                                   if key.startswith("score_") and row[key] else "", hint)
                        for key, condition, where, column, problem, hint in tests]
            try:
                refuse_invalid_rows(policy, problems, invalid, int(row["__rows"]))
            except Exception:
                out.unpersist()
                raise
            out = out.where(~invalid_any)  # within data.max_invalid_decisions: left out
            notes["excluded_rows"] = invalid
    if use_model:
        model_scores = model.predict_fn is not None or hasattr(model.estimator, "predict_proba")
        if model_scores and not has_score:
            out = out.withColumn(SCORE, F.col(_MODEL_SCORE))
            has_score = True
        out = out.drop(_MODEL_SCORE)
    return AuditContext(
        policy=policy, engine=engine, frame=out, data_columns=tuple(columns), features=features,
        model=model, consent=consent, reference=reference, seed=seed,
        has_label=LABEL in derived, has_decision=has_decision, has_score=has_score,
        notes=notes,
    )
