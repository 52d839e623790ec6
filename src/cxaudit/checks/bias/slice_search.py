"""The arithmetic of ``bias.slices``: encode columns, count slices in one pass, test them.

Every slicing column becomes small integer codes (numbers binned at their
quantiles, categories kept up to a limit with the rest as ``other``, missing
values as their own code). One pass over the rows, in chunks, fills a count
table per column and per pair of columns (``bincount`` of the combined code
with the outcome cell — counts, never a loop over rows in Python). Each slice
is then compared with its complement from those tables alone, one-sided in the
harmful direction, and the p-values of every slice tried are adjusted together
with Benjamini–Yekutieli, which controls the false discovery rate under any
dependence between tests (slices overlap, so their tests are dependent).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from cxaudit.stats.intervals import wilson_interval, z_quantile

#: Rows per chunk of the one pass (keeps the combined codes in cache).
CHUNK = 1 << 18


@dataclass(frozen=True)
class Encoded:
    """One slicing column as codes ``0..len(labels)-1`` (int16) and each code's label."""

    column: str
    codes: np.ndarray
    labels: tuple[str, ...]
    numeric: bool


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def encode(column: str, values: pd.Series, *, bins: int, max_categories: int) -> Encoded:
    """Codes of one column: quantile bins for numbers with many values, else categories."""
    numeric = (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))
    if numeric:
        array = values.to_numpy(dtype=float, na_value=np.nan)
        finite = array[np.isfinite(array)]
        distinct = np.unique(finite) if finite.size <= 1_000_000 else np.unique(finite[:1_000_000])
        if distinct.size > max_categories:
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
            edges = edges[edges > finite.min()]
            codes = np.searchsorted(edges, array, side="right").astype(np.int16)
            labels = []
            bounds = [None, *edges.tolist(), None]
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                if lo is None:
                    labels.append(f"< {_fmt(hi)}")
                elif hi is None:
                    labels.append(f">= {_fmt(lo)}")
                else:
                    labels.append(f"[{_fmt(lo)}, {_fmt(hi)})")
            missing = ~np.isfinite(array)
            if missing.any():
                codes[missing] = len(labels)
                labels.append("missing")
            return Encoded(column, codes, tuple(labels), True)
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    keep = np.argsort(-counts, kind="stable")[:max_categories]
    keep = np.sort(keep)
    remap = np.full(len(uniques) + 1, -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    labels = [str(uniques[k]) for k in keep]
    if len(keep) < len(uniques):
        remap[remap < 0] = len(labels)
        labels.append("other")
    if (codes < 0).any():
        remap[-1] = len(labels)
        labels.append("missing")
    return Encoded(column, remap[codes].astype(np.int16), tuple(labels), False)


@dataclass
class Tables:
    """Per-slice statistics: ``singles[i]`` has shape (K_i, m), ``pairs[(i, j)]`` (K_i, K_j, m).

    ``m`` is 4 confusion cells (count metrics; cell = 2 * label + decision) or, for a score,
    (rows, sum, sum of squares)."""

    singles: list[np.ndarray]
    pairs: dict[tuple[int, int], np.ndarray]
    total: np.ndarray


def _stats(index: np.ndarray, size: int, cell: np.ndarray | None, ncell: int,
           score: np.ndarray | None) -> np.ndarray:
    if score is None:
        flat = index * ncell + cell if cell is not None else index
        return np.bincount(flat, minlength=size * ncell).reshape(size, ncell)
    return np.stack([np.bincount(index, minlength=size).astype(float),
                     np.bincount(index, weights=score, minlength=size),
                     np.bincount(index, weights=score * score, minlength=size)], axis=1)


def count_tables(encoded: list[Encoded], *, cell: np.ndarray | None = None, ncell: int = 4,
                 score: np.ndarray | None = None, pairs: bool = True) -> Tables:
    """One pass over the rows (in chunks): the table of every column and pair of columns."""
    sizes = [len(e.labels) for e in encoded]
    m = 3 if score is not None else ncell
    dtype = float if score is not None else np.int64
    singles = [np.zeros((k, m), dtype=dtype) for k in sizes]
    pair_keys = list(combinations(range(len(encoded)), 2)) if pairs else []
    tables = {p: np.zeros((sizes[p[0]] * sizes[p[1]], m), dtype=dtype) for p in pair_keys}
    n = len(encoded[0].codes) if encoded else 0
    total = np.zeros(m, dtype=dtype)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        c = [e.codes[start:stop].astype(np.int64) for e in encoded]
        cc = None if cell is None else cell[start:stop].astype(np.int64)
        ss = None if score is None else score[start:stop]
        total += _stats(np.zeros(stop - start, dtype=np.int64), 1, cc, ncell, ss)[0]
        for i, codes in enumerate(c):
            singles[i] += _stats(codes, sizes[i], cc, ncell, ss)
        for i, j in pair_keys:
            tables[(i, j)] += _stats(c[i] * sizes[j] + c[j], sizes[i] * sizes[j], cc, ncell, ss)
    return Tables(singles, {p: t.reshape(sizes[p[0]], sizes[p[1]], m) for p, t in tables.items()},
                  total)


@dataclass(frozen=True)
class SliceStats:
    """Every slice tried, as parallel arrays."""

    keys: list[tuple[tuple[int, int], ...]]  # ((column index, code), ...)
    rows: np.ndarray
    n: np.ndarray  # the metric's denominator in the slice
    value: np.ndarray
    complement: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p: np.ndarray


def _rows_and_moments(stat: np.ndarray, numerator: tuple[int, ...] | None,
                      denominator: tuple[int, ...] | None) -> tuple[np.ndarray, ...]:
    if numerator is None:  # score moments
        return stat[..., 0], stat[..., 0], stat[..., 1], stat[..., 2]
    rows = stat.sum(axis=-1)
    return (rows, stat[..., list(denominator)].sum(axis=-1),
            stat[..., list(numerator)].sum(axis=-1), None)


def compare_slices(tables: Tables, *, numerator: tuple[int, ...] | None,
                denominator: tuple[int, ...] | None, higher_is_better: bool,
                min_rows: int, min_n: int, confidence: float) -> tuple[SliceStats, int]:
    """Test each slice with enough support against its complement (one-sided, harmful side).

    Rates: the pooled two-proportion z-test; scores: Welch's t-test. Returns the slices
    tried and how many were left out for support (rows or metric denominator)."""
    keys: list[tuple[tuple[int, int], ...]] = []
    blocks = []
    # A two-condition slice holding exactly the rows of one of its conditions (A and B
    # where every A row is B) is the same hypothesis as that one-condition slice: it is
    # neither tried again nor listed twice.
    repeats = []
    single_rows = [_rows_and_moments(t, numerator, denominator)[0] for t in tables.singles]
    for i, t in enumerate(tables.singles):
        keys += [((i, a),) for a in range(t.shape[0])]
        blocks.append(t.reshape(-1, t.shape[-1]))
        repeats.append(np.zeros(t.shape[0], dtype=bool))
    for (i, j), t in tables.pairs.items():
        keys += [((i, a), (j, b)) for a in range(t.shape[0]) for b in range(t.shape[1])]
        blocks.append(t.reshape(-1, t.shape[-1]))
        pair_rows = _rows_and_moments(t, numerator, denominator)[0]
        same = (pair_rows == single_rows[i][:, None]) | (pair_rows == single_rows[j][None, :])
        repeats.append(same.reshape(-1))
    stat = np.concatenate(blocks) if blocks else np.zeros((0, len(tables.total)))
    repeat = np.concatenate(repeats) if repeats else np.zeros(0, dtype=bool)
    rows, n, x, x2 = _rows_and_moments(stat, numerator, denominator)
    t_rows, t_n, t_x, t_x2 = _rows_and_moments(tables.total, numerator, denominator)
    c_rows, c_n, c_x = t_rows - rows, t_n - n, t_x - x
    supported = (rows >= min_rows) & (c_rows >= min_rows) & (n >= min_n) & (c_n >= min_n)
    ok = supported & ~repeat
    skipped = int(np.count_nonzero(rows > 0) - np.count_nonzero(supported))
    idx = np.flatnonzero(ok)
    rows, n, x, c_n, c_x = rows[idx], n[idx], x[idx], c_n[idx], c_x[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        value, other = x / n, c_x / c_n
        if numerator is None:
            x2 = x2[idx]
            c_x2 = t_x2 - x2
            var = np.maximum((x2 - n * value**2) / np.maximum(n - 1, 1), 0.0)
            c_var = np.maximum((c_x2 - c_n * other**2) / np.maximum(c_n - 1, 1), 0.0)
            se2, c_se2 = var / n, c_var / c_n
            se = np.sqrt(se2 + c_se2)
            df = (se2 + c_se2) ** 2 / (se2**2 / np.maximum(n - 1, 1)
                                       + c_se2**2 / np.maximum(c_n - 1, 1))
            stat_t = (value - other) / se
            half = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)) * np.sqrt(se2)
            low, high = value - half, value + half
            dist = stats.t(np.where(np.isfinite(df), df, 1.0))
        else:
            pooled = (x + c_x) / (n + c_n)
            se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / c_n))
            stat_t = (value - other) / se
            low, high = wilson_interval(x, n, confidence)
            dist = stats.norm
        harm = -stat_t if higher_is_better else stat_t
        p = np.where(se > 0, dist.sf(np.nan_to_num(harm, nan=0.0)), 1.0)
    return SliceStats([keys[k] for k in idx], rows, n, value, other,
                      np.asarray(low, float), np.asarray(high, float), p), max(skipped, 0)


