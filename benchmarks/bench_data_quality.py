"""Benchmark the data-quality family on 1,000,000 rows × 30 columns.

Workload (issue 4): 40 Great Expectations expectations, group completeness for
3 protected attributes, and drift (PSI) on every column, overall and per group
of the 3 attributes, against a 1,000,000-row reference. Target: at most 15 s
on 2 cores.

Usage::

    python benchmarks/bench_data_quality.py [--rows 1000000] [--record]

Data is generated once under benchmarks/data/ (gitignored). ``--record``
appends the figures to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
NUMERIC = [f"num_{i:02d}" for i in range(12)]
COUNTS = ["visits", "tickets"]
CATEGORICAL = [f"cat_{i:02d}" for i in range(10)]
PROTECTED = ["gender", "age_band", "region"]


def generate(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """30 columns: id, 3 protected attributes, label, 12 floats, 2 counts, 10 categories, 1 date."""
    rng = np.random.default_rng(seed)
    frame: dict[str, object] = {
        "customer_id": pd.Series(np.arange(rows) + seed * rows).map("C{:09d}".format),
        "gender": rng.choice(["Female", "Male", "Other"], size=rows, p=[0.49, 0.49, 0.02]),
        "age_band": rng.choice(["18-25", "26-40", "41-60", "61-75", "75+"], size=rows),
        "region": rng.choice(["north", "south", "east", "west"], size=rows),
        "churn": rng.choice(["Yes", "No"], size=rows, p=[0.27, 0.73]),
    }
    for i, name in enumerate(NUMERIC):
        values = rng.normal(loc=50 + i + shift * 5, scale=10, size=rows)
        values[rng.random(rows) < 0.01] = np.nan
        frame[name] = values
    frame["visits"] = rng.poisson(4, size=rows)
    frame["tickets"] = rng.poisson(1 + shift, size=rows)
    for i, name in enumerate(CATEGORICAL):
        levels = [f"L{j}" for j in range(3 + i % 4)]
        frame[name] = rng.choice(levels, size=rows)
    frame["signup_date"] = pd.Series(
        pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 2000, rows), unit="D")
    ).dt.strftime("%Y-%m-%d")
    out = pd.DataFrame(frame)
    assert out.shape[1] == 30
    return out


def table(name: str, rows: int, seed: int, shift: float) -> pd.DataFrame:
    """Read benchmarks/data/<name>-<rows>.parquet, generating it the first time."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"{name}-{rows}.parquet"
    if not path.exists():
        generate(rows, seed, shift).to_parquet(path, index=False)
    return pd.read_parquet(path)


def policy_text() -> str:
    """40 data.expectation checks, one group-completeness and one drift check."""
    checks = []
    for name in NUMERIC:
        checks.append(f"  - {{id: {name}-known, type: data.expectation, "
                      f"expectation: expect_column_values_to_not_be_null, column: {name}, "
                      "mostly: 0.95}")
        checks.append(f"  - {{id: {name}-range, type: data.expectation, "
                      f"expectation: expect_column_values_to_be_between, column: {name}, "
                      "min_value: -100, max_value: 200}")
    for name in CATEGORICAL:
        levels = ", ".join(f"L{j}" for j in range(6))
        checks.append(f"  - {{id: {name}-levels, type: data.expectation, "
                      f"expectation: expect_column_values_to_be_in_set, column: {name}, "
                      f"value_set: [{levels}]}}")
    for name in NUMERIC[:4]:
        checks.append(f"  - {{id: {name}-mean, type: data.expectation, "
                      f"expectation: expect_column_mean_to_be_between, column: {name}, "
                      "min_value: 0, max_value: 100}")
    checks.append("  - {id: rows, type: data.expectation, "
                  "expectation: expect_table_row_count_to_be_between, min_value: 1}")
    checks.append("  - {id: unique-ids, type: data.expectation, "
                  "expectation: expect_column_values_to_be_unique, column: customer_id}")
    assert len(checks) == 40
    every_column = ", ".join(["customer_id", *PROTECTED, "churn", *NUMERIC, *COUNTS,
                              *CATEGORICAL, "signup_date"])
    checks.append("  - {id: completeness, type: data.group_completeness}")
    checks.append(f"  - {{id: drift, type: data.drift, columns: [{every_column}]}}")
    return ("cxaudit: 1\nsystem: {name: bench}\n"
            "data: {id: customer_id, label: churn, positive: 'Yes', "
            f"protected: [{', '.join(PROTECTED)}]}}\nchecks:\n" + "\n".join(checks) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    clock = time.perf_counter()
    current = table("dq-current", args.rows, seed=1, shift=0.0)
    reference = table("dq-reference", args.rows, seed=2, shift=0.3)
    read_s = time.perf_counter() - clock

    from cxaudit.checks.registry import load_registry
    from cxaudit.context import build_context
    from cxaudit.engines.local import LocalEngine
    from cxaudit.policy.loader import load_policy
    from cxaudit.runner import run_check

    policy_path = DATA / "dq-policy.yaml"
    policy_path.write_text(policy_text(), encoding="utf-8")
    load_registry()
    clock = time.perf_counter()
    import great_expectations  # noqa: F401  (timed apart: a fixed cost of any GX use)

    import_s = time.perf_counter() - clock
    clock = time.perf_counter()
    policy = load_policy(policy_path)
    load_s = time.perf_counter() - clock

    clock = time.perf_counter()
    engine = LocalEngine()
    ctx = build_context(policy, current, engine, reference=reference)
    context_s = time.perf_counter() - clock
    timings: dict[str, float] = {}
    statuses: dict[str, int] = {}
    for params in policy.checks:
        start = time.perf_counter()
        result = run_check(params, ctx)
        kind = params.type
        timings[kind] = timings.get(kind, 0.0) + time.perf_counter() - start
        statuses[result.status.value] = statuses.get(result.status.value, 0) + 1
        if result.status.value == "error":
            print(f"  {params.id}: {result.summary} {result.error or ''}")
    checks_s = sum(timings.values())
    total_s = load_s + context_s + checks_s

    lines = [
        f"rows × columns: {len(current):,} × {current.shape[1]} (reference {len(reference):,})",
        f"great_expectations import: {import_s:.2f} s (once per process)",
        f"policy load + GX validation of 40 declarations: {load_s:.2f} s",
        f"context (groups, labels): {context_s:.2f} s",
        *(f"  {kind}: {seconds:.2f} s" for kind, seconds in sorted(timings.items())),
        f"checks total: {checks_s:.2f} s  → audit after reading data: {total_s:.2f} s "
        f"(+ GX import {import_s:.2f} s = {total_s + import_s:.2f} s)",
        f"statuses: {statuses}",
        f"reading both Parquet files: {read_s:.2f} s",
    ]
    print("\n".join(lines))
    if args.record:
        load = os.getloadavg()
        note = (f"{os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / "
                f"{load[2]:.1f} (1/5/15 min) — the machine is shared with other agents' "
                "test runs, so wall times are inflated")
        section = "\n".join([
            "", f"## Data quality — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "",
            f"Command: `python benchmarks/bench_data_quality.py --rows {args.rows} --record`",
            f"Machine: {platform.machine()}, Python {platform.python_version()}; {note}.", "",
            "Workload: 40 GX expectations (batched: one GX validation per column set), group completeness for 3 attributes "
            "(and declared intersections: none), drift (PSI) on all 30 columns overall and per "
            "group of 3 attributes against a 1,000,000-row reference. Target ≤ 15 s on 2 cores.",
            "", "```", *lines, "```", ""])
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write(section)


if __name__ == "__main__":
    main()
