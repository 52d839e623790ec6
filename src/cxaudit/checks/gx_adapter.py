"""Great Expectations behind a small interface: names, validation, runs, results.

GX is imported lazily (about 3.5 s) and only when a GX-backed check is
declared. It always runs on an *ephemeral* context with in-memory stores:
nothing is written into the user's project, no progress bars are drawn, and
analytics are off (``GX_ANALYTICS_ENABLED=false`` before the import, and
``analytics_enabled=False`` in the context config), so GX never reaches the
network.

GX's results are folded into plain dictionaries with personal data masked:
``partial_unexpected_list`` holds raw values from the data, so every example
passes through :func:`mask_example`, and row references become salted hashes
of the customer id (:func:`cxaudit.masking.hash_id`).
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import functools
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cxaudit.lean import importing_without
from cxaudit.masking import hash_ids, mask_value

#: Expectation fields cxaudit sets itself; a policy may not.
RESERVED_KWARGS = frozenset({"id", "result_format", "rendered_content", "batch_id", "windows"})
#: How many unexpected values (masked) and row ids (hashed) a finding shows.
EXAMPLES = 5
#: Keys under which each folded result carries the expectation it belongs to.
META_KEY = "cxaudit_key"
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES,
                  "include_unexpected_rows": False}
# Message fragments GX adds for its "suite parameter" alternative ({"$PARAMETER": ...}),
# which cxaudit policies do not use: they only hide the real message.
_UNION_NOISE = ("value is not a valid dict",)


class ExpectationSpecError(ValueError):
    """An expectation declaration GX rejects: ``problems`` is [(field or "", message)]."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f + ': ' if f else ''}{m}" for f, m in problems))


#: Expectation names whose argument checks a policy load left for later (None: none left).
_DEFERRED: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "cxaudit_gx_deferred", default=None)


@contextlib.contextmanager
def deferring_argument_checks() -> Iterator[list[str]]:
    """Inside the block, policy validation leaves out GX's own checks of expectation
    arguments (the one step of loading a policy that needs GX imported, ~2 s) and lists
    the expectations it skipped. The caller validates the policy again, in full (GX
    imported, e.g. on a background thread), before it relies on those arguments: what
    is refused, and how, does not change."""
    token = _DEFERRED.set([])
    try:
        yield _DEFERRED.get()  # type: ignore[misc]
    finally:
        _DEFERRED.reset(token)


def argument_check_deferred(name: str) -> bool:
    """True (and ``name`` listed) inside :func:`deferring_argument_checks`."""
    deferred = _DEFERRED.get()
    if deferred is None:
        return False
    deferred.append(name)
    return True


@functools.lru_cache(maxsize=1)
def gx() -> Any:
    """Import and return the ``great_expectations`` module, with analytics off."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    try:
        # GX binds its Spark support for the life of the process when first imported.
        with warnings.catch_warnings(), importing_without("pyspark"):
            # GX imports pyspark whenever it is installed; pyspark warns about pandas 3 on
            # import, which a local audit has nothing to do with.
            warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas",
                                    FutureWarning)
            import great_expectations
    except ImportError as exc:
        raise ExpectationSpecError([("", "Great Expectations is not installed "
                                         f"({exc}); reinstall cxaudit (`pip install cxaudit`), "
                                         "which depends on it")]) from None
    return great_expectations


@functools.lru_cache(maxsize=1)
def expectation_names() -> tuple[str, ...]:
    """Every expectation GX Core registers, by snake_case name."""
    gx()
    from great_expectations.expectations.registry import (
        list_registered_expectation_implementations,
    )

    return tuple(sorted(n for n in list_registered_expectation_implementations()
                        if n.startswith("expect_")))


def expectation_class(name: str) -> type:
    """The GX class of expectation ``name``; :class:`ExpectationSpecError` if unknown."""
    names = expectation_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        if not close:  # fall back to shared words: "not_null" → expect_column_values_to_not_be_null
            words = set(name.split("_")) - {"expect", "to", "be", "column", "values"}
            close = sorted(names, key=lambda n: -len(words & set(n.split("_"))))[:3]
        raise ExpectationSpecError([("expectation", f"unknown expectation {name!r}; closest valid "
                                                    f"names: {', '.join(close)}")])
    from great_expectations.expectations.registry import get_expectation_impl

    return get_expectation_impl(name)


def argument_names(cls: type) -> list[str]:
    """Keyword arguments a policy may give an expectation class."""
    return [f for f in cls.__fields__ if f not in RESERVED_KWARGS]  # type: ignore[attr-defined]


def build_expectation(name: str, kwargs: dict[str, Any], *, key: str | None = None) -> Any:
    """A GX expectation object; :class:`ExpectationSpecError` with GX's own messages."""
    cls = expectation_class(name)
    reserved = sorted(set(kwargs) & RESERVED_KWARGS)
    if reserved:
        raise ExpectationSpecError([(r, f"`{r}` is set by cxaudit, not in the policy")
                                    for r in reserved])
    meta = dict(kwargs.get("meta") or {})
    if key is not None:
        meta[META_KEY] = key
    arguments = {**kwargs, **({"meta": meta} if meta else {})}
    try:
        return cls(**arguments)
    except Exception as exc:
        raise ExpectationSpecError(_problems_from(exc, name, cls)) from None


