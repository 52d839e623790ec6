"""The rules every engine derives the audit's columns by, and their pandas forms.

Which value of a label or decision column is positive (:func:`resolve_positive`), which
rows cannot be audited and why (:class:`RowProblem`, :func:`score_problems`,
:func:`model_problems`, :func:`refuse_invalid_rows`), which inputs are refused
(missing columns, nested values, missing labels) and what the model's features are.
The local engine applies them to pandas columns (:func:`binarise`,
:func:`group_values`); the Arrow and Spark engines compile the same rules
(:mod:`cxaudit.engines.derive`). Moved here from :mod:`cxaudit.context` (issue 17),
which re-exports the names, so that engines never import the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.engines.derive import UNKNOWN_GROUP
from cxaudit.errors import DataError
from cxaudit.loaders.data import missing_column_error
from cxaudit.loaders.model import LoadedModel
from cxaudit.policy.model import Policy

_TRUTHY = {"yes", "y", "true", "t", "1", "positive", "pos"}


def positive_value(series: pd.Series, declared: Any, *, where: str) -> Any:
    """The value of ``series`` that counts as positive (the first, when a list is declared).

    Validates the column as :func:`resolve_positive` does, from its distinct values.
    """
    return resolve_positive(distinct_values(series), declared, column=str(series.name),
                            where=where, numeric=_numeric(series),
                            boolean=pd.api.types.is_bool_dtype(series))[0]


#: Distinct values read to validate a label or decision column (one more tells "more than").
DISTINCT_LIMIT = 50


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def distinct_values(series: pd.Series, limit: int = DISTINCT_LIMIT + 1) -> list[Any]:
    """Up to ``limit`` distinct non-missing values, in order of appearance."""
    return list(pd.unique(series.dropna())[:limit])


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def matches(value: Any, positive: Any, numeric: bool) -> bool:
    """Whether a column value equals a positive value, as :func:`binarise` compares them."""
    if numeric and isinstance(positive, (int, float, bool)) and not isinstance(value, str):
        try:
            return float(value) == float(positive)
        except (TypeError, ValueError):
            return False
    return str(value) == str(positive)


def resolve_positive(distinct: list[Any], declared: Any, *, column: str, where: str,
                     numeric: bool, boolean: bool = False) -> list[Any]:
    """The positive values of a label or decision column, validated against its values.

    ``distinct``: up to ``DISTINCT_LIMIT + 1`` distinct non-missing values (native types
    for numeric columns, text as the engine spells it otherwise). Input errors, never a
    silent misreading: a declared positive value that does not occur while other values
    do (``"Yes"`` against 0/1); more than two values without an explicit ``positive:``
    list (a third class is never lumped into the negative one); numbers other than 0/1
    with no positive value declared. Messages show values only when the column is a
    small non-personal vocabulary (:func:`cxaudit.masking.shown_values`).
    """
    from cxaudit.masking import looks_personal, shown_values

    count = len(distinct)
    counted = f"more than {DISTINCT_LIMIT}" if count > DISTINCT_LIMIT else str(count)
    personal = looks_personal(column, distinct)

    def values() -> str:
        return shown_values(column, distinct, personal=personal)

    if declared is None:
        if boolean:
            return [True]
        if numeric:
            if not all(matches(v, 0, True) or matches(v, 1, True) for v in distinct):
                raise DataError(f"{where}: column {column!r} holds {counted} distinct numbers "
                                f"({values()}), not only 0 and 1",
                                hint="say which values are positive: `positive: [1]` (a list "
                                     "when more than one value counts as positive)")
            return [1]
        truthy = [v for v in distinct if str(v).strip().lower() in _TRUTHY]
        if count > 2:
            raise DataError(f"{where}: column {column!r} has {counted} distinct values "
                            f"({values()}); with more than two, cxaudit does not guess which "
                            "are positive", hint="list them: `positive: [\"Yes\"]` in the "
                                                 "data section")
        if len(truthy) == 1:
            return [truthy[0]]
        raise DataError(f"{where}: cannot tell which value of {column!r} is positive "
                        f"(values: {values()})",
                        hint="set data.positive in the policy, e.g. `positive: \"Yes\"`")
    wanted = list(declared) if isinstance(declared, (list, tuple)) else [declared]
    if count > 2 and not isinstance(declared, (list, tuple)):
        raise DataError(f"{where}: column {column!r} has {counted} distinct values "
                        f"({values()}) but data.positive names one ({declared!r}); the others "
                        "would all count as negative",
                        hint="list every positive value: `positive: [...]`, or clean the column "
                             "to two values")
    present = [p for p in wanted if any(matches(v, p, numeric) for v in distinct)]
    mismatch = count == 1 and not present and any(_is_number(p) != numeric for p in wanted)
    if not present and (count >= 2 or mismatch):
        shown = ", ".join(repr(p) for p in wanted)
        raise DataError(f"{where}: the positive value {shown} (data.positive) does not occur "
                        f"in column {column!r}, whose values are {values()}: every row would "
                        "count as negative",
                        hint="set data.positive to the value the column uses for a positive "
                             "outcome (spelled and typed as in the data)")
    return wanted


def binarise(series: pd.Series, positive: Any) -> np.ndarray:
    """0/1 array: 1 where ``series`` equals ``positive`` (one value or a list; numbers
    compared as numbers)."""
    wanted = list(positive) if isinstance(positive, (list, tuple)) else [positive]
    if pd.api.types.is_numeric_dtype(series) and all(isinstance(p, (int, float, bool))
                                                      for p in wanted):
        return series.isin(wanted).to_numpy(dtype=bool).astype(np.int8)
    text = series.astype("string").isin([str(p) for p in wanted])
    return text.fillna(False).to_numpy(dtype=bool).astype(np.int8)


@dataclass(frozen=True)
class RowProblem:
    """Rows whose decision (or score) cannot be computed, for one reason."""

    where: str
    column: str
    problem: str
    count: int
    #: 0-based positions of the first rows (None: the engine keeps no row order).
    positions: np.ndarray | None = None
    examples: str = ""
    hint: str = ""

    def format(self, csv: bool = True) -> str:
        """``WHERE: column 'score': 3 row(s) hold ... (lines 6, 11, 32; values ...)``: file
        lines of a CSV (header line 1), 1-based row numbers otherwise (Parquet)."""
        from cxaudit.loaders.timestamps import row_list

        located = ""
        if self.positions is not None and len(self.positions):
            located = row_list(self.positions) if csv else \
                row_list(self.positions, header=False).replace("line", "row", 1)
            if self.count > len(self.positions) and not located.endswith("…"):
                located += " …"
        detail = "; ".join(x for x in (located, self.examples) if x)
        return (f"{self.where}: column {self.column!r}: {self.count} row(s) {self.problem}"
                + (f" ({detail})" if detail else ""))


def refuse_invalid_rows(policy: Policy, problems: list[RowProblem], invalid: int,
                        rows: int, *, csv: bool = True) -> None:
    """Raise the input error when more rows than ``data.max_invalid_decisions`` lack a
    decision; fewer are left out of the audit (the caller drops them)."""
    problems = [p for p in problems if p.count]
    if not problems:
        return
    tolerance = policy.data.max_invalid_decisions
    if invalid <= tolerance:
        return
    lines = [p.format(csv) for p in problems]
    hints = [p.hint for p in problems if p.hint]
    raise DataError("\n".join(lines) + (f"\n{invalid} of {rows} row(s) have no valid decision, "
                                        f"more than data.max_invalid_decisions ({tolerance})"
                                        if len(problems) > 1 or tolerance else ""),
                    hint="; ".join(dict.fromkeys([*hints, (
                        "fix or drop those rows; data.max_invalid_decisions sets how many "
                        "may be left out of the audit instead")])))


def score_problems(policy: Policy, values: pd.Series, *, decides: bool
                   ) -> tuple[np.ndarray, np.ndarray, list[RowProblem]]:
    """The declared score column as floats, the rows that cannot be audited, and why.

    A score must be a finite number, within ``data.score_range`` when the policy gives
    one, else within [0, 1] when it makes the decisions (probabilities against
    ``decision_threshold``)."""
    spec = policy.data
    column = str(values.name)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = values.isna().to_numpy()
    not_number = ~missing & ~np.isfinite(numbers)
    bounds = spec.score_range or ((0.0, 1.0) if decides else None)
    outside = np.zeros(len(values), dtype=bool)
    if bounds is not None:
        with np.errstate(invalid="ignore"):
            outside = np.isfinite(numbers) & ((numbers < bounds[0]) | (numbers > bounds[1]))
    where = policy.locate("data", "score")
    problems = [
        _problem(where, column, missing, "have no score (an empty cell or a missing-value marker such as NA)"),
        _problem(where, column, not_number, "hold a score that is not a finite number",
                 _decimal_comma_hint(values[not_number]), values=values),
        _problem(where, column, outside, *_range_words(spec, bounds), values=values)
        if bounds is not None else None,
    ]
    invalid = missing | not_number | outside
    return numbers, invalid, [p for p in problems if p is not None and p.count]


def _decimal_comma_hint(bad: pd.Series) -> str:
    sample = bad.head(50).astype(str).str.strip()
    if len(sample) and sample.str.fullmatch(r"[-+]?\d+,\d+").mean() > 0.5:
        return "the scores use ',' as the decimal point: re-export them with '.'"
    return ""


def _range_words(spec: Any, bounds: tuple[float, float]) -> tuple[str, str]:
    text = f"hold a score outside [{bounds[0]:g}, {bounds[1]:g}]"
    if spec.score_range:
        return text + " (data.score_range)", ""
    return (text + " (probabilities, compared with decision_threshold)",
            "scores on another scale need data.score_range, e.g. `score_range: [300, 850]`")


def _problem(where: str, column: str, mask: np.ndarray, problem: str, hint: str = "", *,
             values: pd.Series | None = None) -> RowProblem:
    from cxaudit.masking import shown_values

    positions = np.flatnonzero(mask)
    examples = ""
    if values is not None and len(positions):
        bad = values.iloc[positions[:200]]
        distinct = list(pd.unique(bad.astype(str)))[:DISTINCT_LIMIT]
        examples = "values " + shown_values(column, [bad.iloc[i] for i in range(min(3, len(bad)))],
                                            personal=_personal(column, distinct))
    return RowProblem(where=where, column=column, problem=problem, count=int(mask.sum()),
                      positions=positions[:5], examples=examples, hint=hint)


def _personal(column: str, values: list[Any]) -> bool:
    from cxaudit.masking import looks_personal

    return looks_personal(column, values)


def model_problems(model: LoadedModel, decisions: np.ndarray, scores: np.ndarray | None,
                   offset: int = 0) -> list[RowProblem]:
    """Rows the model gave no decision for (see :data:`cxaudit.loaders.model.NO_DECISION`)."""
    from cxaudit.loaders.model import NO_DECISION

    invalid = np.asarray(decisions) == NO_DECISION
    if not invalid.any():
        return []
    where = f"model {model.source}"
    if scores is None:
        return [RowProblem(where, "prediction", "have no prediction (missing output)",
                           int(invalid.sum()), np.flatnonzero(invalid)[:5] + offset)]
    not_finite = ~np.isfinite(scores)
    outside = invalid & ~not_finite
    return [p for p in (
        RowProblem(where, "predict_proba", "have a probability that is not a finite number",
                   int(not_finite.sum()), np.flatnonzero(not_finite)[:5] + offset,
                   hint="the model returned NaN or infinite probabilities for those rows"),
        RowProblem(where, "predict_proba", "have a probability outside [0, 1]",
                   int(outside.sum()), np.flatnonzero(outside)[:5] + offset,
                   hint="the model must return probabilities, not margins or scores"),
    ) if p.count]


_SCALAR_KINDS = {"string", "bytes", "floating", "integer", "mixed-integer-float", "decimal",
                 "boolean", "datetime64", "datetime", "date", "timedelta64", "timedelta",
                 "time", "period", "empty", "categorical"}


def refuse_nested(policy: Policy, column: str, kind: str | None) -> None:
    """A protected attribute holding lists or mappings is bad input, not a group name."""
    if kind:
        index = list(policy.data.protected).index(column)
        raise DataError(f"{policy.locate('data', 'protected', index)}: protected attribute "
                        f"{column!r} holds {kind}, not one value per row",
                        hint="give each row one group value (one column per attribute)")


def nested_kind(series: pd.Series) -> str | None:
    """``"lists"`` / ``"mappings"`` when a (Parquet) column holds them, else None."""
    if series.dtype != object:
        return None
    if pd.api.types.infer_dtype(series, skipna=True) in _SCALAR_KINDS:
        return None
    for value in series.dropna():
        if isinstance(value, dict):
            return "mappings"
        if isinstance(value, (list, tuple, set, np.ndarray)):
            return "lists"
    return None


def _group_text(values: pd.Series) -> pd.Series:
    """Group names: the values as text, stripped; missing or blank → ``unknown``."""
    text = values.astype("string").fillna(UNKNOWN_GROUP).str.strip()
    return text.mask(text == "", UNKNOWN_GROUP)


def _distinct_codes(values: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """Per-row codes (-1: missing) and the distinct values, for columns whose distinct
    values spell as text exactly as each row does (text, integers, booleans,
    categories); None otherwise (object or float columns: ``1`` and ``1.0``, or ``0.0``
    and ``-0.0``, are one distinct value but two spellings)."""
    dtype = values.dtype
    storage = getattr(dtype, "storage", None)
    if (isinstance(dtype, pd.StringDtype) and storage == "pyarrow") or (
            isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype)):
        import pyarrow as pa
        import pyarrow.compute as pc

        array = values.array.__arrow_array__()
        if not isinstance(array, pa.ChunkedArray):
            array = pa.chunked_array([array])
        if array.num_chunks == 0:
            return np.full(len(values), -1, dtype=np.int64), pd.Series([], dtype=object)
        encoded = pc.dictionary_encode(array).unify_dictionaries()
        codes = np.concatenate([
            pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
            for chunk in encoded.chunks])
        return codes, pd.Series(encoded.chunk(0).dictionary.to_pylist(), dtype=object)
    if isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype)) or \
            pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return np.asarray(codes, dtype=np.int64), pd.Series(np.asarray(uniques, dtype=object))
    return None


def group_values(values: pd.Series) -> pd.Categorical:
    """The derived group column of a protected attribute: each value as stripped text,
    missing or blank as ``unknown``, held as categories in sorted order (the dictionary
    codes the engines count by: :meth:`cxaudit.engines.local.LocalEngine.count_by`).

    The text is computed once per distinct value where that is exact (see
    :func:`_distinct_codes`), else per row."""
    found = _distinct_codes(values)
    if found is None:
        text = _group_text(values).astype(object).to_numpy()
        categories = sorted(set(text.tolist()))
        return pd.Categorical(text, categories=categories)
    codes, uniques = found
    names = [*_group_text(uniques).tolist(), UNKNOWN_GROUP]
    categories = sorted(set(names))
    position = {name: index for index, name in enumerate(categories)}
    lookup = np.array([position[n] for n in names], dtype=np.int64)
    return pd.Categorical.from_codes(lookup[codes], categories=categories)


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
    from cxaudit.loaders.timestamps import row_list

    what, hint = _MISSING_HINTS[key]
    where = f" ({row_list(np.asarray(lines) - 2)}{' …' if count > len(lines) else ''})" \
        if lines else ""
    raise DataError(f"{policy.locate('data', key)}: {what} column {column!r} has {count} "
                    f"missing value(s){where}", hint=hint)


#: What a check that reads the model's inputs says when they are not known.
DECLARE_FEATURES = "declare `data.features` (the model's inputs)"


def features_known(policy: Policy, model: LoadedModel | None) -> bool:
    """Whether the model's inputs are known: named by the model (scikit-learn
    ``feature_names_in_``, LightGBM, an MLflow signature) or declared in ``data.features``.
    Otherwise :func:`resolve_features` guesses (every unreserved column), and checks
    about the inputs are inconclusive rather than judged on that guess."""
    return bool(policy.data.features) or bool(model is not None and model.feature_names)


def features_disagreement(policy: Policy, model: LoadedModel | None
                          ) -> tuple[list[str], list[str]] | None:
    """``(policy's list, model's names)`` when ``data.features`` and the model's own
    feature names are not the same set of columns, else None."""
    declared = list(policy.data.features or [])
    named = list(model.feature_names or []) if model is not None else []
    if not declared or not named or set(declared) == set(named):
        return None
    return declared, named


def resolve_features(spec: Any, model: LoadedModel | None, columns: list[str]) -> tuple[str, ...]:
    """Model inputs: the names the model declares (what it really reads), else the
    policy's ``data.features``, else every column the policy does not reserve (a guess:
    see :func:`features_known`); a feature the data lacks is bad input."""
    named = model.feature_names if model is not None and model.feature_names else ()
    features = tuple(named or spec.features or ())
    if not features:
        reserved = {spec.id, spec.label, spec.prediction, spec.score, spec.timestamp}
        features = tuple(c for c in columns if c not in reserved)
    if model is not None:
        absent = [f for f in features if f not in columns]
        if absent:
            raise missing_column_error(absent[0], columns, role="data", where=model.source,
                                       what="model feature")
    return features

