"""Importances, their bootstrap intervals, rank correlation and top-k stability.

All estimates are design-weighted means over the stratified sample; the
bootstrap replicates reuse the sample's multinomial counts
(:func:`cxaudit.explain.sampling.bootstrap_counts`), so every figure's
sampling error comes from the same resamples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Design-weighted column means of ``values`` ``(n, m)``; NaN where no weight."""
    total = float(weights.sum())
    if total <= 0:
        return np.full(values.shape[1], np.nan)
    return (weights @ values) / total


def replicate_means(values: np.ndarray, weights: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Weighted column means in every bootstrap replicate: ``(n_boot, m)``.

    ``counts`` ``(n_boot, n)`` holds how often each row is drawn per replicate.
    """
    w = counts * weights[None, :]
    totals = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ values) / totals


def interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each column of ``replicates`` (NaN replicates ignored)."""
    alpha = (1.0 - confidence) / 2.0
    lo = np.nanquantile(replicates, alpha, axis=0)
    hi = np.nanquantile(replicates, 1.0 - alpha, axis=0)
    return lo, hi


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN if either is constant."""
    ra = pd.Series(a).rank(method="average").to_numpy()
    rb = pd.Series(b).rank(method="average").to_numpy()
    if len(ra) < 2 or np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return float("nan")
    ra = ra - ra.mean()
    rb = rb - rb.mean()
    return float((ra @ rb) / np.sqrt((ra @ ra) * (rb @ rb)))


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Spearman correlation of two ``(r, m)`` matrices (NaN where a row is constant)."""
    from scipy.stats import rankdata

    ra = rankdata(a, axis=1)
    rb = rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denominator = np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (ra * rb).sum(axis=1) / denominator, np.nan)


def ranking(importance: np.ndarray, names: tuple[str, ...] | list[str]) -> list[int]:
    """Feature indices from most to least important (ties broken by name)."""
    return sorted(range(len(importance)), key=lambda i: (-importance[i], names[i]))


def top_k(importance: np.ndarray, names: tuple[str, ...] | list[str], k: int) -> list[int]:
    """Indices of the ``k`` most important features (ties broken by name)."""
    return ranking(importance, names)[:k]


def top_k_frequency(replicates: np.ndarray, k: int) -> np.ndarray:
    """Share of replicates in which each feature is among the top ``k``."""
    order = np.argsort(-replicates, axis=1, kind="stable")[:, :k]
    hits = np.zeros(replicates.shape, dtype=bool)
    np.put_along_axis(hits, order, True, axis=1)
    return hits.mean(axis=0)


def jaccard(a: set[int], b: set[int]) -> float:
    """|a ∩ b| / |a ∪ b| (1 for two empty sets)."""
    union = a | b
    return 1.0 if not union else len(a & b) / len(union)
