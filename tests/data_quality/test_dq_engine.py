"""The local engine's data-quality aggregates against plain pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
