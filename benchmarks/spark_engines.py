"""Benchmark the engines: local (pandas) vs Spark local[2], and the streaming Arrow engine.

Each measured audit runs in its own process, so peak memory is that audit's:

- ``peak_py``: the Python process's peak RSS (``ru_maxrss``);
- ``peak_tree``: the largest sampled sum of RSS over the whole process tree
  (Python + Spark's driver JVM, which in ``local[2]`` also runs the executors,
  + pyspark worker processes), sampled every 0.2 s from /proc;
- ``jvm``: the JVM's sampled peak RSS alone.

Usage::

    python benchmarks/spark_engines.py compare --rows 1000000 10000000 --engines local spark
    python benchmarks/spark_engines.py stream --rows 50000000 --delete
    python benchmarks/spark_engines.py run --engine arrow --rows 1000000   # one measurement

``--record`` appends the figures to benchmarks/RESULTS.md. Data comes from
benchmarks/spark_data.py (generated on first use under benchmarks/data/).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
POLICY = HERE / "spark_policy.yaml"
SECTION = "## Engines: Spark local[2] and streaming Arrow (issue 9)"


def data_file(rows: int) -> Path:
    """The generated table with ``rows`` rows (generated when missing)."""
    path = DATA / f"customers-{rows}.parquet"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from spark_data import generate

        generate(rows, path)
    return path


def ledger_file(rows: int) -> Path:
    """A consent ledger for the customers of ``data_file(rows)`` (generated when missing)."""
    path = DATA / f"ledger-{rows}.parquet"
    if not path.exists():
        import pandas as pd

        from cxaudit.demo.consent import generate_ledger

        ids = pd.read_parquet(data_file(rows), columns=["customer_id"])
        generate_ledger(ids, purpose="retention_offers", seed=7, id_column="customer_id",
                        as_of="2026-10-01T00:00:00Z").to_parquet(path, index=False)
    return path


def _wants_consent(policy: Path) -> bool:
    return "\nconsent:" in policy.read_text(encoding="utf-8")


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children() -> dict[int, int]:
    """pid → parent pid for every process."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return parents


def process_tree(root: int) -> set[int]:
    """``root`` and every process descended from it."""
    parents = _children()
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


