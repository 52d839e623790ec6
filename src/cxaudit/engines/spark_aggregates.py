"""Data-quality and sampling aggregates for the Spark engine.

Each method returns what the local engine returns for the same rows (see
``engines/base.py`` for the contracts). Counting aggregates (missing values,
histograms, duplicate keys, exact quantiles) run as Spark aggregations; the
two whose exact local semantics rest on pandas parsing or NumPy's random
generator (``datetime_range``, ``stratified_sample``) collect only the
columns they need and apply the local engine's own code to them, so the
answers agree by construction rather than by re-implementation.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.engines.common import canonical_counts

#: Up to this many rows, driver-side row values are broadcast to the executors (a hash
#: table of ~40 bytes a row in each JVM); above it they are shuffle-joined by position.
#: 10 M broadcast rows exhausted local mode's 3 GB driver after one join (measured).
BROADCAST_ROWS = 2_000_000

#: Largest finest grouping collected to the driver to answer several groupings (or a
#: count with driver-side row values) from one aggregation; beyond it Spark aggregates
#: each grouping itself.
MAX_FINEST_CELLS = 100_000

#: Up to this many rows, a key's uniqueness is first tried on the driver from the keys'
#: 64-bit hashes (8 bytes a row collected: 400 MB at the limit); beyond it, or when a
#: hash repeats, Spark counts the keys themselves.
DRIVER_HASH_ROWS = 50_000_000


def _types(frame: Any) -> dict[str, Any]:
    return {f.name: f.dataType for f in frame.schema.fields}


def _is_text(data_type: Any) -> bool:
    from pyspark.sql.types import StringType

    return isinstance(data_type, StringType)


def _missing_flag(name: str, data_type: Any, blank_is_missing: bool) -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    column = F.col(name)
    flag = column.isNull()
    if isinstance(data_type, (DoubleType, FloatType)):
        flag = flag | F.isnan(column)
    if blank_is_missing and _is_text(data_type):
        flag = flag | F.coalesce(column.rlike(r"^\s*$"), F.lit(False))
    return flag


def _as_double(name: str, data_type: Any, coerce: bool) -> Any:
    """Numbers as double; text (or ``coerce``) parsed, unparseable → null; NaN → null."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, NumericType

    if isinstance(data_type, BooleanType):
        value = F.col(name).cast("int").cast("double")
    elif isinstance(data_type, NumericType) and not coerce:
        value = F.col(name).cast("double")
    else:
        value = F.expr(f"try_cast(trim(CAST(`{name}` AS STRING)) AS DOUBLE)")
    return F.when(~F.isnan(value), value)