def _problems_from(exc: Exception, name: str, cls: type) -> list[tuple[str, str]]:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return [("", f"{name}: {exc}")]
    by_field: dict[str, list[str]] = {}
    for error in errors():
        loc = [str(p) for p in error.get("loc", ()) if p != "__root__"]
        field = loc[0] if loc else ""
        kind = error.get("type", "")
        if kind == "value_error.extra":
            valid = argument_names(cls)
            close = difflib.get_close_matches(field, valid, n=1, cutoff=0.6)
            message = (f"unknown argument `{field}` for {name}"
                       + (f" (did you mean `{close[0]}`?)" if close
                          else f"; it takes: {', '.join(v for v in valid if v not in _COMMON)}"))
        elif kind == "value_error.missing":
            message = f"`{field}` is required by {name}"
        else:
            message = f"{name}: {error.get('msg', '')}"
        by_field.setdefault(field, [])
        if message not in by_field[field]:
            by_field[field].append(message)
    problems = []
    for field, messages in by_field.items():
        kept = [m for m in messages if not m.endswith(_UNION_NOISE)] or messages
        problems.append((field, " / ".join(kept)))
    return problems


_COMMON = frozenset({"meta", "notes", "description", "catch_exceptions", "severity",
                     "row_condition", "condition_parser"})


@dataclass
class GxRun:
    """One expectation's outcome, folded and masked."""

    expectation: str
    kwargs: dict[str, Any]
    success: bool
    severity: str
    result: dict[str, Any]
    error: str | None = None


class GxSession:
    """An ephemeral GX context with one pandas data source; reused for a whole audit."""

    def __init__(self, engine_name: str = "local") -> None:
        module = gx()
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(),
                                   analytics_enabled=False,
                                   progress_bars=ProgressBarsConfig(globally=False))
        self._gx = module
        self._context = module.get_context(mode="ephemeral", project_config=config)
        if engine_name == "local":
            source = self._context.data_sources.add_pandas("cxaudit")
        elif engine_name == "spark":  # same declarations on Spark (not exercised by tests yet)
            source = self._context.data_sources.add_spark("cxaudit")
        else:
            raise ValueError(f"no Great Expectations data source for engine {engine_name!r}")
        self._definition = source.add_dataframe_asset("table").add_batch_definition_whole_dataframe(
            "whole")
        self._suites = 0

    def validate(self, frame: Any, expectations: Sequence[tuple[str, Any]], *,
                 id_columns: dict[str, str | None] | None = None) -> dict[str, GxRun]:
        """Validate ``frame`` against [(key, expectation)] in one GX pass.

        Returns the folded result of each expectation by key. ``id_columns``
        names, per key, the customer id column whose values (hashed) identify
        example rows.
        """
        id_columns = id_columns or {}
        folded: dict[str, GxRun] = {}
        for columns, part in _partition(frame, expectations):
            self._suites += 1
            suite = self._gx.ExpectationSuite(name=f"cxaudit-{self._suites}")
            for _, expectation in part:
                suite.add_expectation(expectation)
            result_format = dict(_RESULT_FORMAT)
            index_column = _index_column(frame, [id_columns.get(key) for key, _ in part])
            if index_column is not None:
                # Spark rows have no labels: GX reports the id of each example row instead.
                result_format["unexpected_index_column_names"] = [index_column]
                if columns is not None:
                    columns = tuple(sorted({*columns, index_column}))
            with _fast_paths(), warnings.catch_warnings():
                batch = self._definition.get_batch(
                    batch_parameters={"dataframe": _project(frame, columns)})
                # GX's regex expectations call pandas str.contains, which warns about capturing
                # groups; the warning is noise for users and an error under `-W error`.
                warnings.filterwarnings("ignore", message="This pattern is interpreted as a "
                                        "regular expression, and has match groups",
                                        category=UserWarning)
                outcome = batch.validate(suite, result_format=result_format)
            for result in outcome.results:
                key = (result.expectation_config.meta or {}).get(META_KEY)
                folded[key] = fold(result, frame, id_columns.get(key))
        return folded


