"""The multinomial bootstrap over cells agrees in distribution with resampling rows.

Seeded, so the outcome is fixed; the tolerances are what two independent
bootstraps of this size would satisfy with high probability: a two-sample
Kolmogorov–Smirnov p-value above 0.01, standard deviations within 10% (15% for
the 500-replicate AUC case) and the
2.5%/97.5% quantiles within a quarter of a standard deviation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from cxaudit.checks.bias.cells import ValueCells
from cxaudit.checks.bias.compare import comparison_value
from cxaudit.checks.bias.metrics import COUNT_METRICS
from cxaudit.checks.bias.values import proportion_values
from cxaudit.checks.bias.valuestats import auc_value, statistic_values

B = 2000


def _data(rows: int = 3000, seed: int = 5):
    rng = np.random.default_rng(seed)
    g = rng.choice(3, rows, p=[0.6, 0.3, 0.1])
    score = rng.beta(2, 3, rows) + 0.1 * (g == 2)
    y = (rng.random(rows) < np.clip(score, 0, 1)).astype(int)
    d = (score > 0.45).astype(int)
    return g, y, d, np.round(score, 3)


def _agree(fast: np.ndarray, naive: np.ndarray, sd_tolerance: float = 0.10) -> None:
    fast, naive = fast[np.isfinite(fast)], naive[np.isfinite(naive)]
    assert stats.ks_2samp(fast, naive).pvalue > 0.01
    assert np.std(fast) == pytest.approx(np.std(naive), rel=sd_tolerance)
    sd = np.std(naive)
    for q in (0.025, 0.975):
        assert abs(np.quantile(fast, q) - np.quantile(naive, q)) < 0.25 * sd


@pytest.mark.parametrize("name", ["true_positive_rate", "selection_rate", "false_positive_rate"])
def test_count_metric_ratio_bootstrap_matches_row_bootstrap(name):
    g, y, d, _ = _data()
    spec = COUNT_METRICS[name]
    cells = np.zeros((3, 4), dtype=np.int64)
    np.add.at(cells, (g, 2 * y + d), 1)
    keys = [("a",), ("b",), ("c",)]
    fast = proportion_values(["g"], keys, cells, spec, n_boot=B, rng=np.random.default_rng(1))
    fast_ratio = comparison_value(fast.replicates[:, 2], fast.replicates[:, 0], compare="ratio",
                                  higher_is_better=True)
    rng = np.random.default_rng(2)
    naive = np.empty(B)
    for b in range(B):
        idx = rng.integers(0, len(g), len(g))
        c = np.zeros((3, 4), dtype=np.int64)
        np.add.at(c, (g[idx], 2 * y[idx] + d[idx]), 1)
        num, den = spec.compute(c)
        rates = num / den
        naive[b] = comparison_value(rates[2], rates[0], compare="ratio", higher_is_better=True)
    _agree(fast_ratio, naive)


def test_auc_bootstrap_over_value_cells_matches_row_bootstrap():
    g, y, _, score = _data(rows=1500)
    mask = g == 1
    gy, ys = y[mask], score[mask]
    # value cells for one group: counts per distinct (label, score)
    pairs, counts = np.unique(np.stack([ys, gy], axis=1), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    cells = ValueCells(keys=[("b",)], group=np.zeros(len(order), np.int64),
                       label=pairs[order, 1].astype(np.int64), value=pairs[order, 0],
                       count=counts[order].astype(np.int64), missing=np.zeros(1, np.int64))
    fast = statistic_values(["g"], cells, cells, auc_value, n_boot=500,
                            rng=np.random.default_rng(3)).replicates[:, 0]
    rng = np.random.default_rng(4)
    naive = np.array([roc_auc_score(gy[i], ys[i]) for i in
                      (rng.integers(0, len(gy), len(gy)) for _ in range(500))])
    assert fast.mean() == pytest.approx(naive.mean(), abs=0.25 * naive.std())
    _agree(fast, naive, sd_tolerance=0.15)  # 500 replicates each: sd of an sd ≈ 3%
