"""The as-of join against a hand-computed case and a naive per-row reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxaudit.consent import asof
from cxaudit.consent.asof import asof_positions
from cxaudit.consent.states import STATES, consent_view

from .conftest import ledger_frame, record

POLICY = """
cxaudit: 1
system: {name: t, purpose: offers}
data: {id: cid, timestamp: ts}
checks:
  - {id: cov, type: consent.coverage}
"""


def naive_asof(data_ids, data_times, ledger_ids, starts, ranks):
    """Per-row reference: the latest start <= t of the same subject, ties by rank then row."""
    out = []
    for subject, t in zip(data_ids, data_times, strict=True):
        best = -1
        for j, (other, start, rank) in enumerate(zip(ledger_ids, starts, ranks, strict=True)):
            if str(other) == str(subject) and start <= t and (
                    best < 0 or (start, rank, j) > (starts[best], ranks[best], best)):
                best = j
        out.append(best)
    return np.array(out, dtype=np.int64)


@pytest.mark.parametrize("use_hash", [True, False], ids=["duckdb-hash", "arrow-codes"])
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_join_matches_naive_loop(use_hash, data):
    n_ledger = data.draw(st.integers(0, 40))
    n_rows = data.draw(st.integers(0, 40))
    ids = st.integers(0, 7)
    ledger_ids = data.draw(st.lists(ids, min_size=n_ledger, max_size=n_ledger))
    data_ids = data.draw(st.lists(ids, min_size=n_rows, max_size=n_rows))
    # Few distinct instants so equal timestamps (boundaries and ties) are common;
    # a sub-second offset exercises the microsecond path of the packed sort key.
    unit = data.draw(st.sampled_from([1, 1_000, 1_000_000]))
    instants = st.integers(0, 6).map(lambda k: k * unit)
    starts = data.draw(st.lists(instants, min_size=n_ledger, max_size=n_ledger))
    times = data.draw(st.lists(instants, min_size=n_rows, max_size=n_rows))
    ranks = data.draw(st.lists(st.integers(0, 3), min_size=n_ledger, max_size=n_ledger))
    as_text = data.draw(st.booleans())
    conv = (lambda xs: [f"S{x}" for x in xs]) if as_text else (lambda xs: xs)
    chunk_rows = data.draw(st.sampled_from([1, 3, 1 << 20]))  # one row, several, one chunk
    got = asof_positions(conv(data_ids), np.array(times, dtype=np.int64), conv(ledger_ids),
                         np.array(starts, dtype=np.int64), np.array(ranks, dtype=np.int64),
                         use_hash=use_hash, chunk_rows=chunk_rows)
    expected = naive_asof(conv(data_ids), times, conv(ledger_ids), starts, ranks)
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_one_instant_for_every_row_matches_naive_loop(data):
    """The DuckDB aggregation taken when every row has the same event time."""
    n_ledger = data.draw(st.integers(1, 40))
    n_rows = data.draw(st.integers(1, 40))
    ids = st.one_of(st.integers(0, 7).map(lambda x: f"S{x}"), st.none())
    ledger_ids = data.draw(st.lists(st.integers(0, 7).map(lambda x: f"S{x}"),
                                    min_size=n_ledger, max_size=n_ledger))
    data_ids = data.draw(st.lists(ids, min_size=n_rows, max_size=n_rows))
    # Negative starts (before 1970) and ties in start and rank on purpose.
    starts = data.draw(st.lists(st.integers(-3, 3).map(lambda k: k * 10**12),
                                min_size=n_ledger, max_size=n_ledger))
    ranks = data.draw(st.lists(st.integers(0, 3), min_size=n_ledger, max_size=n_ledger))
    t = data.draw(st.sampled_from([-10**12, 0, 10**12]))
    got = asof.one_instant_positions(data_ids, t, ledger_ids, np.array(starts, np.int64),
                                     np.array(ranks, np.int64))
    reference = naive_asof([x if x is not None else object() for x in data_ids], [t] * n_rows,
                           ledger_ids, starts, ranks)
    np.testing.assert_array_equal(got, reference)
    # asof_positions takes that path for one instant, and the general one agrees.
    np.testing.assert_array_equal(
        asof_positions(data_ids, np.full(n_rows, t), ledger_ids, np.array(starts, np.int64),
                       np.array(ranks, np.int64), use_hash=False), reference)


def test_one_instant_path_is_taken_and_declines_what_it_cannot_key(monkeypatch):
    calls = []
    real = asof.one_instant_positions
    monkeypatch.setattr(asof, "one_instant_positions",
                        lambda *a: calls.append(a) or real(*a))
    assert asof_positions(["a", "b"], np.array([5, 5]), ["b", "a"], np.array([1, 9])).tolist() \
        == [-1, 0]
    assert len(calls) == 1
    asof_positions(["a", "b"], np.array([5, 6]), ["b", "a"], np.array([1, 9]))
    assert len(calls) == 1  # two instants: the general join
    # A rank that does not fit the packed key: declined, the general path answers.
    assert real(["a"], 5, ["a"], np.array([1]), np.array([300])) is None
    assert asof_positions(["a"], np.array([5]), ["a", "a"], np.array([1, 1]),
                          np.array([300, 2])).tolist() == [0]


@pytest.mark.parametrize("use_hash", [True, False], ids=["duckdb-hash", "arrow-codes"])
def test_large_span_falls_back_to_lexsort_and_stays_exact(use_hash):
    rng = np.random.default_rng(3)
    ledger_ids = rng.integers(0, 50, 300)
    # A 300-year span at microsecond resolution does not fit the packed key.
    starts = rng.integers(-4_000_000_000, 5_000_000_000, 300) * 1_000_000 + rng.integers(0, 999, 300)
    data_ids = rng.integers(0, 60, 200)
    times = rng.choice(starts, 200) + rng.integers(-1, 2, 200)
    ranks = rng.integers(0, 4, 300)
    got = asof_positions(data_ids, times, ledger_ids, starts, ranks, use_hash=use_hash)
    np.testing.assert_array_equal(got, naive_asof(data_ids, times, ledger_ids, starts, ranks))


def test_hash_collisions_fall_back_to_the_exact_path(monkeypatch):
    rng = np.random.default_rng(5)
    ledger_ids = [f"S{i}" for i in rng.integers(0, 40, 200)]
    starts = rng.integers(0, 50, 200)
    data_ids = [f"S{i}" for i in rng.integers(0, 45, 300)]
    times = rng.integers(0, 50, 300)
    # Every id hashes to the same value: all subjects collide.
    monkeypatch.setattr(asof, "hash_ids", lambda values: np.zeros(len(values), np.uint64))
    got = asof.asof_positions(data_ids, times, ledger_ids, starts, chunk_rows=128)
    expected = naive_asof(data_ids, times, ledger_ids, starts, [0] * 200)
    np.testing.assert_array_equal(got, expected)


def test_null_data_ids_never_match():
    got = asof_positions(pd.Series(["A", None], dtype="string"), np.array([10, 10]), ["A"],
                         np.array([5]))
    assert got.tolist() == [0, -1]


def test_integer_ids_match_text_ids():
    got = asof_positions(pd.Series([42, 7]), np.array([10, 10]), ["42", "8"], np.array([5, 5]))
    assert got.tolist() == [0, -1]


def test_hand_computed_boundaries(write_policy, make_context):
    """Granted exactly at the event covers it; withdrawn/expired exactly at it does not."""
    ledger = ledger_frame(
        record("A", "withdrawn", "2025-03-01T10:00:00Z", withdrawn="2025-03-01T12:00:00Z"),
        record("B", "expired", "2025-01-01T00:00:00Z", expires="2025-06-01T00:00:00Z"),
        record("C", "granted", "2025-01-01T00:00:00Z"),
        # C refuses later; a grant and a refusal at the same instant: the refusal wins.
        record("C", "refused", "2025-05-01T00:00:00Z"),
        record("C", "granted", "2025-05-01T00:00:00Z"),
        record("D", "granted", "2025-01-01T00:00:00Z", basis="legitimate_interests"),
        record("E", "refused", "2025-02-01T00:00:00Z", purpose="*", signal="gpc"),
        record("F", "granted", "2025-01-01T00:00:00Z", purpose="analytics"),
    )
    rows = [
        ("A", "2025-03-01T09:59:59Z", "no_record"),
        ("A", "2025-03-01T10:00:00Z", "valid"),  # granted exactly at the event time
        ("A", "2025-03-01T11:59:59.999999Z", "valid"),
        ("A", "2025-03-01T12:00:00Z", "withdrawn"),  # withdrawn exactly at the event time
        ("B", "2025-05-31T23:59:59Z", "valid"),
        ("B", "2025-06-01T00:00:00Z", "expired"),
        ("C", "2025-04-30T23:59:59Z", "valid"),
        ("C", "2025-05-01T00:00:00Z", "refused"),
        ("D", "2025-02-01T00:00:00Z", "basis_not_accepted"),
        ("E", "2025-02-01T00:00:00Z", "refused"),  # purpose * applies to every purpose
        ("E", "2025-01-31T00:00:00Z", "no_record"),
        ("F", "2025-02-01T00:00:00Z", "no_record"),  # consent for another purpose only
        ("G", "2025-02-01T00:00:00Z", "no_record"),
        ("A", None, "no_event_time"),
        ("A", "2025-03-01T13:00:00+02:00", "valid"),  # 11:00 UTC, before the withdrawal
    ]
    frame = pd.DataFrame({"cid": [r[0] for r in rows], "ts": [r[1] for r in rows]})
    ctx = make_context(write_policy(POLICY), frame, ledger)
    view = consent_view(ctx)
    assert [STATES[s] for s in view.state] == [r[2] for r in rows]


@pytest.mark.parametrize("size", [1, 2, 17, 5000])
def test_directory_lookup_equals_searchsorted(size):
    rng = np.random.default_rng(size)
    unique = np.unique(rng.integers(0, 2**64, size, dtype=np.uint64))
    queries = np.r_[rng.integers(0, 2**64, 3000, dtype=np.uint64), unique,
                    np.array([0, 2**64 - 1], dtype=np.uint64)]
    np.testing.assert_array_equal(asof.locate(unique, queries), np.searchsorted(unique, queries))


def test_works_without_duckdb(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "duckdb", None)  # import now fails
    assert asof.hash_ids(["a"]) is None
    got = asof_positions(["a", "b"], np.array([5, 5]), ["b", "a"], np.array([1, 9]))
    assert got.tolist() == [-1, 0]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_hash_order_equals_a_lexsort_also_when_high_bits_collide(data):
    """The value sort of (high bits | position) orders exactly like a lexsort by (hash,
    start, rank, position), also for hashes equal in their high bits only."""
    n = data.draw(st.integers(1, 80))
    high = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.uint64)
    low = np.array(data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), np.uint64)
    hashes = (high << np.uint64(40)) | low
    starts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
                      np.int64) * 1_000_000 + 1_700_000_000_000_000
    ranks = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int64)
    expected = np.lexsort((np.arange(n), ranks, starts, hashes))
    assert np.array_equal(asof._hash_order(hashes, starts, ranks), expected)
