"""Benchmark policy loading against the number of checks (issue 15: loading must be linear).

Usage::

    python benchmarks/bench_policy_load.py [--checks 1000,2000,4000,8000] [--record]

Writes a policy with N checks (three check types in turn, each with its own id and
threshold) to a temporary folder and times :func:`cxaudit.policy.loader.load_policy`
(YAML parsing with locations, validation of every check, the resolved hash). Prints
seconds and microseconds per check for each N; linear loading keeps the per-check
figure flat. With --record appends a section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADER = """\
cxaudit: 1
system: {name: bench, intervention: assistive}
data:
  label: Churn
  positive: "Yes"
  prediction: decision
  protected: [gender, SeniorCitizen]
checks:
"""

TEMPLATES = (
    "  - id: parity-{i}\n    type: bias.selection_rate\n    threshold: {{min: 0.8}}\n",
    "  - id: gap-{i}\n    type: bias.true_positive_rate\n    compare: difference\n"
    "    threshold: {{max: 0.1}}\n    severity: warn\n",
    "  - id: dup-{i}\n    type: data.duplicates\n    max_rate: 0.01\n",
)


def policy_text(n: int) -> str:
    """A valid policy with ``n`` checks."""
    return HEADER + "".join(TEMPLATES[i % len(TEMPLATES)].format(i=i) for i in range(n))


def time_load(n: int, folder: Path, repeat: int = 1) -> float:
    from cxaudit.policy.loader import load_policy

    path = folder / f"policy-{n}.yaml"
    path.write_text(policy_text(n), encoding="utf-8")
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        policy = load_policy(path)
        best = min(best, time.perf_counter() - started)
    assert len(policy.checks) == n
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", default="250,1000,2000,4000,8000",
                        help="comma-separated check counts (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many loads")
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args()
    counts = [int(c) for c in args.checks.split(",")]

    from cxaudit.policy.loader import load_policy  # noqa: F401  (import cost outside timing)

    lines = [f"load_policy on a generated policy, N checks (best of {args.repeat}):"]
    with tempfile.TemporaryDirectory(prefix="cxaudit-bench-") as tmp:
        time_load(10, Path(tmp))  # warm the check registry
        for n in counts:
            seconds = time_load(n, Path(tmp), args.repeat)
            size = len(policy_text(n).encode()) / 1e6
            lines.append(f"  {n:>6,} checks ({size:.2f} MB): {seconds:7.2f} s  "
                         f"({seconds / n * 1e6:,.0f} µs per check)")
    text = "\n".join(lines)
    print(text)
    if args.record:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        with (HERE / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write(f"\n## Policy loading — {stamp}\n\n{machine}; "
                      f"`python benchmarks/bench_policy_load.py --checks {args.checks} "
                      f"--repeat {args.repeat}`\n\n"
                      f"```\n{text}\n```\n")


if __name__ == "__main__":
    main()
