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


#: The same aggregates by DuckDB in one process: null / range / set / mean figures for the 40
#: expectations, missing values by group, and per-group histograms of every column for drift.
DUCKDB_SAME_WORK = """import sys, time
import duckdb
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
numeric, categorical = sys.argv[3].split(","), sys.argv[4].split(",")
found = 0
for name, path in (("cur", sys.argv[1]), ("ref", sys.argv[2])):
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
parts = ["count(*)", "count(DISTINCT customer_id)"]
for c in numeric:
    parts += [f"count({c})", f"count_if({c} < -100 OR {c} > 200)", f"avg({c})",
              f"min({c})", f"max({c})"]
for c in categorical:
    parts.append(f"count_if({c} NOT IN ('L0','L1','L2','L3','L4','L5'))")
found += len(con.execute("SELECT " + ", ".join(parts) + " FROM cur").fetchall())
for g in ("gender", "age_band", "region"):
    found += len(con.execute(f"SELECT {g}, count(*), " + ", ".join(
        f"count({c})" for c in numeric) + f" FROM cur GROUP BY 1").fetchall())
    for c in numeric:
        for t in ("cur", "ref"):
            found += len(con.execute(
                f"SELECT {g}, least(greatest(floor({c} / 12), 0), 9), count(*) FROM {t} "
                f"GROUP BY ALL").fetchall())
    for c in categorical:
        for t in ("cur", "ref"):
            found += len(con.execute(f"SELECT {g}, {c}, count(*) FROM {t} GROUP BY ALL"
                                     ).fetchall())
print(time.perf_counter() - start, found)
"""


def main() -> None:
    import json
    import statistics
    import sys

    sys.path.insert(0, str(HERE))
    from bench_families import timed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    current = DATA / f"dq-current-{args.rows}.parquet"
    reference = DATA / f"dq-reference-{args.rows}.parquet"
    table("dq-current", args.rows, seed=1, shift=0.0)
    table("dq-reference", args.rows, seed=2, shift=0.3)
    policy_path = DATA / "dq-policy.yaml"
    policy_path.write_text(policy_text(), encoding="utf-8")
    out = DATA / "dq-out"
    cxaudit = str(Path(sys.executable).with_name("cxaudit"))
    command = [cxaudit, "audit", "--policy", str(policy_path), "--data", str(current),
               "--reference", str(reference), "--out", str(out), "--format", "json",
               "--no-trail"]
    duck = [sys.executable, "-c", DUCKDB_SAME_WORK, str(current), str(reference),
            ",".join(NUMERIC + COUNTS), ",".join(CATEGORICAL)]
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {"cxaudit": [], "duckdb": []}
    for _ in range(args.rounds):
        runs["duckdb"].append(timed(duck))
        runs["cxaudit"].append(timed(command))
        if runs["cxaudit"][-1]["exit"] not in (0, 1):
            raise SystemExit(f"cxaudit audit exited {runs['cxaudit'][-1]['exit']}")
    load_after = os.getloadavg()
    result = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    timings: dict[str, float] = {}
    statuses: dict[str, int] = {}
    for check in result["checks"]:
        timings[check["type"]] = (timings.get(check["type"], 0.0)
                                  + result["run"]["check_seconds"][check["id"]])
        statuses[check["status"]] = statuses.get(check["status"], 0) + 1

    def median(name: str, key: str = "wall") -> float:
        return statistics.median(r[key] for r in runs[name])

    query = statistics.median(float(r["out"].split()[-2]) for r in runs["duckdb"])
    lines = [
        f"rows × columns: {args.rows:,} × 30 (reference {args.rows:,})",
        f"cxaudit audit (subprocess, median of {args.rounds}): {median('cxaudit'):.2f} s wall, "
        f"{median('cxaudit', 'cpu'):.1f} CPU-s, peak "
        f"{max(r['peak_mb'] for r in runs['cxaudit']):.0f} MB; rounds "
        + ", ".join(f"{r['wall']:.2f}" for r in runs["cxaudit"]),
        f"  inside the audit (inputs read → result): {result['run']['duration_s']:.2f} s",
        *(f"    {kind}: {seconds:.2f} s" for kind, seconds in sorted(timings.items())),
        f"  statuses: {statuses}",
        f"DuckDB, the same aggregates (one process): {median('duckdb'):.2f} s wall "
        f"(query {query:.2f} s), peak {max(r['peak_mb'] for r in runs['duckdb']):.0f} MB",
    ]
    print("\n".join(lines))
    if args.record:
        note = (f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} / {load_before[1]:.1f}"
                f" before, {load_after[0]:.1f} / {load_after[1]:.1f} after (1/5 min)")
        section = "\n".join([
            "", f"## Data quality — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "",
            f"Command: `python benchmarks/bench_data_quality.py --rows {args.rows} "
            f"--rounds {args.rounds} --record`",
            f"Machine: {platform.machine()}, Python {platform.python_version()}; {note}.", "",
            "Workload: 40 GX expectations, group completeness for 3 attributes, drift (PSI) "
            "on all 30 columns overall and per group of 3 attributes against a "
            f"{args.rows:,}-row reference, through the `cxaudit audit` command (the whole "
            "process: imports, reading both Parquet files, the audit, audit.json). "
            "Target ≤ 15 s on 2 cores.",
            "", "```", *lines, "```", ""])
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write(section)


if __name__ == "__main__":
    main()
