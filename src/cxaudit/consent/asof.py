"""The as-of join: for each audited row, the ledger record in force at its event time.

For row *i* (subject ``s``, time ``t``) the answer is the ledger record *j* with
``subject[j] == s`` and the latest ``start[j] <= t`` (inclusive: consent granted
at the very instant of the event covers it). Records of a subject that start at
the same instant are ordered by ``rank`` and the highest wins — callers pass the
status's restrictiveness, so a grant and a refusal recorded together resolve to
the refusal (fail closed, and deterministic, unlike an unspecified tie order).

Why this engine (measured with ``benchmarks/bench_consent.py``; figures in
benchmarks/RESULTS.md):

- DuckDB's ``ASOF JOIN`` on the text ids is the fastest wall-clock join on an
  idle machine (3.8 s for 10 M rows against one purpose's 5 M events, using
  both cores: 7.0 CPU-s) but peaks at 3.3 GB, over the 3 GB budget, and it
  documents no order among equal timestamps (a grant and a refusal recorded in
  the same second would resolve at random). Under load from other jobs it
  took 10-21 s;
- pandas ``merge_asof`` sorts both sides by time and groups by the id (9.9 s
  and 3.6 GB for one purpose, single-threaded; ``by=`` on text is slow);
- here only the *ledger* is sorted (by subject, start, rank — packed into one
  int64 key when it fits) and each data row walks forward through its subject's
  block of records. Subjects have a handful of records, so the walk
  takes a few vectorised steps over neighbouring memory; the 10 M data rows
  are never sorted. Exact at
  microsecond resolution, deterministic ties. Data rows go through in chunks
  of ``CHUNK_ROWS``, so the join's own memory does not grow with the data.

Measured (idle 2-core machine, 10 M rows, 20 M events, 5 M subjects): 4.6 s
wall, 4.7 CPU-s and 2.5 GB peak RSS including the 1.6 GB of loaded inputs, for
the join *and* every row's consent state — the only candidate within both
budgets that is also deterministic.

Finding each row's block means hashing the text ids, the dominant cost. When
DuckDB is installed (the ``fast`` extra) its vectorised, multi-threaded
``hash()`` turns ids into 64-bit keys; matched pairs are then compared as text,
and a hash collision (odds ~1e-6 for 5 M subjects) falls back to the exact
path. Without DuckDB, Arrow's hash table gives dense codes directly
(``dictionary_encode`` for the ledger, ``index_in`` for the data).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxaudit.loaders.timestamps import MISSING

# Data rows are joined a chunk at a time: the ledger side is sorted once, and the
# per-row temporaries (hashes, bucket positions, walk state: ~10 arrays of 8
# bytes a row) stay near 80 MB instead of growing with the data (1.5 GB at 10 M).
CHUNK_ROWS = 1 << 20


def text_array(values: Any, *, combine: bool = True) -> Any:
    """Ids as Arrow text (one chunk unless ``combine`` is false): 42 and "42" are the same id."""
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
    if combine and isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = pc.cast(array, pa.string())
    return array


def id_array(series: Any) -> Any:
    """Arrow array of a pandas column of ids (text stays text; no Python objects made)."""
    try:
        return pa.array(series.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array(series.astype("string").array)


def duckdb_connection(duckdb: Any, **settings: Any) -> Any:
    """An in-memory DuckDB connection on up to 4 threads (``duckdb``: the imported module,
    an optional dependency the caller imports)."""
    return duckdb.connect(config={"threads": max(1, min(4, os.cpu_count() or 1)), **settings})


def hash_ids(values: Any) -> np.ndarray | None:
    """64-bit hashes of text ids with DuckDB (None when DuckDB is not installed)."""
    try:
        import duckdb
    except ImportError:
        return None
    table = pa.table({"id": text_array(values, combine=False)})
    with duckdb_connection(duckdb) as con:
        con.register("ids", table)
        # `hash` of NULL is a constant; nulls never match anyway (checked below).
        return con.sql("SELECT hash(id) AS h FROM ids").fetchnumpy()["h"]


def _pack_order(start: np.ndarray, rank: np.ndarray, codes: np.ndarray | None,
                n_codes: int) -> np.ndarray | None:
    """Argsort by (codes, start, rank) through one packed int64 key; None when it does not fit."""
    key = _pack_key(start, rank, codes, n_codes)
    return None if key is None else np.argsort(key, kind="stable")


def _pack_key(start: np.ndarray, rank: np.ndarray, codes: np.ndarray | None,
              n_codes: int) -> np.ndarray | None:
    """(codes, start, rank) packed into one int64 that sorts the same; None when it does not
    fit."""
    low, high = int(start.min()), int(start.max())
    rank_bits = max(int(rank.max()), 0).bit_length()
    # Coarsest exact unit of the start times (whole seconds are common).
    unit = next((u for u in (1_000_000, 1_000) if not np.any((start - low) % u)), 1)
    time_bits = ((high - low) // unit).bit_length()
    code_bits = max(n_codes - 1, 0).bit_length() if codes is not None else 0
    if code_bits + time_bits + rank_bits > 62:
        return None
    key = (((start - low) // unit) << rank_bits) | rank
    if codes is not None:
        key |= codes << (time_bits + rank_bits)
    return key


@dataclass(frozen=True)
class _SortedLedger:
    """The ledger sorted by (subject key, start, rank), and how to find a row's block.

    ``keys`` and ``starts`` carry one padding slot at the end (index ``len(order)``
    is read by the walk, then masked), so the walk never copies them.
    """

    order: np.ndarray
    keys: np.ndarray
    starts: np.ndarray
    find: Callable[[Any], tuple[np.ndarray, np.ndarray]]  # ids -> (keys, block start)


def _padded(values: np.ndarray) -> np.ndarray:
    return np.r_[values, values[:1]]


def _sorted_by_codes(ledger_ids: Any, start: np.ndarray, rank: np.ndarray) -> _SortedLedger:
    """Dense Arrow dictionary codes as subject keys; data ids found with ``index_in``."""
    encoded = text_array(ledger_ids).dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    n_codes = len(encoded.dictionary)
    order = _pack_order(start, rank, codes, n_codes)
    if order is None:
        order = np.lexsort((rank, start, codes))
    counts = np.bincount(codes, minlength=n_codes)
    begins = np.cumsum(counts) - counts

    def find(ids: Any) -> tuple[np.ndarray, np.ndarray]:
        found = pc.index_in(ids, value_set=encoded.dictionary)
        data_codes = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        first = np.where(data_codes >= 0, begins[np.maximum(data_codes, 0)], len(order))
        return data_codes, first

    return _SortedLedger(order, _padded(codes[order]), _padded(start[order]), find)


class Directory:
    """``np.searchsorted(unique, queries)`` for uniformly spread uint64 keys, without sorting.

    A directory over the top bits of the key (built once per ledger) narrows each
    query to a bucket of about one key, so each row costs a couple of random
    reads instead of a binary search's twenty (10 M random binary searches into
    3 M keys take ~20 s on the shared machine; this takes ~1 s).
    """

    def __init__(self, unique: np.ndarray) -> None:
        bits = min(26, max(1, len(unique).bit_length()))
        self.shift = np.uint64(64 - bits)
        # Where each bucket starts: the keys below it (``searchsorted`` of the buckets'
        # first keys, counted in one sequential pass instead of 2**bits binary searches).
        counts = np.bincount((unique >> self.shift).astype(np.int64), minlength=1 << bits)
        self.directory = np.r_[0, np.cumsum(counts)]
        self.padded = np.r_[unique, np.uint64(0)]

    def locate(self, queries: np.ndarray) -> np.ndarray:
        bucket = (queries >> self.shift).astype(np.int64)
        position = self.directory[bucket]
        end = self.directory[bucket + 1]
        del bucket
        active = np.flatnonzero(position < end)
        while len(active):
            below = self.padded[position[active]] < queries[active]
            active = active[below]
            position[active] += 1
            active = active[position[active] < end[active]]
        return position


def locate(unique: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``np.searchsorted(unique, queries)`` through a one-off :class:`Directory`."""
    return Directory(unique).locate(queries)


