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

import numpy as np
import pandas as pd

from cxaudit.engines.arrow_aggregates import ArrowAggregates
from cxaudit.engines.arrow_context import build_arrow_context
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


def _dictionary_dataset(dataset: Any, columns: Sequence[str]) -> Any:
    """The same Parquet files, with ``columns`` (text) read as Arrow dictionaries: the
    file's own dictionary codes, no string per row. ``dataset`` itself otherwise."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    if not isinstance(dataset, ds.FileSystemDataset) or \
            not isinstance(dataset.format, ds.ParquetFileFormat):
        return dataset
    schema = dataset.schema
    text = [c for c in columns if c in schema.names and
            (pa.types.is_string(schema.field(c).type) or
             pa.types.is_large_string(schema.field(c).type))]
    if not text:
        return dataset
    try:
        fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=text))
        fragments = [fmt.make_fragment(f.path, filesystem=f.filesystem,
                                       partition_expression=f.partition_expression)
                     for f in dataset.get_fragments()]
        fields = [pa.field(f.name, pa.dictionary(pa.int32(), f.type)) if f.name in text else f
                  for f in schema]
        return ds.FileSystemDataset(fragments, schema=pa.schema(fields), format=fmt,
                                    filesystem=dataset.filesystem)
    except (pa.ArrowException, ValueError, TypeError):  # e.g. an unusual filesystem
        return dataset


def _column_codes(array: Any) -> tuple[np.ndarray, list[Any]]:
    """Per-row integer codes of an Arrow array and the value of each code (``None``
    for missing: its own code, as ``count_by`` keeps missing keys)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_integer(array.type) and array.null_count == 0 and len(array):
        values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.int64)
        low, high = int(values.min()), int(values.max())
        if high - low < 1 << 16:  # labels, decisions: the values are the codes
            return values - low, list(range(low, high + 1))
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array)
    names = array.dictionary.to_pylist() + [None]
    indices = array.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(names) - 1)
    return np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64), names


def coded_counts(frame: ArrowFrame, columns: Sequence[str]) -> dict[tuple[Any, ...], int]:
    """Rows per combination of ``columns`` (source or derived), in one streamed scan.

    Each batch turns every column into integer codes (a text column read as its
    Parquet dictionary; a protected attribute's group names computed on the
    dictionary only) and counts the joint code with one ``bincount``; the few
    cells that occur are added up by value. Memory: one batch plus the cells."""
    columns = list(columns)
    filters = [name for name, _ in frame.filters]
    sources = frame.sources(columns)
    # protected attributes (text) are read as dictionaries when nothing else reads them
    other = {c for n in [*columns, *filters] if n not in frame.derived or
             not hasattr(frame.derived[n][1], "codes") for c in frame.sources([n])}
    dataset = _dictionary_dataset(frame.dataset, [c for c in sources if c not in other])
    totals: dict[tuple[Any, ...], int] = {}
    offset = 0
    scanner = dataset.scanner(columns=sources, batch_size=BATCH_ROWS,
                              batch_readahead=READAHEAD, fragment_readahead=1)
    for batch in scanner.to_batches():
        rows = batch.num_rows
        if rows == 0:
            continue
        coded: list[tuple[np.ndarray, list[Any]]] = []
        for column in columns:
            found = None
            if column in frame.derived:
                derive = frame.derived[column][1]
                if hasattr(derive, "codes"):
                    found = derive.codes(batch, offset)
                if found is None:
                    found = _column_codes(derive(batch, offset))
            else:
                found = _column_codes(batch.column(column))
            coded.append(found)
        keep = None
        if frame.filters:
            arrays = {n: frame.derived[n][1](batch, offset) if n in frame.derived
                      else batch.column(n) for n in filters}
            keep = _equal_mask(arrays, frame.filters, rows).to_numpy(zero_copy_only=False)
        offset += rows
        size = 1
        for _, names in coded:
            size *= len(names)
        if size >= 1 << 62:  # too many combinations for one integer code: hash-group them
            _group_batch(totals, columns, coded, keep)
            continue
        flat = np.zeros(rows, dtype=np.int64)
        for codes, names in coded:
            flat *= len(names)
            flat += codes
        if keep is not None:
            flat = flat[np.asarray(keep, dtype=bool)]
        if size <= 4 * max(rows, 1 << 16):
            counts = np.bincount(flat, minlength=size)
            cells = np.flatnonzero(counts)
            counts = counts[cells]
        else:  # many distinct values: sort instead of a table of every combination
            cells, counts = np.unique(flat, return_counts=True)
        remainder = cells
        parts: list[list[Any]] = []
        for _, names in reversed(coded):
            parts.append([names[i] for i in (remainder % len(names)).tolist()])
            remainder = remainder // len(names)
        parts.reverse()
        for key, n in zip(zip(*parts, strict=True), counts.tolist(), strict=True):
            totals[key] = totals.get(key, 0) + n
    return totals


