"""The stratified sample SHAP runs on, and the bootstrap that measures its sampling error.

Strata are the combinations of every protected attribute (as text, missing →
``unknown``) with the decision. Allocation is proportional to stratum size,
with a floor so small groups and rare outcomes are represented; each sampled
row carries the design weight ``N_h / n_h`` so that weighted means estimate
the population figure without bias. The bootstrap resamples *within* strata
(multinomial counts), which is how a stratified design's sampling error is
estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.context import DECISION, AuditContext, group_column


@dataclass(frozen=True)
class StratifiedSample:
    """Rows drawn for explanation, with their stratum and design weight."""

    rows: pd.DataFrame
    strata: np.ndarray
    weights: np.ndarray
    population: int
    design: tuple[dict[str, Any], ...]

    @property
    def size(self) -> int:
        """Number of sampled rows."""
        return len(self.rows)

    @property
    def census(self) -> bool:
        """True when every row was taken (no sampling error)."""
        return self.size == self.population


def allocate(counts: dict[tuple[str, ...], int], size: int, floor: int) -> dict[tuple[str, ...], int]:
    """Rows to draw per stratum: proportional to size, at least ``floor``, at most all.

    Parameters
    ----------
    counts
        Population rows per stratum.
    size
        Target sample size (the total may exceed it by the floors of small strata).
    floor
        Minimum rows per stratum (or the whole stratum when it is smaller).

    Returns
    -------
    dict
        Rows to draw per stratum; proportional shares are rounded by largest remainder.
    """
    total = sum(counts.values())
    if total <= size:
        return dict(counts)
    keys = sorted(counts)
    exact = np.array([counts[k] * size / total for k in keys])
    base = np.floor(exact).astype(int)
    short = size - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")[:short]
    base[order] += 1
    return {k: int(min(counts[k], max(floor, b))) for k, b in zip(keys, base, strict=True)}


def draw_sample(ctx: AuditContext, *, size: int, floor: int, columns: list[str],
                seed: int) -> StratifiedSample:
    """Draw the stratified sample of ``ctx.frame`` through the engine.

    Parameters
    ----------
    ctx
        The audit context (its decisions and protected groups define the strata).
    size, floor
        See :func:`allocate`.
    columns
        Columns to collect for the sampled rows (features, id, score…).
    seed
        Random seed; the same seed draws the same rows.
    """
    by = [group_column(a) for a in ctx.protected] + [DECISION]
    counts_frame = ctx.engine.count_by(ctx.frame, by)
    counts = {tuple(str(v) for v in row[:-1]): int(row[-1])
              for row in counts_frame[[*by, "count"]].itertuples(index=False, name=None)}
    sizes = allocate(counts, size, floor)
    rows = ctx.engine.stratified_sample(ctx.frame, by, sizes, columns, seed)
    keys = sorted(sizes)
    index = {k: i for i, k in enumerate(keys)}
    row_keys = list(zip(*(rows[c].astype(str).to_numpy() for c in by), strict=True))
    strata = np.array([index[k] for k in row_keys], dtype=np.int64)
    sampled = np.bincount(strata, minlength=len(keys))
    population = np.array([counts[k] for k in keys], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_stratum = np.where(sampled > 0, population / np.maximum(sampled, 1), 0.0)
    names = [*ctx.protected, "decision"]
    design = tuple({"stratum": dict(zip(names, k, strict=True)), "population": counts[k],
                    "sampled": int(sampled[i])} for i, k in enumerate(keys))
    return StratifiedSample(rows=rows.reset_index(drop=True), strata=strata,
                            weights=per_stratum[strata], population=int(population.sum()),
                            design=design)


def bootstrap_counts(strata: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Stratified bootstrap: how often each sampled row is drawn in each replicate.

    Returns an ``(n_boot, n)`` integer matrix; each replicate redraws every
    stratum's rows with replacement, keeping its size.
    """
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_boot, len(strata)), dtype=np.int32)
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        k = len(members)
        counts[:, members] = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)
    return counts
