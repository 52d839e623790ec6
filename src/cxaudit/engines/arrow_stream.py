"""The streaming Arrow engine: bounded memory on one machine for data larger than RAM.

Frames are :class:`ArrowFrame` handles on a ``pyarrow.dataset`` (Parquet files
or folders, CSV), never loaded whole. Every aggregate is one scan in record
batches: ``count_by`` groups each batch with Arrow's hash aggregation and adds
the small per-batch tables together, so memory is one batch plus the group
table, whatever the number of rows. Derived audit columns (labels, decisions,
groups) are computed per batch from the source columns they need.

Checks that need rows get a bounded frame: ``to_pandas(columns, limit)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from cxaudit.engines.arrow_aggregates import ArrowAggregates
from cxaudit.engines.base import Engine
from cxaudit.engines.common import accept_pandas, canonical_counts
from cxaudit.errors import DataError

#: Rows per scanned batch, and batches read ahead: together they bound memory.
BATCH_ROWS = 262_144
READAHEAD = 2

#: A derived column: (source columns it reads, function(batch, first row offset) -> array).
Derivation = tuple[tuple[str, ...], Callable[[Any, int], Any]]


@dataclass(frozen=True)
class ArrowFrame:
    """A dataset plus the derived columns computed on the fly while scanning.

    ``visible`` narrows the columns (``select``); ``filters`` keeps only rows
    whose column equals a value (``where_equal``), applied batch by batch.
    """

    dataset: Any
    derived: dict[str, Derivation] = field(default_factory=dict)
    visible: tuple[str, ...] | None = None
    filters: tuple[tuple[str, Any], ...] = ()

    @property
    def columns(self) -> list[str]:
        """Source columns, then derived columns (or the selected ones)."""
        if self.visible is not None:
            return list(self.visible)
        return [*self.dataset.schema.names, *self.derived]

    def with_columns(self, derived: dict[str, Derivation]) -> ArrowFrame:
        """A new frame with more derived columns."""
        visible = None if self.visible is None else (*self.visible, *derived)
        return replace(self, derived={**self.derived, **derived}, visible=visible)

    def sources(self, columns: Sequence[str]) -> list[str]:
        """The stored columns a scan of ``columns`` must read."""
        needed: list[str] = []
        for column in [*columns, *(name for name, _ in self.filters)]:
            reads = self.derived[column][0] if column in self.derived else (column,)
            needed.extend(c for c in reads if c not in needed)
        return needed

    def batches(self, columns: Sequence[str], limit: int | None = None) -> Iterator[Any]:
        """Yield ``pyarrow.Table`` batches holding exactly ``columns``, in row order."""
        import pyarrow as pa

        columns = list(columns)
        wanted = list(dict.fromkeys([*columns, *(name for name, _ in self.filters)]))
        offset = 0  # row offset in the stored data (derived model outputs are sliced by it)
        kept = 0
        scanner = self.dataset.scanner(columns=self.sources(columns), batch_size=BATCH_ROWS,
                                       batch_readahead=READAHEAD, fragment_readahead=1)
        for batch in scanner.to_batches():
            if limit is not None and kept >= limit:
                return
            if batch.num_rows == 0:
                continue
            arrays = {c: self.derived[c][1](batch, offset) if c in self.derived
                      else batch.column(c) for c in wanted}
            offset += batch.num_rows
            table = pa.Table.from_arrays([arrays[c] for c in columns], names=columns)
            if self.filters:
                table = table.filter(_equal_mask(arrays, self.filters, batch.num_rows))
            if limit is not None and kept + table.num_rows > limit:
                table = table.slice(0, limit - kept)
            kept += table.num_rows
            if table.num_rows:
                yield table


def _equal_mask(arrays: dict[str, Any], filters: tuple[tuple[str, Any], ...], rows: int) -> Any:
    """Rows where every filter column equals its value (missing never equals)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = pa.array([True] * rows)
    for name, value in filters:
        try:
            equal = pc.fill_null(pc.equal(arrays[name], pa.scalar(value)), False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
            equal = pa.array([False] * rows)  # incomparable types: nothing matches
        mask = pc.and_(mask, equal)
    return mask


def _missing(array: Any) -> Any:
    import pyarrow.compute as pc

    return pc.is_null(array, nan_is_null=True)


@accept_pandas
class ArrowStreamEngine(ArrowAggregates, Engine):
    """Count-based aggregates by streaming Arrow batches; frames are :class:`ArrowFrame`."""

    name = "arrow"

    def read_table(self, path: str | Path, *, role: str = "data",
                   text_columns: Sequence[str] = ()) -> ArrowFrame:
        """Open Parquet (file or folder) or CSV as a dataset, without reading the rows."""
        import pyarrow.dataset as ds

        from cxaudit.loaders.data import preflight

        file = Path(path)
        if not file.exists():
            raise DataError(f"{role} file not found: {file}", hint="check the path you passed")
        if not file.is_dir():  # a folder is a partitioned dataset; a file is checked first
            preflight(file, role=role)
        suffix = file.suffix.lower()
        try:
            if suffix == ".csv":
                import pyarrow as pa
                import pyarrow.csv as pacsv

                fmt = ds.CsvFileFormat(convert_options=pacsv.ConvertOptions(
                    strings_can_be_null=True,
                    column_types={c: pa.string() for c in text_columns}))
                dataset = ds.dataset(str(file), format=fmt)
            elif suffix in (".parquet", ".pq") or file.is_dir():
                dataset = ds.dataset(str(file), format="parquet")
            else:
                raise DataError(f"{role} file {file} has an unsupported extension "
                                f"{suffix or '(none)'!r}", hint="use .csv or .parquet")
            names = list(dataset.schema.names)
            rows = dataset.count_rows()
        except DataError:
            raise
        except Exception as exc:  # pyarrow raises several unrelated types
            raise DataError(f"{role} file {file} is not readable: {str(exc)[:200]}",
                            hint="re-export the file as Parquet or UTF-8 CSV") from None
        if not names:
            raise DataError(f"{role} file {file} has no columns", hint="add a header row")
        duplicated = sorted({c for c in names if names.count(c) > 1})
        if duplicated:
            raise DataError(f"{role} file {file} repeats column(s) {', '.join(duplicated)}",
                            hint="give every column a unique name")
        if rows == 0:
            raise DataError(f"{role} file {file} has a header but no rows",
                            hint="export the rows to audit, not only the header")
        return ArrowFrame(dataset)

    def _frame(self, frame: Any) -> ArrowFrame:
        if isinstance(frame, ArrowFrame):
            return frame
        import pyarrow as pa
        import pyarrow.dataset as ds

        if isinstance(frame, pd.DataFrame):
            return ArrowFrame(ds.dataset(pa.Table.from_pandas(frame, preserve_index=False)))
        return ArrowFrame(ds.dataset(frame))

    def columns(self, frame: Any) -> list[str]:  # noqa: D102
        return [str(c) for c in self._frame(frame).columns]

    def num_rows(self, frame: Any) -> int:  # noqa: D102
        frame = self._frame(frame)
        if frame.filters:
            return sum(t.num_rows for t in frame.batches(frame.columns[:1]))
        return int(frame.dataset.count_rows())

    def count_by(self, frame: Any, columns: Sequence[str]) -> pd.DataFrame:  # noqa: D102
        frame = self._frame(frame)
        columns = list(columns)
        if not columns:
            return canonical_counts([], [((), self.num_rows(frame))])
        totals: dict[tuple[Any, ...], int] = {}
        for table in frame.batches(columns):
            grouped = table.group_by(columns, use_threads=False).aggregate([([], "count_all")])
            keys = zip(*(grouped.column(c).to_pylist() for c in columns), strict=True)
            for key, n in zip(keys, grouped.column("count_all").to_pylist(), strict=True):
                totals[key] = totals.get(key, 0) + n
        return canonical_counts(columns, totals.items())

    def null_counts(self, frame: Any, columns: Sequence[str],  # noqa: D102
                    by: Sequence[str] = ()) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.compute as pc

        frame = self._frame(frame)
        columns, by = list(columns), list(by)
        width = len(columns) + 1
        totals: dict[tuple[Any, ...], list[int]] = {}
        for table in frame.batches([*by, *[c for c in columns if c not in by]]):
            flags = {f"__n{i}": pc.cast(_missing(table.column(c)), pa.int64())
                     for i, c in enumerate(columns)}
            if not by:
                key, values = (), [table.num_rows, *(pc.sum(v).as_py() or 0 for v in flags.values())]
                into = totals.setdefault(key, [0] * width)
                totals[key] = [a + b for a, b in zip(into, values, strict=True)]
                continue
            small = pa.table({**{f"__b{i}": table.column(b) for i, b in enumerate(by)}, **flags})
            grouped = small.group_by([f"__b{i}" for i in range(len(by))], use_threads=False
                                     ).aggregate([([], "count_all"),
                                                  *((name, "sum") for name in flags)])
            keys = list(zip(*(grouped.column(f"__b{i}").to_pylist() for i in range(len(by))),
                            strict=True))
            value_lists = [grouped.column("count_all").to_pylist(),
                           *(grouped.column(f"{name}_sum").to_pylist() for name in flags)]
            for row, key in enumerate(keys):
                into = totals.setdefault(key, [0] * width)
                totals[key] = [a + (v[row] or 0) for a, v in zip(into, value_lists, strict=True)]
        if not by:
            values = totals.get((), [0] * width)
            return pd.DataFrame([{"rows": values[0],
                                  **{c: values[i + 1] for i, c in enumerate(columns)}}])
        return canonical_counts(by, ((k, tuple(v)) for k, v in totals.items()),
                                value_columns=["rows", *columns])

    def to_pandas(self, frame: Any, columns: Sequence[str] | None = None,  # noqa: D102
                  limit: int | None = None) -> pd.DataFrame:
        import pyarrow as pa

        frame = self._frame(frame)
        columns = list(columns) if columns is not None else frame.columns
        tables = list(frame.batches(columns, limit=limit))
        if not tables:
            return pd.DataFrame({c: [] for c in columns})
        return pa.concat_tables(tables).to_pandas()

    def build_context(self, policy: Any, frame: Any, **options: Any) -> Any:
        """Derive labels, decisions, scores and groups per batch (see ``arrow_context``)."""
        from cxaudit.engines.arrow_context import build_arrow_context

        return build_arrow_context(policy, self._frame(frame), self, **options)


__all__ = ["ArrowFrame", "ArrowStreamEngine", "BATCH_ROWS"]
