"""Data-quality and sampling aggregates for the streaming Arrow engine.

Counting aggregates stream: each batch is turned into pandas and coded with
the local engine's own helpers (missing masks, bin codes, float coercion), so
values are judged exactly as the local engine judges them, and only small
per-group tables are kept between batches. ``quantiles`` keeps one float
column at a time (8 bytes a row). ``duplicate_keys``, ``datetime_range`` and
``stratified_sample`` need whole columns: they collect only the columns they
name and apply the local engine to them (memory: those columns, not the table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.engines.common import canonical_counts


def _accumulate(totals: dict, keys: pd.DataFrame, values: list[np.ndarray]) -> None:
    rows = keys.itertuples(index=False, name=None) if keys.shape[1] else [()] * len(keys)
    for index, key in enumerate(rows):
        into = totals.setdefault(key, [0] * len(values))
        for slot, array in enumerate(values):
            into[slot] += int(array[index])


class ArrowAggregates:
    """Mixed into :class:`~cxaudit.engines.arrow_stream.ArrowStreamEngine`."""

    def select(self, frame: Any, columns: Sequence[str]) -> Any:
        """Only ``columns`` (nothing is read)."""
        return replace(self._frame(frame), visible=tuple(columns))

    def where_equal(self, frame: Any, column: str, value: Any) -> Any:
        """Rows whose ``column`` equals ``value``, filtered while scanning."""
        frame = self._frame(frame)
        return replace(frame, filters=(*frame.filters, (column, value)))

    def missing_counts(self, frame: Any, columns: Sequence[str],
                       groupings: Sequence[Sequence[str]] = ((),), *,
                       blank_is_missing: bool = True) -> list[pd.DataFrame]:
        """Missing values per column for each grouping, all groupings in one scan."""
        from cxaudit.engines.local import _group_codes, _missing_mask

        frame = self._frame(frame)
        columns = list(columns)
        totals: list[dict] = [{} for _ in groupings]
        scan = list(dict.fromkeys([*columns, *(c for by in groupings for c in by)]))
        for table in frame.batches(scan):
            batch = table.to_pandas()
            masks = [_missing_mask(batch[c], blank_is_missing) for c in columns]
            for slot, by in enumerate(groupings):
                codes, keys = _group_codes(batch, list(by))
                size = len(keys)
                values = [np.bincount(codes, minlength=size),
                          *(np.bincount(codes[m], minlength=size) for m in masks)]
                _accumulate(totals[slot], keys, values)
        return [canonical_counts(list(by), ((k, tuple(v)) for k, v in found.items()),
                                 value_columns=["rows", *columns])
                for by, found in zip(groupings, totals, strict=True)]

    def duplicate_keys(self, frame: Any, columns: Sequence[str], limit: int = 5
                       ) -> tuple[int, int, list[tuple[Any, ...]]]:
        """Rows repeating an earlier key (the key columns are collected, nothing else)."""
        from cxaudit.engines.local import LocalEngine

        return LocalEngine().duplicate_keys(self.to_pandas(frame, list(columns)), columns, limit)

    def datetime_range(self, frame: Any, column: str, *, format: str = "ISO8601"
                       ) -> dict[str, Any]:
        """Oldest/newest timestamp of one collected column, parsed as the local engine does."""
        from cxaudit.engines.local import LocalEngine

        return LocalEngine().datetime_range(self.to_pandas(frame, [column]), column,
                                            format=format)

    def quantiles(self, frame: Any, columns: Sequence[str], probs: Sequence[float], *,
                  coerce_numeric: Sequence[str] = ()) -> dict[str, list[float]]:
        """Exact quantiles, one column at a time, missing values ignored."""
        from cxaudit.engines.local import _as_float

        frame = self._frame(frame)
        out = {}
        for column in columns:
            parts = []
            for table in frame.batches([column]):
                values = _as_float(table.column(column).to_pandas(), column in coerce_numeric)
                parts.append(values[~np.isnan(values)])
            values = np.concatenate(parts) if parts else np.zeros(0)
            out[column] = np.quantile(values, list(probs)).tolist() if len(values) else []
        return out

    def top_values(self, frame: Any, columns: Sequence[str], limit: int
                   ) -> dict[str, list[Any]]:
        """Commonest non-missing values, commonest first, ties by text (as the local engine).

        Arrow's hash count lists values in order of first appearance and its
        sort is stable, so the candidates are the local engine's candidates.
        Memory: the column and its distinct values.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        frame = self._frame(frame)
        keep = max(limit * 4, limit + 50)
        out = {}
        for column in columns:
            chunks = [t.column(column) for t in frame.batches([column])]
            if not chunks:
                out[column] = []
                continue
            values = pa.chunked_array([c for chunk in chunks for c in chunk.chunks])
            values = pc.drop_null(values)
            if pa.types.is_floating(values.type):
                values = values.filter(pc.invert(pc.is_nan(values)))
            counted = pc.value_counts(values)
            counts = counted.field("counts")
            order = pc.sort_indices(pa.table({"n": counts}), sort_keys=[("n", "descending")])
            top = counted.take(order[:keep]).to_pylist()
            ranked = sorted(top, key=lambda r: (-r["counts"], str(r["values"])))
            out[column] = [r["values"] for r in ranked[:limit]]
        return out

    def binned_counts(self, frame: Any, binnings: dict[str, Any], by: Sequence[str] = ()
                      ) -> dict[str, pd.DataFrame]:
        """Histogram per column and group, bins coded per batch by the local engine's rules."""
        from cxaudit.engines.local import _bin_codes, _group_codes

        frame = self._frame(frame)
        by = list(by)
        out = {}
        for column, binning in binnings.items():
            totals: dict[tuple[Any, ...], list[int]] = {}
            for table in frame.batches(list(dict.fromkeys([*by, column]))):
                batch = table.to_pandas()
                codes, keys = _group_codes(batch, by)
                bins, slots = _bin_codes(batch[column], binning)
                counts = np.bincount(codes * slots + bins, minlength=len(keys) * slots)
                present = np.nonzero(counts)[0]
                found = keys.iloc[present // slots].reset_index(drop=True)
                found["bin"] = (present % slots).astype(np.int64) - 1
                _accumulate(totals, found, [counts[present]])
            out[column] = canonical_counts([*by, "bin"], ((k, v[0]) for k, v in totals.items()))
        return out

    def stratified_sample(self, frame: Any, by: Sequence[str],
                          sizes: Mapping[tuple[str, ...], int], columns: Sequence[str],
                          seed: int) -> pd.DataFrame:
        """The local engine's stratified sample; only strata columns and sampled rows are held."""
        from cxaudit.engines.local import LocalEngine

        by = list(by)
        keys = self.to_pandas(frame, by)
        keys["__cx_pos"] = np.arange(len(keys), dtype=np.int64)
        drawn = LocalEngine().stratified_sample(keys, by, sizes, ["__cx_pos"], seed)
        return self.rows_at(frame, list(dict.fromkeys([*columns, *by])),
                            drawn["__cx_pos"].to_numpy())

    def with_row_values(self, frame: Any, name: str, values: Any) -> Any:
        """A derived column sliced from ``values`` by row offset while scanning."""
        import pyarrow as pa

        values = np.asarray(values)

        def derive(batch: Any, offset: int) -> Any:
            return pa.array(values[offset:offset + batch.num_rows])

        return self._frame(frame).with_columns({name: ((), derive)})

    def rows_at(self, frame: Any, columns: Sequence[str], positions: Any) -> pd.DataFrame:
        """Rows at 0-based ``positions`` (row order), as pandas indexed by position."""
        import pyarrow as pa

        frame = self._frame(frame)
        wanted = np.sort(np.asarray(positions, dtype=np.int64))
        parts, start = [], 0
        for table in frame.batches(list(columns)):
            stop = start + table.num_rows
            lo, hi = np.searchsorted(wanted, [start, stop])
            if hi > lo:
                parts.append(table.take(pa.array(wanted[lo:hi] - start)))
            start = stop
        if not parts:
            return pd.DataFrame({c: [] for c in columns})
        rows = pa.concat_tables(parts).to_pandas()
        rows.index = wanted[: len(rows)]
        return rows


__all__ = ["ArrowAggregates"]