def benjamini_yekutieli(p: np.ndarray) -> np.ndarray:
    """BY-adjusted p-values (FDR under arbitrary dependence), scipy's implementation."""
    if len(p) == 0:
        return np.asarray(p, dtype=float)
    return stats.false_discovery_control(np.clip(p, 0.0, 1.0), method="by")


@dataclass(frozen=True)
class Search:
    """The slices tried, their BY-adjusted p-values, harmful gaps and discoveries."""

    found: SliceStats
    adjusted: np.ndarray
    harm: np.ndarray
    discovery: np.ndarray
    skipped: int


def search(encoded: list[Encoded], *, cell: np.ndarray | None = None,
           score: np.ndarray | None = None, numerator: tuple[int, ...] | None = None,
           denominator: tuple[int, ...] | None = None, higher_is_better: bool,
           conditions: int = 2, min_rows: int, min_n: int, alpha: float, min_gap: float,
           confidence: float = 0.95) -> Search:
    """Count, test and adjust every slice of ``conditions`` conditions (1 or 2)."""
    tables = count_tables(encoded, cell=cell, score=score, pairs=conditions == 2)
    found, skipped = compare_slices(tables, numerator=numerator, denominator=denominator,
                                    higher_is_better=higher_is_better, min_rows=min_rows,
                                    min_n=min_n, confidence=confidence)
    adjusted = benjamini_yekutieli(found.p)
    harm = (found.complement - found.value) if higher_is_better else (found.value
                                                                       - found.complement)
    discovery = (adjusted < alpha) & (harm >= min_gap)
    return Search(found, adjusted, harm, discovery, skipped)


__all__ = ["Search", "search", "CHUNK", "Encoded", "SliceStats", "Tables", "benjamini_yekutieli", "count_tables",
           "compare_slices", "encode", "z_quantile"]