def _group_batch(totals: dict[tuple[Any, ...], int], columns: list[str],
                 coded: list[tuple[np.ndarray, list[Any]]], keep: Any) -> None:
    """Add one batch's combinations to ``totals`` with Arrow's hash aggregation."""
    import pyarrow as pa

    table = pa.table({f"c{i}": pa.array(codes) for i, (codes, _) in enumerate(coded)})
    if keep is not None:
        table = table.filter(pa.array(np.asarray(keep, dtype=bool)))
    names = [f"c{i}" for i in range(len(columns))]
    grouped = table.group_by(names, use_threads=False).aggregate([([], "count_all")])
    found = [grouped.column(n).to_numpy() for n in names]
    for row, n in enumerate(grouped.column("count_all").to_pylist()):
        key = tuple(values[int(codes[row])] for codes, (_, values) in zip(found, coded,
                                                                          strict=True))
        totals[key] = totals.get(key, 0) + n


def parquet_null_counts(frame: ArrowFrame, columns: Sequence[str]) -> dict[str, int]:
    """Missing values of stored columns read from the Parquet files' statistics (no scan).

    Only for an unfiltered Parquet dataset, and only for columns whose missing values are
    exactly the nulls the statistics count: not floating point (NaN is missing too), not
    derived, not a partition key, with a null count in every row group. Others are left
    out of the result (the caller scans them)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    dataset = frame.dataset
    if frame.filters or not isinstance(dataset, ds.FileSystemDataset) or \
            not isinstance(dataset.format, ds.ParquetFileFormat):
        return {}
    schema = dataset.schema
    wanted = [c for c in dict.fromkeys(columns) if c not in frame.derived and c in schema.names
              and not pa.types.is_floating(schema.field(c).type)
              and not pa.types.is_nested(schema.field(c).type)]
    totals = dict.fromkeys(wanted, 0)
    try:
        for fragment in dataset.get_fragments():
            metadata = fragment.metadata
            leaves = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
            for group in range(metadata.num_row_groups):
                row_group = metadata.row_group(group)
                for column in list(totals):
                    index = leaves.get(column)
                    stats = row_group.column(index).statistics if index is not None else None
                    if stats is None or not stats.has_null_count:
                        del totals[column]  # not recorded everywhere: scan it
                        continue
                    totals[column] += int(stats.null_count)
    except (pa.ArrowException, OSError, ValueError):
        return {}
    return totals


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
        return canonical_counts(columns, coded_counts(frame, columns).items())

    def null_counts(self, frame: Any, columns: Sequence[str],  # noqa: D102
                    by: Sequence[str] = ()) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.compute as pc

        frame = self._frame(frame)
        columns, by = list(columns), list(by)
        if not by:
            known = parquet_null_counts(frame, columns)
            if known:  # from the files' own statistics; scan only the other columns
                rest = [c for c in columns if c not in known]
                found = self.null_counts(frame, rest).iloc[0].to_dict() if rest else {
                    "rows": self.num_rows(frame)}
                return pd.DataFrame([{"rows": int(found["rows"]),
                                      **{c: int(known[c]) if c in known else int(found[c])
                                         for c in columns}}])
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
        return build_arrow_context(policy, self._frame(frame), self, **options)


__all__ = ["ArrowFrame", "ArrowStreamEngine", "BATCH_ROWS"]
