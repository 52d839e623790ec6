"""Closed-form confidence intervals for proportions."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri


def z_quantile(confidence: float) -> float:
    """Two-sided standard-normal critical value, e.g. 1.96 for 0.95."""
    return float(ndtri(0.5 + confidence / 2.0))


def wilson_interval(successes: np.ndarray | float, trials: np.ndarray | float,
                    confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (vectorised).

    Parameters
    ----------
    successes, trials
        Counts (arrays of the same shape, or scalars).
    confidence
        Coverage, e.g. 0.95.

    Returns
    -------
    (low, high)
        Arrays of bounds; NaN where ``trials`` is 0.
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = z_quantile(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high
