"""Benchmark the product: `cxaudit audit` on 10M Parquet rows, beside DuckDB (issue 17).

Usage::

    python benchmarks/bench_bias.py                 # generate data if needed, 3 rounds, print
    python benchmarks/bench_bias.py --rounds 5 --record   # ... and append to RESULTS.md

Every figure times a command users run, as a subprocess: wall time from the
parent, peak RSS from the kernel (``os.wait4``'s rusage of that one child).
Each round runs, interleaved:

- ``cxaudit audit --engine arrow`` and ``--engine local`` on 10,000,000 rows
  (3 string attributes sex/age/region + 1 intersection; selection rate, TPR and
  FPR with their default intervals: 1,000 bootstrap replicates, tests, BH);
- the same audit of the file's first 1,000 rows (the tool's fixed cost:
  start-up, imports, policy, report writing);
- DuckDB ``GROUP BY ALL`` of the finest cells (sex, age, region, label,
  decision) in one process: the query's own time and the whole process.

Targets: time beyond the 1,000-row audit at most 5× the DuckDB query, peak RSS
at most 1.5 GB (best engine). Generated data lives in benchmarks/data/ (gitignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
LARGE = DATA / "audit_10m.parquet"
SMALL = DATA / "audit_1k.parquet"
POLICY = DATA / "bias_3checks.yaml"
ROWS = 10_000_000
POLICY_TEXT = """cxaudit: 1
system: {name: bench, intervention: assistive}
data:
  label: label
  prediction: decision
  protected: [sex, age, region]
  intersections: [[sex, age]]
checks:
  - {id: selection, type: bias.selection_rate}
  - {id: tpr, type: bias.true_positive_rate}
  - {id: fpr, type: bias.false_positive_rate}
"""
DUCKDB = ("import sys, time\nimport duckdb\nstart = time.perf_counter()\n"
          "rows = duckdb.sql(\"SELECT sex, age, region, label, decision, count(*) FROM "
          "read_parquet('\" + sys.argv[1] + \"') GROUP BY ALL\").fetchall()\n"
          "print(time.perf_counter() - start, len(rows))\n")


def generate() -> None:
    """10M rows: three text attributes, a label and a decision (int8), 1M-row row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    DATA.mkdir(parents=True, exist_ok=True)
    POLICY.write_text(POLICY_TEXT, encoding="utf-8")
    if not LARGE.exists():
        rng = np.random.default_rng(17)
        sex = rng.choice(np.array(["Female", "Male", "Non-binary"]), ROWS, p=[.49, .49, .02])
        age = rng.choice(np.array(["18-29", "30-44", "45-64", "65+"]), ROWS,
                         p=[.2, .35, .3, .15])
        region = rng.choice(np.array(["North", "South", "East", "West", "Central"]), ROWS,
                            p=[.3, .25, .2, .15, .1])
        p = rng.beta(2, 5, ROWS) + 0.05 * (age == "65+")
        table = pa.table({"sex": pa.array(sex, pa.string()), "age": pa.array(age, pa.string()),
                          "region": pa.array(region, pa.string()),
                          "label": (rng.random(ROWS) < np.clip(p, 0, 1)).astype(np.int8),
                          "decision": (p > 0.35).astype(np.int8)})
        pq.write_table(table, LARGE, row_group_size=1_000_000)
    if not SMALL.exists():
        import pyarrow.parquet as pq

        pq.write_table(pq.read_table(LARGE).slice(0, 1000), SMALL)


