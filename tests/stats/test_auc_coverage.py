"""DeLong intervals for AUC cover as well as the multinomial bootstrap they replace.

Seeded simulation. Each scenario draws ``REPS`` datasets of a group with
``n`` rows, a share ``prevalence`` of positives and a binormal score with
AUC ``auc`` (negatives N(0, 1), positives N(d, 1)), rounded to a grid of width
0.25 so that ties occur and count one half; the true AUC is computed exactly
from the grid's probabilities. On the same datasets it compares the empirical
coverage of the 95 % interval the check reported before (percentile bootstrap,
multinomial over the (label, score) cells, as ``statistic_values`` drew it)
with the DeLong interval on the logit scale the check reports now — for the
group's AUC and for its gap to a reference group (n = 400, 30 % positives,
AUC 0.8; the check's ``difference`` is |gap|).

Measured (``pytest -s`` prints it again; 150 datasets per scenario, so a
coverage near 0.95 has a Monte-Carlo standard error of 0.018)::

        n  prev   auc | group: old   new | |gap|: old   new
       40  0.1   0.60 |       0.873 0.893 |       0.927 0.927
       40  0.1   0.80 |       0.820 0.867 |       0.000 0.827
       40  0.1   0.95 |       0.827 0.900 |       0.913 0.920
       40  0.5   0.60 |       0.940 0.967 |       0.933 0.927
       40  0.5   0.80 |       0.967 0.967 |       0.000 0.960
       40  0.5   0.95 |       0.907 0.947 |       0.920 0.940
      200  0.1   0.60 |       0.927 0.953 |       0.953 0.933
      200  0.1   0.80 |       0.947 0.940 |       0.000 0.960
      200  0.1   0.95 |       0.893 0.920 |       0.967 0.980
      200  0.5   0.60 |       0.940 0.947 |       0.927 0.913
      200  0.5   0.80 |       0.947 0.960 |       0.000 0.973
      200  0.5   0.95 |       0.953 0.953 |       0.953 0.940
     2000  0.1   0.60 |       0.947 0.947 |       0.953 0.960
     2000  0.1   0.80 |       0.933 0.940 |       0.000 0.940
     2000  0.1   0.95 |       0.933 0.940 |       0.973 0.973
     2000  0.5   0.60 |       0.960 0.980 |       0.927 0.933
     2000  0.5   0.80 |       0.960 0.953 |       0.000 0.933
     2000  0.5   0.95 |       0.960 0.960 |       0.953 0.960

With AUC 0.8 the group equals the reference (true gap 0): the old interval, the
percentiles of the replicates' |gap|, never reaches 0; the new one, |·| of the
gap's interval, holds 0 whenever that interval crosses it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from cxaudit.checks.bias.cells import ValueCells
from cxaudit.checks.bias.valuestats import auc_value, statistic_values
from cxaudit.stats.auc import delong
from cxaudit.stats.bootstrap import percentile_interval
from cxaudit.stats.intervals import logit_interval, z_quantile

REPS = 150  # datasets per scenario
BOOT = 400  # bootstrap replicates of the old method (percentile interval)
WIDTH = 0.25
SIZES = (40, 200, 2000)
PREVALENCES = (0.1, 0.5)
AUCS = (0.6, 0.8, 0.95)
REFERENCE = (400, 0.3, 0.8)
MC_SE = math.sqrt(0.95 * 0.05 / REPS)


def _grid(auc: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Probabilities of each grid value for positives and negatives, and the true AUC."""
    d = math.sqrt(2.0) * norm.ppf(auc)
    edges = np.arange(-4.0, d + 4.0 + WIDTH, WIDTH)
    cuts = np.r_[-np.inf, edges[1:-1], np.inf]
    neg, pos = np.diff(norm.cdf(cuts)), np.diff(norm.cdf(cuts - d))
    true = float((pos * (np.cumsum(neg) - neg + 0.5 * neg)).sum())
    return pos, neg, true


def _counts(rng, n: int, prevalence: float, pos_p, neg_p, reps: int) -> np.ndarray:
    """(reps, values, 2) counts per (score value, label): label 0 negatives, 1 positives."""
    m = max(2, round(n * prevalence))
    return np.stack([rng.multinomial(n - m, neg_p, size=reps),
                     rng.multinomial(m, pos_p, size=reps)], axis=-1)


def _auc(counts: np.ndarray) -> np.ndarray:
    """AUC of (..., values, 2) count tables (ties one half)."""
    neg, pos = counts[..., 0].astype(float), counts[..., 1].astype(float)
    below = np.cumsum(neg, axis=-1) - neg
    with np.errstate(divide="ignore", invalid="ignore"):
        return (pos * (below + 0.5 * neg)).sum(-1) / (pos.sum(-1) * neg.sum(-1))


