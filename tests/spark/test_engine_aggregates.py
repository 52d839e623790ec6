"""Engine aggregates on every engine, against pandas computed on the raw rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from parity_helpers import generated_customers, write_parquet

from cxaudit.engines.common import is_missing


@pytest.fixture(scope="module")
def customers_file(tmp_path_factory):
    return write_parquet(generated_customers(), tmp_path_factory.mktemp("agg") / "c.parquet")


@pytest.fixture(scope="module")
def raw(customers_file):
    return pd.read_parquet(customers_file)


def _reference_counts(raw: pd.DataFrame, columns: list[str]) -> dict:
    """Counts per combination straight from pandas groupby (NaN kept as a group)."""
    sizes = raw.groupby(columns, dropna=False).size()
    out = {}
    for key, n in sizes.items():
        key = key if isinstance(key, tuple) else (key,)
        out[tuple(None if is_missing(v) else v for v in key)] = int(n)
    return out


def _as_dict(frame: pd.DataFrame, columns: list[str]) -> dict:
    rows = frame[[*columns, "count"]].itertuples(index=False, name=None)
    return {tuple(None if is_missing(v) else v for v in row[:-1]): int(row[-1]) for row in rows}


@pytest.mark.parametrize("columns", [["gender"], ["region", "senior"], ["gender", "offer"],
                                     ["tenure"]])
def test_count_by_matches_pandas_groupby(engine, customers_file, raw, columns, small_batches):
    frame = engine.read_table(customers_file)
    counts = engine.count_by(frame, columns)
    assert list(counts.columns) == [*columns, "count"]
    assert counts["count"].dtype == np.int64
    assert _as_dict(counts, columns) == _reference_counts(raw, columns)
    # sorted by key, missing values last, exactly like the local engine
    keys = [tuple(r) for r in counts[columns].itertuples(index=False)]
    order = sorted(keys, key=lambda k: tuple((1, 0) if is_missing(v) else (0, v) for v in k))
    assert [tuple(None if is_missing(v) else v for v in k) for k in keys] == \
        [tuple(None if is_missing(v) else v for v in k) for k in order]
    assert int(counts["count"].sum()) == len(raw)


def test_count_by_no_columns_is_the_row_count(engine, customers_file, raw):
    frame = engine.read_table(customers_file)
    assert engine.count_by(frame, [])["count"].tolist() == [len(raw)]
    assert engine.num_rows(frame) == len(raw)


def test_null_counts_overall_and_by_group(engine, customers_file, raw, small_batches):
    frame = engine.read_table(customers_file)
    wanted = ["gender", "tenure", "monthly_charges", "churn"]
    overall = engine.null_counts(frame, wanted)
    assert int(overall["rows"].iloc[0]) == len(raw)
    for column in wanted:
        assert int(overall[column].iloc[0]) == int(raw[column].isna().sum()), column
    grouped = engine.null_counts(frame, ["tenure", "monthly_charges"], by=["region"])
    assert list(grouped.columns) == ["region", "rows", "tenure", "monthly_charges"]
    reference = raw.groupby("region")[["tenure", "monthly_charges"]].agg(lambda s: s.isna().sum())
    for row in grouped.itertuples(index=False):
        assert row.rows == int((raw["region"] == row.region).sum())
        assert row.tenure == int(reference.loc[row.region, "tenure"])
        assert row.monthly_charges == int(reference.loc[row.region, "monthly_charges"])


def test_to_pandas_limits_rows_and_columns(engine, customers_file, raw):
    frame = engine.read_table(customers_file)
    sample = engine.to_pandas(frame, ["customer_id", "tenure"], limit=25)
    assert list(sample.columns) == ["customer_id", "tenure"]
    assert sample["customer_id"].tolist() == raw["customer_id"].head(25).tolist()


def test_rows_at_spans_partitions(spark, customers_file, raw):
    """Positions are counted across partitions (a file split into several)."""
    from cxaudit.engines.spark import SparkEngine

    path = customers_file
    spark.conf.set("spark.sql.files.maxPartitionBytes", "16k")
    try:
        engine = SparkEngine(session=spark)
        frame = engine.read_table(path)
        assert frame.rdd.getNumPartitions() > 1
        positions = [0, 1499, 1500, 5999, 17]
        rows = engine.rows_at(frame, ["customer_id", "tenure"], positions)
        assert list(rows.index) == sorted(positions)
        assert rows["customer_id"].tolist() == raw["customer_id"].iloc[sorted(positions)].tolist()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")


def test_arrow_rows_at_spans_batches(customers_file, raw, small_batches):
    from cxaudit.engines.arrow_stream import ArrowStreamEngine

    engine = ArrowStreamEngine()
    positions = [5999, 0, 999, 1000, 17, 4321]
    rows = engine.rows_at(engine.read_table(customers_file), ["customer_id"], positions)
    assert list(rows.index) == sorted(positions)
    assert rows["customer_id"].tolist() == raw["customer_id"].iloc[sorted(positions)].tolist()


@pytest.mark.parametrize("broadcast", [True, False], ids=["broadcast", "shuffle-join"])
def test_row_values_ride_with_their_rows(engine, customers_file, raw, broadcast, monkeypatch,
                                         small_batches):
    """Driver-side per-row values land on their own rows (counted by group, as consent
    findings count their affected rows), whether broadcast or shuffle-joined on Spark."""
    from cxaudit.engines import spark_aggregates

    monkeypatch.setattr(spark_aggregates, "BROADCAST_ROWS", 10**9 if broadcast else 0)
    flag = (np.arange(len(raw)) % 7 == 3).astype(np.int8)
    frame = engine.with_row_values(engine.read_table(customers_file), "flag", flag)
    counts = engine.count_by(frame, ["region", "flag"])
    assert _as_dict(counts, ["region", "flag"]) == _reference_counts(
        raw.assign(flag=flag), ["region", "flag"])


@pytest.mark.parametrize("limit", [0, 3, 10**6])
def test_distinct_where_counts_and_orders_like_pandas(engine, customers_file, raw, limit,
                                                      small_batches):
    """Distinct non-missing values on flagged rows, first ones in row order (the subjects a
    consent finding counts and lists), computed where the engine keeps its rows."""
    flag = np.arange(len(raw)) % 5 != 1
    frame = engine.read_table(customers_file)
    count, first = engine.distinct_where(frame, "gender", flag, limit)
    reference = raw["gender"][flag].dropna().drop_duplicates()
    assert count == len(reference)
    assert first == reference.head(limit).tolist()
    ids_count, ids_first = engine.distinct_where(frame, "customer_id", flag, 4)
    assert ids_count == int(flag.sum())
    assert ids_first == raw["customer_id"][flag].head(4).tolist()
