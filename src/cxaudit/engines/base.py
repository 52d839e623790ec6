"""The engine interface: the few aggregates checks need, over engine-native frames.

Group metrics are functions of per-group counts, so the central primitive is a
one-pass count over combinations of columns (a bincount locally, a
``groupBy().count()`` on Spark). Results are always small pandas frames.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


class Engine(abc.ABC):
    """Computes aggregates over an engine-native frame."""

    name: str

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