class TreeSampler(threading.Thread):
    """Samples the RSS of this process and all its descendants."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_tree_kb = 0
        self.peak_jvm_kb = 0
        self._halt = threading.Event()

    def run(self) -> None:  # noqa: D102
        me = os.getpid()
        while not self._halt.is_set():
            total = 0
            for pid in process_tree(me):
                rss = _rss_kb(pid)
                total += rss
                if pid != me and _is_java(pid):
                    self.peak_jvm_kb = max(self.peak_jvm_kb, rss)
            self.peak_tree_kb = max(self.peak_tree_kb, total)
            self._halt.wait(0.2)

    def stop(self) -> None:  # noqa: D102
        self._halt.set()
        self.join()


def _is_java(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip() == "java"
    except OSError:
        return False


def measure(engine_name: str, rows: int, policy: Path) -> dict:
    """One audit in this process; returns its figures."""
    sampler = TreeSampler()
    sampler.start()
    from cxaudit.runner import AuditInputs, audit

    path = data_file(rows)
    startup = 0.0
    if engine_name == "spark":
        from cxaudit.engines.spark import spark_session

        begin = time.perf_counter()
        spark_session(os.environ.get("CXAUDIT_SPARK_MASTER", "local[2]"))
        startup = time.perf_counter() - begin
    begin = time.perf_counter()
    consent = str(ledger_file(rows)) if _wants_consent(policy) else None
    result = audit(AuditInputs(policy=str(policy), data=str(path), engine=engine_name,
                               consent=consent))
    seconds = time.perf_counter() - begin
    sampler.stop()
    (DATA / f"result-{engine_name}-{rows}.json").write_text(result.to_json(), encoding="utf-8")
    metrics = sum(len(c.metrics) for c in result.checks)
    rates = {json.dumps(m.group, sort_keys=True): m.value for c in result.checks
             for m in c.metrics if m.name == "selection_rate" and len(m.group) == 1}
    families: dict[str, float] = {}
    for check in result.checks:
        family = check.type.split(".")[0]
        families[family] = families.get(family, 0.0) + result.run["check_seconds"][check.id]
    return {"engine": engine_name, "rows": rows, "seconds": round(seconds, 2), "rates": rates,
            "family_s": {k: round(v, 2) for k, v in sorted(families.items())},
            # reading, ledger validation, derived columns: everything before the first check
            "setup_s": round(seconds - sum(families.values()), 2),
            "startup_s": round(startup, 2),
            "peak_py_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "peak_tree_mb": round(sampler.peak_tree_kb / 1024),
            "jvm_mb": round(sampler.peak_jvm_kb / 1024), "metrics": metrics,
            "checks": {c.id: c.status.value for c in result.checks}}


def run_child(engine_name: str, rows: int, policy: Path) -> dict:
    """Measure in a fresh process (so peaks do not carry over)."""
    out = subprocess.run([sys.executable, __file__, "run", "--engine", engine_name, "--rows",
                          str(rows), "--policy", str(policy), "--json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def _record(title: str, command: str, lines: list[str]) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join([f"\n### {title} ({stamp})", "", f"Command: `{command}`", "",
                      f"Machine: {_load_note()} at the end of the run; no other agent shared "
                      "the CPU.", "", *lines, ""])
    results = HERE / "RESULTS.md"
    if SECTION not in results.read_text(encoding="utf-8"):
        text = f"\n{SECTION}\n" + text
    with open(results, "a", encoding="utf-8") as handle:
        handle.write(text)


def metrics_agree(reference: str, other: str, rows: int, tolerance: float = 1e-9) -> int:
    """Compare two recorded audits metric by metric; the number compared, or -1 on a mismatch."""
    from cxaudit.result import AuditResult

    def load(name: str) -> AuditResult:
        return AuditResult.from_json((DATA / f"result-{name}-{rows}.json").read_text("utf-8"))

    want, got = load(reference), load(other)
    compared = 0
    for a, b in zip(want.checks, got.checks, strict=True):
        if (a.id, a.status, len(a.metrics)) != (b.id, b.status, len(b.metrics)):
            return -1
        for m, n in zip(a.metrics, b.metrics, strict=True):
            if (m.name, m.group, m.n) != (n.name, n.group, n.n):
                return -1
            if (m.value is None) != (n.value is None) or (
                    m.value is not None and abs(m.value - n.value) > tolerance
                    and not (m.value != m.value and n.value != n.value)):
                return -1
            compared += 1
    return compared


def compare(rows: list[int], engines: list[str], policy: Path, record: bool) -> None:
    """Local vs Spark (or any engines) on each size; prints a table and the 1M→10M growth."""
    results = []
    for n in rows:
        # Generate inputs in their own process: Linux carries ru_maxrss across fork/exec, so
        # generating here would inflate every measured child's peak.
        subprocess.run([sys.executable, __file__, "prepare", "--rows", str(n), "--policy",
                        str(policy)], check=True)
        for name in engines:
            figures = run_child(name, n, policy)
            results.append(figures)
            print(json.dumps(figures), flush=True)
    families = sorted({k for f in results for k in f["family_s"]})
    lines = ["| engine | rows | audit s | " + " | ".join(f"{k} checks s" for k in families)
             + " | setup s | Spark start s | peak Python MB | peak JVM MB "
             "| peak process tree MB | metrics |",
             "|---|---:|---:|" + "---:|" * len(families) + "---:|---:|---:|---:|---:|---:|"]
    for f in results:
        per = " | ".join(str(f["family_s"].get(k, "")) for k in families)
        lines.append(f"| {f['engine']} | {f['rows']:,} | {f['seconds']} | {per} | "
                     f"{f['setup_s']} | {f['startup_s']} | "
                     f"{f['peak_py_mb']} | {f['jvm_mb']} | {f['peak_tree_mb']} | {f['metrics']} |")
    if len(rows) > 1:
        lines += ["", f"Growth {rows[0]:,} → {rows[-1]:,} rows (×{rows[-1] // rows[0]}):", ""]
        for name in engines:
            first = next(f for f in results if f["engine"] == name and f["rows"] == rows[0])
            last = next(f for f in results if f["engine"] == name and f["rows"] == rows[-1])
            per = ", ".join(
                f"{k} ×{last['family_s'][k] / max(first['family_s'][k], 1e-9):.1f}"
                for k in families if k in first["family_s"] and k in last["family_s"])
            lines.append(f"- {name}: time ×{last['seconds'] / max(first['seconds'], 1e-9):.1f} "
                         f"({per}), peak memory "
                         f"×{last['peak_tree_mb'] / max(first['peak_tree_mb'], 1):.1f}")
    agree = [metrics_agree(engines[0], name, n) for n in rows for name in engines[1:]]
    compared = sum(a for a in agree if a >= 0)
    lines += ["", f"Every metric of every check agrees with the {engines[0]} engine to 1e-9 "
              f"(statuses equal): {'yes' if all(a >= 0 for a in agree) else 'NO'} "
              f"({compared} metric comparisons)."]
    print("\n".join(lines))
    if record:
        checks = ", ".join(sorted(results[0]["checks"]))
        _record("Engines: local vs Spark local[2]",
                f"python benchmarks/spark_engines.py compare --rows {' '.join(map(str, rows))} "
                f"--engines {' '.join(engines)}"
                + ("" if policy == POLICY else f" --policy benchmarks/{policy.name}") + " --record",
                [f"Policy: `{policy.name}` (checks: {checks}); data: benchmarks/spark_data.py.",
                 "Spark runs in local mode: the driver JVM also hosts the executors, so the JVM "
                 "figure is the whole Spark side; Python workers run only for pandas UDFs.", "",
                 *lines])


def duckdb_agrees(path: Path, rates: dict[str, float], tolerance: float = 1e-9) -> bool:
    """Recompute every single-attribute selection rate with DuckDB, independently."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    checked = 0
    for attribute in ("gender", "age_band", "region"):
        query = (f"SELECT coalesce(nullif(trim(CAST({attribute} AS VARCHAR)), ''), 'unknown'), "
                 f"avg(offer) FROM read_parquet('{path}') GROUP BY 1")
        for group, rate in con.execute(query).fetchall():
            key = json.dumps({attribute: group}, sort_keys=True)
            if key not in rates or abs(rates[key] - rate) > tolerance:
                return False
            checked += 1
    return checked == len(rates)


