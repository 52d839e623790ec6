"""The Spark engine: the same aggregates as the local engine, over Spark DataFrames.

Checks never see Spark: every aggregate is a ``groupBy`` whose small result is
collected to the driver and shaped exactly like the local engine's frame
(:func:`~cxaudit.engines.common.canonical_counts`). pyspark is imported only
here, when the engine is chosen.

Where the session comes from, in order: an explicit ``session``; Spark Connect
when ``SPARK_REMOTE`` is set (``sc://host:15002``); otherwise a classic session
on ``master`` (argument), ``CXAUDIT_SPARK_MASTER`` or ``local[*]``
(e.g. ``spark://host:7077``, ``yarn``, ``k8s://...``). An already active
session is reused.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cxaudit.engines.base import Engine
from cxaudit.engines.common import accept_pandas, canonical_counts
from cxaudit.engines.spark_aggregates import SparkAggregates
from cxaudit.errors import DataError, InputError

INSTALL_HINT = "pip install 'cxaudit[spark]'"
MASTER_ENV = "CXAUDIT_SPARK_MASTER"
_LOCAL_CONFIG = {
    "spark.ui.enabled": "false",
    # Local mode runs the executors in the driver JVM: 1 GB (Spark's default) thrashes the
    # collector on millions of rows. Ignored when the JVM is already running.
    "spark.driver.memory": os.environ.get("CXAUDIT_SPARK_DRIVER_MEMORY", "3g"),
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    # The audit frame is cached once, then read by every check. Building it compressed took
    # 32 JVM CPU-s at 10M rows, uncompressed 20; the audit ran 66 -> 60 s (load 2) with the
    # same peak memory (the driver's heap bounds it; what does not fit spills to disk).
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
}


def require_pyspark() -> None:
    """Raise :class:`InputError` with the install command when pyspark is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise InputError("the spark engine needs pyspark, which is not installed",
                         hint=f"install it with: {INSTALL_HINT}  (Spark also needs Java 17+)"
                         ) from None


def spark_session(master: str | None = None, app_name: str = "cxaudit") -> Any:
    """Return the active Spark session, or start one (Spark Connect or classic).

    Parameters
    ----------
    master
        Master URL for a classic session; default ``$CXAUDIT_SPARK_MASTER`` or
        ``local[*]``. Ignored when ``SPARK_REMOTE`` is set (Spark Connect).
    app_name
        Application name shown on the cluster.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    remote = os.environ.get("SPARK_REMOTE")
    try:
        if remote:
            return SparkSession.builder.remote(remote).appName(app_name).getOrCreate()
        master = master or os.environ.get(MASTER_ENV) or "local[*]"
        builder = SparkSession.builder.master(master).appName(app_name)
        if master.startswith("local"):
            # Local Python workers must run this interpreter (it has cxaudit and the model's
            # libraries), not whatever `python3` is first on PATH.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            for key, value in _LOCAL_CONFIG.items():
                builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session
    except Exception as exc:  # Java missing, cluster unreachable, ...
        raise InputError(f"cannot start a Spark session ({remote or master}): "
                         f"{type(exc).__name__}: {str(exc)[:300]}",
                         hint="Spark needs Java 17+ (`java -version`); check the master URL "
                              f"(${MASTER_ENV}) or SPARK_REMOTE") from None


def _missing(column: Any, data_type: Any) -> Any:
    """A Column: true where the value is missing (null, or NaN for floating columns)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    if isinstance(data_type, (DoubleType, FloatType)):
        return column.isNull() | F.isnan(column)
    return column.isNull()


