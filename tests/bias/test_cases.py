"""Hand-computed cases (tests/bias/cases/*.yaml), one per metric, run through the runner.

Each case lists rows as ``[values..., count]`` under ``columns``, one check
declaration, and the values worked out by hand in its ``description``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import audit_frame

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def _frame(case: dict) -> pd.DataFrame:
    columns = case["columns"]
    rows = [row[:-1] for row in case["rows"] for _ in range(row[-1])]
    return pd.DataFrame(rows, columns=columns)


def test_every_metric_has_a_case():
    from cxaudit.checks.bias import CHECKS

    covered = {yaml.safe_load(p.read_text())["check"]["type"] for p in CASES}
    assert covered == {cls.type for cls in CHECKS}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_hand_computed_case(path: Path, tmp_path: Path):
    case = yaml.safe_load(path.read_text())
    frame = _frame(case)
    columns = case["columns"]
    check = {"id": "case", **case["check"]}
    result = audit_frame(tmp_path, frame, [check], protected=["g"],
                         intervention=case["system"]["intervention"],
                         label="y" if "y" in columns else None,
                         prediction="d" if "d" in columns else None,
                         score="score" if "score" in columns else None).checks[0]
    expect = case["expect"]
    assert result.status.value == expect["status"], result.summary
    name = expect.get("chosen_metric") or result.details["metric"]
    compare = check.get("compare", "difference" if check["type"] == "bias.calibration" else "ratio")
    for group, value in expect["values"].items():
        [m] = [m for m in result.metrics if m.name == name and m.group == {"g": group}]
        assert m.value == pytest.approx(value, abs=1e-12)
    for group, value in expect["comparisons"].items():
        [m] = [m for m in result.metrics if m.name == f"{name}_{compare}" and m.group == {"g": group}]
        assert m.value == (None if value is None else pytest.approx(value, abs=1e-12))
        assert m.status.value == expect["statuses"][group]
    if "chosen_metric" in expect:
        assert result.details["chosen_metric"] == expect["chosen_metric"]
        assert expect["chosen_metric"] in result.summary
    if "slices" in expect:  # bias.slices: each slice against its complement
        from scipy.stats import norm

        found = {tuple(r["slice"].values()): r for r in result.details["slices"]}
        assert result.details["tried"] == len(expect["slices"])
        for group, want in expect["slices"].items():
            row = found[(group,)]
            assert row["complement"] == pytest.approx(want["complement"], abs=1e-12)
            assert row["gap"] == pytest.approx(want["gap"], abs=1e-12)
            assert row["p_value"] == pytest.approx(norm.sf(want["z"]), rel=1e-9)
            if "adjusted_p" in want:
                assert row["adjusted_p"] == pytest.approx(want["adjusted_p"], rel=1e-9)
            assert row["discovery"] is want["discovery"]
    if "scenarios" in expect:  # bias.shift_stress: each scenario's reweighted groups
        by_name = {r["scenario"]: r for r in result.details["results"]}
        assert set(by_name) == set(expect["scenarios"])
        for name, want in expect["scenarios"].items():
            got = by_name[name]
            assert got["verdict"] == want["verdict"], name
            assert got.get("flips_verdict", False) is want.get("flips_verdict", False), name
            groups = {g["group"]: g for g in got["groups"]}
            for group, value in want["values"].items():
                assert groups[group]["value"] == pytest.approx(value, abs=1e-12), (name, group)
            for group, value in want["comparisons"].items():
                assert groups[group]["comparison"] == pytest.approx(value, abs=1e-12), (name, group)
    if "impact_ratios" in expect:
        [table] = result.details["impact_tables"]
        got = {c["category"]: c["impact_ratio"] for c in table["categories"]}
        assert got == {f"g={k}": pytest.approx(v, abs=1e-12)
                       for k, v in expect["impact_ratios"].items()}
