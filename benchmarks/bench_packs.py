"""Benchmark `cxaudit init`'s data inspection and the chatbot automation checks (issue 10).

Usage::

    python benchmarks/bench_packs.py [--rows 1000000] [--conversations 100000] [--record]

Prints figures; with --record appends a section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def bench_init(rows: int) -> list[str]:
    import pandas as pd

    from cxaudit.init_policy import inspect_data, write_policy
    from cxaudit.resources import demo_dataset

    base = pd.read_csv(demo_dataset())
    frame = pd.concat([base] * (rows // len(base) + 1), ignore_index=True).iloc[:rows].copy()
    frame["customerID"] = [f"C{i:08d}" for i in range(len(frame))]
    started = time.perf_counter()
    found = inspect_data(frame)
    inspect = time.perf_counter() - started
    started = time.perf_counter()
    write_policy(found, model_type="churn", source="telco.csv", name="telco", available=set())
    write = time.perf_counter() - started
    return [f"init on the telco table ×{rows // len(base)}: {len(frame):,} rows × "
            f"{frame.shape[1]} columns",
            f"  inspect_data (roles, protected, Cramér's V on a 20,000-row sample): {inspect:.2f} s",
            f"  write_policy: {write:.2f} s",
            f"  protected: {list(found.protected)}, proxies: {found.proxies}"]


def bench_chatbot(conversations: int) -> list[str]:
    from cxaudit.context import build_context
    from cxaudit.engines.local import LocalEngine
    from cxaudit.policy.loader import load_policy
    from cxaudit.runner import run_check
    from packs.conftest import wrap
    from packs.test_chatbot_pack import _log

    log, _ = _log(n=conversations)
    folder = Path(tempfile.mkdtemp())
    policy = wrap("chatbot-automation", folder, system={"name": "bot"},
                  data={"protected": ["language"]})
    ctx = build_context(load_policy(policy), log, LocalEngine())
    lines = [f"chatbot-automation on {conversations:,} conversations ({len(log):,} turns)"]
    for params in ctx.policy.checks:
        started = time.perf_counter()
        result = run_check(params, ctx)
        lines.append(f"  {params.type}: {time.perf_counter() - started:.2f} s "
                     f"({result.status.value})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    lines = bench_init(args.rows) + bench_chatbot(args.conversations)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print("\n".join(lines))
    print(f"load average: {load}")
    if args.record:
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        section = (f"\n## Packs: init and chatbot automation — {now}\n\n"
                   f"Command: `python benchmarks/bench_packs.py --rows {args.rows} "
                   f"--conversations {args.conversations} --record`\n"
                   f"Machine: {platform.machine()}, Python {platform.python_version()}; "
                   f"{os.cpu_count()} CPUs, load average {load} (1/5/15 min) — shared with "
                   "other agents' runs, so wall times are inflated.\n\n```\n"
                   + "\n".join(lines) + "\n```\n")
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(section)


if __name__ == "__main__":
    main()
