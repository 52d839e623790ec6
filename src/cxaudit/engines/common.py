"""Helpers shared by engines whose aggregates arrive as (key, count) rows.

The local engine defines the result contract of ``count_by`` and
``null_counts``: one row per observed combination, sorted by the key columns
with missing values last, missing values as ``None``. Distributed and
streaming engines collect small per-group tables and pass them through
:func:`canonical_counts` so every engine hands checks the same frame.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN and pandas' missing markers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((1, 0) if is_missing(v) else (0, v) for v in key)


def canonical_counts(columns: Sequence[str], rows: Iterable[tuple[tuple[Any, ...], int]],
                     value_columns: Sequence[str] = ("count",)) -> pd.DataFrame:
    """Merge ``(key, values)`` rows into the local engine's sorted frame.

    Parameters
    ----------
    columns
        Names of the key columns.
    rows
        ``(key tuple, value or tuple of values)`` pairs; keys may repeat (they
        are summed) and may hold NaN, which is folded into ``None`` as the
        local engine folds NaN and null into one missing group.
    value_columns
        Names of the summed value columns (default: ``count``).

    Returns
    -------
    pandas.DataFrame
        ``columns`` then ``value_columns`` (int64), one row per distinct key,
        sorted by key with missing values last.
    """
    columns = list(columns)
    width = len(value_columns)
    merged: dict[tuple[Any, ...], list[int]] = {}
    for key, values in rows:
        key = tuple(None if is_missing(v) else v for v in key)
        values = values if isinstance(values, (tuple, list)) else (values,)
        into = merged.setdefault(key, [0] * width)
        for index, value in enumerate(values):
            into[index] += int(value)
    ordered = sorted(merged, key=_sort_key)
    data: dict[str, Any] = {c: [k[i] for k in ordered] for i, c in enumerate(columns)}
    for index, name in enumerate(value_columns):
        data[name] = np.array([merged[k][index] for k in ordered], dtype=np.int64)
    return pd.DataFrame(data)


_FRAME_METHODS = ("columns", "num_rows", "count_by", "null_counts", "to_pandas", "select",
                  "where_equal", "missing_counts", "duplicate_keys", "datetime_range", "quantiles",
                  "top_values", "binned_counts", "stratified_sample", "with_row_values",
                  "asof_records", "distinct_where")


def accept_pandas(cls: type) -> type:
    """Let every frame method also take pandas frames (small side inputs such as the
    reference data or the consent ledger stay pandas) by handing them to the local engine."""
    for name in _FRAME_METHODS:
        method = getattr(cls, name, None)
        if method is None:
            continue

        def wrapper(self: Any, frame: Any, *args: Any, _method: Any = method, _name: str = name,
                    **kwargs: Any) -> Any:
            if isinstance(frame, pd.DataFrame):
                from cxaudit.engines.local import LocalEngine

                return getattr(LocalEngine(), _name)(frame, *args, **kwargs)
            return _method(self, frame, *args, **kwargs)

        functools.update_wrapper(wrapper, method)
        setattr(cls, name, wrapper)
    return cls
