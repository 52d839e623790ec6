"""Per-group values of one metric, with bootstrap replicates, for one attribute set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxaudit.checks.bias.metrics import COUNT_METRICS, CountMetric
from cxaudit.stats.bootstrap import multinomial_replicates


@dataclass
class GroupValues:
    """A metric's value per group of one attribute set (``keys`` in sorted order).

    ``successes``/``trials`` are set for proportions (they drive the z/Fisher
    tests and Wilson intervals); ``replicates`` holds bootstrap values
    ``(n_boot, groups)`` and ``overall_replicates`` the overall value per replicate.
    """

    attributes: list[str]
    keys: list[tuple[str, ...]]
    n: np.ndarray
    value: np.ndarray
    overall: float
    overall_n: int
    replicates: np.ndarray | None = None
    overall_replicates: np.ndarray | None = None
    successes: np.ndarray | None = None
    trials: np.ndarray | None = None
    #: value = successes / trials * scale (exposure rescales rates by the overall rate).
    scale: float = 1.0
    #: Analytic alternative to ``replicates`` (AUC: DeLong): the variance of each
    #: group's value, of the overall value, and each group's covariance with the
    #: overall value. Intervals are then normal (per-group values on the logit
    #: scale), gaps are tested with a z-test.
    variance: np.ndarray | None = None
    overall_variance: float | None = None
    overall_covariance: np.ndarray | None = None

    @property
    def is_proportion(self) -> bool:
        """True when the value is successes / trials."""
        return self.successes is not None and self.trials is not None


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def proportion_values(attributes: list[str], keys: list[tuple[str, ...]], cells: np.ndarray,
                      metric: CountMetric, *, n_boot: int, rng: np.random.Generator,
                      draws: np.ndarray | None = None) -> GroupValues:
    """Values of a confusion-count metric from per-group cells ``(groups, 4)``.

    The bootstrap draws all cells of the table jointly from one multinomial,
    which is exactly resampling the rows (group sizes vary as they would).
    ``draws`` (``(n_boot, groups, 4)``) reuses replicates drawn once for
    several metrics.
    """
    cells = np.asarray(cells, dtype=np.int64)
    successes, trials = metric.compute(cells)
    total_s, total_t = int(successes.sum()), int(trials.sum())
    values = GroupValues(
        attributes=attributes, keys=keys, n=cells.sum(axis=1), value=_ratio(successes, trials),
        overall=total_s / total_t if total_t else float("nan"), overall_n=int(cells.sum()),
        successes=successes, trials=trials)
    if draws is None and n_boot > 0:
        draws = multinomial_replicates(cells, n_boot, rng)  # (B, G, 4)
    if draws is not None:
        s_rep, t_rep = metric.compute(draws)
        values.replicates = _ratio(s_rep, t_rep)
        values.overall_replicates = _ratio(s_rep.sum(axis=1), t_rep.sum(axis=1))
    return values


def binary_values(attributes: list[str], keys: list[tuple[str, ...]], positives: np.ndarray,
                  negatives: np.ndarray, *, n_boot: int, rng: np.random.Generator,
                  draws: np.ndarray | None = None) -> GroupValues:
    """Values of a share (positives / rows) per group, e.g. the LL144 scoring rate."""
    cells = np.zeros((len(keys), 4), dtype=np.int64)
    cells[:, 0] = negatives
    cells[:, 1] = positives
    return proportion_values(attributes, keys, cells, COUNT_METRICS["selection_rate"],
                             n_boot=n_boot, rng=rng, draws=draws)
