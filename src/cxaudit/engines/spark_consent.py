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
partition: the work runs on the executors, and only three integers a row
(position, record, subject) come back to the driver.

The subject of a row is the position of its subject's first row in the
window's order (``first`` over the same running window, so no second sort):
an exact code, equal for two rows exactly when their ids are equal. The engine keeps it, so the
consent findings' distinct affected subjects (:func:`spark_distinct_where`)
are counted on the driver from any row mask, without a job per mask; only
the few example ids are then fetched by position.

Event times: a ``timestamp`` column (an instant, time-zone aware) is read by
Spark as microseconds (``unix_micros``); one instant for all rows
(``consent.as_of`` or the audit time) is a literal; any other column (text,
naive ``timestamp_ntz``) is parsed on the driver by the same code as every
engine (time zones are never guessed) and shipped back by row position.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import pyarrow as pa

from cxaudit.consent.asof import text_array
from cxaudit.engines.spark_aggregates import shipped_table
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
    """Index into the ledger arrays of the record in force for each row, or -1.

    Also leaves each row's subject code with the engine (see
    :meth:`~cxaudit.engines.spark_aggregates.SparkAggregates.subject_codes`), computed in the same job.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    times = np.asarray(times, dtype=np.int64)
    n = len(times)
    result = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return result
    spark = frame.sparkSession
    positioned, event = _event_micros(engine, frame, times, time_column)
    rows = positioned.select(F.col("__cx_pos").alias("pos"),
                             _id_text(frame, id_column).alias("sid"), event.alias("t"))
    rows = rows.where(F.col("sid").isNotNull())
    narrow = "int" if max(n, len(ledger_starts)) < 2**31 - 1 else "long"
    kinds = rows.select("sid", "t", F.lit(1).alias("kind"), F.lit(0).cast("long").alias("rank"),
                        F.lit(None).cast(narrow).alias("record"), F.col("pos").cast(narrow))
    ledger = pa.table({
        "sid": text_array(ledger_ids, combine=False),  # Parquet takes the chunks as they are
        "t": pa.array(np.asarray(ledger_starts, dtype=np.int64)),
        "rank": pa.array(np.asarray(ledger_rank, dtype=np.int64)),
        "record": pa.array(np.arange(len(ledger_starts),
                                     dtype=np.int32 if narrow == "int" else np.int64)),
    })
    with (shipped_table(spark, ledger) if len(ledger_starts) else nullcontext()) as records:
        if records is not None:
            kinds = records.select("sid", "t", F.lit(0).alias("kind"), "rank", "record",
                                   F.lit(None).cast(narrow).alias("pos")).unionByName(kinds)
        running = (Window.partitionBy("sid").orderBy("t", "kind", "rank", "record")
                   .rowsBetween(Window.unboundedPreceding, Window.currentRow))
        # A row without an event time has no record in force (its null time sorts first).
        found = F.when(F.col("t").isNotNull(), F.last("record", ignorenulls=True).over(running))
        # The subject's code: the position of its first data row in the window's order, the
        # same for all its rows (one frame, computed in the same pass as the record).
        table = (kinds.withColumn("found", found)
                 .withColumn("subject", F.first("pos", ignorenulls=True).over(running))
                 .where(F.col("kind") == 1)
                 .select("pos", F.coalesce(F.col("found"), F.lit(-1)).alias("found"), "subject")
                 .toArrow())
    positions = table.column("pos").to_numpy().astype(np.int64)
    result[positions] = table.column("found").to_numpy()
    subjects = np.full(n, -1, dtype=np.int64)
    subjects[positions] = table.column("subject").to_numpy()
    engine.remember_subjects(frame, id_column, subjects)
    return result


def spark_distinct_where(engine: Any, frame: Any, column: str, mask: Any, limit: int
                         ) -> tuple[int, list[Any]]:
    """:meth:`Engine.distinct_where` in Spark.

    When the as-of join of this frame left its subject codes (``column`` is
    the id column), the distinct subjects are counted on the driver and only
    the first ``limit`` ids are fetched, by position. Otherwise the positions
    of the flagged rows are joined to the frame, their ids grouped by Spark
    with each id's first position; only the number of ids and the first
    ``limit`` of them come back to the driver."""
    from pyspark.sql import functions as F

    mask = np.asarray(mask, dtype=bool)
    subjects = engine.subject_codes(frame, column)
    if subjects is not None and len(subjects) == len(mask):
        flagged = np.flatnonzero(mask & (subjects >= 0))
        codes, first = np.unique(subjects[flagged], return_index=True)
        if not len(codes):
            return 0, []
        shown = np.sort(flagged[first])[:max(int(limit), 0)]
        ids = engine.rows_at(frame, [column], shown)[column].tolist() if len(shown) else []
        return len(codes), ids
    wanted = np.flatnonzero(mask).astype(np.int64)
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