_COLUMN_ARGUMENTS = ("column", "column_A", "column_B", "column_list", "column_set")


@contextlib.contextmanager
def _fast_paths() -> Iterator[None]:
    """Skip two costs GX's pandas engine pays for nothing here (results are unchanged).

    - Every batch is fingerprinted by hashing the whole frame (``HASH_THRESHOLD``:
      frames under 1 GB); cxaudit never reads the fingerprint, and on 1,000,000
      rows the hash costs more than the expectation.
    - Mean, sum and standard deviation first look for ``decimal.Decimal`` values
      with a Python loop over every row, even in a float64 column, which cannot
      hold one; only object columns need the loop.

    Both are restored on exit, so other GX users in the process are unaffected.
    """
    from great_expectations import util
    from great_expectations.execution_engine import pandas_execution_engine as engine

    threshold = getattr(engine, "HASH_THRESHOLD", None)
    original = getattr(util, "does_ndarray_contain_decimal_dtype", None)

    def contains_decimal(data: Any) -> bool:
        if getattr(data, "dtype", None) is not None and data.dtype.kind != "O":
            return False
        return bool(original(data)) if original is not None else False

    try:
        if threshold is not None:
            engine.HASH_THRESHOLD = 0
        if original is not None:
            util.does_ndarray_contain_decimal_dtype = contains_decimal
        yield
    finally:
        if threshold is not None:
            engine.HASH_THRESHOLD = threshold
        if original is not None:
            util.does_ndarray_contain_decimal_dtype = original


def _partition(frame: Any, expectations: Sequence[tuple[str, Any]]
               ) -> list[tuple[tuple[str, ...] | None, list[tuple[str, Any]]]]:
    """Group expectations by the columns they read (None: the whole table).

    GX's pandas engine filters the *whole* frame for every column metric, so
    a metric on one column costs as much as the table is wide; validating
    each column's expectations on that column alone makes a wide table cheap.
    """
    available = set(_columns(frame))
    parts: dict[tuple[str, ...] | None, list[tuple[str, Any]]] = {}
    for key, expectation in expectations:
        kwargs = dict(expectation.configuration.kwargs)
        used: list[str] = []
        for name in _COLUMN_ARGUMENTS:
            value = kwargs.get(name)
            if isinstance(value, str):
                used.append(value)
            elif isinstance(value, (list, tuple)):
                used.extend(str(v) for v in value)
        whole = (not used or kwargs.get("row_condition") or not set(used) <= available)
        columns = None if whole else tuple(sorted(set(used)))
        parts.setdefault(columns, []).append((key, expectation))
    return list(parts.items())


def _columns(frame: Any) -> list[str]:
    return [str(c) for c in frame.columns]


def _is_pandas(frame: Any) -> bool:
    # (not `hasattr(frame, "loc")`: a Spark Connect frame answers any attribute)
    import pandas as pd

    return isinstance(frame, pd.DataFrame)


def _index_column(frame: Any, id_columns: list[str | None]) -> str | None:
    """The one id column whose values name example rows on Spark (None on pandas)."""
    named = {c for c in id_columns if c is not None}
    if _is_pandas(frame) or len(named) != 1:
        return None
    column = named.pop()
    return column if column in _columns(frame) else None


def _project(frame: Any, columns: tuple[str, ...] | None) -> Any:
    if columns is None:
        return frame
    if _is_pandas(frame):
        return frame[list(columns)]
    return frame.select(*columns)  # Spark


