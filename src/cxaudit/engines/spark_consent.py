"""The consent as-of join in Spark: each row's ledger record in force, without collecting ids.

Same semantics as :func:`cxaudit.consent.asof.asof_positions` (the reference,
checked against it in tests/spark): for a row of subject ``s`` at time ``t``,
the record of ``s`` with the latest start ``<= t``; among records starting at
the same instant the highest rank wins, then the later ledger row.

How: the purpose's ledger records and the data rows are stacked into one
frame, partitioned by subject and ordered by ``(t, kind, rank, record)`` with
records (kind 0) before rows (kind 1) at equal times, so a record granted at
the very instant of the event covers it. ``last(record, ignorenulls)`` over
the running window is then the record in force at each row. That is one
shuffle of rows plus records by subject, and a sort inside each subject's
partition: the work runs on the executors, and only two longs a row
(position, record) come back to the driver.

Event times: a ``timestamp`` column (an instant, time-zone aware) is read by
Spark as microseconds (``unix_micros``); one instant for all rows
(``consent.as_of`` or the audit time) is a literal; any other column (text,
naive ``timestamp_ntz``) is parsed on the driver by the same code as every
engine (time zones are never guessed) and shipped back by row position.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from cxaudit.consent.asof import text_array
from cxaudit.loaders.timestamps import MISSING

_TIME = "__cx_event_us"


def _event_micros(engine: Any, frame: Any, times: np.ndarray, time_column: str | None
                  ) -> tuple[Any, Any]:
    """``frame`` (with positions) and a Column of each row's event time in microseconds."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    if time_column is None:
        value = int(times[0]) if len(times) and times[0] != MISSING else None
        return engine.with_positions(frame), F.lit(value).cast("long")
    if isinstance(frame.schema[time_column].dataType, TimestampType):
        return engine.with_positions(frame), F.unix_micros(F.col(time_column))
    positioned = engine.join_by_position(frame, pa.table({
        "__cx_pos": pa.array(np.arange(len(times), dtype=np.int64)), _TIME: pa.array(times)}))
    return positioned, F.when(F.col(_TIME) != F.lit(int(MISSING)), F.col(_TIME))


def _id_text(frame: Any, id_column: str) -> Any:
    """Ids as text, spelled as the local join spells them (Arrow's cast): an id read as a
    float because its column has gaps is ``42``, not Spark's ``42.0``."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    column = F.col(id_column)
    if isinstance(frame.schema[id_column].dataType, (DoubleType, FloatType)):
        whole = ~F.isnan(column) & (column == F.floor(column)) & (F.abs(column) < F.lit(2.0**63))
        return F.when(whole, column.cast("long").cast("string")).when(
            ~F.isnan(column), column.cast("string"))
    return column.cast("string")


def spark_asof_records(engine: Any, frame: Any, id_column: str, times: np.ndarray,
                       time_column: str | None, ledger_ids: Any, ledger_starts: np.ndarray,
                       ledger_rank: np.ndarray) -> np.ndarray:
    """Index into the ledger arrays of the record in force for each row, or -1."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    times = np.asarray(times, dtype=np.int64)
    result = np.full(len(times), -1, dtype=np.int64)
    if len(ledger_starts) == 0 or len(times) == 0:
        return result
    spark = frame.sparkSession
    ledger = spark.createDataFrame(pa.table({
        "sid": text_array(ledger_ids),
        "t": pa.array(np.asarray(ledger_starts, dtype=np.int64)),
        "rank": pa.array(np.asarray(ledger_rank, dtype=np.int64)),
        "record": pa.array(np.arange(len(ledger_starts), dtype=np.int64)),
    }))
    positioned, event = _event_micros(engine, frame, times, time_column)
    rows = positioned.select(F.col("__cx_pos").alias("pos"),
                             _id_text(frame, id_column).alias("sid"), event.alias("t"))
    rows = rows.where(F.col("sid").isNotNull() & F.col("t").isNotNull())
    stacked = ledger.select("sid", "t", F.lit(0).alias("kind"), "rank", "record",
                            F.lit(None).cast("long").alias("pos")).unionByName(
        rows.select("sid", "t", F.lit(1).alias("kind"), F.lit(0).cast("long").alias("rank"),
                    F.lit(None).cast("long").alias("record"), "pos"))
    running = (Window.partitionBy("sid").orderBy("t", "kind", "rank", "record")
               .rowsBetween(Window.unboundedPreceding, Window.currentRow))
    found = (stacked.withColumn("found", F.last("record", ignorenulls=True).over(running))
             .where((F.col("kind") == 1) & F.col("found").isNotNull())
             .select("pos", "found"))
    table = found.toArrow()
    positions = table.column("pos").to_numpy().astype(np.int64)
    result[positions] = table.column("found").to_numpy().astype(np.int64)
    return result


def spark_distinct_where(engine: Any, frame: Any, column: str, mask: Any, limit: int
                         ) -> tuple[int, list[Any]]:
    """:meth:`Engine.distinct_where` in Spark: the positions of the flagged rows are
    joined to the frame, their ids grouped by Spark with each id's first position; only
    the number of ids and the first ``limit`` of them come back to the driver."""
    from pyspark.sql import functions as F

    wanted = np.flatnonzero(np.asarray(mask, dtype=bool)).astype(np.int64)
    if not len(wanted):
        return 0, []
    chosen = pa.table({"__cx_pos": pa.array(wanted)})
    ids = (engine.join_by_position(frame, chosen, how="inner")
           .where(F.col(column).isNotNull())
           .groupBy(column).agg(F.min("__cx_pos").alias("__cx_first"))).persist()
    try:
        count = ids.count()
        first = ([r[0] for r in ids.orderBy("__cx_first").limit(int(limit)).select(column)
                  .collect()] if limit > 0 else [])
    finally:
        ids.unpersist()
    return count, first
