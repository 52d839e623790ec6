"""The Spark engine's shortcuts give what the long way gives, on awkward data.

- subject codes left by the as-of join answer ``distinct_where`` as the
  Spark-side grouping (and pandas) do: nulls, repeated ids, several partitions;
- a frame made by ``with_row_values`` holds its values row by row (sparse
  join), and its ``count_by`` (counted on the driver) equals Spark's count of
  the joined frame;
- ``missing_counts`` from one finest aggregation equals one aggregation per
  grouping;
- ``duplicate_keys`` without map-side partial counts equals the local engine, and so
  does its driver-side hash shortcut (distinct keys, one or two missing keys, a repeat,
  float keys where -0.0 and 0.0 group together);
- ``value_codes`` equals ``np.unique``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from parity_helpers import generated_customers, write_parquet

from cxaudit.engines.common import is_missing
from cxaudit.engines.local import LocalEngine

SECOND = 1_000_000
BASE = 1_735_689_600 * SECOND


@pytest.fixture()
def spark_engine(spark):
    from cxaudit.engines.spark import SparkEngine

    return SparkEngine(session=spark)


@pytest.fixture(scope="module")
def customers(tmp_path_factory):
    frame = generated_customers(3000, seed=3)
    frame.loc[::40, "customer_id"] = "C000007"  # a repeated id
    frame.loc[5::97, "customer_id"] = None
    path = write_parquet(frame, tmp_path_factory.mktemp("short") / "c.parquet")
    return path, pd.read_parquet(path)


def _ids_frame(spark, seed: int):
    rng = np.random.default_rng(seed)
    ids = pd.Series([f"S{i}" for i in rng.integers(0, 40, 500)], dtype=object)
    ids[rng.random(500) < 0.08] = None
    return spark.createDataFrame(pd.DataFrame({"cid": ids})).repartition(3).persist()


@pytest.mark.parametrize("seed", [0, 1])
def test_subject_codes_count_like_spark_and_pandas(spark, spark_engine, seed):
    from cxaudit.engines.spark import SparkEngine

    frame = _ids_frame(spark, seed)
    rng = np.random.default_rng(seed + 10)
    ledger_ids = [f"S{i}" for i in rng.integers(0, 30, 50)]
    starts = BASE + rng.integers(0, 5, 50) * SECOND
    ranks = rng.integers(0, 3, 50)
    n = spark_engine.num_rows(frame)
    spark_engine.asof_records(frame, "cid", np.full(n, BASE + 3 * SECOND, dtype=np.int64),
                              None, ledger_ids, starts, ranks)
    assert spark_engine.subject_codes(frame, "cid") is not None
    values = spark_engine.to_pandas(frame, ["cid"])["cid"]
    plain = SparkEngine(session=spark)  # no subject codes: the Spark-side grouping
    for limit in (0, 3, 1000):
        mask = rng.random(n) < 0.4
        want = values[mask].dropna().drop_duplicates()
        got = spark_engine.distinct_where(frame, "cid", mask, limit)
        assert got == (len(want), want.head(limit).tolist())
        assert got == plain.distinct_where(frame, "cid", mask, limit)
    assert spark_engine.distinct_where(frame, "cid", np.zeros(n, bool), 5) == (0, [])


def test_subject_codes_without_a_ledger(spark, spark_engine):
    frame = _ids_frame(spark, 4)
    n = spark_engine.num_rows(frame)
    got = spark_engine.asof_records(frame, "cid", np.full(n, BASE, dtype=np.int64), None,
                                    [], np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert (got == -1).all()
    values = spark_engine.to_pandas(frame, ["cid"])["cid"]
    mask = np.arange(n) % 3 == 0
    want = values[mask].dropna().drop_duplicates()
    assert spark_engine.distinct_where(frame, "cid", mask, 4) == (len(want),
                                                                  want.head(4).tolist())


@pytest.mark.parametrize("dtype", [np.int8, np.int64, bool])
def test_row_values_frame_holds_its_values(spark, spark_engine, customers, dtype):
    path, raw = customers
    frame = spark_engine.read_table(path)
    values = ((np.arange(len(raw)) % 7) == 3).astype(dtype)
    if dtype is np.int64:
        values = values * 5 - (np.arange(len(raw)) % 11 == 0)  # three values, one negative
    out = spark_engine.with_row_values(frame, "flag", values)
    back = spark_engine.to_pandas(out, ["customer_id", "flag"])
    assert back["flag"].to_numpy().tolist() == values.tolist()
    columns = ["region", "offer", "flag"]
    driver = spark_engine.count_by(out, columns)
    rows = out.groupBy(*columns).count().collect()  # Spark counts the joined frame itself
    spark_side = {tuple(r[:-1]): r[-1] for r in rows}
    assert {tuple(k): int(c) for *k, c in driver.itertuples(index=False, name=None)} == \
        spark_side
    assert spark_engine.count_by(out, ["flag"])["count"].sum() == len(raw)


def test_row_values_of_columns_with_missing_keys(spark, spark_engine, customers):
    path, raw = customers
    frame = spark_engine.read_table(path)
    values = (np.arange(len(raw)) % 4 == 1).astype(np.int8)
    out = spark_engine.with_row_values(frame, "flag", values)
    got = spark_engine.count_by(out, ["gender", "senior", "flag"])
    want = LocalEngine().count_by(raw.assign(flag=values), ["gender", "senior", "flag"])
    assert got.astype(object).where(got.notna(), None).values.tolist() == \
        want.astype(object).where(want.notna(), None).values.tolist()


def test_missing_counts_one_aggregation_or_one_per_grouping(spark, spark_engine, customers,
                                                            monkeypatch):
    from cxaudit.engines import spark_aggregates

    path, raw = customers
    frame = spark_engine.read_table(path)
    groupings = [(), ("gender",), ("region", "senior"), ("gender", "region")]
    columns = ["tenure", "monthly_charges", "gender"]
    want = LocalEngine().missing_counts(raw, columns, groupings)
    finest = spark_engine.missing_counts(frame, columns, groupings)
    monkeypatch.setattr(spark_aggregates, "MAX_FINEST_CELLS", 0)
    each = spark_engine.missing_counts(frame, columns, groupings)
    for a, b, c in zip(finest, each, want, strict=True):
        norm = [x.astype(object).where(x.notna(), None).values.tolist() for x in (a, b, c)]
        assert norm[0] == norm[1] == norm[2]


def test_duplicate_keys_without_partial_counts(spark, spark_engine, customers):
    path, raw = customers
    frame = spark_engine.read_table(path)
    got = spark_engine.duplicate_keys(frame, ["customer_id"])
    want = LocalEngine().duplicate_keys(raw, ["customer_id"])
    # (a missing key is None on Spark, NaN in pandas: the same key)
    missing = [tuple(None if is_missing(v) else v for v in key) for key in want[2]]
    assert got == (want[0], want[1], missing)
    assert spark.conf.get("spark.sql.execution.bypassPartialAggregation", None) in (None,
                                                                                     "false")


@pytest.mark.parametrize("values", [
    np.array([3, -2, 3, 7, -2], dtype=np.int8), np.array([True, False, True]),
    np.array([0, 2**40, 5, 2**40], dtype=np.int64), np.array(["b", "a", "b"], dtype=object),
    np.array([], dtype=np.int8)])
def test_value_codes_equal_unique(values):
    from cxaudit.engines.spark_aggregates import value_codes

    kinds, inverse = value_codes(values)
    want_kinds, want_inverse = np.unique(values, return_inverse=True)
    assert kinds.tolist() == want_kinds.tolist()
    assert inverse.tolist() == want_inverse.ravel().tolist()


def test_without_a_writable_temporary_folder(spark, customers, monkeypatch):
    """Driver-side tables then reach Spark through createDataFrame: same answers."""
    from cxaudit.engines import spark_aggregates
    from cxaudit.engines.spark import SparkEngine

    def refuse(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(spark_aggregates.tempfile, "mkdtemp", refuse)
    engine = SparkEngine(session=spark)
    frame = _ids_frame(spark, 2)
    n = engine.num_rows(frame)
    got = engine.asof_records(frame, "cid", np.full(n, BASE + 2 * SECOND, dtype=np.int64), None,
                              ["S1", "S2"], np.array([BASE, BASE + SECOND]), np.array([0, 0]))
    values = engine.to_pandas(frame, ["cid"])["cid"]
    assert ((got >= 0) == values.isin(["S1", "S2"]).to_numpy()).all()
    path, raw = customers
    flags = (np.arange(len(raw)) % 3 == 0).astype(np.int8)
    out = engine.with_row_values(engine.read_table(path), "flag", flags)
    assert engine.to_pandas(out, ["flag"])["flag"].tolist() == flags.tolist()


@pytest.mark.parametrize("case", ["distinct", "one-missing", "two-missing", "repeat",
                                  "two-columns", "float-zeros"])
def test_duplicate_keys_hash_shortcut_agrees(spark, spark_engine, monkeypatch, case):
    from cxaudit.engines import spark_aggregates

    ids: list = [f"K{i}" for i in range(400)]
    other = [i % 7 for i in range(400)]
    if case == "one-missing":
        ids[17] = None
    elif case == "two-missing":
        ids[17] = ids[230] = None
    elif case == "repeat":
        ids[301] = ids[5]
    raw = pd.DataFrame({"k": pd.Series(ids, dtype=object), "j": other})
    columns = ["k", "j"] if case == "two-columns" else ["k"]
    if case == "float-zeros":
        raw = pd.DataFrame({"k": [0.0, -0.0, 1.5, 2.5]})
    frame = spark.createDataFrame(raw).repartition(3)
    want = LocalEngine().duplicate_keys(raw, columns)
    want = (want[0], want[1], [tuple(None if is_missing(v) else v for v in key)
                               for key in want[2]])
    shortcut = spark_engine.duplicate_keys(frame, columns)
    monkeypatch.setattr(spark_aggregates, "DRIVER_HASH_ROWS", -1)  # the exact way only
    exact = spark_engine.duplicate_keys(frame, columns)
    assert shortcut == exact == want
    if case == "float-zeros":
        assert want[0] == 1  # -0.0 repeats 0.0: the hash shortcut must not say distinct
