"""Data quality + bias + consent at scale, on the path users run (issue 17).

Times ``cxaudit audit --engine E`` end to end as a subprocess (wall from this process, peak
RSS of the whole process tree sampled from /proc every 0.1 s — for Spark that includes the
driver JVM), for each engine, on the engines benchmark's data and consent ledger with
``benchmarks/spark_policy_families.yaml``; beside it, in the same run, one DuckDB process
computing the same counts (the consent as-of join and its states by group, missing values by
group, duplicate keys, the range expectation, label and selection cells).

Usage::

    python benchmarks/bench_families.py --rows 10000000 --engines local arrow spark --record

Data comes from ``benchmarks/spark_engines.py prepare --rows N --policy
benchmarks/spark_policy_families.yaml`` (run here when missing). Run with no other work on
the machine: 2 cores are easily saturated.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
POLICY = HERE / "spark_policy_families.yaml"
TARGETS = {"local": 15.0, "spark": 60.0}

#: The same counts, by DuckDB in one process (as-of = the policy's consent.as_of).
DUCKDB_SAME_COUNTS = """import sys, time
import duckdb
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("CREATE VIEW d AS SELECT *, TIMESTAMPTZ '2026-10-01 00:00:00+00' AS t "
            "FROM read_parquet('" + sys.argv[1] + "')")
con.execute("CREATE VIEW l AS SELECT * FROM read_parquet('" + sys.argv[2] + "') "
            "WHERE purpose IN ('retention_offers', '*')")
groups = "gender, age_band, region"
results = [
    con.execute("SELECT " + groups + ", churned, offer, count(*), "
                "count(*) - count(tenure), count(*) - count(monthly_charges), "
                "count_if(monthly_charges < 0 OR monthly_charges > 200) "
                "FROM d GROUP BY ALL").fetchall(),
    con.execute("SELECT count(*) FROM (SELECT customer_id FROM d GROUP BY 1 "
                "HAVING count(*) > 1)").fetchall(),
    con.execute("SELECT " + groups + ", CASE WHEN l.subject_id IS NULL THEN 'no_record' "
                "WHEN l.status = 'refused' THEN 'refused' "
                "WHEN l.withdrawn_at <= d.t THEN 'withdrawn' "
                "WHEN l.expires_at <= d.t THEN 'expired' ELSE 'valid' END AS state, "
                "count(*), count(DISTINCT customer_id) "
                "FROM d ASOF LEFT JOIN l ON d.customer_id = l.subject_id AND d.t >= l.granted_at "
                "GROUP BY ALL").fetchall(),
]
print(time.perf_counter() - start, sum(len(r) for r in results))
"""


def _tree_rss_kb(root: int) -> int:
    """Sum of RSS over ``root`` and its descendants (/proc helpers of spark_engines.py)."""
    sys.path.insert(0, str(HERE))
    from spark_engines import _rss_kb, process_tree

    return sum(_rss_kb(pid) for pid in process_tree(root))


def timed(command: list[str]) -> dict:
    """Run ``command``; wall seconds, CPU seconds, peak RSS of its process tree, stdout."""
    begin = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(child.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - begin
    done.set()
    sampler.join()
    return {"wall": wall, "exit": os.waitstatus_to_exitcode(status), "out": out,
            "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mb": max(peak[0], usage.ru_maxrss) / 1024}


def prepare(rows: int) -> tuple[Path, Path]:
    data, ledger = DATA / f"customers-{rows}.parquet", DATA / f"ledger-{rows}.parquet"
    if not (data.exists() and ledger.exists()):
        subprocess.run([sys.executable, str(HERE / "spark_engines.py"), "prepare", "--rows",
                        str(rows), "--policy", str(POLICY)], check=True)
    return data, ledger


def audit_command(engine: str, data: Path, ledger: Path, out: Path) -> list[str]:
    cxaudit = str(Path(sys.executable).with_name("cxaudit"))
    return [cxaudit, "audit", "--policy", str(POLICY), "--data", str(data), "--consent",
            str(ledger), "--engine", engine, "--out", str(out), "--format", "json",
            "--no-trail"]


def families(out: Path) -> dict[str, float]:
    """Seconds by check family, from the audit's own record."""
    result = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    seconds: dict[str, float] = {}
    for check in result["checks"]:
        family = check["type"].split(".")[0]
        seconds[family] = seconds.get(family, 0.0) + result["run"]["check_seconds"][check["id"]]
    seconds["audit (inputs read → result)"] = result["run"]["duration_s"]
    return seconds


