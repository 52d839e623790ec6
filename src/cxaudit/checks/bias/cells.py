"""Small count tables from the engine: confusion cells and value cells per group.

Everything the bias checks need from the data is one ``engine.count_by`` per
attribute set; the rest is arithmetic on these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxaudit.context import DECISION, LABEL, AuditContext, group_column
from cxaudit.engines.plan import planned_counts


def counts_by(ctx: AuditContext, columns: list[str]) -> pd.DataFrame:
    """``engine.count_by``, from the audit's aggregation plan when it covers ``columns``
    (a marginal of the one scan the runner made before the checks), else one scan,
    memoised per audit: the bias checks of one audit share their count tables."""
    memo = ctx.notes.setdefault("bias.count_by", {})
    key = tuple(columns)
    if key not in memo:
        planned = planned_counts(ctx.notes, columns)
        memo[key] = planned if planned is not None else ctx.engine.count_by(ctx.frame, columns)
    return memo[key]


def confusion_columns(attributes: list[str], *, with_label: bool) -> list[str]:
    """The ``count_by`` columns of :func:`confusion_cells` (what a check declares it needs)."""
    return [*(group_column(a) for a in attributes), *([LABEL] if with_label else []), DECISION]


def _group_keys(counts: pd.DataFrame, columns: list[str]) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Sorted distinct group keys (as text) and each count row's group index."""
    if counts.empty:
        return [], np.zeros(0, dtype=np.int64)
    text = [counts[c].astype(str).to_numpy() for c in columns]
    keys = list(zip(*text, strict=True))
    uniq = sorted(set(keys))
    index = {k: i for i, k in enumerate(uniq)}
    return uniq, np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))


def cells_from_counts(counts: pd.DataFrame, columns: list[str], *, label: str | None,
                      decision: str) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Confusion cells ``(groups, 4)`` (index ``2*label + decision``) from ``count_by`` output."""
    keys, gi = _group_keys(counts, columns)
    y = counts[label].to_numpy(dtype=np.int64) if label else np.zeros(len(counts), np.int64)
    d = counts[decision].to_numpy(dtype=np.int64)
    cells = np.zeros((len(keys), 4), dtype=np.int64)
    np.add.at(cells, (gi, 2 * y + d), counts["count"].to_numpy(dtype=np.int64))
    return keys, cells


def confusion_cells(ctx: AuditContext, attributes: list[str], *, with_label: bool
                    ) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """One pass over the data: confusion cells per group of ``attributes``."""
    columns = [group_column(a) for a in attributes]
    label = LABEL if with_label else None
    counts = counts_by(ctx, confusion_columns(attributes, with_label=with_label))
    return cells_from_counts(counts, columns, label=label, decision=DECISION)


@dataclass
class ValueCells:
    """Rows per distinct (group, label, value), sorted by group then value then label.

    ``missing`` counts rows per group whose value is missing (left out).
    """

    keys: list[tuple[str, ...]]
    group: np.ndarray
    label: np.ndarray
    value: np.ndarray
    count: np.ndarray
    missing: np.ndarray

    def group_slices(self) -> list[slice]:
        """Where each group's cells are (cells are sorted by group)."""
        bounds = np.searchsorted(self.group, np.arange(len(self.keys) + 1))
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    @property
    def n(self) -> np.ndarray:
        """Rows with a value, per group."""
        return np.bincount(self.group, weights=self.count, minlength=len(self.keys)).astype(np.int64)


def value_cells(ctx: AuditContext, attributes: list[str], value_column: str, *,
                with_label: bool) -> ValueCells:
    """One pass: counts per (group, label, distinct value) of a numeric column."""
    columns = [group_column(a) for a in attributes]
    by = [*columns, *([LABEL] if with_label else []), value_column]
    counts = counts_by(ctx, by)
    keys, gi = _group_keys(counts, columns)
    values = pd.to_numeric(counts[value_column], errors="coerce").to_numpy(dtype=float)
    labels = (counts[LABEL].to_numpy(dtype=np.int64) if with_label
              else np.zeros(len(counts), np.int64))
    count = counts["count"].to_numpy(dtype=np.int64)
    bad = ~np.isfinite(values)
    missing = np.bincount(gi[bad], weights=count[bad], minlength=len(keys)).astype(np.int64)
    gi, labels, values, count = gi[~bad], labels[~bad], values[~bad], count[~bad]
    order = np.lexsort((labels, values, gi))
    return ValueCells(keys=keys, group=gi[order], label=labels[order], value=values[order],
                      count=count[order], missing=missing)


def coarsen(cells: ValueCells, max_cells: int) -> tuple[ValueCells, bool]:
    """Group values into quantile bins (bin mean as the value) when there are too many cells.

    Used for bootstrap replicates only; point estimates always use exact values.
    """
    if len(cells.count) <= max_cells:
        return cells, False
    bins = max(2, max_cells // max(2 * len(cells.keys), 1))
    order = np.argsort(cells.value, kind="stable")
    cum = np.cumsum(cells.count[order])
    edges_at = np.searchsorted(cum, np.linspace(0, cum[-1], bins + 1)[1:-1])
    edges = np.unique(cells.value[order][np.minimum(edges_at, len(order) - 1)])
    b = np.searchsorted(edges, cells.value, side="right")
    frame = pd.DataFrame({"g": cells.group, "b": b, "y": cells.label,
                          "w": cells.count, "wv": cells.count * cells.value})
    agg = frame.groupby(["g", "b", "y"], sort=True).sum()
    g = agg.index.get_level_values("g").to_numpy()
    y = agg.index.get_level_values("y").to_numpy()
    w = agg["w"].to_numpy(dtype=np.int64)
    v = agg["wv"].to_numpy() / w
    order = np.lexsort((y, v, g))
    return ValueCells(keys=cells.keys, group=g[order], label=y[order], value=v[order],
                      count=w[order], missing=cells.missing), True
