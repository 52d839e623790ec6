"""The consent as-of join run by Spark equals the reference join, row for row.

The reference, :func:`cxaudit.consent.asof.asof_positions`, is itself checked
against a per-row loop in tests/consent/test_asof.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxaudit.consent.asof import asof_positions
from cxaudit.loaders.timestamps import MISSING

SECOND = 1_000_000
BASE = 1_735_689_600 * SECOND  # 2025-01-01T00:00:00Z


def _case(seed: int, n_ledger: int, n_rows: int):
    rng = np.random.default_rng(seed)
    # Few subjects and instants: shared subjects, equal timestamps and rank ties are common.
    ledger_ids = [f"S{i}" for i in rng.integers(0, 12, n_ledger)]
    starts = BASE + rng.integers(0, 8, n_ledger) * SECOND
    ranks = rng.integers(0, 4, n_ledger)
    ids = pd.Series([f"S{i}" for i in rng.integers(0, 14, n_rows)], dtype="string")
    ids[rng.random(n_rows) < 0.05] = pd.NA
    times = BASE + rng.integers(-1, 9, n_rows) * SECOND
    times[rng.random(n_rows) < 0.05] = MISSING
    return ledger_ids, starts, ranks, ids, times


@pytest.fixture(scope="module")
def engine(spark):
    from cxaudit.engines.spark import SparkEngine

    return SparkEngine(session=spark)


def _frame(spark, ids: pd.Series, times: np.ndarray, *, as_text: bool):
    stamps = pd.Series(pd.to_datetime(np.where(times == MISSING, np.datetime64("NaT"),
                                               times.astype("datetime64[us]")), utc=True))
    column = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ") if as_text else stamps
    pdf = pd.DataFrame({"cid": ids.astype(object).where(ids.notna(), None), "ts": column})
    # Several partitions, so row positions span partitions.
    return spark.createDataFrame(pdf).repartition(3).persist()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("as_text", [False, True], ids=["timestamp-column", "text-column"])
def test_spark_join_equals_reference(engine, spark, seed, as_text):
    ledger_ids, starts, ranks, ids, times = _case(seed, 60, 400)
    frame = _frame(spark, ids, times, as_text=as_text)
    # Row order is whatever Spark's positions say: read the ids back in that order.
    back = engine.to_pandas(frame, ["cid", "ts"])
    ordered_ids = back["cid"].astype("string")
    ordered_times = np.asarray(
        pd.to_datetime(back["ts"], utc=True).dt.tz_convert("UTC").dt.tz_localize(None)
        .astype("datetime64[us]").to_numpy().astype(np.int64))
    ordered_times[back["ts"].isna().to_numpy()] = MISSING
    got = engine.asof_records(frame, "cid", ordered_times, "ts", ledger_ids, starts, ranks)
    expected = asof_positions(ordered_ids, ordered_times, ledger_ids, starts, ranks)
    np.testing.assert_array_equal(got, expected)
    assert (got >= 0).sum() > 50 and (got < 0).sum() > 10  # both outcomes exercised


def test_one_instant_for_every_row(engine, spark):
    ledger_ids, starts, ranks, ids, _ = _case(7, 40, 200)
    frame = _frame(spark, ids, np.full(len(ids), BASE, dtype=np.int64), as_text=False)
    instant = np.full(len(ids), BASE + 4 * SECOND, dtype=np.int64)
    back = engine.to_pandas(frame, ["cid"])["cid"].astype("string")
    got = engine.asof_records(frame, "cid", instant, None, ledger_ids, starts, ranks)
    np.testing.assert_array_equal(got, asof_positions(back, instant, ledger_ids, starts, ranks))


def test_integer_ids_read_as_floats_match_text_ids(engine, spark):
    """An id column with gaps is read as floats (42.0); it still matches ledger id "42"."""
    ids = pd.Series([42.0, np.nan, 7.0, 42.0, 8.0])
    frame = spark.createDataFrame(pd.DataFrame({"cid": ids})).repartition(2).persist()
    back = engine.to_pandas(frame, ["cid"])["cid"]
    times = np.full(len(ids), BASE + 5 * SECOND, dtype=np.int64)
    ledger_ids, starts, ranks = ["42", "7", "8.5"], np.full(3, BASE), np.zeros(3, np.int64)
    got = engine.asof_records(frame, "cid", times, None, ledger_ids, starts, ranks)
    expected = asof_positions(back, times, ledger_ids, starts, ranks)
    np.testing.assert_array_equal(got, expected)
    assert sorted(got.tolist()) == [-1, -1, 0, 0, 1]
