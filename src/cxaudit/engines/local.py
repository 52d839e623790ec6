"""The local engine: pandas and NumPy on one machine."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.engines.base import Binning, Engine


class LocalEngine(Engine):
    """Aggregates with pandas/NumPy; frames are pandas DataFrames."""

    name = "local"

    def columns(self, frame: pd.DataFrame) -> list[str]:  # noqa: D102
        return [str(c) for c in frame.columns]

    def num_rows(self, frame: pd.DataFrame) -> int:  # noqa: D102
        return len(frame)

    def count_by(self, frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:  # noqa: D102
        columns = list(columns)
        if not columns:
            return pd.DataFrame({"count": np.array([len(frame)], dtype=np.int64)})
        # Factorise each key once and count with a single bincount over the
        # mixed-radix code: one pass, no Python-level grouping.
        codes = []
        uniques = []
        for column in columns:
            code, unique = _sorted_codes(frame[column])
            codes.append(_missing_last(code, unique))
            uniques.append(list(unique) + [None])
        radices = [len(u) for u in uniques]
        out: dict[str, Any] = {}
        if math.prod(radices) > max(4 * len(frame), 1 << 22):
            # Too many combinations for a table of every one (many columns with many
            # values, e.g. an audit plan's finest cells): sort the observed ones instead,
            # in the same order (by the columns' sorted codes).
            combos, found = np.unique(np.stack([c.astype(np.int64) for c in codes], axis=1),
                                      axis=0, return_counts=True)
            for index, (column, unique) in enumerate(zip(columns, uniques, strict=True)):
                out[column] = [unique[i] for i in combos[:, index]]
            result = pd.DataFrame({c: out[c] for c in columns})
            result["count"] = found.astype(np.int64)
            return result.reset_index(drop=True)
        flat = _joint_code(codes, radices, len(frame))
        counts = np.bincount(flat, minlength=math.prod(radices))
        present = np.nonzero(counts)[0]
        remainder = present
        for column, unique, radix in reversed(list(zip(columns, uniques, radices, strict=True))):
            out[column] = [unique[i] for i in remainder % radix]
            remainder = remainder // radix
        result = pd.DataFrame({c: out[c] for c in columns})
        result["count"] = counts[present].astype(np.int64)
        return result.reset_index(drop=True)

    def null_counts(self, frame: pd.DataFrame, columns: Sequence[str],  # noqa: D102
                    by: Sequence[str] = ()) -> pd.DataFrame:
        nulls = frame[list(columns)].isna()
        if not by:
            row = {"rows": len(frame), **{c: int(nulls[c].sum()) for c in columns}}
            return pd.DataFrame([row])
        keys = [frame[b] for b in by]
        grouped = nulls.groupby(keys, dropna=False, sort=True, observed=True)
        result = grouped.sum().astype(np.int64)
        result.insert(0, "rows", grouped.size().astype(np.int64))
        return result.reset_index()

    def to_pandas(self, frame: pd.DataFrame, columns: Sequence[str] | None = None,  # noqa: D102
                  limit: int | None = None) -> pd.DataFrame:
        out = frame if columns is None else frame[list(columns)]
        return out if limit is None else out.head(limit)

    def stratified_sample(self, frame: pd.DataFrame, by: Sequence[str],  # noqa: D102
                          sizes: Mapping[tuple[str, ...], int], columns: Sequence[str],
                          seed: int) -> pd.DataFrame:
        by = list(by)
        rng = np.random.default_rng(seed)
        groups = frame.groupby(by, sort=True, dropna=False, observed=True).indices
        chosen = []
        for key in sorted(groups, key=lambda k: tuple(str(v) for v in _as_tuple(k))):
            want = sizes.get(tuple(str(v) for v in _as_tuple(key)), 0)
            rows = groups[key]
            if want <= 0:
                continue
            chosen.append(rows if want >= len(rows) else rng.choice(rows, size=want, replace=False))
        positions = np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)
        wanted = list(dict.fromkeys([*columns, *by]))
        return frame.iloc[positions][wanted]

    # -- data-quality aggregates -------------------------------------------------

    def select(self, frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:  # noqa: D102
        return frame[list(columns)]

    def where_equal(self, frame: pd.DataFrame, column: str, value: Any) -> pd.DataFrame:  # noqa: D102
        return frame[(frame[column] == value).to_numpy()]

    def missing_counts(self, frame: pd.DataFrame, columns: Sequence[str],  # noqa: D102
                       groupings: Sequence[Sequence[str]] = ((),), *,
                       blank_is_missing: bool = True) -> list[pd.DataFrame]:
        masks = {c: _missing_mask(frame[c], blank_is_missing) for c in columns}
        dense = _dense_missing_counts(frame, masks, groupings)
        if dense is not None:
            return dense
        out = []
        for by in groupings:
            codes, keys = _group_codes(frame, by)
            size = len(keys)
            table = keys.copy()
            table["rows"] = np.bincount(codes, minlength=size).astype(np.int64)
            for column, mask in masks.items():
                table[column] = np.bincount(codes[mask], minlength=size).astype(np.int64)
            out.append(table.reset_index(drop=True))
        return out

    def duplicate_keys(self, frame: pd.DataFrame, columns: Sequence[str],  # noqa: D102
                       limit: int = 5) -> tuple[int, int, list[tuple[Any, ...]]]:
        if len(columns) == 1 and _all_distinct(frame[columns[0]]):
            return 0, 0, []  # the usual answer for an id column, without pandas' hashing
        repeated = frame.duplicated(subset=list(columns), keep="first").to_numpy()
        count = int(repeated.sum())
        if not count:
            return 0, 0, []
        keys = frame.loc[repeated, list(columns)].drop_duplicates()
        examples = [tuple(row) for row in keys.head(limit).itertuples(index=False, name=None)]
        return count, len(keys), examples

    def datetime_range(self, frame: pd.DataFrame, column: str, *,  # noqa: D102
                       format: str = "ISO8601") -> dict[str, Any]:
        values = frame[column]
        present = int(values.notna().sum())
        if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
            parsed = values
        else:
            try:
                parsed = pd.to_datetime(values, errors="coerce", format=format)
            except ValueError:  # mixed UTC offsets: compare them on one clock
                parsed = pd.to_datetime(values, errors="coerce", format=format, utc=True)
        valid = int(parsed.notna().sum())
        return {
            "min": parsed.min() if valid else None,
            "max": parsed.max() if valid else None,
            "aware": isinstance(parsed.dtype, pd.DatetimeTZDtype),
            "values": present,
            "unparseable": present - valid,
        }

    def quantiles(self, frame: pd.DataFrame, columns: Sequence[str],  # noqa: D102
                  probs: Sequence[float], *, coerce_numeric: Sequence[str] = ()
                  ) -> dict[str, list[float]]:
        out = {}
        for column in columns:
            values = _as_float(frame[column], column in coerce_numeric)
            values = values[~np.isnan(values)]
            out[column] = np.quantile(values, list(probs)).tolist() if len(values) else []
        return out

    def top_values(self, frame: pd.DataFrame, columns: Sequence[str],  # noqa: D102
                   limit: int) -> dict[str, list[Any]]:
        out = {}
        for column in columns:
            arrow = _arrow_strings(frame[column])
            if arrow is not None:  # hash aggregation in Arrow, no per-row codes
                import pyarrow.compute as pc

                pairs = pc.value_counts(arrow.drop_null())
                values = pairs.field("values")
                counts = np.asarray(pairs.field("counts").to_numpy(zero_copy_only=False))
            else:
                codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
                values = list(uniques)
                counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
            # Candidates by count, then ties broken by text; only these become Python values.
            keep = np.argsort(-counts, kind="stable")[: limit + 50].tolist()
            picked = (values.take(keep).to_pylist() if arrow is not None
                      else [values[i] for i in keep])
            ranked = sorted(zip(picked, keep, strict=True),
                            key=lambda item: (-counts[item[1]], str(item[0])))
            out[column] = [value for value, _ in ranked[:limit]]
        return out

    def binned_counts(self, frame: pd.DataFrame, binnings: dict[str, Binning],  # noqa: D102
                      by: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
        codes, keys = _group_codes(frame, by)
        groups = len(keys)
        out = {}
        for column, binning in binnings.items():
            bins, slots = _bin_codes(frame[column], binning)
            counts = np.bincount(codes * slots + bins, minlength=groups * slots)
            present = np.nonzero(counts)[0]
            table = keys.iloc[present // slots].reset_index(drop=True)
            table["bin"] = (present % slots).astype(np.int64) - 1
            table["count"] = counts[present].astype(np.int64)
            out[column] = table
        return out


def _sorted_codes(series: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize(series, sort=True)`` up to unused codes: a categorical column's own
    codes and categories (the derived group columns), which sort the same way, and a
    small-range integer column's values (labels, decisions), without a hash pass."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.array.codes, series.cat.categories
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu" and len(series):
        values = series.to_numpy()
        low, high = int(values.min()), int(values.max())
        if high - low < 1 << 16:  # labels, decisions: the values are the codes
            wide = np.int32 if low >= -(1 << 31) and high < 1 << 31 else np.int64
            codes = values.astype(wide)  # every value fits: subtracting cannot wrap
            if low:
                codes -= low
            return codes, np.arange(low, high + 1, dtype=np.int64).astype(series.dtype)
    return pd.factorize(series, use_na_sentinel=True, sort=True)


def _arrow_strings(series: pd.Series) -> Any:
    """The Arrow ChunkedArray behind a pyarrow-backed text column, else None."""
    dtype = series.dtype
    storage = getattr(dtype, "storage", None)
    if (isinstance(dtype, pd.StringDtype) and storage == "pyarrow") or (
            isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype)):
        import pyarrow as pa

        array = series.array.__arrow_array__()
        return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
    return None


def _all_distinct(series: pd.Series) -> bool:
    """True when no value of a text column repeats (missing values: one value, as in
    ``duplicated``); False when some do or the column is not Arrow text.

    With DuckDB installed, distinct 64-bit hashes (a sort of the ids' DuckDB hashes)
    prove it (about half the CPU of pandas' ``duplicated`` on 10 M ids); equal hashes
    (a repeat, two missing values or a collision) are settled by an exact
    ``count(DISTINCT)``. Without DuckDB: Arrow's hash table.
    """
    arrow = _arrow_strings(series)
    if arrow is None:
        return False
    import pyarrow.compute as pc

    from cxaudit.consent.asof import duckdb_connection, hash_ids

    hashes = hash_ids(arrow)
    if hashes is None:
        return pc.count_distinct(arrow, mode="all").as_py() == len(arrow)
    hashes.sort()
    if not np.any(hashes[1:] == hashes[:-1]):
        return True
    del hashes
    import duckdb
    import pyarrow as pa

    nulls = arrow.null_count
    with duckdb_connection(duckdb) as con:
        con.register("ids", pa.table({"id": arrow}))
        distinct = con.sql("SELECT count(DISTINCT id) FROM ids").fetchall()[0][0]
    return distinct + min(nulls, 1) == len(arrow)


def _missing_mask(series: pd.Series, blank_is_missing: bool) -> np.ndarray:
    mask = series.isna().to_numpy()
    arrow = _arrow_strings(series) if blank_is_missing else None
    if arrow is not None:  # vectorised in Arrow: empty or all-whitespace text
        import pyarrow.compute as pc

        blank = pc.or_(pc.equal(pc.utf8_length(arrow), 0), pc.utf8_is_space(arrow))
        return mask | pc.fill_null(blank, False).to_numpy(zero_copy_only=False).astype(bool)
    if blank_is_missing and (pd.api.types.is_string_dtype(series) or series.dtype == object):
        # Test the distinct values only: text columns repeat a few values many times.
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        blank = np.array([isinstance(u, str) and not u.strip() for u in uniques] + [False])
        mask = mask | blank[codes]
    return mask


def _missing_last(code: np.ndarray, unique: Any) -> np.ndarray:
    """Factorised codes with missing values (-1) as their own last code; the codes keep
    their small integer type (a 10 M-row int64 copy per column was most of a count)."""
    return np.where(code < 0, len(unique), code) if len(code) and code.min() < 0 else code


def _joint_code(codes: Sequence[np.ndarray], radices: Sequence[int], rows: int) -> np.ndarray:
    """One mixed-radix int64 code per row for the combination of ``codes``, built in place."""
    flat = np.zeros(rows, dtype=np.int64)
    for code, radix in zip(codes, radices, strict=True):
        flat *= radix
        flat += code
    return flat


def _dense_missing_counts(frame: pd.DataFrame, masks: dict[str, np.ndarray],
                          groupings: Sequence[Sequence[str]]) -> list[pd.DataFrame] | None:
    """:meth:`LocalEngine.missing_counts` from one pass: rows and missing values per cell
    of every grouping column at once (a dense table, when it is small), each grouping then
    a sum over the other columns. None when the table would be large."""
    union = list(dict.fromkeys(c for by in groupings for c in by))
    codes, uniques = [], []
    for column in union:
        series = frame[column]
        # A categorical's own codes (the derived groups); anything else as factorised
        # when grouped alone, so the keys come out the same (values and dtypes).
        code, unique = ((series.array.codes, series.cat.categories)
                        if isinstance(series.dtype, pd.CategoricalDtype)
                        else pd.factorize(series, use_na_sentinel=True, sort=True))
        codes.append(_missing_last(code, unique))
        uniques.append([*list(unique), None])
    shape = tuple(len(u) for u in uniques)
    size = math.prod(shape)
    if size > max(len(frame), 1 << 16):
        return None
    flat = _joint_code(codes, shape, len(frame))
    tables = {"rows": np.bincount(flat, minlength=size)}
    for column, mask in masks.items():
        tables[column] = np.bincount(flat[mask], minlength=size)
    out = []
    for by in groupings:
        axes = [union.index(c) for c in by]
        summed = {}
        for name, counts in tables.items():
            # the grouping's axes first, in its order; the other columns summed away
            cube = np.moveaxis(counts.reshape(shape), axes, list(range(len(axes))))
            summed[name] = cube.reshape(*cube.shape[:len(axes)], -1).sum(axis=-1)
        if not by:
            out.append(pd.DataFrame({name: [int(v)] for name, v in summed.items()}))
            continue
        cells = np.nonzero(summed["rows"])
        table = pd.DataFrame({column: [uniques[axis][i] for i in cells[position]]
                              for position, (column, axis) in enumerate(zip(by, axes,
                                                                            strict=True))})
        for name, counts in summed.items():
            table[name] = counts[cells].astype(np.int64)
        out.append(table)
    return out


def _group_codes(frame: pd.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """One int code per row for the combination of ``by``, and the combinations."""
    if not by:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=range(1))
    codes, uniques = [], []
    for column in by:
        code, unique = pd.factorize(frame[column], use_na_sentinel=True, sort=True)
        codes.append(_missing_last(code, unique))
        uniques.append([*list(unique), None])
    flat = _joint_code(codes, [len(u) for u in uniques], len(frame))
    counts = np.bincount(flat)
    used = np.flatnonzero(counts)
    compact = np.zeros(len(counts), dtype=np.int64)
    compact[used] = np.arange(len(used))
    flat = compact[flat]
    keys: dict[str, list[Any]] = {}
    remainder = used
    for column, unique in reversed(list(zip(by, uniques, strict=True))):
        keys[column] = [unique[i] for i in remainder % len(unique)]
        remainder = remainder // len(unique)
    return flat.astype(np.int64), pd.DataFrame({c: keys[c] for c in by})


def _as_float(series: pd.Series, coerce: bool) -> np.ndarray:
    if coerce or not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        series = pd.to_numeric(series, errors="coerce")
    return series.to_numpy(dtype=float, na_value=np.nan)


def _bin_codes(series: pd.Series, binning: Binning) -> tuple[np.ndarray, int]:
    """Bin of every value shifted by one (0 is missing), and the number of slots."""
    if binning.edges is not None:
        values = _as_float(series, binning.coerce_numeric)
        bins = np.searchsorted(np.asarray(binning.edges), values, side="right") + 1
        bins[np.isnan(values)] = 0
        return bins.astype(np.int64), len(binning.edges) + 2
    categories = list(binning.categories or [])
    arrow = _arrow_strings(series)
    if arrow is not None and all(isinstance(c, str) for c in categories):
        import pyarrow as pa
        import pyarrow.compute as pc

        # One hash lookup per value against the few categories, in Arrow.
        found = pc.index_in(arrow, value_set=pa.array(categories, type=pa.string()))
        found = pc.fill_null(found, len(categories)).to_numpy(zero_copy_only=False)
        bins = found.astype(np.int64) + 1
        bins[series.isna().to_numpy()] = 0
        return bins, len(categories) + 2
    # Factorise first (fast on Arrow strings), then look the few distinct values up.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
        uniques = pd.Index(uniques).astype("string")
        categories = [str(c) for c in categories]
    lookup = pd.Index(categories).get_indexer(pd.Index(uniques)).astype(np.int64)
    lookup = np.where(lookup < 0, len(categories), lookup) + 1
    bins = np.append(lookup, 0)[codes]  # code -1 (missing) picks the appended 0
    return bins.astype(np.int64), len(categories) + 2


def _as_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)
