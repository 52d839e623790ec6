"""The local engine: pandas and NumPy on one machine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.engines.base import Engine


class LocalEngine(Engine):
    """Aggregates with pandas/NumPy; frames are pandas DataFrames."""

    name = "local"

    def columns(self, frame: pd.DataFrame) -> list[str]:  # noqa: D102
        return [str(c) for c in frame.columns]

    def num_rows(self, frame: pd.DataFrame) -> int:  # noqa: D102
        return len(frame)

    def count_by(self, frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:  # noqa: D102
        columns = list(columns)
        if not columns:
            return pd.DataFrame({"count": np.array([len(frame)], dtype=np.int64)})
        # Factorise each key once and count with a single bincount over the
        # mixed-radix code: one pass, no Python-level grouping.
        codes = []
        uniques = []
        for column in columns:
            code, unique = pd.factorize(frame[column], use_na_sentinel=True, sort=True)
            # Missing values become their own last code.
            code = np.where(code < 0, len(unique), code)
            codes.append(code.astype(np.int64))
            uniques.append(list(unique) + [None])
        radices = [len(u) for u in uniques]
        flat = np.zeros(len(frame), dtype=np.int64)
        for code, radix in zip(codes, radices, strict=True):
            flat = flat * radix + code
        counts = np.bincount(flat, minlength=int(np.prod(radices)))
        present = np.nonzero(counts)[0]
        out: dict[str, Any] = {}
        remainder = present
        for column, unique, radix in reversed(list(zip(columns, uniques, radices, strict=True))):
            out[column] = [unique[i] for i in remainder % radix]
            remainder = remainder // radix
        result = pd.DataFrame({c: out[c] for c in columns})
        result["count"] = counts[present].astype(np.int64)
        return result.reset_index(drop=True)

    def null_counts(self, frame: pd.DataFrame, columns: Sequence[str],  # noqa: D102
                    by: Sequence[str] = ()) -> pd.DataFrame:
        nulls = frame[list(columns)].isna()
        if not by:
            row = {"rows": len(frame), **{c: int(nulls[c].sum()) for c in columns}}
            return pd.DataFrame([row])
        keys = [frame[b] for b in by]
        grouped = nulls.groupby(keys, dropna=False, sort=True, observed=True)
        result = grouped.sum().astype(np.int64)
        result.insert(0, "rows", grouped.size().astype(np.int64))
        return result.reset_index()

    def to_pandas(self, frame: pd.DataFrame, columns: Sequence[str] | None = None,  # noqa: D102
                  limit: int | None = None) -> pd.DataFrame:
        out = frame if columns is None else frame[list(columns)]
        return out if limit is None else out.head(limit)

    def stratified_sample(self, frame: pd.DataFrame, by: Sequence[str],  # noqa: D102
                          sizes: Mapping[tuple[str, ...], int], columns: Sequence[str],
                          seed: int) -> pd.DataFrame:
        by = list(by)
        rng = np.random.default_rng(seed)
        groups = frame.groupby(by, sort=True, dropna=False, observed=True).indices
        chosen = []
        for key in sorted(groups, key=lambda k: tuple(str(v) for v in _as_tuple(k))):
            want = sizes.get(tuple(str(v) for v in _as_tuple(key)), 0)
            rows = groups[key]
            if want <= 0:
                continue
            chosen.append(rows if want >= len(rows) else rng.choice(rows, size=want, replace=False))
        positions = np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)
        wanted = list(dict.fromkeys([*columns, *by]))
        return frame.iloc[positions][wanted]


def _as_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)
