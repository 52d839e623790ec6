"""Fast path: confusion cells straight from Parquet, via Arrow dictionary indices.

Reading string attributes as Arrow dictionaries gives small integer codes per
row and a tiny dictionary of names, so grouping never touches a Python string
per row. Batches (row groups) are counted one at a time with one ``bincount``
over the joint code of every attribute, the label and the decision; each
attribute set (single attributes and intersections) is then a marginal of the
full table. Names are normalised exactly as :func:`cxaudit.context.build_context`
does (stripped text, missing or empty → ``unknown``), so the cells equal those
of the engine path.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cxaudit.context import UNKNOWN_GROUP
from cxaudit.stats.bootstrap import multinomial_replicates


@dataclass
class CountedTable:
    """Counts per combination of attribute values: ``(*radices, width)``.

    ``names[i]`` are the sorted group names of ``attributes[i]``; the last axis
    is ``2*label + decision`` (width 4) or ``above`` (width 2).
    """

    attributes: list[str]
    names: list[list[str]]
    counts: np.ndarray

    def marginal(self, wanted: list[str]) -> tuple[list[tuple[str, ...]], np.ndarray]:
        """Keys and ``(groups, width)`` counts of one attribute set (observed groups only)."""
        return _marginal(self.counts, self.attributes, self.names, wanted)

    def replicates(self, n_boot: int, rng: np.random.Generator) -> np.ndarray:
        """Bootstrap replicates of the whole table: ``(n_boot, *counts.shape)``.

        One multinomial draw serves every attribute set and every metric: each
        set's replicate is a marginal of the same resampled rows.
        """
        return multinomial_replicates(self.counts, n_boot, rng)

    def marginal_replicates(self, draws: np.ndarray, wanted: list[str]) -> np.ndarray:
        """``(n_boot, groups, width)`` replicates of one attribute set (observed groups)."""
        keep = [self.attributes.index(w) for w in wanted]
        drop = tuple(1 + i for i in range(len(self.attributes)) if i not in keep)
        table = draws.sum(axis=drop) if drop else draws
        remaining = sorted(keep)
        table = np.transpose(table, [0, *[1 + remaining.index(k) for k in keep], 1 + len(keep)])
        flat = table.reshape(draws.shape[0], -1, self.counts.shape[-1])
        return flat[:, _present(self.counts, self.attributes, wanted)]


@dataclass
class ParquetCounts:
    """What one read of a Parquet file yields for the bias checks."""

    rows: int
    confusion: CountedTable
    scoring: CountedTable | None = None
    median_score: float | None = None
    extra: dict = field(default_factory=dict)


def _present(counts: np.ndarray, attributes: list[str], wanted: list[str]) -> np.ndarray:
    keep = [attributes.index(w) for w in wanted]
    drop = tuple(i for i in range(len(attributes)) if i not in keep)
    table = counts.sum(axis=drop) if drop else counts
    remaining = sorted(keep)
    table = np.transpose(table, [remaining.index(k) for k in keep] + [len(keep)])
    return table.reshape(-1, counts.shape[-1]).sum(axis=1) > 0


def _marginal(counts: np.ndarray, attributes: list[str], names: list[list[str]],
              wanted: list[str]) -> tuple[list[tuple[str, ...]], np.ndarray]:
    keep = [attributes.index(w) for w in wanted]
    drop = tuple(i for i in range(len(attributes)) if i not in keep)
    table = counts.sum(axis=drop) if drop else counts
    remaining = sorted(keep)  # axes left after summing, in original order
    table = np.transpose(table, [remaining.index(k) for k in keep] + [len(keep)])
    cells = table.reshape(-1, counts.shape[-1])
    keys = list(itertools.product(*(names[k] for k in keep)))
    present = cells.sum(axis=1) > 0
    return [k for k, p in zip(keys, present, strict=True) if p], cells[present]


def _codes(array: pa.Array) -> tuple[list[str], np.ndarray]:
    """Normalised name of every dictionary slot (plus a last slot for nulls) and the
    per-row dictionary indices, untouched: names may repeat (``" South"`` and
    ``"South"``), and counts are merged by name after the bincount, so no
    per-row remapping is needed."""
    if not pa.types.is_dictionary(array.type):
        array = array.dictionary_encode()
    raw = [str(v).strip() if v is not None else "" for v in array.dictionary.to_pylist()]
    names = [v if v else UNKNOWN_GROUP for v in raw] + [UNKNOWN_GROUP]
    indices = array.indices
    if indices.null_count:
        indices = indices.fill_null(len(raw))
    return names, indices.to_numpy(zero_copy_only=False)


def _combine(codes: list[np.ndarray], radices: list[int], rows: int) -> np.ndarray:
    dtype = np.int32 if int(np.prod(radices)) * 4 < 2**31 else np.int64
    flat = np.zeros(rows, dtype=dtype)
    for code, radix in zip(codes, radices, strict=True):
        flat *= radix
        flat += code
    return flat


def _accumulate(total: dict, names: list[list[str]], table: np.ndarray) -> None:
    for index in zip(*np.nonzero(table.sum(axis=-1)), strict=True):
        key = tuple(names[i][j] for i, j in enumerate(index))
        total[key] = total[key] + table[index]


def _finish(total: dict, attributes: list[str], width: int) -> CountedTable:
    names = [sorted({k[i] for k in total}) for i in range(len(attributes))]
    position = [{n: j for j, n in enumerate(ns)} for ns in names]
    counts = np.zeros((*[len(n) for n in names], width), dtype=np.int64)
    for key, cells in total.items():
        counts[tuple(position[i][v] for i, v in enumerate(key))] += cells
    return CountedTable(attributes, names, counts)


def _median_in_place(values: np.ndarray) -> float:
    """numpy's median, partitioning ``values`` in place (no copy of a large array)."""
    n = len(values)
    upper = n // 2
    if n % 2:
        values.partition(upper)
        return float(values[upper])
    values.partition([upper - 1, upper])
    return float((values[upper - 1] + values[upper]) / 2.0)