def _sorted_by_hashes(ledger_hash: np.ndarray, start: np.ndarray, rank: np.ndarray
                      ) -> _SortedLedger:
    """DuckDB 64-bit hashes as subject keys; data ids found with :func:`locate`."""
    order = _hash_order(ledger_hash, start, rank)
    sorted_hash = ledger_hash[order]
    directory = Directory(sorted_hash)

    def find(ids: Any) -> tuple[np.ndarray, np.ndarray]:
        data_hash = hash_ids(ids)
        return data_hash, directory.locate(data_hash)

    return _SortedLedger(order, _padded(sorted_hash), _padded(start[order]), find)


def _hash_order(ledger_hash: np.ndarray, start: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Argsort by (hash, start, rank, ledger position).

    :func:`_by_hash` orders by (hash, position) with a plain value sort; a stable
    sort of the then nearly sorted (hash block, start, rank) packed key finishes
    (ties keep ledger order). Without a packed key that fits: two stable sorts.
    """
    by_hash, sorted_hash = _by_hash(ledger_hash)
    fresh = np.ones(len(sorted_hash), dtype=np.int64)
    np.not_equal(sorted_hash[1:], sorted_hash[:-1], out=fresh[1:], casting="unsafe")
    del sorted_hash
    block = np.cumsum(fresh) - 1
    del fresh
    key = _pack_key(start[by_hash], rank[by_hash], block, int(block[-1]) + 1)
    del block
    if key is None:
        by_time = _pack_order(start, rank, None, 0)
        if by_time is None:
            by_time = np.lexsort((rank, start))
        return by_time[np.argsort(ledger_hash[by_time], kind="stable")]
    return by_hash[np.argsort(key, kind="stable")]


def _by_hash(ledger_hash: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions sorted by (hash, position), and the hashes in that order.

    The position replaces the hash's low bits and the packed values are sorted as
    values (a SIMD sort, ~2.5x faster than ``argsort``); the few runs of equal high
    bits but different hashes are then sorted exactly.
    """
    n = len(ledger_hash)
    low = np.uint64((1 << max(n - 1, 1).bit_length()) - 1)
    packed = (ledger_hash & ~low) | np.arange(n, dtype=np.uint64)
    packed.sort()
    by_hash = (packed & low).astype(np.int64)
    del packed
    sorted_hash = ledger_hash[by_hash]
    high = sorted_hash & ~low
    mixed = (high[1:] == high[:-1]) & (sorted_hash[1:] != sorted_hash[:-1])
    if mixed.any():  # whole runs of those high bits (``high`` is sorted)
        values = np.unique(high[1:][mixed])
        members = np.concatenate([np.arange(a, b) for a, b in zip(
            np.searchsorted(high, values, "left"), np.searchsorted(high, values, "right"),
            strict=True)])
        fix = np.lexsort((by_hash[members], sorted_hash[members]))
        by_hash[members] = by_hash[members][fix]
        sorted_hash[members] = sorted_hash[members][fix]
    return by_hash, sorted_hash


def asof_positions(data_ids: Any, data_times: np.ndarray, ledger_ids: Any,
                   ledger_starts: np.ndarray, ledger_rank: np.ndarray | None = None, *,
                   use_hash: bool | None = None, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """Index of the ledger record in force for each data row, or -1.

    Parameters
    ----------
    data_ids, ledger_ids
        Subject ids (anything Arrow can turn into text).
    data_times
        int64 microseconds of each data row's event time (``MISSING`` for none:
        no record is in force).
    ledger_starts
        int64 microseconds at which each ledger record took effect.
    ledger_rank
        Small non-negative ints; among records starting at the same instant the
        highest rank wins. Default: the later row in the ledger wins.
    use_hash
        Find subjects through DuckDB 64-bit hashes (default: when installed).
    chunk_rows
        Data rows joined at a time; bounds the per-row temporaries.

    Returns
    -------
    numpy.ndarray
        int64 positions into the ledger (-1 where no record was in force).
    """
    data_times = np.asarray(data_times, dtype=np.int64)
    ledger_starts = np.asarray(ledger_starts, dtype=np.int64)
    n = len(data_times)
    if ledger_rank is None:
        ledger_rank = np.zeros(len(ledger_starts), dtype=np.int64)
    ledger_rank = np.asarray(ledger_rank, dtype=np.int64)
    if len(ledger_starts) == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64)
    if use_hash is not False and data_times[0] != MISSING and np.all(data_times == data_times[0]):
        found = one_instant_positions(data_ids, int(data_times[0]), ledger_ids, ledger_starts,
                                      ledger_rank)
        if found is not None:
            return found
    ledger_text = text_array(ledger_ids)
    ledger_hash = hash_ids(ledger_text) if use_hash is not False else None
    hashed = ledger_hash is not None
    if hashed:
        ledger = _sorted_by_hashes(ledger_hash, ledger_starts, ledger_rank)
        del ledger_hash
    else:
        ledger = _sorted_by_codes(ledger_text, ledger_starts, ledger_rank)
    data_text = text_array(data_ids, combine=False)
    result = np.empty(n, dtype=np.int64)
    for low in range(0, n, chunk_rows):
        ids = data_text.slice(low, chunk_rows)
        times = data_times[low:low + chunk_rows]
        keys, first = ledger.find(ids)
        eligible = pc.is_valid(ids).to_numpy(zero_copy_only=False) & (times != MISSING)
        part = _walk(ledger, first, keys, times, eligible)
        if hashed and not _same_ids(part, ids, ledger_text):
            return asof_positions(data_ids, data_times, ledger_ids, ledger_starts, ledger_rank,
                                  use_hash=False, chunk_rows=chunk_rows)
        result[low:low + len(times)] = part
    return result


def one_instant_positions(data_ids: Any, t: int, ledger_ids: Any, ledger_starts: np.ndarray,
                          ledger_rank: np.ndarray) -> np.ndarray | None:
    """:func:`asof_positions` when every row has the same event time ``t``, by DuckDB.

    One instant for every row (``consent.as_of``, no ``data.timestamp``: the usual
    audit) needs no as-of join: each subject's record in force is its greatest
    (start, rank, position) among records started at or before ``t``, found in one
    hash aggregation over the ledger, then one hash join of the data ids on the
    exact text (10 M rows against 10 M records: ~1 s instead of ~5 s for sorting
    the ledger). None when DuckDB is not installed or the positions do not fit
    the key; the caller then takes the general path.
    """
    try:
        import duckdb
    except ImportError:
        return None
    n_ledger = len(ledger_starts)
    if n_ledger >= 1 << 32 or (len(ledger_rank) and (ledger_rank.min() < 0
                                                     or ledger_rank.max() >= 1 << 8)):
        return None
    ledger = pa.table({"id": text_array(ledger_ids, combine=False), "start": ledger_starts,
                       "rank": ledger_rank, "pos": np.arange(n_ledger, dtype=np.int64)})
    data = pa.table({"id": text_array(data_ids, combine=False),
                     "row": np.arange(len(data_ids), dtype=np.int64)})
    # (start, rank, position) as one HUGEINT that orders the same: unique, so the
    # winner is deterministic (the later ledger row among equal start and rank).
    query = f"""
        WITH winner AS (
            SELECT id, arg_max(pos, start::HUGEINT * 1099511627776 + rank * 4294967296 + pos)
                AS pos
            FROM ledger WHERE start <= {int(t)} GROUP BY id)
        SELECT data.row, winner.pos FROM data JOIN winner ON data.id = winner.id"""
    # Rows come back in any order (they carry their row number): not keeping the input
    # order spares DuckDB a reordering pass (10 M rows: 3.0 s -> 1.9 s).
    with duckdb_connection(duckdb, preserve_insertion_order=False) as con:
        con.register("ledger", ledger)
        con.register("data", data)
        found = con.sql(query).fetchnumpy()
    result = np.full(len(data_ids), -1, dtype=np.int64)
    result[found["row"]] = found["pos"]
    return result


def _walk(ledger: _SortedLedger, first: np.ndarray, data_keys: np.ndarray, times: np.ndarray,
          eligible: np.ndarray) -> np.ndarray:
    """Walk forward through each row's block while records started at or before t.

    ``first`` is where each row's subject block begins in the sorted ledger
    (``len(order)`` when absent). Consecutive reads of neighbouring records stay
    in cache, which is why the walk goes forward from the block start.
    """
    n = len(ledger.order)
    result = np.full(len(times), -1, dtype=np.int64)
    active = np.flatnonzero(eligible)
    position, key, t = first[active], data_keys[active], times[active]
    while len(active):
        ok = (position < n) & (ledger.keys[position] == key) & (ledger.starts[position] <= t)
        active, position, key, t = active[ok], position[ok], key[ok], t[ok]
        result[active] = ledger.order[position]
        position = position + 1
    return result


def _same_ids(result: np.ndarray, data_ids: Any, ledger_ids: Any) -> bool:
    """True when every matched pair has equal ids (no hash collision)."""
    matched = np.flatnonzero(result >= 0)
    if not len(matched):
        return True
    ledger_side = ledger_ids.take(pa.array(result[matched]))
    data_side = data_ids.take(pa.array(matched))
    return bool(pc.all(pc.equal(ledger_side, data_side)).as_py())
