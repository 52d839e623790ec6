"""AUC per group with DeLong's variance, from counts per distinct (group, score, label).

DeLong, DeLong & Clarke-Pearson (1988), "Comparing the areas under two or more
correlated receiver operating characteristic curves": the AUC is a
Mann–Whitney U-statistic; each positive's placement ``V10`` is the share of
the group's negatives scored below it (ties count one half), each negative's
``V01`` the share of positives scored above it. The AUC is the mean ``V10``
and its variance ``S10 / m + S01 / n``, with ``S10``/``S01`` the sample
variances of the placements over the ``m`` positives and ``n`` negatives.

Rows that share a (group, score, label) share a placement, so everything is a
weighted sum over cells: one pass over cells already sorted by group then
score — no resampling and no per-group sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class AUCStats:
    """Per-group AUC, DeLong variance and the placements of every cell."""

    auc: np.ndarray  #: (groups,) NaN where a group lacks a class
    variance: np.ndarray  #: (groups,) NaN where a class has fewer than 2 rows
    positives: np.ndarray  #: (groups,) m
    negatives: np.ndarray  #: (groups,) n
    v10: np.ndarray  #: (cells,) placement of a positive at this cell's score
    v01: np.ndarray  #: (cells,) placement of a negative at this cell's score


def delong(group: np.ndarray, value: np.ndarray, label: np.ndarray, count: np.ndarray,
           n_groups: int) -> AUCStats:
    """AUC and DeLong variance per group from cells sorted by ``group`` then ``value``.

    ``label`` is 0/1, ``count`` the rows in each cell. The AUC is computed as
    ``sum(pos * (neg_below + neg_tied / 2)) / (m * n)``: every term is a
    multiple of one half, so the numerator is exact and equals scikit-learn's
    ``roc_auc_score`` on the rows.
    """
    group = np.asarray(group, dtype=np.int64)
    value = np.asarray(value, dtype=float)
    w = np.asarray(count, dtype=float)
    y = np.asarray(label, dtype=np.int64) == 1
    pos, neg = np.where(y, w, 0.0), np.where(y, 0.0, w)
    m = np.bincount(group, weights=pos, minlength=n_groups)
    n = np.bincount(group, weights=neg, minlength=n_groups)
    if len(w) == 0:
        empty = np.zeros(0)
        return AUCStats(np.full(n_groups, np.nan), np.full(n_groups, np.nan), m, n, empty, empty)
    # Tie blocks: cells with the same (group, score).
    new = np.r_[True, (group[1:] != group[:-1]) | (value[1:] != value[:-1])]
    block = np.cumsum(new) - 1
    bpos, bneg = np.bincount(block, weights=pos), np.bincount(block, weights=neg)
    bgroup = group[new]
    neg_before = np.cumsum(n) - n  # negatives of earlier groups
    pos_before = np.cumsum(m) - m
    neg_below = np.cumsum(bneg) - bneg - neg_before[bgroup]
    pos_above = m[bgroup] - (np.cumsum(bpos) - pos_before[bgroup])
    with np.errstate(divide="ignore", invalid="ignore"):
        numerator = np.bincount(bgroup, weights=bpos * (neg_below + 0.5 * bneg),
                                minlength=n_groups)
        auc = np.where((m > 0) & (n > 0), numerator / (m * n), np.nan)
        v10_block = (neg_below + 0.5 * bneg) / n[bgroup]
        v01_block = (pos_above + 0.5 * bpos) / m[bgroup]
        a = auc[bgroup]
        s10 = np.bincount(bgroup, weights=bpos * (v10_block - a) ** 2,
                          minlength=n_groups) / (m - 1)
        s01 = np.bincount(bgroup, weights=bneg * (v01_block - a) ** 2,
                          minlength=n_groups) / (n - 1)
        variance = np.where((m > 1) & (n > 1), s10 / m + s01 / n, np.nan)
    return AUCStats(auc=auc, variance=variance, positives=m, negatives=n,
                    v10=v10_block[block], v01=v01_block[block])


def covariance_with_pooled(group: np.ndarray, label: np.ndarray, count: np.ndarray,
                           by_group: AUCStats, pooled: AUCStats, pooled_v10: np.ndarray,
                           pooled_v01: np.ndarray) -> np.ndarray:
    """Covariance of each group's AUC with the AUC of all groups pooled.

    Both are U-statistics of the same rows; their covariance is the sum over
    rows of the product of their influence terms (a positive of group g:
    ``(V10_g - A_g) / m_g`` and ``(V10_all - A_all) / m_all``; negatives alike).
    ``pooled_v10``/``pooled_v01`` are the pooled placements aligned to these cells.
    """
    group = np.asarray(group, dtype=np.int64)
    w = np.asarray(count, dtype=float)
    y = np.asarray(label, dtype=np.int64) == 1
    k = len(by_group.auc)
    if len(w) == 0:
        return np.full(k, np.nan)
    a_g, a_p = by_group.auc[group], float(pooled.auc[0])
    m_all, n_all = float(pooled.positives[0]), float(pooled.negatives[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(
            y, w * (by_group.v10 - a_g) * (pooled_v10 - a_p) / (by_group.positives[group] * m_all),
            w * (by_group.v01 - a_g) * (pooled_v01 - a_p) / (by_group.negatives[group] * n_all))
    return np.bincount(group, weights=term, minlength=k)
