"""Derive the audit's columns on a Spark DataFrame, as Column expressions.

Compiles the derivation plan (:func:`cxaudit.engines.derive.derivation_plan`, the steps
the local and Arrow engines compile too) to Spark expressions: ``LABEL`` and ``DECISION`` as 0/1 bytes, ``SCORE`` as double and
one text column per protected attribute with missing or blank values as
``unknown``. Predictions come from the policy's prediction/score column or
from the model, shipped once to the executors (a broadcast variable; a
closure under Spark Connect) and applied batch by batch with ``mapInPandas``.
The predicted frame is persisted so the model runs once per audit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cxaudit.engines.derive import (
    AT_LEAST,
    DECISION,
    GROUP,
    LABEL,
    NUMBER,
    POSITIVE,
    PREDICT,
    SCORE,
    UNKNOWN_GROUP,
    Derive,
    Derived,
    derivation_plan,
)
from cxaudit.engines.rules import (
    DISTINCT_LIMIT,
    RowProblem,
    _personal,
    _range_words,
    _require_columns,
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


def _score_tests(policy: Any, step: Derive) -> list[tuple[str, Any, str, str]]:
    """(key, invalid-row condition, problem, hint) for a declared score column (a ``NUMBER``
    step of the plan: missing, not a finite number, outside its ``bounds``)."""
    from pyspark.sql import functions as F

    spec = policy.data
    name = step.source
    raw = F.col(name)
    number = F.expr(f"try_cast(`{name}` AS DOUBLE)")
    infinite = F.abs(number) == F.lit(float("inf"))
    tests = [("score_missing", raw.isNull(),
              "have no score (an empty cell or a missing-value marker such as NA)", ""),
             ("score_not_number", raw.isNotNull() & (number.isNull() | F.isnan(number)
                                                     | F.coalesce(infinite, F.lit(False))),
              "hold a score that is not a finite number", "")]
    bounds = step.params["bounds"]
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


def build_spark_context(policy: Any, frame: Any, engine: Any, *,
                        model: LoadedModel | None = None) -> Derived:
    """Validate a Spark DataFrame against the policy and compile the derivation plan
    (:func:`cxaudit.engines.derive.derivation_plan`) to Column expressions.

    Rows whose decision cannot be computed are counted in one aggregation over the
    cached frame (Spark keeps no file line numbers: messages give counts and masked
    examples); within ``data.max_invalid_decisions`` they are filtered out.
    """
    from pyspark.sql import functions as F

    plan = derivation_plan(policy, model=model is not None)
    columns = [str(c) for c in frame.columns]
    _require_columns(policy, columns)
    types = _types(frame)
    for attr in plan.protected:
        refuse_nested(policy, attr, nested_type(types[attr]))
    derived: dict[str, Any] = {}
    positives: dict[str, Any] = {}
    # (key, condition, where, column, problem, hint): rows that cannot be audited
    tests: list[tuple[str, Any, str, str, str, str]] = []
    floated: set[str] = set()

    def compile_step(step: Derive) -> Any:
        """A plan step as a Column (``PREDICT`` is compiled below, on the executors)."""
        if step.op == POSITIVE:
            if step.params["missing"] == "refuse":
                refuse_missing(policy, "label", step.source,
                               _missing_count(engine, frame, step.source))
            else:
                tests.append(("prediction_missing", F.col(step.source).isNull(),
                              step.params["where"], step.source, "have no decision (an empty "
                              "cell or a missing-value marker such as NA)", ""))
            positive = positives[step.name] = spark_positive(
                frame, step.source, step.params["declared"], where=step.params["where"])
            return spark_binarise(step.source, types[step.source], positive)
        if step.op == NUMBER:
            tests.extend((key, condition, step.params["where"], step.source, problem, hint)
                         for key, condition, problem, hint in _score_tests(policy, step))
            return F.expr(f"try_cast(`{step.source}` AS DOUBLE)")
        if step.op == AT_LEAST:
            return F.coalesce(derived[step.source] >= F.lit(step.params["threshold"]),
                              F.lit(False)).cast("byte")
        if step.op == GROUP:
            return group_text(step.source, types[step.source], floated=step.source in floated)
        raise ValueError(f"{step.op!r} is not a column expression")

    if plan.label is not None:
        derived[LABEL] = compile_step(plan.label)

    features = resolve_features(policy.data, model, columns)

    if plan.score is not None:
        derived[SCORE] = compile_step(plan.score)
    predict_step = plan.decision if plan.decision is not None and \
        plan.decision.op == PREDICT else None
    if plan.decision is not None and predict_step is None:
        derived[DECISION] = compile_step(plan.decision)

    floated |= _integers_read_as_floats(engine, frame, list(plan.protected), types)
    for group in plan.groups:
        derived[group.name] = compile_step(group)

    out = frame.withColumns(derived) if derived else frame
    has_decision = DECISION in derived
    has_score = SCORE in derived
    use_model = predict_step is not None
    if predict_step is not None:
        assert model is not None
        positive = positives[predict_step.params["positive_from"]] \
            if predict_step.params["positive_from"] else predict_step.params["declared"]
        threshold = predict_step.params["threshold"]
        # A model that raises on the data is bad input (exit 2): try it on the driver first.
        from cxaudit.loaders.model import predict

        predict(model, frame.select(*features).limit(256).toPandas(), positive=positive,
                threshold=threshold)
        out = with_model_predictions(out, model, features, positive=positive,
                                     threshold=threshold)
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
    if predict_step is not None:
        model_scores = model.predict_fn is not None or hasattr(model.estimator, "predict_proba")
        if model_scores and predict_step.params["scores_to"]:
            out = out.withColumn(predict_step.params["scores_to"], F.col(_MODEL_SCORE))
            has_score = True
        out = out.drop(_MODEL_SCORE)
    return Derived(frame=out, data_columns=tuple(columns), features=features,
                   has_label=LABEL in derived, has_decision=has_decision, has_score=has_score,
                   notes=notes)
