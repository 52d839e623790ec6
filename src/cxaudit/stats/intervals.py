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


def logit_interval(value: np.ndarray | float, variance: np.ndarray | float,
                   confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Normal interval on the logit scale for a quantity in (0, 1), e.g. an AUC (vectorised).

    ``logit(v) ± z · se / (v (1 - v))`` (delta method), mapped back: the bounds
    stay inside (0, 1) and widen on the side away from 1, which keeps the
    coverage near nominal for AUCs close to 1. A zero variance gives the point;
    a value of exactly 0 or 1 with a positive variance, or a NaN, gives NaN.
    Scalars in, floats out.
    """
    v = np.asarray(value, dtype=float)
    var = np.asarray(variance, dtype=float)
    z = z_quantile(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log(v) - np.log1p(-v)
        half = z * np.sqrt(var) / (v * (1.0 - v))
        low = 1.0 / (1.0 + np.exp(-(centre - half)))
        high = 1.0 / (1.0 + np.exp(-(centre + half)))
    point = var == 0
    low, high = np.where(point, v, low), np.where(point, v, high)
    bad = ~(np.isfinite(low) & np.isfinite(high))
    low, high = np.where(bad, np.nan, low), np.where(bad, np.nan, high)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high