class SparkAggregates:
    """Mixed into :class:`~cxaudit.engines.spark.SparkEngine`."""

    num_rows: Any  # provided by the engine

    def select(self, frame: Any, columns: Sequence[str]) -> Any:
        """Only ``columns`` (lazy)."""
        return frame.select(*list(columns))

    def where_equal(self, frame: Any, column: str, value: Any) -> Any:
        """Rows whose ``column`` equals ``value`` (lazy; missing values never match)."""
        from pyspark.sql import functions as F

        return frame.filter(F.col(column) == F.lit(value))

    def missing_counts(self, frame: Any, columns: Sequence[str],
                       groupings: Sequence[Sequence[str]] = ((),), *,
                       blank_is_missing: bool = True) -> list[pd.DataFrame]:
        """Missing (null, NaN, blank text) per column for each grouping.

        One aggregation over the finest grouping (every grouping's columns at
        once); each grouping is then a sum of its cells on the driver (counts
        are integers: exact). Past :data:`MAX_FINEST_CELLS` cells each grouping
        is aggregated by Spark on its own.
        """
        from pyspark.sql import functions as F

        types = _types(frame)
        columns = list(columns)
        finest = list(dict.fromkeys(c for by in groupings for c in by))
        flagged = frame.select(
            *finest,
            *[_missing_flag(c, types[c], blank_is_missing).cast("long").alias(f"__m{i}")
              for i, c in enumerate(columns)])
        sums = [F.count(F.lit(1)).alias("__rows"),
                *[F.sum(f"__m{i}").alias(f"__s{i}") for i in range(len(columns))]]
        value_columns = ["rows", *columns]
        width = len(finest)
        cells = (flagged.groupBy(*finest).agg(*sums).limit(MAX_FINEST_CELLS + 1).collect()
                 if finest else flagged.agg(*sums).collect())
        out = []
        for by in groupings:
            by = list(by)
            if len(cells) > MAX_FINEST_CELLS:
                rows = (flagged.groupBy(*by).agg(*sums) if by else flagged.agg(*sums)).collect()
                out.append(canonical_counts(by, ((tuple(r[:len(by)]),
                                                  tuple(v or 0 for v in r[len(by):]))
                                                 for r in rows), value_columns=value_columns))
                continue
            at = [finest.index(c) for c in by]
            out.append(canonical_counts(by, ((tuple(r[i] for i in at),
                                              tuple(v or 0 for v in r[width:])) for r in cells),
                                        value_columns=value_columns))
        return out

    def duplicate_keys(self, frame: Any, columns: Sequence[str], limit: int = 5
                       ) -> tuple[int, int, list[tuple[Any, ...]]]:
        """Rows repeating an earlier row's key; examples in order of their first repeat."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        columns = list(columns)
        if self._keys_distinct_by_hash(frame, columns):
            return 0, 0, []
        counted = frame.groupBy(*columns).count().filter(F.col("count") > 1)
        # Keys are mostly distinct (ids): a map-side partial count would hold every key and
        # shrink nothing before the shuffle. One count after the shuffle instead (measured at
        # 10 M ids: 6-7 JVM CPU-s against 14-18).
        with session_conf(frame.sparkSession, "spark.sql.execution.bypassPartialAggregation",
                          "true"):
            totals = counted.agg(F.count(F.lit(1)), F.sum(F.col("count") - 1)).collect()[0]
        keys, repeats = int(totals[0]), int(totals[1] or 0)
        if not repeats:
            return 0, 0, []
        ordered = frame.select(*columns).withColumn("__pos", F.monotonically_increasing_id())
        window = Window.partitionBy(*columns).orderBy("__pos")
        second = (ordered.withColumn("__nth", F.row_number().over(window))
                  .filter(F.col("__nth") == 2).orderBy("__pos").limit(int(limit)))
        return repeats, keys, [tuple(r[:len(columns)]) for r in second.collect()]

    def _keys_distinct_by_hash(self, frame: Any, columns: list[str]) -> bool:
        """True when the keys' 64-bit hashes are all distinct, which proves the keys are.

        Up to :data:`DRIVER_HASH_ROWS` rows, the executors hash each key (xxhash64) and the
        driver sorts the hashes (8 bytes a row): no shuffle of the keys themselves (10 M
        text ids: about 1.5-2 s against 4.5-6.5 s for the exact group-by). Equal hashes
        (a repeat, missing keys, or a collision) prove nothing: the caller counts exactly.
        Only for text, integer and date keys, whose equality is their bytes' equality
        (grouping treats -0.0 and 0.0, or NaNs, as one floating-point key).
        """
        from pyspark.sql import functions as F
        from pyspark.sql.types import (
            DateType,
            IntegralType,
            StringType,
            TimestampNTZType,
            TimestampType,
        )

        types = _types(frame)
        exact = (StringType, IntegralType, DateType, TimestampType, TimestampNTZType)
        if not all(isinstance(types[c], exact) for c in columns):
            return False
        if self.num_rows(frame) > DRIVER_HASH_ROWS:
            return False
        hashed = frame.select(F.xxhash64(*columns).alias("h"))
        if hasattr(hashed, "toArrow"):
            values = hashed.toArrow().column("h").to_numpy()
        else:  # pyspark before 4.0
            values = hashed.toPandas()["h"].to_numpy()
        values = np.sort(values)
        return not bool((values[1:] == values[:-1]).any())

    def datetime_range(self, frame: Any, column: str, *, format: str = "ISO8601"
                       ) -> dict[str, Any]:
        """Oldest/newest timestamp, parsed exactly as the local engine parses (one column)."""
        from cxaudit.engines.local import LocalEngine

        return LocalEngine().datetime_range(self.to_pandas(frame, [column]), column,
                                            format=format)

    def quantiles(self, frame: Any, columns: Sequence[str], probs: Sequence[float], *,
                  coerce_numeric: Sequence[str] = ()) -> dict[str, list[float]]:
        """Exact quantiles (linear interpolation, as NumPy's default), missing values ignored."""
        from pyspark.sql import functions as F

        types = _types(frame)
        columns, probs = list(columns), [float(p) for p in probs]
        exprs = []
        for i, column in enumerate(columns):
            value = _as_double(column, types[column], column in coerce_numeric)
            exprs.append(F.percentile(value, F.array(*[F.lit(p) for p in probs])).alias(f"__q{i}"))
        if not exprs:
            return {}
        row = frame.agg(*exprs).collect()[0]
        return {c: [float(v) for v in row[i]] if row[i] is not None else []
                for i, c in enumerate(columns)}

    def top_values(self, frame: Any, columns: Sequence[str], limit: int
                   ) -> dict[str, list[Any]]:
        """Commonest non-missing values, commonest first, ties by text (as the local engine).

        Candidates are ranked in Spark by count, then first appearance in row
        order (the local engine's stable order); only those are collected.
        """
        from pyspark.sql import functions as F

        types = _types(frame)
        keep = max(limit * 4, limit + 50)
        ordered = frame.withColumn("__pos", F.monotonically_increasing_id())
        out = {}
        for column in columns:
            present = ~_missing_flag(column, types[column], False)
            rows = (ordered.filter(present).groupBy(column)
                    .agg(F.count(F.lit(1)).alias("__n"), F.min("__pos").alias("__first"))
                    .orderBy(F.col("__n").desc(), F.col("__first")).limit(keep).collect())
            ranked = sorted(rows, key=lambda r: (-r[1], str(r[0])))
            out[column] = [r[0] for r in ranked[:limit]]
        return out

    def binned_counts(self, frame: Any, binnings: dict[str, Any], by: Sequence[str] = ()
                      ) -> dict[str, pd.DataFrame]:
        """Histogram per column and group; bin ``-1`` holds missing values."""
        from pyspark.sql import functions as F

        types = _types(frame)
        by = list(by)
        out = {}
        for column, binning in binnings.items():
            data_type = types[column]
            if binning.edges is not None:
                value = _as_double(column, data_type, binning.coerce_numeric)
                above = [F.when(value >= F.lit(float(e)), 1).otherwise(0) for e in binning.edges]
                index = sum(above[1:], above[0]) if above else F.lit(0)
                bin_ = F.when(value.isNull(), F.lit(-1)).otherwise(index)
            else:
                from cxaudit.engines.spark_context import as_text

                categories = list(binning.categories or [])
                text = _is_text(data_type)
                value = F.col(column) if text else as_text(column, data_type)
                # Text columns match categories as they are (a number never equals text);
                # other columns match as text, like the local engine.
                wanted = [(c if isinstance(c, str) else None) if text else str(c)
                          for c in categories]
                found = F.array_position(F.array(*[F.lit(c).cast("string") for c in wanted]),
                                         value) - 1 if wanted else F.lit(-1)
                bin_ = (F.when(_missing_flag(column, data_type, False), F.lit(-1))
                        .when(found < 0, F.lit(len(wanted))).otherwise(found))
            rows = frame.groupBy(*by, bin_.cast("long").alias("__bin")).count().collect()
            out[column] = canonical_counts([*by, "bin"],
                                           ((tuple(r[:-1]), r[-1]) for r in rows))
        return out

    def stratified_sample(self, frame: Any, by: Sequence[str],
                          sizes: Mapping[tuple[str, ...], int], columns: Sequence[str],
                          seed: int) -> pd.DataFrame:
        """The local engine's stratified sample; only the sampled rows reach the driver.

        The strata columns are collected in row order and the local engine
        draws row positions from them (NumPy's generator, so the draw is the
        local engine's); the sampled rows' ``columns`` are then fetched by
        position (partition offsets + ``monotonically_increasing_id``).
        """
        import numpy as np

        from cxaudit.engines.local import LocalEngine

        by = list(by)
        keys = self.to_pandas(frame, by)
        keys["__cx_pos"] = np.arange(len(keys), dtype=np.int64)
        drawn = LocalEngine().stratified_sample(keys, by, sizes, ["__cx_pos"], seed)
        positions = drawn["__cx_pos"].to_numpy()
        wanted = list(dict.fromkeys([*columns, *by]))
        return self.rows_at(frame, wanted, positions)

    def with_positions(self, frame: Any) -> Any:
        """``frame`` plus ``__cx_pos``: each row's 0-based position in row order.

        Positions are partition offsets plus the row number inside the
        partition (the low 33 bits of ``monotonically_increasing_id``); no
        single-partition window is needed.
        """
        from pyspark.sql import functions as F

        indexed = frame.withColumn("__cx_part", F.spark_partition_id()).withColumn(
            "__cx_mono", F.monotonically_increasing_id())
        # Rows per partition cost a job: counted once per frame (checks ask again and again).
        memo = self.__dict__.setdefault("_partition_rows", {})
        known = memo.get(id(frame))
        if known is None or known[0] is not frame:
            known = (frame, sorted(tuple(r) for r in
                                   indexed.groupBy("__cx_part").count().collect()))
            memo[id(frame)] = known
        counts = known[1]
        pairs, start = [], 0
        for part, n in counts:
            pairs += [F.lit(part), F.lit(start)]
            start += n
        if not pairs:
            return frame.withColumn("__cx_pos", F.lit(None).cast("long"))
        offset = F.element_at(F.create_map(*pairs), F.col("__cx_part"))
        position = offset + (F.col("__cx_mono") - F.shiftleft(F.col("__cx_part").cast("long"), 33))
        return indexed.withColumn("__cx_pos", position).drop("__cx_part", "__cx_mono")

    def rows_at(self, frame: Any, columns: Sequence[str], positions: Any) -> pd.DataFrame:
        """Rows at 0-based ``positions`` (row order of ``frame``), as pandas indexed by position."""
        from pyspark.sql import functions as F

        columns = list(columns)
        wanted = [int(p) for p in positions]
        if not wanted:
            return pd.DataFrame({c: [] for c in columns})
        rows = (self.with_positions(frame).filter(F.col("__cx_pos").isin(wanted))
                .select(*columns, "__cx_pos").toPandas())
        rows = rows.sort_values("__cx_pos").set_index("__cx_pos")
        rows.index.name = None
        return rows[columns]

    def join_by_position(self, frame: Any, table: Any, how: str = "left") -> Any:
        """``frame`` with ``__cx_pos``, joined with a driver-side Arrow ``table`` that holds
        ``__cx_pos`` (and any columns); up to :data:`BROADCAST_ROWS` rows are broadcast,
        so the frame itself is never shuffled."""
        from pyspark.sql import functions as F

        right = self._kept_table(frame.sparkSession, table)
        if table.num_rows <= BROADCAST_ROWS:
            right = F.broadcast(right)
        return self.with_positions(frame).join(right, on="__cx_pos", how=how)

    def _kept_table(self, spark: Any, table: Any) -> Any:
        """A driver-side Arrow ``table`` as a lazy Spark DataFrame that lives as long as
        this engine: in local mode a Parquet file in the engine's temporary folder (removed
        with the engine; see :func:`shipped_table` for why), elsewhere
        :func:`driver_frame`."""
        if not _local_master(spark):
            return driver_frame(spark, table)
        import pyarrow.parquet as pq

        try:
            folder = self.__dict__.get("_cx_temp")
            if folder is None:
                folder = self.__dict__["_cx_temp"] = tempfile.mkdtemp(prefix="cxaudit-spark-")
                weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            count = self.__dict__["_cx_temp_files"] = self.__dict__.get("_cx_temp_files", 0) + 1
            path = os.path.join(folder, f"table-{count}.parquet")
            pq.write_table(table, path, row_group_size=1_000_000, compression="none")
        except OSError:  # no writable temporary folder: the slower way
            return driver_frame(spark, table)
        return spark.read.parquet(path)

    def with_row_values(self, frame: Any, name: str, values: Any) -> Any:
        """``frame`` joined by row position with a column of driver-side ``values``.

        Integer and boolean values travel sparsely (the rows that differ from
        the commonest value); the frame remembers its values, so
        :meth:`count_by` over it is answered on the driver (see
        :meth:`_counts_with_row_values`) and the join never runs for a count.
        """
        import numpy as np
        import pyarrow as pa
        from pyspark.sql import functions as F

        values = np.asarray(values)
        n = len(values)
        if values.dtype.kind in "biu" and n:
            kinds, inverse = value_codes(values)
            common = kinds[np.argmax(np.bincount(inverse, minlength=len(kinds)))]
            rest = np.flatnonzero(values != common).astype(np.int64)
            table = pa.table({"__cx_pos": pa.array(rest), name: pa.array(values[rest])})
            joined = self.join_by_position(frame, table)
            filled = F.coalesce(F.col(name), F.lit(common.item()).cast(joined.schema[name]
                                                                         .dataType))
            out = joined.withColumn(name, filled).drop("__cx_pos")
        else:
            table = pa.table({"__cx_pos": pa.array(np.arange(n, dtype=np.int64)),
                              name: pa.array(values)})
            out = self.join_by_position(frame, table).drop("__cx_pos")
        _memo(self, "row_values")[id(out)] = (out, frame, name, values)
        return out

    def _counts_with_row_values(self, frame: Any, columns: Sequence[str]
                                ) -> pd.DataFrame | None:
        """``count_by`` of a frame made by :meth:`with_row_values`, on the driver: each
        row's cell of the other columns (collected once per frame and columns, as small
        integer codes in row order) combined with the driver-side values. None when the
        frame is not such a frame or its other columns are not few-valued."""
        import numpy as np

        known = _memo(self, "row_values").get(id(frame))
        if known is None or known[0] is not frame or known[2] not in columns:
            return None
        _, base, name, values = known
        others = [c for c in columns if c != name]
        cells = self.row_cells(base, others)
        if cells is None or len(cells[0]) != len(values):
            return None
        codes, keys = cells
        kinds, inverse = value_codes(values)
        found = np.bincount(codes.astype(np.int64) * len(kinds) + inverse,
                            minlength=len(keys) * len(kinds))
        where = {c: i for i, c in enumerate(others)}
        rows = []
        for cell in np.flatnonzero(found):
            key, kind = keys[cell // len(kinds)], kinds[cell % len(kinds)].item()
            rows.append((tuple(kind if c == name else key[where[c]] for c in columns),
                         int(found[cell])))
        return canonical_counts(list(columns), rows)

    def row_cells(self, frame: Any, columns: Sequence[str]) -> tuple[Any, list[tuple]] | None:
        """Each row's combination of ``columns`` as a code into a small list of keys.

        Returns ``(codes, keys)``: ``codes`` (NumPy, row order) index ``keys``
        (tuples of the columns' values, as Spark gives them). Two jobs, once per
        frame and columns: the combinations (``groupBy``), then each row's code
        (array positions of its values, collected as one small integer a row).
        None for columns that are not text, integers or booleans, or have more
        than :data:`MAX_FINEST_CELLS` combinations.
        """
        import numpy as np
        from pyspark.sql import functions as F
        from pyspark.sql.types import ArrayType, BooleanType, IntegralType, StringType

        columns = list(columns)
        memo = _memo(self, "row_cells")
        key = (id(frame), tuple(columns))
        known = memo.get(key)
        if known is not None and known[0] is frame:
            return known[1]
        types = _types(frame)
        if not all(isinstance(types[c], (StringType, IntegralType, BooleanType))
                   for c in columns):
            return None
        if not columns:
            cells = (np.zeros(self.num_rows(frame), dtype=np.int64), [()])
            memo[key] = (frame, cells)
            return cells
        combos = self._known_combinations(frame, columns)
        if combos is None:
            combos = (frame.groupBy(*columns).count().limit(MAX_FINEST_CELLS + 1)
                      .select(*columns).collect())
        if len(combos) > MAX_FINEST_CELLS:
            return None
        values = [sorted({r[i] for r in combos if r[i] is not None})
                  for i in range(len(columns))]
        flat, radix = F.lit(0), 1
        for column, known_values in zip(columns, values, strict=True):
            # 1-based position among the column's values; 0 for a missing value
            if len(known_values) <= 64:  # a CASE of equalities: compiled, no array per row
                found = F.lit(0)
                for index, value in reversed(list(enumerate(known_values, start=1))):
                    found = F.when(F.col(column) == F.lit(value).cast(types[column]),
                                   F.lit(index)).otherwise(found)
            else:
                found = F.coalesce(F.array_position(
                    F.array(*[F.lit(v) for v in known_values]).cast(ArrayType(types[column])),
                    F.col(column)), F.lit(0))
            flat = flat + found * F.lit(radix)
            radix *= len(known_values) + 1
        if radix >= 2**31:
            return None
        flats = frame.select(flat.cast("int").alias("c")).toArrow().column("c").to_numpy()
        uniques, codes = value_codes(flats)
        keys = []
        for value in uniques.tolist():
            key_values = []
            for known_values in values:
                value, index = divmod(value, len(known_values) + 1)
                key_values.append(known_values[index - 1] if index else None)
            keys.append(tuple(key_values))
        cells = (codes.astype(np.int32), keys)
        memo[key] = (frame, cells)
        return cells

    def remember_counts(self, frame: Any, columns: Sequence[str], counts: pd.DataFrame) -> None:
        """Keep a ``count_by`` result (small) for :meth:`row_cells`."""
        _memo(self, "counts")[(id(frame), tuple(columns))] = (frame, counts.copy())

    def _known_combinations(self, frame: Any, columns: Sequence[str]) -> list[tuple] | None:
        """The combinations of ``columns`` that occur, from a kept ``count_by`` over the same
        frame and more columns (the audit's count plan), when it has no missing keys."""
        for (_, kept), (source, counts) in _memo(self, "counts").items():
            if source is not frame or not set(columns) <= set(kept):
                continue
            if counts[list(columns)].isna().to_numpy().any():
                continue
            keys = counts[list(columns)].drop_duplicates()
            return list(zip(*(keys[c].tolist() for c in columns), strict=True))
        return None

    def remember_subjects(self, frame: Any, column: str, subjects: Any) -> None:
        """Keep each row's subject code (see :mod:`cxaudit.engines.spark_consent`)."""
        _memo(self, "subjects")[(id(frame), column)] = (frame, subjects)

    def subject_codes(self, frame: Any, column: str) -> Any:
        """Each row's subject code of ``frame``'s id ``column`` (-1: no id), if known."""
        known = _memo(self, "subjects").get((id(frame), column))
        return known[1] if known is not None and known[0] is frame else None


def value_codes(values: Any) -> tuple[Any, Any]:
    """``np.unique(values, return_inverse=True)`` for a 1-d array; integers and booleans
    spanning at most 2**20 values in one linear pass (no sort of millions of rows)."""
    import numpy as np

    values = np.asarray(values).ravel()
    if values.dtype.kind in "biu" and len(values):
        wide = values.astype(np.int64)
        low, high = int(wide.min()), int(wide.max())
        if high - low < 2**20:
            present = np.flatnonzero(np.bincount(wide - low, minlength=high - low + 1))
            lookup = np.zeros(high - low + 1, dtype=np.int64)
            lookup[present] = np.arange(len(present))
            return (present + low).astype(values.dtype), lookup[wide - low]
    kinds, inverse = np.unique(values, return_inverse=True)
    return kinds, inverse.ravel()


def _memo(engine: Any, name: str) -> dict[Any, Any]:
    """A per-engine cache keyed by frame identity (entries hold their frame, so an id is
    never reused while cached)."""
    return engine.__dict__.setdefault(f"_memo_{name}", {})


def driver_frame(spark: Any, table: Any) -> Any:
    """A Spark DataFrame of a driver-side Arrow ``table`` in a few partitions.

    pyspark makes one partition per Arrow batch (10,000 rows by default), so a
    10 M-row table became 1,000 tasks at every scan; the batches are coalesced
    (no shuffle) into about one partition per million rows, at most 8.
    """
    frame = spark.createDataFrame(table)
    wanted = max(1, min(8, -(-table.num_rows // 1_000_000)))
    try:
        if frame.rdd.getNumPartitions() > wanted:
            frame = frame.coalesce(wanted)
    except Exception:  # noqa: BLE001 - Spark Connect has no RDDs: keep its own layout
        pass
    return frame


@contextlib.contextmanager
def session_conf(spark: Any, key: str, value: str) -> Iterator[None]:
    """Set one SQL setting of the session for the queries run inside the block."""
    try:
        before = spark.conf.get(key, None)
        spark.conf.set(key, value)
    except Exception:  # noqa: BLE001 - a setting the session refuses is only a lost shortcut
        yield
        return
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def _local_master(spark: Any) -> bool:
    """True for a classic session whose executors share the driver's file system."""
    try:
        return str(spark.sparkContext.master).startswith("local")
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return False


@contextlib.contextmanager
def shipped_table(spark: Any, table: Any) -> Iterator[Any]:
    """A driver-side Arrow ``table`` as a Spark DataFrame, for queries run inside the block.

    In local mode the table goes through a temporary Parquet file that Spark
    reads with its vectorised reader: rows made from ``createDataFrame``'s
    Arrow batches cost about five times more JVM time at every scan (measured:
    1 M ledger rows, 3-4 CPU-s against 0.7). The file is deleted when the
    block ends. Elsewhere (a cluster, Spark Connect) :func:`driver_frame`.
    """
    if not _local_master(spark):
        yield driver_frame(spark, table)
        return
    import pyarrow.parquet as pq

    try:
        folder = tempfile.mkdtemp(prefix="cxaudit-spark-")
    except OSError:  # no writable temporary folder: the slower way
        yield driver_frame(spark, table)
        return
    try:
        path = os.path.join(folder, "table.parquet")
        pq.write_table(table, path, row_group_size=1_000_000, compression="none")
        yield spark.read.parquet(path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["SparkAggregates", "driver_frame", "shipped_table"]
