"""The engine interface: the few aggregates checks need, over engine-native frames.

Group metrics are functions of per-group counts, so the central primitive is a
one-pass count over combinations of columns (a bincount locally, a
``groupBy().count()`` on Spark). Results are always small pandas frames.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


class Binning:
    """How :meth:`Engine.binned_counts` buckets one column.

    ``edges`` (sorted, numeric): bin ``i`` holds values ``v`` with
    ``edges[i-1] <= v < edges[i]`` (bin 0 everything below ``edges[0]``, bin
    ``len(edges)`` everything from the last edge up). ``categories``: bin ``i``
    holds the ``i``-th category, bin ``len(categories)`` every other value.
    Missing values (and, with ``coerce_numeric``, text that is not a number)
    are bin ``-1``. Exactly one of ``edges`` and ``categories`` is set.
    """

    __slots__ = ("edges", "categories", "coerce_numeric")

    def __init__(self, *, edges: Sequence[float] | None = None,
                 categories: Sequence[Any] | None = None, coerce_numeric: bool = False) -> None:
        if (edges is None) == (categories is None):
            raise ValueError("a Binning has either edges or categories")
        self.edges = None if edges is None else [float(e) for e in edges]
        self.categories = None if categories is None else list(categories)
        self.coerce_numeric = coerce_numeric


class DataQualityAggregates(abc.ABC):
    """Aggregates the data-quality checks need (mixed into :class:`Engine`)."""

    @abc.abstractmethod
    def select(self, frame: Any, columns: Sequence[str]) -> Any:
        """Engine-native frame with only ``columns`` (no data is collected)."""

    @abc.abstractmethod
    def where_equal(self, frame: Any, column: str, value: Any) -> Any:
        """Engine-native frame with the rows whose ``column`` equals ``value``."""

    @abc.abstractmethod
    def missing_counts(self, frame: Any, columns: Sequence[str],
                       groupings: Sequence[Sequence[str]] = ((),), *,
                       blank_is_missing: bool = True) -> list[pd.DataFrame]:
        """Missing values per column for each grouping, in one pass over the data.

        A value is missing when it is null/NaN or, with ``blank_is_missing``,
        text made only of whitespace (CSV exports write unknown numbers as
        ``" "``). Returns one frame per grouping, shaped like
        :meth:`Engine.null_counts`: the grouping's columns, ``rows``, and one
        count column per entry of ``columns``.
        """

    @abc.abstractmethod
    def duplicate_keys(self, frame: Any, columns: Sequence[str], limit: int = 5
                       ) -> tuple[int, int, list[tuple[Any, ...]]]:
        """Rows sharing a key of ``columns`` with an earlier row.

        Returns (rows that repeat an earlier row's key, number of distinct keys
        that occur more than once, up to ``limit`` of those keys).
        """

    @abc.abstractmethod
    def datetime_range(self, frame: Any, column: str, *, format: str = "ISO8601"
                       ) -> dict[str, Any]:
        """Oldest and newest timestamp of ``column``, parsing text with ``format``.

        Returns ``min``/``max`` (pandas Timestamps or None), ``aware`` (True when
        the values carry a UTC offset; mixed offsets are converted to UTC),
        ``values`` (non-missing values) and ``unparseable`` (non-missing values
        that are not timestamps).
        """

    @abc.abstractmethod
    def quantiles(self, frame: Any, columns: Sequence[str], probs: Sequence[float], *,
                  coerce_numeric: Sequence[str] = ()) -> dict[str, list[float]]:
        """Quantiles of numeric columns, ignoring missing values (empty list if none).

        Columns named in ``coerce_numeric`` hold numbers as text; values that
        do not parse are treated as missing.
        """

    @abc.abstractmethod
    def top_values(self, frame: Any, columns: Sequence[str], limit: int
                   ) -> dict[str, list[Any]]:
        """The ``limit`` commonest non-missing values of each column, commonest first.

        Ties are broken by the values' text, so the result is deterministic.
        """

    @abc.abstractmethod
    def binned_counts(self, frame: Any, binnings: dict[str, Binning], by: Sequence[str] = ()
                      ) -> dict[str, pd.DataFrame]:
        """Histogram of each column per combination of ``by``, one pass per column.

        Returns, per column, a frame with ``by`` columns, ``bin`` (int, ``-1`` for
        missing) and ``count``; only combinations that occur are listed.
        """


class Engine(DataQualityAggregates, abc.ABC):
    """Computes aggregates over an engine-native frame."""

    name: str

    def with_row_values(self, frame: Any, name: str, values: Any) -> Any:
        """``frame`` plus a column ``name`` holding ``values`` (one per row, in row order).

        For checks that compute a per-row flag locally (e.g. consent as-of
        results) and then count it by group with :meth:`count_by`.
        """
        return frame.assign(**{name: values})

    def asof_records(self, frame: Any, id_column: str, times: Any, time_column: str | None,
                     ledger_ids: Any, ledger_starts: Any, ledger_rank: Any) -> Any:
        """For each row, the ledger record in force at its event time (-1: none).

        ``times`` are the rows' event times as int64 microseconds (``MISSING``
        for none), parsed on the driver from ``time_column`` (``None``: one
        instant for every row); the ledger arrays are those of
        :func:`cxaudit.consent.asof.asof_positions`, whose semantics every
        engine follows. Default: collect the ids and join on this machine.
        """
        from cxaudit.consent.asof import asof_positions, id_array

        ids = self.to_pandas(frame, [id_column])[id_column]
        return asof_positions(id_array(ids), times, ledger_ids, ledger_starts, ledger_rank)

    def distinct_where(self, frame: Any, column: str, mask: Any, limit: int
                       ) -> tuple[int, list[Any]]:
        """Distinct non-missing values of ``column`` on the rows where ``mask`` holds.

        Returns their number and the first ``limit`` of them in row order (the
        subjects a finding counts and lists, hashed, as examples).
        """
        values = self.to_pandas(frame, [column])[column].reset_index(drop=True)
        found = values[np.asarray(mask, dtype=bool)].dropna().drop_duplicates()
        return len(found), found.head(limit).tolist()

    def read_table(self, path: str | Path, *, role: str = "data",
                   text_columns: Sequence[str] = ()) -> Any:
        """Read the audited data into this engine's frame (default: pandas, CSV or Parquet).

        ``text_columns`` (the customer id) are read from CSV as text on every engine.
        """
        from cxaudit.loaders.data import read_table

        return read_table(path, role=role, text_columns=text_columns)

    @abc.abstractmethod
    def columns(self, frame: Any) -> list[str]:
        """Column names of ``frame``."""

    @abc.abstractmethod
    def num_rows(self, frame: Any) -> int:
        """Number of rows of ``frame``."""

    @abc.abstractmethod
    def count_by(self, frame: Any, columns: Sequence[str]) -> pd.DataFrame:
        """One pass: rows per observed combination of ``columns``.

        Returns a pandas frame with ``columns`` plus ``count`` (int64), one row
        per combination that occurs, sorted by ``columns``. Missing values in
        the key columns form their own combination (as NaN/None).
        """

    @abc.abstractmethod
    def null_counts(self, frame: Any, columns: Sequence[str], by: Sequence[str] = ()) -> pd.DataFrame:
        """Missing values per column, overall or per group of ``by``.

        Returns ``by`` columns plus ``rows`` and one column per entry of
        ``columns`` holding its count of missing values.
        """

    @abc.abstractmethod
    def to_pandas(self, frame: Any, columns: Sequence[str] | None = None,
                  limit: int | None = None) -> pd.DataFrame:
        """Collect (a sample of) ``frame`` as pandas, for checks that need rows."""

    @abc.abstractmethod
    def stratified_sample(self, frame: Any, by: Sequence[str], sizes: Mapping[tuple[str, ...], int],
                          columns: Sequence[str], seed: int) -> pd.DataFrame:
        """Draw a stratified random sample without replacement, as pandas.

        ``sizes`` maps each stratum — the values of ``by`` as a tuple of
        ``str`` (as :meth:`count_by` reports them, converted with ``str``) — to
        the number of rows to draw (capped at the stratum's size); strata not
        in ``sizes`` are not sampled. Returns ``columns`` plus ``by`` for the
        sampled rows, in their original row order, reproducible for a seed.
        """