def same_checks(a: Path, b: Path, tolerance: float = 1e-9) -> bool:
    """Every status and metric of two audits agree (to ``tolerance``)."""
    left = json.loads((a / "audit.json").read_text(encoding="utf-8"))["checks"]
    right = json.loads((b / "audit.json").read_text(encoding="utf-8"))["checks"]
    if [(c["id"], c["status"]) for c in left] != [(c["id"], c["status"]) for c in right]:
        return False
    for x, y in zip(left, right, strict=True):
        mx, my = x.get("metrics", []), y.get("metrics", [])
        if len(mx) != len(my):
            return False
        for m, n in zip(mx, my, strict=True):
            u, v = m.get("value"), n.get("value")
            if (u is None) != (v is None) or (u is not None and abs(u - v) > tolerance):
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--engines", nargs="+", default=["local", "arrow", "spark"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    data, ledger = prepare(args.rows)
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {name: [] for name in [*args.engines, "duckdb"]}
    for _ in range(args.rounds):
        found = timed([sys.executable, "-c", DUCKDB_SAME_COUNTS, str(data), str(ledger)])
        found["query"] = float(found["out"].split()[-2])
        runs["duckdb"].append(found)
        for engine in args.engines:
            out = DATA / f"families-{engine}"
            found = timed(audit_command(engine, data, ledger, out))
            if found["exit"] not in (0, 1):
                raise SystemExit(f"{engine}: exit {found['exit']}")
            found["families"] = families(out)
            runs[engine].append(found)
            print(engine, json.dumps({k: v for k, v in found.items() if k != "out"}), flush=True)
    agree = {e: same_checks(DATA / f"families-{args.engines[0]}", DATA / f"families-{e}")
             for e in args.engines[1:]}
    load_after = os.getloadavg()

    def median(engine: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[engine])

    lines = ["| process | wall s (each round) | CPU s | peak RSS (tree) | target |",
             "|---|---|---:|---:|---|"]
    for engine in args.engines:
        target = TARGETS.get(engine)
        wall = median(engine, "wall")
        mark = "" if target is None else f"≤ {target:.0f} s: {'yes' if wall <= target else 'NO'}"
        each = ", ".join(f"{r['wall']:.2f}" for r in runs[engine])
        lines.append(f"| `cxaudit audit --engine {engine}` | {wall:.2f} ({each}) | "
                     f"{median(engine, 'cpu'):.1f} | "
                     f"{max(r['peak_mb'] for r in runs[engine]) / 1024:.2f} GB | {mark} |")
    lines.append(f"| DuckDB, the same counts (as-of join included), one process | "
                 f"{median('duckdb', 'wall'):.2f} (query {median('duckdb', 'query'):.2f}) | "
                 f"{median('duckdb', 'cpu'):.1f} | "
                 f"{max(r['peak_mb'] for r in runs['duckdb']) / 1024:.2f} GB | |")
    lines += ["", "Seconds by check family (audit.json `run`, first round):", ""]
    for engine in args.engines:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in runs[engine][0]["families"].items())
        lines.append(f"- {engine}: {parts}")
    if agree:
        lines += ["", "Every status and metric agrees with the "
                  f"{args.engines[0]} engine to 1e-9: "
                  + ", ".join(f"{e} {'yes' if ok else 'NO'}" for e, ok in agree.items()) + "."]
    text = "\n".join(lines)
    print(text)
    if args.record:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        command = (f"python benchmarks/bench_families.py --rows {args.rows} --engines "
                   f"{' '.join(args.engines)} --rounds {args.rounds} --record")
        header = [f"\n## Data quality + bias + consent on the product path (issue 17) — {stamp}",
                  "", f"Command: `{command}`. Machine: {os.cpu_count()} cores; load average "
                  f"{load_before[0]:.2f} / {load_before[1]:.2f} before, {load_after[0]:.2f} / "
                  f"{load_after[1]:.2f} after (1/5 min); no other work running.", "",
                  f"{args.rows:,} Parquet rows, a {ledger.stat().st_size / 2**20:,.0f} MB consent "
                  f"ledger, policy `{POLICY.name}`; each audit is the `cxaudit` command in a "
                  "subprocess.", ""]
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write("\n".join(header) + "\n" + text + "\n")


if __name__ == "__main__":
    main()