def timed(command: list[str]) -> dict:
    """Wall seconds, peak RSS (MB, kernel rusage of this child) and exit code of a command."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "exit": child.returncode,
            "cpu": usage.ru_utime + usage.ru_stime, "out": out}


def audit(data: Path, engine: str, out: Path) -> list[str]:
    """The audit command (json, html, md, junit: the default reports)."""
    cxaudit = Path(sys.executable).with_name("cxaudit")
    return [str(cxaudit), "audit", "--policy", str(POLICY), "--data", str(data),
            "--engine", engine, "--out", str(out), "--no-trail"]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def run(rounds: int) -> dict:
    generate()
    out = DATA / "bench-out"
    figures: dict[str, list[dict]] = {}
    for _ in range(rounds):
        for name, command in (
                ("duckdb", [sys.executable, "-c", DUCKDB, str(LARGE)]),
                ("arrow_10m", audit(LARGE, "arrow", out / "arrow")),
                ("arrow_1k", audit(SMALL, "arrow", out / "arrow1k")),
                ("local_10m", audit(LARGE, "local", out / "local")),
                ("local_1k", audit(SMALL, "local", out / "local1k"))):
            result = timed(command)
            if name == "duckdb":
                result["query"] = float(result["out"].split()[0])
            assert result["exit"] in (0, 1), (name, result)  # pass or block, never bad input
            figures.setdefault(name, []).append(result)
            print(name, {k: round(v, 3) if isinstance(v, float) else v
                         for k, v in result.items() if k != "out"}, flush=True)
    return figures


def summarise(figures: dict[str, list[dict]]) -> dict:
    def med(name: str, key: str = "wall") -> float:
        return statistics.median(r[key] for r in figures[name])

    duck = med("duckdb", "query")
    found = {"duckdb_query": duck, "duckdb_process": med("duckdb"),
             "duckdb_rss": max(r["rss_mb"] for r in figures["duckdb"])}
    for engine in ("arrow", "local"):
        beyond = [big["wall"] - small["wall"] for big, small in
                  zip(figures[f"{engine}_10m"], figures[f"{engine}_1k"], strict=True)]
        found[engine] = {"wall": med(f"{engine}_10m"), "fixed": med(f"{engine}_1k"),
                         "beyond": statistics.median(beyond),
                         "ratio": statistics.median(beyond) / duck,
                         "rss": max(r["rss_mb"] for r in figures[f"{engine}_10m"]),
                         "all": [round(r["wall"], 2) for r in figures[f"{engine}_10m"]]}
    return found


def record(found: dict, rounds: int, before: str, after: str) -> str:
    rows = []
    for engine, label in (("arrow", "`cxaudit audit --engine arrow`"),
                          ("local", "`cxaudit audit` (local engine)")):
        f = found[engine]
        rows.append(f"| {label} | {f['wall']:.2f} ({', '.join(map(str, f['all']))}) | "
                    f"{f['fixed']:.2f} | **{f['beyond']:.2f}** | **{f['ratio']:.1f}×** | "
                    f"{f['rss'] / 1024:.2f} GB |")
    text = f"""
## bias on the product path (issue 17) — {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC

Command: `python benchmarks/bench_bias.py --rounds {rounds} --record`. Machine: 2 cores;
load average (1/5/15 min) {before} before, {after} after{
' (other helpers were running: times are inflated, ratios hold better)'
if float(before.split()[0]) >= 1.0 else ''}.

10,000,000 Parquet rows (3 text attributes sex/age/region + the sex×age intersection;
`bias.selection_rate`, `bias.true_positive_rate`, `bias.false_positive_rate` with default
intervals: 1,000 bootstrap replicates, z/Fisher tests, BH), each command a subprocess (wall
from the parent, peak RSS from the kernel via `os.wait4`), medians of {rounds} interleaved
rounds. Fixed cost = the same audit of the file's first 1,000 rows in the same round.

| path | wall s (each round) | fixed cost s (1,000 rows) | beyond fixed cost s | ÷ DuckDB query | peak RSS |
|---|---|---|---|---|---|
{chr(10).join(rows)}
| DuckDB `GROUP BY ALL` of the finest cells (sex, age, region, label, decision) | query {found['duckdb_query']:.2f}, process {found['duckdb_process']:.2f} | | | 1× | {found['duckdb_rss'] / 1024:.2f} GB |

Targets (best engine): beyond fixed cost ≤ 5× the DuckDB query, peak ≤ 1.5 GB.
"""
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write(text)
    return text


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args(argv)
    before = load()
    figures = run(args.rounds)
    after = load()
    found = summarise(figures)
    print(found)
    if args.record:
        print(record(found, args.rounds, before, after))


if __name__ == "__main__":
    main(sys.argv[1:])
