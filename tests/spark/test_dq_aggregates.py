"""The data-quality and sampling aggregates agree with the local engine on every engine.

Runs once the data-quality branch's engine methods are on main (``Binning``
in engines/base.py); the local engine's implementations are the reference,
and they in turn are tested against GX/pandas in tests/data_quality.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from parity_helpers import generated_customers, write_parquet

from cxaudit.engines import base
from cxaudit.engines.common import is_missing
from cxaudit.engines.local import LocalEngine

Binning = getattr(base, "Binning", None)
pytestmark = pytest.mark.skipif(Binning is None, reason="engine data-quality aggregates not on "
                                "this branch yet")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    frame = generated_customers(3000, seed=5)
    frame["signup"] = pd.date_range("2024-01-01", periods=len(frame), freq="37min").astype(str)
    frame.loc[::97, "signup"] = "not a date"
    frame["charges_text"] = frame["monthly_charges"].map(lambda v: " " if np.isnan(v) else f"{v}")
    frame.loc[::50, "customer_id"] = "C000001"  # repeated keys
    path = write_parquet(frame, tmp_path_factory.mktemp("dq") / "dq.parquet")
    return path, pd.read_parquet(path)


def _norm(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(None if is_missing(v) else (v.item() if hasattr(v, "item") else v) for v in row)
            for row in frame.itertuples(index=False, name=None)]


def test_missing_counts(engine, table, small_batches):
    path, raw = table
    frame = engine.read_table(path)
    groupings = [(), ("region",), ("gender", "senior")]
    got = engine.missing_counts(frame, ["gender", "tenure", "charges_text"], groupings)
    want = LocalEngine().missing_counts(raw, ["gender", "tenure", "charges_text"], groupings)
    for g, w in zip(got, want, strict=True):
        assert list(g.columns) == list(w.columns)
        assert _norm(g) == _norm(w)


def test_binned_counts_and_quantiles(engine, table, small_batches):
    path, raw = table
    frame = engine.read_table(path)
    binnings = {"monthly_charges": Binning(edges=[20, 50.5, 80, 100]),
                "charges_text": Binning(edges=[40, 90], coerce_numeric=True),
                "region": Binning(categories=["north", "east"]),
                "senior": Binning(categories=[True])}
    got = engine.binned_counts(frame, binnings, by=["gender"])
    want = LocalEngine().binned_counts(raw, binnings, by=["gender"])
    for column in binnings:
        assert _norm(got[column]) == _norm(want[column]), column
    probs = [0.0, 0.1, 0.5, 0.93, 1.0]
    got_q = engine.quantiles(frame, ["monthly_charges", "tenure", "charges_text"], probs,
                             coerce_numeric=["charges_text"])
    want_q = LocalEngine().quantiles(raw, ["monthly_charges", "tenure", "charges_text"], probs,
                                     coerce_numeric=["charges_text"])
    for column, values in want_q.items():
        assert np.allclose(got_q[column], values, rtol=0, atol=1e-9), column


def test_keys_dates_filters_and_samples(engine, table):
    path, raw = table
    frame = engine.read_table(path)
    assert engine.duplicate_keys(frame, ["customer_id"]) == \
        LocalEngine().duplicate_keys(raw, ["customer_id"])
    got, want = (engine.datetime_range(frame, "signup"),
                 LocalEngine().datetime_range(raw, "signup"))
    assert got == want
    east = engine.where_equal(engine.select(frame, ["region", "tenure"]), "region", "east")
    assert engine.columns(east) == ["region", "tenure"]
    assert engine.num_rows(east) == int((raw["region"] == "east").sum())


@pytest.mark.skipif(not hasattr(LocalEngine, "stratified_sample"),
                    reason="stratified_sample (explainability) not on this branch yet")
def test_stratified_sample(engine, table):
    path, raw = table
    frame = engine.read_table(path)
    sizes = {("north",): 5, ("west",): 3}
    got_s = engine.stratified_sample(frame, ["region"], sizes, ["customer_id"], seed=3)
    want_s = LocalEngine().stratified_sample(raw, ["region"], sizes, ["customer_id"], seed=3)
    assert list(got_s.columns) == list(want_s.columns) == ["customer_id", "region"]
    assert list(got_s.index) == list(want_s.index)  # the same rows (positions) ...
    assert got_s.reset_index(drop=True).astype(object).equals(  # ... with the same values
        want_s.reset_index(drop=True).astype(object))



def test_top_values(engine, table, small_batches):
    path, raw = table
    frame = engine.read_table(path)
    columns = ["gender", "region", "tenure", "senior"]
    assert engine.top_values(frame, columns, 3) == LocalEngine().top_values(raw, columns, 3)