def _delong(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The product's DeLong AUC and variance, each dataset as one group."""
    reps, k, _ = counts.shape
    group = np.repeat(np.arange(reps), 2 * k)
    value = np.tile(np.repeat(np.arange(k, dtype=float), 2), reps)
    label = np.tile([0, 1], reps * k)
    stats = delong(group, value, label, counts.ravel(), reps)
    return stats.auc, stats.variance


def _bootstrap(rng, counts: np.ndarray) -> np.ndarray:
    """Old method: multinomial replicates of each dataset's cells, AUC per replicate."""
    flat = counts.reshape(len(counts), -1)
    total = flat.sum(1)
    draws = rng.multinomial(total, flat / total[:, None], size=(BOOT, len(counts)))
    return _auc(draws.reshape(BOOT, *counts.shape))  # (BOOT, reps)


def _covers(low, high, true) -> float:
    return float(np.mean((low <= true) & (true <= high)))


def _abs_interval(low, high):
    crosses = (low <= 0) & (high >= 0)
    return (np.where(crosses, 0.0, np.minimum(abs(low), abs(high))),
            np.maximum(abs(low), abs(high)))


def _scenario(seed: int, n: int, prevalence: float, auc: float) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    pos_p, neg_p, true = _grid(auc)
    counts = _counts(rng, n, prevalence, pos_p, neg_p, REPS)
    r_pos, r_neg, r_true = _grid(REFERENCE[2])
    ref = _counts(rng, REFERENCE[0], REFERENCE[1], r_pos, r_neg, REPS)
    z = z_quantile(0.95)
    out = {}
    # The group's AUC.
    boot = _bootstrap(rng, counts)
    low, high = percentile_interval(boot, 0.95)
    out["old"] = _covers(low, high, true)
    value, var = _delong(counts)
    low, high = logit_interval(value, var, 0.95)
    out["new"] = _covers(low, high, true)
    # Its gap to the reference group: one multinomial over both groups' cells.
    k = max(counts.shape[1], ref.shape[1])
    both = np.zeros((REPS, 2, k, 2), dtype=np.int64)
    both[:, 0, :counts.shape[1]], both[:, 1, :ref.shape[1]] = counts, ref
    flat = both.reshape(REPS, -1)
    total = flat.sum(1)
    draws = rng.multinomial(total, flat / total[:, None], size=(BOOT, REPS))
    reps = _auc(draws.reshape(BOOT, REPS, 2, k, 2))
    gaps = reps[..., 0] - reps[..., 1]
    gap_true = abs(true - r_true)
    low, high = percentile_interval(np.abs(gaps), 0.95)  # what compare_set did
    out["old_gap"] = _covers(low, high, gap_true)
    r_value, r_var = _delong(ref)
    gap, se = value - r_value, np.sqrt(var + r_var)
    low, high = _abs_interval(gap - z * se, gap + z * se)
    out["new_gap"] = _covers(low, high, gap_true)
    return out


@pytest.fixture(scope="module")
def table() -> dict[tuple, dict[str, float]]:
    rows = {}
    seed = 2026
    for n in SIZES:
        for prevalence in PREVALENCES:
            for auc in AUCS:
                seed += 1
                rows[(n, prevalence, auc)] = _scenario(seed, n, prevalence, auc)
    print("\n  n  prev   auc | old   new | old_gap new_gap")
    for key, r in rows.items():
        print(f"{key[0]:5d} {key[1]:.1f} {key[2]:.2f} | {r['old']:.3f} {r['new']:.3f} | "
              f"{r['old_gap']:.3f}   {r['new_gap']:.3f}")
    return rows


def test_delong_interval_covers_like_the_bootstrap(table):
    for key, r in table.items():
        nominal = r["new"] >= 0.95 - 2.5 * MC_SE
        assert nominal or r["new"] >= r["old"] - 0.03, (key, r)


def test_delong_gap_interval_covers_like_the_bootstrap(table):
    for key, r in table.items():
        nominal = r["new_gap"] >= 0.95 - 2.5 * MC_SE
        assert nominal or r["new_gap"] >= r["old_gap"] - 0.03, (key, r)


def test_average_coverage_is_nominal(table):
    new = np.mean([r["new"] for r in table.values()])
    old = np.mean([r["old"] for r in table.values()])
    assert new >= old - 0.01
    assert new == pytest.approx(0.95, abs=0.02)


def test_simulated_bootstrap_is_the_checks_bootstrap():
    """The vectorised old method above is what statistic_values + auc_value compute."""
    rng = np.random.default_rng(7)
    pos_p, neg_p, _ = _grid(0.8)
    counts = _counts(rng, 200, 0.5, pos_p, neg_p, 1)[0]
    keep = counts.ravel() > 0
    k = counts.shape[0]
    cells = ValueCells(keys=[("a",)], group=np.zeros(keep.sum(), np.int64),
                       label=np.tile([0, 1], k)[keep],
                       value=np.repeat(np.arange(k, dtype=float), 2)[keep],
                       count=counts.ravel()[keep], missing=np.zeros(1, np.int64))
    ours = statistic_values(["g"], cells, cells, auc_value, n_boot=BOOT,
                            rng=np.random.default_rng(8)).replicates[:, 0]
    sim = _bootstrap(np.random.default_rng(9), counts[None])[:, 0]
    assert _auc(counts) == pytest.approx(auc_value(cells, cells.count[None])[0, 0], abs=1e-15)
    assert np.std(ours) == pytest.approx(np.std(sim), rel=0.15)
    assert abs(np.mean(ours) - np.mean(sim)) < 0.25 * np.std(sim)
