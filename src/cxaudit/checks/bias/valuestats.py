"""Statistics of per-group value distributions, from counts per distinct value.

Each function takes :class:`~cxaudit.checks.bias.cells.ValueCells` and a weight
matrix ``W`` of shape ``(R, K)`` (R = 1 for the point estimate — the observed
counts — or one row per bootstrap replicate) and returns ``(R, groups)``.
Cells are sorted by group, then value, then label, so ties and score bands are
contiguous within a group.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cxaudit.checks.bias.cells import ValueCells
from cxaudit.checks.bias.values import GroupValues
from cxaudit.stats.auc import covariance_with_pooled, delong
from cxaudit.stats.bootstrap import multinomial_replicates

Statistic = Callable[[ValueCells, np.ndarray], np.ndarray]


def _per_group(cells: ValueCells, weights: np.ndarray,
               fn: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    weights = np.atleast_2d(weights)
    out = np.full((weights.shape[0], len(cells.keys)), np.nan)
    for g, s in enumerate(cells.group_slices()):
        if s.stop > s.start:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, g] = fn(weights[:, s].astype(float), cells.value[s], cells.label[s])
    return out


def mean_value(cells: ValueCells, weights: np.ndarray) -> np.ndarray:
    """Mean of the value per group."""
    return _per_group(cells, weights, lambda w, v, y: (w * v).sum(1) / w.sum(1))


def median_value(cells: ValueCells, weights: np.ndarray) -> np.ndarray:
    """Median per group, as :func:`numpy.median` defines it (mean of the middle two)."""
    def median(w: np.ndarray, v: np.ndarray, y: np.ndarray) -> np.ndarray:
        cum = np.cumsum(w, axis=1)
        total = cum[:, -1]
        lower_rank = np.floor((total - 1) / 2)
        upper_rank = np.floor(total / 2)
        lo = v[np.minimum((cum > lower_rank[:, None]).argmax(axis=1), len(v) - 1)]
        hi = v[np.minimum((cum > upper_rank[:, None]).argmax(axis=1), len(v) - 1)]
        return np.where(total > 0, (lo + hi) / 2.0, np.nan)

    return _per_group(cells, weights, median)


def auc_value(cells: ValueCells, weights: np.ndarray) -> np.ndarray:
    """Area under the ROC curve per group (Mann–Whitney, ties count one half).

    All groups at once: cells are sorted by group then score, so one pass over
    the (group, score) tie blocks gives every group's negatives below each block.
    """
    w = np.atleast_2d(weights).astype(float)
    out = np.full((w.shape[0], len(cells.keys)), np.nan)
    if not len(cells.count):
        return out
    g, v, y = cells.group, cells.value, cells.label
    starts = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (v[1:] != v[:-1])])
    bgroup = g[starts]
    pos = np.add.reduceat(w * y, starts, axis=1)
    neg = np.add.reduceat(w * (1 - y), starts, axis=1)
    gstarts = np.flatnonzero(np.r_[True, bgroup[1:] != bgroup[:-1]])
    cum = np.cumsum(neg, axis=1)
    before = np.repeat((cum - neg)[:, gstarts], np.diff(np.r_[gstarts, len(bgroup)]), axis=1)
    below = cum - neg - before
    num = np.add.reduceat(pos * (below + 0.5 * neg), gstarts, axis=1)
    n_pos = np.add.reduceat(pos, gstarts, axis=1)
    n_neg = np.add.reduceat(neg, gstarts, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, bgroup[gstarts]] = num / (n_pos * n_neg)
    return out


def auc_values(attributes: list[str], exact: ValueCells, *, intervals: bool) -> GroupValues:
    """AUC per group and overall with DeLong variances (no resampling).

    ``intervals`` False (``n_boot: 0``) leaves the variances out, so the check
    reports no intervals or tests, as with the bootstrap switched off.
    """
    G = len(exact.keys)
    by_group = delong(exact.group, exact.value, exact.label, exact.count, G)
    everyone, order = pooled(exact)
    overall = delong(everyone.group, everyone.value, everyone.label, everyone.count, 1)
    values = GroupValues(attributes=attributes, keys=exact.keys, n=exact.n, value=by_group.auc,
                         overall=float(overall.auc[0]), overall_n=int(exact.count.sum()))
    if intervals:
        v10, v01 = np.empty(len(order)), np.empty(len(order))
        v10[order], v01[order] = overall.v10, overall.v01
        values.variance = by_group.variance
        values.overall_variance = float(overall.variance[0])
        values.overall_covariance = covariance_with_pooled(
            exact.group, exact.label, exact.count, by_group, overall, v10, v01)
    return values


def calibration_error(bins: int) -> Statistic:
    """Expected calibration error over ``bins`` equal-width score bands."""
    def ece(w: np.ndarray, v: np.ndarray, y: np.ndarray) -> np.ndarray:
        band = np.minimum((np.clip(v, 0.0, 1.0) * bins).astype(np.int64), bins - 1)
        starts = np.flatnonzero(np.r_[True, band[1:] != band[:-1]])
        observed = np.add.reduceat(w * y, starts, axis=1)
        predicted = np.add.reduceat(w * v, starts, axis=1)
        return np.abs(observed - predicted).sum(1) / w.sum(1)

    def statistic(cells: ValueCells, weights: np.ndarray) -> np.ndarray:
        return _per_group(cells, weights, ece)

    return statistic


def calibration_bands(cells: ValueCells, bins: int) -> list[dict]:
    """Observed vs predicted rate per score band and group (point estimates)."""
    out = []
    band = np.minimum((np.clip(cells.value, 0.0, 1.0) * bins).astype(np.int64), bins - 1)
    for g, s in enumerate(cells.group_slices()):
        for b in np.unique(band[s]):
            m = band[s] == b
            w = cells.count[s][m]
            n = int(w.sum())
            out.append({"group": list(cells.keys[g]), "band": [b / bins, (b + 1) / bins],
                        "n": n, "observed": float((w * cells.label[s][m]).sum() / n),
                        "predicted": float((w * cells.value[s][m]).sum() / n)})
    return out


def pooled(cells: ValueCells) -> tuple[ValueCells, np.ndarray]:
    """All groups as one (for the overall value) and the column order that maps to it."""
    order = np.lexsort((cells.label, cells.value))
    one = ValueCells(keys=[("all",)], group=np.zeros(len(order), np.int64),
                     label=cells.label[order], value=cells.value[order],
                     count=cells.count[order], missing=cells.missing.sum(keepdims=True))
    return one, order


def statistic_values(attributes: list[str], exact: ValueCells, coarse: ValueCells,
                     statistic: Statistic, *, n_boot: int, rng: np.random.Generator
                     ) -> GroupValues:
    """Point estimates on ``exact`` cells; bootstrap replicates on ``coarse`` cells."""
    everyone, order = pooled(exact)
    values = GroupValues(
        attributes=attributes, keys=exact.keys, n=exact.n,
        value=statistic(exact, exact.count[None, :])[0],
        overall=float(statistic(everyone, everyone.count[None, :])[0, 0]),
        overall_n=int(exact.count.sum()))
    if n_boot > 0 and len(coarse.count):
        draws = multinomial_replicates(coarse.count, n_boot, rng)
        values.replicates = statistic(coarse, draws)
        everyone_c, order_c = pooled(coarse)
        values.overall_replicates = statistic(everyone_c, draws[:, order_c])[:, 0]
    return values


def _one_hot(index: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((len(index), size))
    out[np.arange(len(index)), index] = 1.0
    return out


def _band(value: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((np.clip(value, 0.0, 1.0) * bins).astype(np.int64), bins - 1)


def calibration_values(attributes: list[str], exact: ValueCells, bins: int, *, n_boot: int,
                       rng: np.random.Generator) -> GroupValues:
    """Expected calibration error per group, bootstrapped over (group, band, label) cells.

    The error needs, per group and score band, the rows, the positives and the
    sum of scores. The bootstrap draws the rows of each (group, band, label)
    cell jointly from one multinomial — exactly what resampling the rows gives
    these counts — and, given a cell's count ``k``, its score sum from the
    normal distribution with the mean ``k·μ`` and variance ``k·σ²`` that
    ``k`` rows drawn from the cell's own scores have (μ, σ² the cell's score
    mean and variance). Only the shape of that within-band score noise, small
    beside the label noise, is approximated; the draw costs cells × replicates
    with a few dozen cells instead of one per distinct score.
    """
    statistic = calibration_error(bins)
    everyone, _ = pooled(exact)
    values = GroupValues(
        attributes=attributes, keys=exact.keys, n=exact.n,
        value=statistic(exact, exact.count[None, :])[0],
        overall=float(statistic(everyone, everyone.count[None, :])[0, 0]),
        overall_n=int(exact.count.sum()))
    if n_boot <= 0 or not len(exact.count):
        return values
    G = len(exact.keys)
    band = _band(exact.value, bins)
    cell = (exact.group * bins + band) * 2 + exact.label  # (group, band, label)
    used, index = np.unique(cell, return_inverse=True)
    w = exact.count.astype(float)
    k = np.bincount(index, weights=w)
    mean = np.bincount(index, weights=w * exact.value) / k
    spread = np.bincount(index, weights=w * (exact.value - mean[index]) ** 2) / k
    draws = multinomial_replicates(k.astype(np.int64), n_boot, rng).astype(float)  # (B, C)
    noise = rng.standard_normal(draws.shape)
    score_sum = draws * mean + np.sqrt(draws * spread) * noise
    group_band, label = used // 2, used % 2
    residual = draws * label - score_sum  # positives minus predicted, per cell
    slots, slot = np.unique(group_band, return_inverse=True)
    gap = np.abs(residual @ _one_hot(slot, len(slots)))  # (B, group-bands)
    errors = gap @ _one_hot(slots // bins, G)
    rows = draws @ _one_hot(used // (2 * bins), G)
    with np.errstate(divide="ignore", invalid="ignore"):
        values.replicates = np.where(rows > 0, errors / rows, np.nan)
        all_bands = np.abs(residual @ _one_hot(group_band % bins, bins))
        values.overall_replicates = all_bands.sum(1) / draws.sum(1)
    return values
