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