#: The counts the default policy's audit needs (selection-rate cells; missing values of the
#: schema check's columns), computed by DuckDB in one process: the yardstick of issue 17.
DUCKDB_SAME_COUNTS = """import sys, time
import duckdb
start = time.perf_counter()
source = "read_parquet('" + sys.argv[1] + "')"
duckdb.sql("SELECT gender, age_band, region, churned, offer, count(*) FROM " + source
           + " GROUP BY ALL").fetchall()
duckdb.sql("SELECT count(*), count(*) - count(customer_id), count(*) - count(gender), "
           "count(*) - count(tenure), count(*) - count(monthly_charges), "
           "count(*) - count(region) FROM " + source).fetchall()
print(time.perf_counter() - start)
"""


def _timed(command: list[str]) -> dict:
    """Wall seconds and peak RSS (kernel rusage of this one child) of a command."""
    begin = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    return {"wall": time.perf_counter() - begin, "rss_mb": usage.ru_maxrss / 1024,
            "exit": os.waitstatus_to_exitcode(status), "out": out}


def cli_beside_duckdb(path: Path, policy: Path, rounds: int = 3) -> dict:
    """`cxaudit audit --engine arrow` on ``path`` and on its first 1,000 rows, and DuckDB
    computing the same counts, each a subprocess, interleaved; medians."""
    import statistics

    import pyarrow.parquet as pq

    small = path.with_name(path.stem + "-first1000.parquet")
    if not small.exists():
        first = next(pq.ParquetFile(path).iter_batches(batch_size=1000))
        pq.write_table(__import__("pyarrow").Table.from_batches([first]), small)
    cxaudit = str(Path(sys.executable).with_name("cxaudit"))

    def audit(data: Path) -> list[str]:
        return [cxaudit, "audit", "--policy", str(policy), "--data", str(data), "--engine",
                "arrow", "--out", str(DATA / "stream-out"), "--no-trail"]

    runs: dict[str, list[dict]] = {"big": [], "small": [], "duckdb": []}
    for _ in range(rounds):
        runs["duckdb"].append(_timed([sys.executable, "-c", DUCKDB_SAME_COUNTS, str(path)]))
        runs["big"].append(_timed(audit(path)))
        runs["small"].append(_timed(audit(small)))
    for name, found in runs.items():
        assert all(r["exit"] in (0, 1) for r in found), (name, found)
    query = statistics.median(float(r["out"].split()[0]) for r in runs["duckdb"])
    beyond = statistics.median(b["wall"] - s["wall"] for b, s in zip(runs["big"], runs["small"],
                                                                     strict=True))
    return {"wall": statistics.median(r["wall"] for r in runs["big"]),
            "fixed": statistics.median(r["wall"] for r in runs["small"]), "beyond": beyond,
            "duckdb_query": query, "ratio": beyond / query,
            "peak_mb": max(r["rss_mb"] for r in runs["big"]), "rounds": rounds}


