"""The local engine's data-quality aggregates against plain pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxaudit.engines.base import Binning
from cxaudit.engines.local import LocalEngine


@pytest.fixture(params=["str", "object"])
def frame(request) -> pd.DataFrame:
    """Text as pandas' default (Arrow-backed) strings, and as plain Python objects."""
    rng = np.random.default_rng(11)
    n = 2_000
    out = pd.DataFrame({
        "g": rng.choice(["a", "b", None], size=n),
        "h": rng.choice([0, 1], size=n),
        "x": rng.normal(size=n),
        "t": rng.choice(["u", "v", " ", "", None], size=n),
    })
    out.loc[rng.choice(n, 100, replace=False), "x"] = np.nan
    out["t"] = out["t"].astype(request.param)
    return out


def test_missing_counts(frame):
    engine = LocalEngine()
    overall, by_g = engine.missing_counts(frame, ["x", "t"], [(), ("g",)])
    blank = frame["t"].isna() | frame["t"].str.strip().eq("")
    assert overall.loc[0, "t"] == blank.sum()
    assert overall.loc[0, "x"] == frame["x"].isna().sum()
    keys = frame["g"].fillna("<na>")
    expected = blank.groupby(keys).sum()
    got = dict(zip(by_g["g"].fillna("<na>"), by_g["t"], strict=True))
    assert got == expected.to_dict()
    (plain,) = engine.missing_counts(frame, ["t"], [()], blank_is_missing=False)
    assert plain.loc[0, "t"] == frame["t"].isna().sum()


def test_binned_counts_match_pandas(frame):
    engine = LocalEngine()
    edges = [-1.0, 0.0, 1.0]
    out = engine.binned_counts(frame, {"x": Binning(edges=edges),
                                       "t": Binning(categories=["u"])}, ["h"])
    x = out["x"]
    cut = pd.cut(frame["x"], [-np.inf, *edges, np.inf], right=False, labels=False)
    expected = cut.fillna(-1).astype(int).groupby(frame["h"]).value_counts()
    got = {(int(h), int(b)): int(c) for h, b, c in zip(x["h"], x["bin"], x["count"], strict=True)}
    assert got == {(int(h), int(b)): int(c) for (h, b), c in expected.items()}
    t = out["t"]
    got_t = {(int(h), int(b)): int(c) for h, b, c in zip(t["h"], t["bin"], t["count"], strict=True)}
    codes = np.where(frame["t"].isna(), -1, np.where(frame["t"] == "u", 0, 1))
    expected_t = pd.Series(codes).groupby(frame["h"]).value_counts()
    assert got_t == {(int(h), int(b)): int(c) for (h, b), c in expected_t.items()}


def test_duplicates_quantiles_datetimes(frame):
    engine = LocalEngine()
    repeated, keys, examples = engine.duplicate_keys(frame, ["g", "h"])
    assert repeated == frame.duplicated(["g", "h"]).sum()
    assert keys == frame[frame.duplicated(["g", "h"])].drop_duplicates(["g", "h"]).shape[0]
    assert len(examples) == min(5, keys)
    top = engine.top_values(frame, ["t"], 2)["t"]
    assert top == frame["t"].value_counts().sort_index().sort_values(
        ascending=False, kind="stable").index[:2].tolist()
    q = engine.quantiles(frame, ["x"], [0.25, 0.5])["x"]
    assert q == pytest.approx(np.nanquantile(frame["x"], [0.25, 0.5]))
    times = pd.DataFrame({"t": ["2026-01-01T00:00:00+01:00", "2026-01-02T00:00:00Z", "no"]})
    found = engine.datetime_range(times, "t")
    assert found["aware"] and found["unparseable"] == 1 and found["values"] == 3
    assert found["max"] == pd.Timestamp("2026-01-02T00:00:00Z")


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_missing_counts_one_pass_equals_each_grouping_alone(data):
    """Every grouping summed from one dense table equals grouping the rows for each
    (frames equal: key order, values, missing keys, dtypes), and a pandas groupby."""
    from cxaudit.engines import local

    n = data.draw(st.integers(0, 120))
    g = data.draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n))
    h = data.draw(st.lists(st.sampled_from([0, 1, 3]), min_size=n, max_size=n))
    x = data.draw(st.lists(st.sampled_from([1.0, None]), min_size=n, max_size=n))
    frame = pd.DataFrame({"g": pd.Categorical(g, categories=["b", "a", "z"]),
                          "h": np.array(h, dtype=np.int8), "x": np.array(x, dtype=float),
                          "t": pd.Series([" ", "v", None] * n, dtype="str")[:n]})
    groupings = [(), ("g",), ("h", "g"), ("g", "h"), ("h",)]
    one_pass = LocalEngine().missing_counts(frame, ["x", "t"], groupings)
    original = local._dense_missing_counts
    try:
        local._dense_missing_counts = lambda *args: None
        each = LocalEngine().missing_counts(frame, ["x", "t"], groupings)
    finally:
        local._dense_missing_counts = original
    for got, expected in zip(one_pass, each, strict=True):
        pd.testing.assert_frame_equal(got, expected)
    by_pandas = frame.assign(x=frame["x"].isna()).groupby(["h", "g"], dropna=False,
                                                          observed=True)["x"].agg(["size", "sum"])
    assert {(int(r.h), None if pd.isna(r.g) else r.g): (r.rows, r.x)
            for r in one_pass[2].itertuples()} == \
        {(int(k[0]), None if pd.isna(k[1]) else k[1]): (int(v["size"]), int(v["sum"]))
         for k, v in by_pandas.iterrows()}
