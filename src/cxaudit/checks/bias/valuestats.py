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
    """Area under the ROC curve per group (Mann–Whitney, ties count one half)."""
    def auc(w: np.ndarray, v: np.ndarray, y: np.ndarray) -> np.ndarray:
        starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
        pos = np.add.reduceat(w * y, starts, axis=1)
        neg = np.add.reduceat(w * (1 - y), starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        n_pos, n_neg = pos.sum(1), neg.sum(1)
        return (pos * (below + 0.5 * neg)).sum(1) / (n_pos * n_neg)

    return _per_group(cells, weights, auc)


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
