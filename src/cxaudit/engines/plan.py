"""The aggregation plan of one audit: every count a check needs, from one scan.

Before any check runs, the runner asks each count-based check which
``count_by`` tables it will read (attribute sets × label × decision). A
:class:`CountPlan` merges them into the finest grouping that answers them all
(the union of their columns), the engine computes that grouping once
(:meth:`cxaudit.engines.base.Engine.count_by`: a dictionary-code bincount
locally and per Arrow batch, one ``groupBy`` on Spark), and each request is
then a marginal of the small cell table, summed in NumPy. Counts are integers,
so a marginal equals the engine's own ``count_by`` of those columns exactly
(the same frame: key columns sorted, missing keys last, ``count`` int64).

::

    checks ──needs──▶ plan (finest cells) ──count_by──▶ engine: local | arrow | spark
       ▲                                                   │ one scan
       └────────── marginals (NumPy, tiny) ◀──── cell table ┘

Only columns whose values are few may be planned (derived groups, labels,
decisions: see :data:`PLANNABLE_PREFIX`); a request naming any other column
(a score, an outcome value) is not planned and its check scans as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Derived audit columns (``__cx_group__*``, ``__cx_label``, ``__cx_decision``) have a
#: handful of values each and are never missing; scores (``__cx_score``) are not planned.
PLANNABLE_PREFIX = ("__cx_group__", "__cx_label", "__cx_decision")

#: Largest finest grouping computed (cells that occur); beyond it the plan is dropped and
#: checks count for themselves (each attribute set is then smaller than the whole).
MAX_CELLS = 1_000_000

#: ``AuditContext.notes`` key of the computed plan.
NOTE = "count_plan"


def plannable(columns: Sequence[str]) -> bool:
    """Whether a ``count_by`` request over ``columns`` may come from the plan."""
    return bool(columns) and all(str(c).startswith(PLANNABLE_PREFIX) for c in columns)


@dataclass
class CountPlan:
    """The ``count_by`` requests of one audit and the finest grouping answering them."""

    requests: list[tuple[str, ...]] = field(default_factory=list)

    def add(self, columns: Iterable[str]) -> None:
        """Add one request (ignored unless :func:`plannable`)."""
        key = tuple(columns)
        if plannable(key) and key not in self.requests:
            self.requests.append(key)

    @property
    def finest(self) -> tuple[str, ...]:
        """Every requested column once, in order of first request."""
        return tuple(dict.fromkeys(c for request in self.requests for c in request))

    def compute(self, engine: Any, frame: Any) -> CellTable | None:
        """One scan: the finest cells, or None when nothing is planned."""
        if not self.requests:
            return None
        available = set(engine.columns(frame))
        self.requests = [r for r in self.requests if set(r) <= available]
        if not self.requests:
            return None
        started = time.perf_counter()
        cells = engine.count_by(frame, list(self.finest))
        if len(cells) > MAX_CELLS:
            return None
        return CellTable(self.finest, cells, requests=list(self.requests),
                         seconds=time.perf_counter() - started)


@dataclass
class CellTable:
    """The finest cells (``count_by`` output over ``columns``) and their marginals."""

    columns: tuple[str, ...]
    cells: pd.DataFrame
    requests: list[tuple[str, ...]] = field(default_factory=list)
    seconds: float = 0.0
    _codes: dict[str, tuple[np.ndarray, pd.Index]] = field(default_factory=dict, repr=False)

    def covers(self, columns: Sequence[str]) -> bool:
        """Whether ``columns`` is a marginal of this table."""
        return plannable(columns) and set(columns) <= set(self.columns)

    def _code(self, column: str) -> tuple[np.ndarray, pd.Index]:
        if column not in self._codes:
            codes, uniques = pd.factorize(self.cells[column], sort=True, use_na_sentinel=True)
            # missing keys (none in planned columns, kept for the contract) sort last
            codes = np.where(codes < 0, len(uniques), codes).astype(np.int64)
            self._codes[column] = (codes, uniques)
        return self._codes[column]

    def marginal(self, columns: Sequence[str]) -> pd.DataFrame:
        """``engine.count_by(frame, columns)``, summed from the cells (no scan)."""
        columns = list(columns)
        counts = self.cells["count"].to_numpy(dtype=np.int64)
        flat = np.zeros(len(self.cells), dtype=np.int64)
        radices = []
        for column in columns:
            codes, uniques = self._code(column)
            radix = len(uniques) + 1
            flat = flat * radix + codes
            radices.append(radix)
        keys, inverse = np.unique(flat, return_inverse=True)
        totals = np.zeros(len(keys), dtype=np.int64)
        np.add.at(totals, inverse.ravel(), counts)
        out: dict[str, Any] = {}
        remainder = keys
        for column, radix in reversed(list(zip(columns, radices, strict=True))):
            codes, uniques = self._code(column)
            # the key values as the engine gave them (one representative row per code)
            first = np.full(radix, -1, dtype=np.int64)
            first[codes[::-1]] = np.arange(len(codes))[::-1]
            values = self.cells[column].to_numpy()
            slot = remainder % radix
            out[column] = values[first[slot]]
            remainder = remainder // radix
        frame = pd.DataFrame({c: out[c] for c in columns})
        for column in columns:  # keep the engine's dtypes (e.g. int8 decisions)
            frame[column] = frame[column].astype(self.cells[column].dtype)
        frame["count"] = totals
        return frame


def planned_counts(notes: dict[str, Any], columns: Sequence[str]) -> pd.DataFrame | None:
    """The marginal over ``columns`` when the audit's plan covers it, else None."""
    table = notes.get(NOTE)
    if isinstance(table, CellTable) and table.covers(columns):
        return table.marginal(columns)
    return None


__all__ = ["NOTE", "CellTable", "CountPlan", "planned_counts", "plannable"]
