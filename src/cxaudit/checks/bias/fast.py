"""Fast path: confusion cells straight from Arrow dictionary indices.

Reading string attributes as Arrow dictionaries gives small integer codes per
row and a tiny dictionary of names, so grouping never touches a Python string
per row. One ``bincount`` over the joint code of every attribute, the label
and the decision gives the full table; each attribute set (single attributes
and intersections) is a marginal of it. Names are normalised exactly as
:func:`cxaudit.context.build_context` does (stripped text, missing or empty →
``unknown``), so the cells equal those the engine path produces.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from cxaudit.context import UNKNOWN_GROUP


@dataclass(frozen=True)
class CodedAttribute:
    """Per-row integer codes of one attribute and the sorted group names they index."""

    name: str
    codes: np.ndarray
    names: list[str]


def code_attribute(column: pa.ChunkedArray, name: str) -> CodedAttribute:
    """Codes and sorted names of a (dictionary-encoded or plain) Arrow column."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    column = column.unify_dictionaries() if hasattr(column, "unify_dictionaries") else column
    chunks = column.chunks
    if not chunks:
        return CodedAttribute(name, np.zeros(0, np.int64), [])
    dictionary = chunks[0].dictionary
    raw = [str(v).strip() if v is not None else "" for v in dictionary.to_pylist()]
    text = [v if v else UNKNOWN_GROUP for v in raw] + [UNKNOWN_GROUP]  # last: nulls
    names, remap = np.unique(np.array(text, dtype=object).astype(str), return_inverse=True)
    null_code = len(raw)
    parts = [c.indices.fill_null(null_code).to_numpy(zero_copy_only=False) for c in chunks]
    indices = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return CodedAttribute(name, remap.astype(np.int32)[indices], [str(n) for n in names])


def full_cells(attributes: list[CodedAttribute], label: np.ndarray, decision: np.ndarray
               ) -> np.ndarray:
    """One bincount: counts with shape ``(*radices, 4)`` (last axis ``2*label + decision``)."""
    radices = [len(a.names) for a in attributes]
    flat = np.zeros(len(label), dtype=np.int64)
    for attribute, radix in zip(attributes, radices, strict=True):
        flat *= radix
        flat += attribute.codes
    flat *= 4
    flat += 2 * label.astype(np.int64) + decision.astype(np.int64)
    counts = np.bincount(flat, minlength=int(np.prod(radices)) * 4)
    return counts.reshape((*radices, 4))


def marginal_cells(full: np.ndarray, attributes: list[CodedAttribute], wanted: list[str]
                   ) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Keys and ``(groups, 4)`` cells of the attribute set ``wanted`` (observed groups only)."""
    names = [a.name for a in attributes]
    keep = [names.index(w) for w in wanted]
    drop = tuple(i for i in range(len(attributes)) if i not in keep)
    table = full.sum(axis=drop) if drop else full
    remaining = sorted(keep)  # axes left after summing, in original order
    table = np.transpose(table, [remaining.index(k) for k in keep] + [len(keep)])
    cells = table.reshape(-1, 4)
    keys = list(itertools.product(*(attributes[k].names for k in keep)))
    present = cells.sum(axis=1) > 0
    return [k for k, p in zip(keys, present, strict=True) if p], cells[present]
