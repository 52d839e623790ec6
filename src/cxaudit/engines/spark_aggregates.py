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

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cxaudit.engines.common import canonical_counts

#: Up to this many rows, driver-side row values are broadcast to the executors (a hash
#: table of ~40 bytes a row in each JVM); above it they are shuffle-joined by position.
#: 10 M broadcast rows exhausted local mode's 3 GB driver after one join (measured).
BROADCAST_ROWS = 2_000_000


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
        """Missing (null, NaN, blank text) per column for each grouping."""
        from pyspark.sql import functions as F

        types = _types(frame)
        columns = list(columns)
        flagged = frame.select(
            *{c for by in groupings for c in by},
            *[_missing_flag(c, types[c], blank_is_missing).cast("long").alias(f"__m{i}")
              for i, c in enumerate(columns)])
        sums = [F.count(F.lit(1)).alias("__rows"),
                *[F.sum(f"__m{i}").alias(f"__s{i}") for i in range(len(columns))]]
        out = []
        for by in groupings:
            by = list(by)
            rows = (flagged.groupBy(*by).agg(*sums) if by else flagged.agg(*sums)).collect()
            width = len(by)
            out.append(canonical_counts(by, ((tuple(r[:width]), tuple(v or 0 for v in r[width:]))
                                             for r in rows), value_columns=["rows", *columns]))
        return out

    def duplicate_keys(self, frame: Any, columns: Sequence[str], limit: int = 5
                       ) -> tuple[int, int, list[tuple[Any, ...]]]:
        """Rows repeating an earlier row's key; examples in order of their first repeat."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        columns = list(columns)
        counted = frame.groupBy(*columns).count().filter(F.col("count") > 1)
        totals = counted.agg(F.count(F.lit(1)), F.sum(F.col("count") - 1)).collect()[0]
        keys, repeats = int(totals[0]), int(totals[1] or 0)
        if not repeats:
            return 0, 0, []
        ordered = frame.select(*columns).withColumn("__pos", F.monotonically_increasing_id())
        window = Window.partitionBy(*columns).orderBy("__pos")
        second = (ordered.withColumn("__nth", F.row_number().over(window))
                  .filter(F.col("__nth") == 2).orderBy("__pos").limit(int(limit)))
        return repeats, keys, [tuple(r[:len(columns)]) for r in second.collect()]

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

        right = frame.sparkSession.createDataFrame(table)
        if table.num_rows <= BROADCAST_ROWS:
            right = F.broadcast(right)
        return self.with_positions(frame).join(right, on="__cx_pos", how=how)

    def with_row_values(self, frame: Any, name: str, values: Any) -> Any:
        """``frame`` joined by row position with a column of driver-side ``values``."""
        import numpy as np
        import pyarrow as pa

        values = np.asarray(values)
        table = pa.table({"__cx_pos": pa.array(np.arange(len(values), dtype=np.int64)),
                          name: pa.array(values)})
        return self.join_by_position(frame, table).drop("__cx_pos")


__all__ = ["SparkAggregates"]