def fold(result: Any, frame: Any, id_column: str | None) -> GxRun:
    """Fold one GX ExpectationValidationResult into a :class:`GxRun` (masked)."""
    config = result.expectation_config
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k not in ("batch_id",)}
    raw = dict(result.result or {})
    info = result.exception_info or {}
    error = None
    if info.get("raised_exception"):
        error = str(info.get("exception_message") or "GX raised an exception")
    else:  # exception_info can be {metric id: {...}} when a metric failed
        for value in info.values():
            if isinstance(value, dict) and value.get("raised_exception"):
                error = str(value.get("exception_message") or "GX raised an exception")
                break
    if error is not None:
        named = [str(v) for k in _COLUMN_ARGUMENTS for v in
                 (kwargs.get(k) if isinstance(kwargs.get(k), (list, tuple)) else [kwargs.get(k)])
                 if v is not None]
        error = scrub(error, [*_columns(frame), *named])[:300]
    column = kwargs.get("column")
    masked: dict[str, Any] = {}
    for field in ("element_count", "unexpected_count", "unexpected_percent", "missing_count",
                  "missing_percent"):
        if raw.get(field) is not None:
            masked[field] = _plain_number(raw[field])
    if "observed_value" in raw:
        masked["observed_value"] = mask_observed(raw["observed_value"])
    if raw.get("partial_unexpected_list"):
        is_id = column is not None and column == id_column
        shown = raw["partial_unexpected_list"][:EXAMPLES]
        masked["examples"] = (hash_ids(shown, limit=EXAMPLES) if is_id
                              else [mask_example(v) for v in shown])
    rows = raw.get("partial_unexpected_index_list")
    if rows and id_column is not None:
        masked["example_ids"] = _hashed_ids(frame, id_column, rows)
    severity = getattr(getattr(config, "severity", None), "value", None) or "critical"
    return GxRun(expectation=config.type, kwargs=_jsonable(kwargs), success=bool(result.success),
                 severity=str(severity), result=masked, error=error)


def scrub(message: str, columns: Sequence[str] = ()) -> str:
    """Mask quoted values in an error message (``could not convert 'jane@x.com'``).

    Quoted column names stay readable: they come from the policy, not the data.
    """
    import re

    known = set(columns)

    def mask(match: re.Match[str]) -> str:
        quote, text = match.group(1), match.group(2)
        return match.group(0) if text in known else f"{quote}{mask_value(text)}{quote}"

    return re.sub(r"(['\"])(.*?)\1", mask, message)


def _hashed_ids(frame: Any, id_column: str, rows: list[Any]) -> list[str]:
    """Hashed ids of example rows: GX gives row labels (pandas) or {id column: id} (Spark)."""
    named = [r[id_column] for r in rows[:EXAMPLES] if isinstance(r, dict) and id_column in r]
    if named or not _is_pandas(frame):
        return hash_ids(named, limit=EXAMPLES)
    labels = [r for r in rows[:EXAMPLES] if not isinstance(r, dict)]
    try:
        return hash_ids(frame.loc[labels, id_column].tolist(), limit=EXAMPLES)
    except (KeyError, TypeError):
        return []


def _plain_number(value: Any) -> float | int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if float(number).is_integer() and not isinstance(value, float) else number


def mask_example(value: Any) -> Any:
    """An unexpected value as a finding may show it: small numbers as is, the rest masked.

    Text, dates and long numbers (phone numbers, account numbers) can identify
    a customer, so they are masked with :func:`cxaudit.masking.mask_value`.
    """
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return "<blank>" if not value else f"<blank: {len(value)} whitespace>"
    if isinstance(value, bool):
        return str(value)
    number = _plain_number(value) if not isinstance(value, str) else None
    if number is not None and abs(number) < 1e6:
        return number
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return mask_value(value)


def mask_observed(value: Any) -> Any:
    """GX's observed value, masked like an example (lists and mappings element-wise)."""
    if isinstance(value, dict):
        return {str(k): mask_observed(v) for k, v in list(value.items())[:10]}
    if isinstance(value, (list, tuple)):
        return [mask_example(v) for v in list(value)[:10]]
    return mask_example(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    number = _plain_number(value)
    return number if number is not None else str(value)


__all__ = ["ExpectationSpecError", "GxRun", "GxSession", "argument_names", "build_expectation",
           "expectation_class", "expectation_names", "fold", "gx", "mask_example", "mask_observed",
           "scrub"]