def stream(rows: int, policy: Path, record: bool, delete: bool) -> None:
    """The streaming Arrow engine on a large Parquet file: time and peak memory."""
    path = data_file(rows)
    size_mb = path.stat().st_size / 2**20
    figures = run_child("arrow", rows, policy)
    print(json.dumps(figures))
    agree = duckdb_agrees(path, figures["rates"])
    print(f"selection rates agree with DuckDB on the raw Parquet: {agree}")
    cli = cli_beside_duckdb(path, policy)
    print(json.dumps(cli))
    peak = max(figures["peak_tree_mb"], figures["peak_py_mb"], round(cli["peak_mb"]))
    ok = peak <= 4096
    line = (f"| arrow | {rows:,} | {size_mb:,.0f} | {figures['seconds']} | "
            f"{peak} | {'yes' if ok else 'NO'} |")
    lines = ["| engine | rows | Parquet MB | audit s | peak RSS MB | ≤ 4 GB |",
             "|---|---:|---:|---:|---:|---|", line, "",
             f"`cxaudit audit --engine arrow` as a subprocess (medians of {cli['rounds']} "
             f"interleaved rounds): {cli['wall']:.2f} s, of which {cli['beyond']:.2f} s beyond "
             f"the same audit of the file's first 1,000 rows ({cli['fixed']:.2f} s); DuckDB "
             f"computing the same counts (selection-rate cells and the schema check's missing "
             f"values) in one process: {cli['duckdb_query']:.2f} s. Ratio "
             f"**{cli['ratio']:.1f}×** (target ≤ 5×); peak {cli['peak_mb']:.0f} MB."]
    print("\n".join(lines))
    if record:
        _record("Streaming Arrow engine, bounded memory",
                f"python benchmarks/spark_engines.py stream --rows {rows} --record --delete",
                [f"Policy: `{policy.name}` with the precomputed `offer` prediction column; "
                 f"checks: {', '.join(sorted(figures['checks']))} "
                 f"({figures['metrics']} metrics).",
                 f"Every single-attribute selection rate agrees with DuckDB on the raw Parquet "
                 f"to 1e-9: {'yes' if agree else 'NO'}.", "", *lines])
    if delete:
        path.unlink()


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run")
    one.add_argument("--engine", required=True)
    one.add_argument("--rows", type=int, required=True)
    one.add_argument("--json", action="store_true")
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    cmp_.add_argument("--engines", nargs="+", default=["local", "spark"])
    prep = sub.add_parser("prepare")
    prep.add_argument("--rows", type=int, required=True)
    big = sub.add_parser("stream")
    big.add_argument("--rows", type=int, default=50_000_000)
    big.add_argument("--delete", action="store_true", help="delete the data file afterwards")
    for p in (one, cmp_, big, prep):
        p.add_argument("--policy", type=Path, default=POLICY)
        p.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    if args.command == "run":
        print(json.dumps(measure(args.engine, args.rows, args.policy)))
    elif args.command == "prepare":
        data_file(args.rows)
        if _wants_consent(args.policy):
            ledger_file(args.rows)
    elif args.command == "compare":
        compare(args.rows, args.engines, args.policy, args.record)
    else:
        stream(args.rows, args.policy, args.record, args.delete)


if __name__ == "__main__":
    main()