@accept_pandas
class SparkEngine(SparkAggregates, Engine):
    """Aggregates with Spark ``groupBy``; frames are Spark DataFrames."""

    name = "spark"

    def __init__(self, session: Any = None, master: str | None = None) -> None:
        require_pyspark()
        self._session = session
        self._master = master

    @property
    def session(self) -> Any:
        """The Spark session (started on first use)."""
        if self._session is None:
            self._session = spark_session(self._master)
        return self._session

    # -- reading ---------------------------------------------------------------
    def read_table(self, path: str | Path, *, role: str = "data",
                   text_columns: Sequence[str] = ()) -> Any:
        """Read Parquet (file or folder), CSV, or a catalog table ``table:db.name``."""
        text = str(path)
        spark = self.session
        if text.startswith("table:"):
            try:
                frame = spark.table(text[len("table:"):])
            except Exception as exc:
                raise DataError(f"{role} table {text[6:]!r} cannot be read: {str(exc)[:200]}",
                                hint="check the table name and the session's catalog") from None
            return _validated(frame, text, role)
        file = Path(text)
        if "://" not in text and not file.exists():
            raise DataError(f"{role} file not found: {text}",
                            hint="check the path, or name a catalog table as table:db.name")
        if "://" not in text and not file.is_dir():  # a folder is a partitioned dataset
            from cxaudit.loaders.data import preflight

            preflight(file, role=role)
        suffix = file.suffix.lower()
        try:
            if suffix == ".csv":
                frame = _read_csv(spark, text, text_columns)
            elif suffix in (".parquet", ".pq") or file.is_dir():
                frame = spark.read.parquet(text)
            else:
                raise DataError(f"{role} file {text} has an unsupported extension "
                                f"{suffix or '(none)'!r}", hint="use .csv or .parquet")
        except DataError:
            raise
        except Exception as exc:
            raise DataError(f"{role} file {text} is not readable by Spark: {str(exc)[:200]}",
                            hint="re-export the file as Parquet") from None
        return _validated(frame, text, role)

    # -- the engine interface -------------------------------------------------
    def columns(self, frame: Any) -> list[str]:  # noqa: D102
        return [str(c) for c in frame.columns]

    def num_rows(self, frame: Any) -> int:
        """Rows of ``frame``, counted once per frame (checks ask again and again)."""
        memo = self.__dict__.setdefault("_num_rows", {})
        known = memo.get(id(frame))
        if known is None or known[0] is not frame:
            known = memo[id(frame)] = (frame, int(frame.count()))
        return known[1]

    def count_by(self, frame: Any, columns: Sequence[str]) -> pd.DataFrame:  # noqa: D102
        columns = list(columns)
        driver_side = self._counts_with_row_values(frame, columns)
        if driver_side is not None:  # a frame with row values: counted without the join
            return driver_side
        if not columns:
            return canonical_counts([], [((), frame.count())])
        rows = frame.groupBy(*columns).count().collect()
        counts = canonical_counts(columns, ((tuple(r[:-1]), r[-1]) for r in rows))
        self.remember_counts(frame, columns, counts)
        return counts

    def null_counts(self, frame: Any, columns: Sequence[str],  # noqa: D102
                    by: Sequence[str] = ()) -> pd.DataFrame:
        from pyspark.sql import functions as F

        columns, by = list(columns), list(by)
        types = {f.name: f.dataType for f in frame.schema.fields}
        aggregates = [F.count(F.lit(1)).alias("__rows")]
        aggregates += [F.sum(F.when(_missing(F.col(c), types[c]), 1).otherwise(0)).alias(f"__n{i}")
                       for i, c in enumerate(columns)]
        if not by:
            row = frame.agg(*aggregates).collect()[0]
            return pd.DataFrame([{"rows": int(row[0]),
                                  **{c: int(row[i + 1] or 0) for i, c in enumerate(columns)}}])
        rows = frame.groupBy(*by).agg(*aggregates).collect()
        width = len(by)
        return canonical_counts(by, ((tuple(r[:width]), tuple(v or 0 for v in r[width:]))
                                     for r in rows), value_columns=["rows", *columns])

    def to_pandas(self, frame: Any, columns: Sequence[str] | None = None,  # noqa: D102
                  limit: int | None = None) -> pd.DataFrame:
        out = frame if columns is None else frame.select(*list(columns))
        if limit is not None:
            out = out.limit(int(limit))
        return out.toPandas()

    def asof_records(self, frame: Any, id_column: str, times: Any, time_column: str | None,
                     ledger_ids: Any, ledger_starts: Any, ledger_rank: Any) -> Any:
        """The consent as-of join, run by Spark (see :mod:`cxaudit.engines.spark_consent`)."""
        from cxaudit.engines.spark_consent import spark_asof_records

        return spark_asof_records(self, frame, id_column, times, time_column, ledger_ids,
                                  ledger_starts, ledger_rank)

    def distinct_where(self, frame: Any, column: str, mask: Any, limit: int
                       ) -> tuple[int, list[Any]]:
        """Counted and ordered by Spark: only ``limit`` values reach the driver."""
        from cxaudit.engines.spark_consent import spark_distinct_where

        return spark_distinct_where(self, frame, column, mask, limit)

    # -- context ---------------------------------------------------------------
    def build_context(self, policy: Any, frame: Any, **options: Any) -> Any:
        """Derive labels, decisions, scores and groups with Spark (see ``spark_context``)."""
        from cxaudit.engines.spark_context import build_spark_context

        if isinstance(frame, pd.DataFrame):  # in-memory callers (demo, MLflow, tests)
            frame = self.session.createDataFrame(frame)
        return build_spark_context(policy, frame, self, **options)


def _read_csv(spark: Any, path: str, text_columns: Sequence[str] = ()) -> Any:
    """CSV with inferred numbers and booleans; dates and times stay text, as pandas reads them
    (their UTC offsets matter to the consent checks, and Spark's parser would drop them), and
    so do ``text_columns`` (ids: ``00123`` is not the number 123)."""
    from pyspark.sql.types import DateType, StringType, StructField, StructType, TimestampType

    reader = spark.read.option("header", True).option("nullValue", "")
    inferred = reader.option("inferSchema", True).csv(path).schema
    temporal = (DateType, TimestampType)
    try:
        from pyspark.sql.types import TimestampNTZType

        temporal = (*temporal, TimestampNTZType)
    except ImportError:  # pyspark < 3.4
        pass
    fields = [StructField(f.name, StringType() if isinstance(f.dataType, temporal)
                          or f.name in text_columns else f.dataType, True)
              for f in inferred.fields]
    return (spark.read.option("header", True).option("nullValue", "")
            .schema(StructType(fields)).csv(path))


def _validated(frame: Any, where: str, role: str) -> Any:
    names = [str(c) for c in frame.columns]
    if not names:
        raise DataError(f"{role} {where} has no columns", hint="add a header row")
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        raise DataError(f"{role} {where} repeats column(s) {', '.join(duplicated)}",
                        hint="give every column a unique name")
    if not frame.take(1):
        raise DataError(f"{role} {where} has a header but no rows",
                        hint="export the rows to audit, not only the header")
    return frame


__all__ = ["INSTALL_HINT", "SparkEngine", "require_pyspark", "spark_session"]
