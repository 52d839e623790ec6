"""The local engine's one-pass counts agree with a pandas groupby on raw rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cxaudit.engines.local import LocalEngine

values = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "ä"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(values, st.sampled_from([0, 1]), st.sampled_from(["x", "y"])),
                min_size=1, max_size=200))
def test_count_by_matches_groupby(rows):
    frame = pd.DataFrame(rows, columns=["g", "d", "h"], dtype=object)
    got = LocalEngine().count_by(frame, ["g", "d", "h"])
    expected = frame.fillna("<NA>").groupby(["g", "d", "h"]).size()
    got_keys = {(("<NA>" if g is None or (isinstance(g, float) and np.isnan(g)) else g), d, h): c
                for g, d, h, c in got.itertuples(index=False)}
    assert got_keys == expected.to_dict()
    assert got["count"].sum() == len(frame)


def test_count_by_without_columns_counts_rows():
    frame = pd.DataFrame({"a": [1, 2, 3]})
    assert LocalEngine().count_by(frame, [])["count"].tolist() == [3]


def test_null_counts_overall_and_by_group():
    frame = pd.DataFrame({"g": ["a", "a", "b", None], "x": [1.0, None, None, 2.0],
                          "y": ["u", "v", None, None]})
    overall = LocalEngine().null_counts(frame, ["x", "y"])
    assert overall.to_dict("records") == [{"rows": 4, "x": 2, "y": 2}]
    by = LocalEngine().null_counts(frame, ["x", "y"], by=["g"])
    records = {(r["g"] if isinstance(r["g"], str) else None): (r["rows"], r["x"], r["y"])
               for r in by.to_dict("records")}
    assert records == {"a": (2, 1, 0), "b": (1, 1, 1), None: (1, 0, 1)}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_count_by_typed_columns_matches_groupby(data):
    """Categoricals (with missing values) and integer columns of every width, including
    values at the edges of their type and far from zero: their own codes, no wrap."""
    n = data.draw(st.integers(1, 150))
    kinds = {
        "cat": st.sampled_from(["p", "q", "r", None]),
        "i8": st.sampled_from([-128, -1, 0, 127]),
        "u8": st.sampled_from([0, 200, 255]),
        "big": st.sampled_from([10**12, 10**12 + 3, -(2**40)]),
        "i32": st.sampled_from([-(2**31), 2**31 - 1]),
    }
    chosen = data.draw(st.lists(st.sampled_from(sorted(kinds)), min_size=1, max_size=3,
                                unique=True))
    columns = {k: data.draw(st.lists(kinds[k], min_size=n, max_size=n)) for k in chosen}
    dtypes = {"i8": np.int8, "u8": np.uint8, "big": np.int64, "i32": np.int32}
    frame = pd.DataFrame({k: (pd.Categorical(v, categories=["p", "q", "r"]) if k == "cat"
                              else np.array(v, dtype=dtypes[k])) for k, v in columns.items()})
    got = LocalEngine().count_by(frame, chosen)
    expected = frame.groupby(chosen, dropna=False, observed=True).size()

    def as_key(row):
        return tuple("<NA>" if pd.isna(v) else v for v in row)

    assert {as_key(row[:-1]): row[-1] for row in got.itertuples(index=False)} == \
        {as_key(k if isinstance(k, tuple) else (k,)): c for k, c in expected.items()}
    assert got["count"].dtype == np.int64 and got["count"].sum() == n