def count_parquet(path: str, attributes: list[str], *, label: str, decision: str,
                  score: str | None = None) -> ParquetCounts:
    """Read ``path`` once (attributes dictionary-encoded) and count confusion cells.

    Label and decision columns must already be 0/1. With ``score``, also
    counts the LL144 scoring cells (above the exact full-sample median).
    """
    columns = [*attributes, label, decision, *([score] if score else [])]
    source = pq.ParquetFile(path, read_dictionary=attributes, memory_map=True)
    confusion: dict = defaultdict(lambda: np.zeros(4, dtype=np.int64))
    kept: list[tuple[list[list[str]], np.ndarray, np.ndarray]] = []
    rows = 0
    for group in range(source.num_row_groups):
        batch = source.read_row_group(group, columns=columns)
        n = batch.num_rows
        rows += n
        coded = [_codes(batch.column(a).combine_chunks()) for a in attributes]
        names = [c[0] for c in coded]
        radices = [len(ns) for ns in names]
        flat = _combine([c[1] for c in coded], radices, n)
        if score:
            kept.append((names, flat.copy(), batch.column(score).to_numpy()))
        for column in (label, decision):  # in place: flat = (flat * 2 + label) * 2 + decision
            flat *= 2
            flat += batch.column(column).to_numpy()
        counts = np.bincount(flat, minlength=int(np.prod(radices)) * 4)
        _accumulate(confusion, names, counts.reshape((*radices, 4)))
    result = ParquetCounts(rows=rows, confusion=_finish(confusion, attributes, 4))
    if score and kept:
        scores = np.concatenate([k[2] for k in kept])
        if np.isnan(scores).any():
            raise ValueError(f"{score!r} has missing values; the scoring rate needs every score")
        median = _median_in_place(scores)
        del scores
        scoring: dict = defaultdict(lambda: np.zeros(2, dtype=np.int64))
        for names, flat, values in kept:
            radices = [len(ns) for ns in names]
            flat *= 2
            flat += values > median
            counts = np.bincount(flat, minlength=int(np.prod(radices)) * 2)
            _accumulate(scoring, names, counts.reshape((*radices, 2)))
        result.scoring = _finish(scoring, attributes, 2)
        result.median_score = median
    return result
