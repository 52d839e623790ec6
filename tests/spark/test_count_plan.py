"""The aggregation plan changes no number (issue 17).

On random data with messy group values (spaces, blanks, missing values, several
Parquet row groups each with its own dictionary), on every engine:

- every marginal of the plan's cell table is the engine's own ``count_by`` of
  those columns, row for row;
- every count-based check (each confusion metric, ``bias.auto``, the favourable
  rate of a punitive decision, the EEOC practical-significance check, label balance and
  representation) gives the
  same statuses, metrics and intervals with the plan as without it (1e-12 on the
  local and Arrow engines, 1e-9 on Spark), including rows left out for an
  invalid decision.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from cxaudit.checks.bias.metrics import COUNT_METRICS
from cxaudit.context import DECISION, LABEL, build_context, group_column
from cxaudit.engines.plan import NOTE, CellTable
from cxaudit.policy.loader import load_policy
from cxaudit.runner import audit_loaded

TOLERANCE = {"local": 1e-12, "arrow": 1e-12, "spark": 1e-9}


def _frame(seed: int, rows: int = 4000, *, invalid: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "region": rng.choice(np.array(["North", " South", "South", "", "East ", None],
                                      dtype=object), rows, p=[.3, .1, .3, .05, .2, .05]),
        "tier": rng.choice(np.array(["gold", "silver", "bronze"]), rows, p=[.2, .5, .3]),
        "band": rng.integers(1, 4, rows),
        "y": rng.integers(0, 2, rows).astype("int8"),
        "d": (rng.random(rows) < 0.4).astype("float64"),
    })
    if invalid:
        frame.loc[rng.choice(rows, invalid, replace=False), "d"] = np.nan
    return frame


def _write(tmp_path, frame: pd.DataFrame, name: str = "rows.parquet"):
    path = tmp_path / name
    # several row groups, each with its own dictionary
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=900)
    return path


def _policy(tmp_path, checks: list[dict], *, intervention: str = "assistive",
            tolerance: int = 0):
    policy = {"cxaudit": 1, "system": {"name": "plan", "intervention": intervention},
              "data": {"label": "y", "prediction": "d", "protected": ["region", "tier", "band"],
                       "intersections": [["region", "tier"], ["tier", "band"]],
                       "max_invalid_decisions": tolerance},
              "checks": checks}
    path = tmp_path / f"policy-{intervention}-{len(checks)}-{tolerance}.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return load_policy(path)


def _count_checks(n_boot: int = 200) -> list[dict]:
    checks = [{"id": name, "type": f"bias.{name}", "n_boot": n_boot} for name in COUNT_METRICS
              if name != "not_flagged_rate"]
    checks += [{"id": "auto", "type": "bias.auto", "n_boot": n_boot},
               {"id": "subset", "type": "bias.selection_rate", "attributes": ["tier"],
                "compare": "difference", "reference": "overall", "n_boot": n_boot},
               {"id": "eeoc", "type": "eeoc.practical_significance"},
               {"id": "balance", "type": "data.label_balance"},
               {"id": "represented", "type": "data.representation", "attribute": "tier",
                "shares": {"gold": 0.2, "silver": 0.5, "bronze": 0.3}}]
    return checks


def _without_plan(monkeypatch):
    import cxaudit.checks.plan as plan

    monkeypatch.setattr(plan, "plan_counts", lambda ctx: None)


def _close(a, b, tol: float) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return abs(a - b) <= tol * max(1.0, abs(a))


def _same_results(planned, counted, tol: float) -> None:
    assert [c.id for c in planned.checks] == [c.id for c in counted.checks]
    for a, b in zip(planned.checks, counted.checks, strict=True):
        assert a.status == b.status, a.id
        assert a.status.value != "error", (a.id, a.error)
        assert len(a.metrics) == len(b.metrics), a.id
        for x, y in zip(a.metrics, b.metrics, strict=True):
            assert (x.name, x.group, x.n) == (y.name, y.group, y.n), a.id
            assert _close(x.value, y.value, tol), (a.id, x.name, x.group, x.value, y.value)
            assert _close(x.ci, y.ci, tol), (a.id, x.name, x.group, x.ci, y.ci)
        assert a.summary == b.summary, a.id


def test_marginals_are_the_engines_own_counts(engine, tmp_path, small_batches):
    path = _write(tmp_path, _frame(3))
    policy = _policy(tmp_path, _count_checks(0))
    ctx = build_context(policy, engine.read_table(path), engine)
    from cxaudit.checks.plan import plan_counts

    plan_counts(ctx)
    table = ctx.notes[NOTE]
    assert isinstance(table, CellTable)
    groups = [group_column(a) for a in ("region", "tier", "band")]
    assert set(table.columns) == {*groups, LABEL, DECISION}
    columns = [*groups, LABEL, DECISION]
    for size in (1, 2, 3):
        for wanted in itertools.permutations(columns, size):
            got = table.marginal(list(wanted))
            want = engine.count_by(ctx.frame, list(wanted))
            assert len(got) == len(want), wanted
            for column in wanted:
                assert [str(v) for v in got[column]] == [str(v) for v in want[column]], wanted
            np.testing.assert_array_equal(got["count"].to_numpy(), want["count"].to_numpy())


@pytest.mark.parametrize("intervention", ["assistive", "punitive"])
def test_every_count_check_is_unchanged_by_the_plan(engine, tmp_path, monkeypatch,
                                                    intervention):
    frame = _frame(11 if intervention == "assistive" else 12)
    path = _write(tmp_path, frame)
    checks = _count_checks()
    if intervention == "punitive":
        checks.append({"id": "favourable", "type": "bias.selection_rate", "rate": "favourable",
                       "n_boot": 200})
    policy = _policy(tmp_path, checks, intervention=intervention)
    planned = audit_loaded(policy, engine.read_table(path), engine=engine, seed=4)
    _without_plan(monkeypatch)
    counted = audit_loaded(policy, engine.read_table(path), engine=engine, seed=4)
    _same_results(planned, counted, TOLERANCE[engine.name])


def test_rows_left_out_for_an_invalid_decision_are_left_out_of_the_plan(engine, tmp_path,
                                                                       monkeypatch):
    path = _write(tmp_path, _frame(5, invalid=7))
    policy = _policy(tmp_path, _count_checks(100), tolerance=10)
    planned = audit_loaded(policy, engine.read_table(path), engine=engine, seed=1)
    total = [m for m in planned.checks[0].metrics if m.name == "selection_rate" and not m.group]
    assert total and total[0].n == 4000 - 7
    _without_plan(monkeypatch)
    counted = audit_loaded(policy, engine.read_table(path), engine=engine, seed=1)
    _same_results(planned, counted, TOLERANCE[engine.name])


def test_local_counts_of_many_combinations_are_sorted_like_few(monkeypatch):
    """Past a table of every combination the local engine sorts the observed ones: the
    same frame as the bincount path (forced here with a tiny threshold)."""
    from cxaudit.engines import local

    rng = np.random.default_rng(2)
    rows = 3000
    frame = pd.DataFrame({"a": rng.integers(0, 900, rows).astype(str),
                          "b": rng.choice(np.array(["x", None, "y"], dtype=object), rows),
                          "c": rng.integers(0, 2, rows).astype("int8")})
    engine = local.LocalEngine()
    few = engine.count_by(frame, ["a", "b", "c"])
    monkeypatch.setattr(local.math, "prod", lambda values: 1 << 62)
    many = engine.count_by(frame, ["a", "b", "c"])
    pd.testing.assert_frame_equal(few, many)


def test_arrow_null_counts_from_parquet_statistics_equal_a_scan(tmp_path):
    """Null counts of text and integer columns come from the files' statistics; floats
    (NaN is missing too), files without statistics and filtered frames are scanned."""
    from cxaudit.engines.arrow_stream import ArrowStreamEngine, parquet_null_counts
    from cxaudit.engines.local import LocalEngine

    rng = np.random.default_rng(8)
    rows = 5000
    frame = pd.DataFrame({
        "text": rng.choice(np.array(["a", None, "b"], dtype=object), rows),
        "number": pd.array(rng.integers(0, 9, rows), dtype="Int64"),
        "real": np.where(rng.random(rows) < 0.1, np.nan, rng.random(rows))})
    frame.loc[rng.choice(rows, 40, replace=False), "number"] = pd.NA
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(2, "real", pa.array(np.where(rng.random(rows) < 0.05, None,
                                                          frame["real"]), type=pa.float64()))
    with_stats, without = tmp_path / "stats.parquet", tmp_path / "plain.parquet"
    pq.write_table(table, with_stats, row_group_size=700)
    pq.write_table(table, without, row_group_size=700, write_statistics=False)
    expected = LocalEngine().null_counts(table.to_pandas(), ["text", "number", "real"])
    engine = ArrowStreamEngine()
    for path in (with_stats, without):
        found = engine.null_counts(engine.read_table(path), ["text", "number", "real"])
        pd.testing.assert_frame_equal(found, expected, check_dtype=False)
    assert set(parquet_null_counts(engine.read_table(with_stats), ["text", "number", "real"])) \
        == {"text", "number"}
    assert parquet_null_counts(engine.read_table(without), ["text", "number"]) == {}
    filtered = engine.where_equal(engine.read_table(with_stats), "text", "a")
    assert parquet_null_counts(filtered, ["number"]) == {}
