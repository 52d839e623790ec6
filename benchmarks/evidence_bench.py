"""Benchmark the evidence layer: manifest + signature, bundle verification, audit trail.

Run:  python benchmarks/evidence_bench.py [--append-results]

Prints the figures; with --append-results adds a section to benchmarks/RESULTS.md.
Uses the shipped telco data for a real audit and its real reports, plus a large
synthetic report file to measure hashing throughput.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path


def _timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--append-results", action="store_true")
    parser.add_argument("--big-mb", type=int, default=200, help="size of the synthetic report")
    parser.add_argument("--trail-entries", type=int, default=20_000)
    args = parser.parse_args()

    from cxaudit.evidence.manifest import write_evidence
    from cxaudit.evidence.signing import write_keypair
    from cxaudit.evidence.trail import append, canonical_line, entry_hash, verify_trail
    from cxaudit.evidence.verify import verify_bundle
    from cxaudit.render import write_reports
    from cxaudit.resources import demo_dataset
    from cxaudit.runner import AuditInputs, audit

    figures: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        policy = root / "policy.yaml"
        policy.write_text(
            "cxaudit: 1\nsystem: {name: churn}\n"
            "data: {label: Churn, positive: 'Yes', prediction: Churn, "
            "protected: [gender, SeniorCitizen]}\n"
            "checks:\n  - {id: parity, type: bias.selection_rate, severity: warn}\n")
        inputs = AuditInputs(policy=str(policy), data=str(demo_dataset()))
        result = audit(inputs)
        key = root / "key.pem"
        write_keypair(key)
        out = root / "out"
        write_reports(result, out, ["json", "md", "html", "junit"])

        def evidence() -> None:
            write_evidence(out, result, inputs=inputs, sign_key=key, trail=False)

        figures.append(("manifest + Ed25519 signature, 4 real reports + telco data (955 kB)",
                        f"{_timed(evidence) * 1000:.1f} ms"))
        figures.append(("verify_bundle, same bundle",
                        f"{_timed(lambda: verify_bundle(out)) * 1000:.1f} ms"))

        big = out / "big-report.bin"
        with open(big, "wb") as handle:
            chunk = os.urandom(1 << 20)
            for _ in range(args.big_mb):
                handle.write(chunk)
        t_write = _timed(evidence, repeat=2)
        t_verify = _timed(lambda: verify_bundle(out), repeat=2)
        figures.append((f"manifest + signature with a {args.big_mb} MB report",
                        f"{t_write:.2f} s ({args.big_mb / t_write:.0f} MB/s)"))
        figures.append((f"verify_bundle with a {args.big_mb} MB report",
                        f"{t_verify:.2f} s ({args.big_mb / t_verify:.0f} MB/s)"))
        big.unlink()

        trail = root / "trail.jsonl"
        appends = 500
        start = time.perf_counter()
        for k in range(appends):
            append(trail, "audit", {"system": "churn", "verdict": "pass", "k": k})
        per_append = (time.perf_counter() - start) / appends
        figures.append(("trail append (locked, fsync'd)", f"{per_append * 1000:.2f} ms/entry"))

        # A long trail, written directly in canonical form for speed.
        long_trail = root / "long.jsonl"
        prev = "0" * 64
        with open(long_trail, "wb") as handle:
            for seq in range(1, args.trail_entries + 1):
                entry = {"seq": seq, "time": "2026-11-23T00:00:00+00:00", "kind": "audit",
                         "data": {"verdict": "pass", "k": seq}, "prev": prev}
                entry["hash"] = prev = entry_hash(entry)
                handle.write(canonical_line(entry) + b"\n")
        t_trail = _timed(lambda: verify_trail(long_trail), repeat=2)
        figures.append((f"verify_trail, {args.trail_entries:,} entries",
                        f"{t_trail:.2f} s ({args.trail_entries / t_trail:,.0f} entries/s)"))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    width = max(len(name) for name, _ in figures)
    for name, value in figures:
        print(f"{name:<{width}}  {value}")
    print(f"load average (1 min): {load:.1f} on {os.cpu_count()} cores")
    if args.append_results:
        results = Path(__file__).with_name("RESULTS.md")
        lines = [f"\n## evidence ({dt.date.today().isoformat()})\n",
                 "Command: `python benchmarks/evidence_bench.py --append-results`  ",
                 f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
                 f"{platform.python_version()}; 1-min load average {load:.1f} — other agents "
                 "share the CPU, so absolute times are pessimistic.\n",
                 "| operation | figure |", "|---|---|",
                 *(f"| {name} | {value} |" for name, value in figures), ""]
        with open(results, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        print(f"appended to {results}")


if __name__ == "__main__":
    main()
