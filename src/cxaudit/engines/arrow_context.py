"""Derive the audit's columns over a streamed Arrow dataset, batch by batch.

Compiles the derivation plan (:func:`cxaudit.engines.derive.derivation_plan`, the steps
the local and Spark engines compile too) to per-batch functions of the source columns
(nothing is materialised): text
conversions of non-string columns go through pandas per batch so values are
spelled exactly as the local engine spells them. Model predictions are the one
exception: they are computed once, in a single ordered scan, and kept as two
compact arrays (9 bytes per row) that later scans slice by row offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import pandas as pd

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
    DerivationPlan,
    Derive,
    Derived,
    derivation_plan,
)
from cxaudit.engines.rules import (
    DISTINCT_LIMIT,
    RowProblem,
    _problem,
    _require_columns,
    model_problems,
    refuse_invalid_rows,
    refuse_missing,
    refuse_nested,
    resolve_features,
    resolve_positive,
    score_problems,
)
from cxaudit.loaders.model import LoadedModel, predict


class ArrowFrame(Protocol):
    """What the context builder reads of a streamed frame
    (:class:`cxaudit.engines.arrow_stream.ArrowFrame`, which imports this module: the
    engine depends on its context builder, never the other way round)."""

    dataset: Any
    derived: dict[str, Any]

    def batches(self, columns: Any, limit: int | None = None) -> Iterator[Any]:
        """``pyarrow.Table`` batches of ``columns`` in row order."""

    def with_columns(self, derived: dict[str, Any]) -> Any:
        """A new frame with more derived columns."""


#: Derived 0/1 column: 1 on rows whose decision could be computed (filtered on when some
#: rows, within data.max_invalid_decisions, could not).
VALID = "__cx_valid"


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


def native_values(frame: ArrowFrame, column: str, limit: int = DISTINCT_LIMIT + 1) -> list[Any]:
    """The first ``limit`` distinct non-missing values of a numeric column, as numbers."""
    import pyarrow.compute as pc

    seen: dict[Any, None] = {}
    for table in frame.batches([column]):
        for value in pc.unique(pc.drop_null(table.column(column))).to_pylist():
            seen.setdefault(value, None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen)


def arrow_positive(frame: ArrowFrame, column: str, declared: Any, *, where: str) -> list[Any]:
    """The positive values of ``column`` (declared, True/1, or the one truthy text value),
    validated against its distinct values as :func:`cxaudit.context.resolve_positive` does."""
    import pyarrow as pa

    data_type = frame.dataset.schema.field(column).type
    boolean = pa.types.is_boolean(data_type)
    numeric = _is_numeric(data_type) and not boolean
    values = (native_values(frame, column) if numeric or boolean
              else first_values(frame, column, DISTINCT_LIMIT + 1))
    return resolve_positive(values, declared, column=column, where=where, numeric=numeric,
                            boolean=boolean)


def nested_type(data_type: Any) -> str | None:
    """``"lists"``/``"mappings"`` for Arrow list, map and struct types."""
    import pyarrow as pa

    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type) or \
            pa.types.is_fixed_size_list(data_type):
        return "lists"
    if pa.types.is_map(data_type) or pa.types.is_struct(data_type):
        return "mappings"
    return None


def binarise_fn(column: str, data_type: Any, positive: Any) -> Any:
    """Per-batch 0/1 int8: 1 where ``column`` equals ``positive`` (one value or a list;
    numbers as numbers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = list(positive) if isinstance(positive, (list, tuple)) else [positive]
    numeric = _is_numeric(data_type) and all(isinstance(p, (int, float, bool)) for p in wanted)

    def derive(batch: Any, offset: int) -> Any:
        values = batch.column(column)
        if numeric:
            if pa.types.is_boolean(values.type):
                values = pc.cast(values, pa.int64())
            values = pc.cast(values, pa.float64())
            equal = pc.is_in(values, value_set=pa.array([float(p) for p in wanted]))
        else:
            equal = pc.is_in(as_text(values), value_set=pa.array([str(p) for p in wanted]))
        return pc.cast(pc.fill_null(equal, False), pa.int8())

    return derive


def group_fn(column: str) -> Any:
    """Per-batch text of a protected attribute; missing or blank → ``unknown``.

    The function's ``codes(batch, offset)`` gives the same values as dictionary
    codes plus names, normalising only the distinct values of a text column (for
    counting: :meth:`ArrowStreamEngine.count_by`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def normalise(text: Any) -> Any:
        text = pc.utf8_trim_whitespace(text)
        blank = pc.fill_null(pc.equal(text, ""), True)
        return pc.if_else(blank, pa.scalar(UNKNOWN_GROUP), text)

    def derive(batch: Any, offset: int) -> Any:
        values = batch.column(column)
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        return normalise(as_text(values))

    def codes(batch: Any, offset: int) -> tuple[np.ndarray, list[Any]] | None:
        values = batch.column(column)
        if not pa.types.is_dictionary(values.type):
            if not _is_text(values.type):
                return None  # spelled per row through pandas, as derive() does
            values = pc.dictionary_encode(values)
        if not _is_text(values.type.value_type):
            return None
        names = normalise(values.dictionary.cast(pa.string())).to_pylist() + [UNKNOWN_GROUP]
        indices = values.indices
        if indices.null_count:
            indices = pc.fill_null(indices, len(names) - 1)
        return np.asarray(indices.to_numpy(zero_copy_only=False)), names

    derive.codes = codes  # type: ignore[attr-defined]
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


def _batch_problems(policy: Any, frame: ArrowFrame, plan: DerivationPlan
                    ) -> tuple[list[RowProblem], int, Any]:
    """One scan of the score/decision columns: what is wrong with which rows (first
    positions in file order), how many rows lack a decision, and a per-batch function
    marking those rows (None when every row is valid)."""
    score = plan.score.source if plan.score is not None else None
    given = plan.decision if plan.decision is not None and plan.decision.op == POSITIVE else None
    prediction = given.source if given is not None else None
    sources = [c for c in (score, prediction) if c]
    if not sources:
        return [], 0, None

    def invalid_rows(table: pd.DataFrame) -> tuple[np.ndarray, list[RowProblem]]:
        invalid = np.zeros(len(table), dtype=bool)
        found: list[RowProblem] = []
        if plan.score is not None:
            _, bad, problems = score_problems(policy, table[score],
                                              decides=plan.score.params["decides"])
            invalid |= bad
            found += problems
        if given is not None:
            missing = table[prediction].isna().to_numpy()
            invalid |= missing
            found.append(_problem(given.params["where"], prediction, missing,
                                  "have no decision (an empty cell or a missing-value marker "
                                  "such as NA)"))
        return invalid, [p for p in found if p.count]

    bounds = plan.score.params["bounds"] if plan.score is not None else None

    def clean(table: Any) -> bool:
        """True when no row of the batch can lack a decision (checked in Arrow/NumPy;
        anything unusual goes through :func:`invalid_rows`, which says what and where)."""
        import pyarrow as pa

        if any(table.column(c).null_count for c in sources):
            return False
        if score is None:
            return True
        values = table.column(score)
        if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
            return False
        numbers = np.asarray(values.to_numpy(), dtype=float)
        if not np.isfinite(numbers).all():
            return False
        return bounds is None or not ((numbers < bounds[0]) | (numbers > bounds[1])).any()

    merged: dict[tuple[str, str], RowProblem] = {}
    total, offset = 0, 0
    for table in frame.batches(sources):
        if clean(table):
            offset += table.num_rows
            continue
        part = table.to_pandas()
        invalid, found = invalid_rows(part)
        total += int(invalid.sum())
        for problem in found:
            key = (problem.column, problem.problem)
            shifted = problem.positions + offset if problem.positions is not None else None
            if key not in merged:
                merged[key] = RowProblem(problem.where, problem.column, problem.problem,
                                         problem.count, shifted, problem.examples, problem.hint)
            else:
                old = merged[key]
                positions = np.concatenate([old.positions, shifted])[:5] \
                    if old.positions is not None and shifted is not None else old.positions
                merged[key] = RowProblem(old.where, old.column, old.problem,
                                         old.count + problem.count, positions, old.examples,
                                         old.hint)
        offset += table.num_rows
    if not total:
        return list(merged.values()), 0, None

    def valid(batch: Any, offset: int) -> Any:
        import pyarrow as pa

        invalid, _ = invalid_rows(pa.Table.from_batches([batch]).select(sources).to_pandas())
        return pa.array((~invalid).astype(np.int8))

    return list(merged.values()), total, ((tuple(sources)), valid)


def _compile(step: Derive, policy: Any, frame: ArrowFrame, engine: Any,
             derived: dict[str, Any], positives: dict[str, Any]) -> tuple[tuple[str, ...], Any]:
    """A plan step as (source columns, per-batch function); ``PREDICT`` is compiled by the
    caller (one ordered scan, not a function of a batch)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = frame.dataset.schema
    if step.op == POSITIVE:
        if step.params["missing"] == "refuse":
            refuse_missing(policy, "label", step.source,
                           _missing_count(engine, frame, step.source))
        positive = positives[step.name] = arrow_positive(
            frame, step.source, step.params["declared"], where=step.params["where"])
        return (step.source,), binarise_fn(step.source, schema.field(step.source).type, positive)
    if step.op == NUMBER:
        return (step.source,), score_fn(step.source)
    if step.op == AT_LEAST:
        sources, read = derived[step.source]
        threshold = step.params["threshold"]

        def at_least(batch: Any, offset: int) -> Any:
            above = pc.greater_equal(read(batch, offset), pa.scalar(threshold))
            return pc.cast(pc.fill_null(above, False), pa.int8())

        return sources, at_least
    if step.op == GROUP:
        return (step.source,), group_fn(step.source)
    raise ValueError(f"{step.op!r} is not a per-batch derivation")


def build_arrow_context(policy: Any, frame: ArrowFrame, engine: Any, *,
                        model: LoadedModel | None = None) -> Derived:
    """Validate a dataset against the policy and compile the derivation plan
    (:func:`cxaudit.engines.derive.derivation_plan`) to per-batch functions.

    Rows whose decision cannot be computed are counted as on the local engine; within
    ``data.max_invalid_decisions`` they are filtered out of every scan.
    """
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    plan = derivation_plan(policy, model=model is not None)
    columns = list(frame.dataset.schema.names)
    _require_columns(policy, columns)
    schema = frame.dataset.schema
    for attr in plan.protected:
        refuse_nested(policy, attr, nested_type(schema.field(attr).type))
    derived: dict[str, Any] = {}
    positives: dict[str, Any] = {}

    if plan.label is not None:
        derived[LABEL] = _compile(plan.label, policy, frame, engine, derived, positives)

    features = resolve_features(policy.data, model, columns)
    rows = int(frame.dataset.count_rows())
    problems, invalid, valid_fn = _batch_problems(policy, frame, plan)

    if plan.score is not None:
        derived[SCORE] = _compile(plan.score, policy, frame, engine, derived, positives)
    step = plan.decision
    if step is not None and step.op == PREDICT:
        assert model is not None
        positive = positives[step.params["positive_from"]] if step.params["positive_from"] \
            else step.params["declared"]
        decisions, scores = model_predictions(frame, model, features, positive=positive,
                                              threshold=step.params["threshold"])
        problems += model_problems(model, decisions, scores)
        missing = decisions < 0
        if missing.any():
            model_valid = _slice_fn((~missing).astype(np.int8))
            if valid_fn is None:
                valid_fn = ((), model_valid)
            else:  # a declared score column has invalid rows too: both must hold
                sources, score_valid = valid_fn

                def both(batch: Any, offset: int, _score: Any = score_valid) -> Any:
                    return pc.min_element_wise(_score(batch, offset), model_valid(batch, offset))

                valid_fn = (sources, both)
            invalid += int(missing.sum())  # an upper bound when both kinds overlap
        derived[DECISION] = ((), _slice_fn(np.where(missing, 0, decisions).astype(np.int8)))
        if scores is not None and step.params["scores_to"]:
            derived[step.params["scores_to"]] = ((), _slice_fn(scores))
    elif step is not None:
        derived[DECISION] = _compile(step, policy, frame, engine, derived, positives)

    refuse_invalid_rows(policy, problems, invalid, rows,
                        csv=isinstance(getattr(frame.dataset, "format", None), ds.CsvFileFormat))

    for group in plan.groups:
        derived[group.name] = _compile(group, policy, frame, engine, derived, positives)

    notes: dict[str, Any] = {}
    out = frame.with_columns(derived)
    if invalid and valid_fn is not None:  # within data.max_invalid_decisions: left out
        from dataclasses import replace

        out = replace(out.with_columns({VALID: valid_fn}), filters=((VALID, 1),))
        notes["excluded_rows"] = invalid
    return Derived(frame=out, data_columns=tuple(columns), features=features,
                   has_label=LABEL in derived, has_decision=DECISION in derived,
                   has_score=SCORE in derived, notes=notes)
