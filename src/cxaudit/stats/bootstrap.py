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
    """Percentile interval of bootstrap replicates, ignoring undefined (NaN) ones.

    Returns NaN bounds where fewer than half of the replicates are defined.
    """
    reps = np.asarray(replicates, dtype=float)
    alpha = (1.0 - confidence) / 2.0
    defined = np.isfinite(reps)
    enough = defined.sum(axis=axis) * 2 >= reps.shape[axis]
    safe = np.where(defined, reps, np.nan)
    if not enough.any():
        shape = np.delete(np.array(reps.shape), axis)
        nan = np.full(tuple(shape), np.nan)
        return nan, nan.copy()
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are masked below
            low = np.nanquantile(safe, alpha, axis=axis)
            high = np.nanquantile(safe, 1.0 - alpha, axis=axis)
    return np.where(enough, low, np.nan), np.where(enough, high, np.nan)
