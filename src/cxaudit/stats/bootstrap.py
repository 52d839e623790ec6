"""The bootstrap over count tables.

Resampling N rows with replacement and then counting how many fall in each
cell (group × label × decision) gives cell counts that are exactly
Multinomial(N, observed cell shares). So for any statistic that is a function
of the cell counts, drawing the counts directly is the row bootstrap — at a
cost that depends on the number of cells, not the number of rows.
"""

from __future__ import annotations

import numpy as np


def multinomial_replicates(counts: np.ndarray, n_boot: int,
                           rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of a count table.

    Parameters
    ----------
    counts
        Observed counts of any shape (all cells of one table; the total is the
        number of rows).
    n_boot
        Number of replicates.
    rng
        Seeded generator.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_boot, *counts.shape)``: each replicate's counts, summing to
        the same total as ``counts``.
    """
    flat = np.asarray(counts, dtype=np.int64).ravel()
    total = int(flat.sum())
    if total == 0 or n_boot <= 0:
        return np.zeros((max(n_boot, 0), *np.shape(counts)), dtype=np.int64)
    draws = rng.multinomial(total, flat / total, size=n_boot)
    return draws.reshape((n_boot, *np.shape(counts)))


def percentile_interval(replicates: np.ndarray, confidence: float = 0.95,
                        axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap replicates, ignoring undefined (non-finite) ones.

    Uses numpy's default (linear) quantile definition over the defined
    replicates of each column, in one sort. Bounds are NaN where fewer than
    half of the replicates are defined.
    """
    reps = np.moveaxis(np.asarray(replicates, dtype=float), axis, 0)
    count = reps.shape[0]
    defined = np.isfinite(reps)
    k = defined.sum(axis=0)
    ordered = np.sort(np.where(defined, reps, np.nan), axis=0)  # NaN sorts last
    alpha = (1.0 - confidence) / 2.0
    bounds = []
    for q in (alpha, 1.0 - alpha):
        position = q * np.maximum(k - 1, 0)
        lo = np.floor(position).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
        frac = position - lo
        low_v = np.take_along_axis(ordered, lo[None, ...], axis=0)[0]
        high_v = np.take_along_axis(ordered, hi[None, ...], axis=0)[0]
        bounds.append(np.where(k * 2 >= count, low_v + (high_v - low_v) * frac, np.nan))
    return bounds[0], bounds[1]
