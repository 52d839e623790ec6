"""Benchmark policy loading against the number of checks (issue 15: loading must be linear).

Usage::

    python benchmarks/bench_policy_load.py [--checks 1000,2000,4000,8000] [--record]

Writes a policy with N checks (three check types in turn, each with its own id and
threshold) to a temporary folder and times ``cxaudit policy validate`` on it (YAML parsing
with locations, validation of every check, the resolved hash), a subprocess. Prints
seconds and microseconds per check for each N; linear loading keeps the per-check
figure flat. With --record appends a section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
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


#: The comparable tool: PyYAML's C parser reading the same file in one process.
YAML_ALONE = """import sys, time
start = time.perf_counter()
import yaml
with open(sys.argv[1], encoding="utf-8") as handle:
    yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
print(time.perf_counter() - start)
"""


def time_validate(n: int, folder: Path, repeat: int = 1) -> tuple[dict, dict]:
    """Best of ``repeat`` runs of `cxaudit policy validate` and of the YAML parser alone."""
    sys.path.insert(0, str(HERE))
    from bench_families import timed

    path = folder / f"policy-{n}.yaml"
    path.write_text(policy_text(n), encoding="utf-8")
    cxaudit = str(Path(sys.executable).with_name("cxaudit"))
    best: dict = {}
    parse: dict = {}
    for _ in range(repeat):
        found = timed([cxaudit, "policy", "validate", str(path)])
        if found["exit"] != 0:
            raise SystemExit(f"cxaudit policy validate exited {found['exit']} on {n} checks")
        if not best or found["wall"] < best["wall"]:
            best = found
        alone = timed([sys.executable, "-c", YAML_ALONE, str(path)])
        if not parse or alone["wall"] < parse["wall"]:
            parse = alone
    return best, parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", default="250,1000,2000,4000,8000",
                        help="comma-separated check counts (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args()
    counts = [int(c) for c in args.checks.split(",")]

    lines = [f"`cxaudit policy validate` on a generated policy with N checks, a subprocess "
             f"(best of {args.repeat}); beyond = minus the same command on a 1-check policy; "
             "beside it PyYAML's C parser alone on the same file:"]
    with tempfile.TemporaryDirectory(prefix="cxaudit-bench-") as tmp:
        fixed, _ = time_validate(1, Path(tmp), args.repeat)
        lines.append(f"  {1:>6,} check: {fixed['wall']:7.2f} s (fixed cost: start-up, imports)")
        for n in counts:
            found, alone = time_validate(n, Path(tmp), args.repeat)
            beyond = found["wall"] - fixed["wall"]
            size = len(policy_text(n).encode()) / 1e6
            lines.append(f"  {n:>6,} checks ({size:.2f} MB): {found['wall']:7.2f} s, beyond "
                         f"{beyond:6.2f} s ({beyond / n * 1e6:,.0f} µs per check), peak "
                         f"{found['peak_mb']:.0f} MB; YAML alone {alone['wall']:.2f} s")
    text = "\n".join(lines)
    print(text)
    if args.record:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        with (HERE / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write(f"\n## Policy loading — {stamp}\n\n{machine}; "
                      f"`python benchmarks/bench_policy_load.py --checks {args.checks} "
                      f"--repeat {args.repeat} --record`\n\n"
                      f"```\n{text}\n```\n")


if __name__ == "__main__":
    main()
