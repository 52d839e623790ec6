"""Small audits start fast (issue 17): the demo audit rerun beside an import-only process.

Usage::

    python benchmarks/bench_demo.py                # 3 interleaved rounds, print
    python benchmarks/bench_demo.py --rounds 5 --record
    python benchmarks/bench_demo.py --rebuild      # after code changes: the demo again first

Builds the demo once (``cxaudit demo`` into benchmarks/data/demo; again with
``--rebuild``, since its own audit.json is the reference), then times,
interleaved, as subprocesses: the rerun command the demo prints (2,113 rows,
32 checks, every report) and a process that only imports pandas, scikit-learn,
shap, great_expectations, scipy and pyarrow. Target: rerun ≤ 1.5× import-only.
Also checks that every rerun gives the same checks as the demo itself (the
same numbers to the last digit) and prints where the audit's own seconds went
(audit.json ``run.check_seconds``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE / "data" / "demo"
IMPORTS = "import pandas, sklearn, shap, great_expectations, scipy, pyarrow"


def cxaudit() -> str:
    return str(Path(sys.executable).with_name("cxaudit"))


def rerun(out: Path) -> list[str]:
    return [cxaudit(), "audit", "--policy", str(DEMO / "policy.yaml"),
            "--data", str(DEMO / "customers.csv"), "--model", str(DEMO / "model.skops"),
            "--consent", str(DEMO / "consent-ledger.csv"),
            "--reference", str(DEMO / "training.csv"), "--out", str(out), "--no-trail"]


def timed(command: list[str]) -> dict:
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    return {"wall": time.perf_counter() - start, "exit": os.waitstatus_to_exitcode(status),
            "rss_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime}


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--rebuild", action="store_true",
                        help="run `cxaudit demo` again first (its audit.json is the reference)")
    args = parser.parse_args(argv)
    if args.rebuild or not (DEMO / "audit.json").exists():
        subprocess.run([cxaudit(), "demo", "--out", str(DEMO)], check=True,
                       stdout=subprocess.DEVNULL)
    reference = json.loads((DEMO / "audit.json").read_text())
    before = load()
    runs: dict[str, list[dict]] = {"imports": [], "rerun": []}
    seconds: list[dict] = []
    for index in range(args.rounds):
        runs["imports"].append(timed([sys.executable, "-c", IMPORTS]))
        out = HERE / "data" / f"demo-rerun-{index}"
        result = timed(rerun(out))
        assert result["exit"] in (0, 1), result
        audit = json.loads((out / "audit.json").read_text())
        result["same_numbers"] = audit["checks"] == reference["checks"]
        result["checks"] = len(audit["checks"])
        seconds.append({"duration_s": audit["run"]["duration_s"],
                        **audit["run"]["check_seconds"]})
        runs["rerun"].append(result)
        print(index, {k: v[-1] for k, v in runs.items()}, flush=True)
    after = load()
    imports = statistics.median(r["wall"] for r in runs["imports"])
    wall = statistics.median(r["wall"] for r in runs["rerun"])
    cpu = {k: statistics.median(r["cpu"] for r in v) for k, v in runs.items()}
    same = all(r["same_numbers"] for r in runs["rerun"])
    typical = {k: statistics.median(s.get(k, 0.0) for s in seconds) for k in seconds[0]}
    top = sorted(((k, v) for k, v in typical.items() if k != "duration_s"),
                 key=lambda kv: -kv[1])[:8]
    checks_total = sum(v for k, v in typical.items() if k != "duration_s")
    text = f"""
## demo audit rerun vs import-only (issue 17) — {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC

Command: `python benchmarks/bench_demo.py --rounds {args.rounds} --record`. Machine: 2 cores; load
average {before} before, {after} after{' (shared with other helpers: times inflated)'
if float(before.split()[0]) >= 1.0 else ''}. Medians of {args.rounds} interleaved rounds.

| process | wall s (each round) | CPU s (user+sys) | peak RSS |
|---|---|---|---|
| `python -c "{IMPORTS}"` | {imports:.2f} ({', '.join(f"{r['wall']:.2f}" for r in runs['imports'])}) | {cpu['imports']:.2f} | {max(r['rss_mb'] for r in runs['imports']):.0f} MB |
| demo rerun (`cxaudit audit` … 2,113 rows, {runs['rerun'][0]['checks']} checks, json/html/md/junit) | {wall:.2f} ({', '.join(f"{r['wall']:.2f}" for r in runs['rerun'])}) | {cpu['rerun']:.2f} | {max(r['rss_mb'] for r in runs['rerun']):.0f} MB |
| **ratio** (target ≤ 1.5×) | **{wall / imports:.2f}×** | {cpu['rerun'] / cpu['imports']:.2f}× | |

Same checks as the demo's own audit.json, to the last digit: {'yes' if same else 'NO'}.
Inside the audit (audit.json `run`, medians): {typical['duration_s']:.2f} s from reading the
inputs to the result, of which checks {checks_total:.2f} s; slowest checks:
{', '.join(f'{k} {v:.2f} s' for k, v in top)}.
"""
    print(text)
    if args.record:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
