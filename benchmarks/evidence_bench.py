"""Benchmark the evidence layer on the commands users run: a signed audit, verify, approve, log.

Run:  python benchmarks/evidence_bench.py [--append-results] [--big-mb 200] [--trail-entries N]

Every figure is a ``cxaudit`` command run as a subprocess (wall from this process, CPU
seconds and peak RSS of its process tree: ``timed`` in ``bench_families.py``), beside, in the
same run, the fastest comparable tool doing the same work in one process:

- ``cxaudit audit --sign-key`` (the shipped telco data, one bias check, four report formats,
  manifest + Ed25519 signature) — beside pandas computing the same selection rates, writing
  the JSON, hashing the reports and the inputs with hashlib and signing with ``cryptography``;
- ``cxaudit verify DIR`` — beside hashlib + ``cryptography`` re-checking the manifest's
  hashes and signature, and ``sha256sum`` of the same files;
- the same two with a ``--big-mb`` MB file in the report folder (the manifest lists every
  file in the folder, so a user's large attachment is hashed and verified: throughput);
- ``cxaudit approve DIR`` (verifies the bundle, appends to the locked, fsync'd trail) —
  beside one process doing the same verification and a hash-chained, fsync'd append;
- ``cxaudit log verify`` on a ``--trail-entries`` entry trail — beside one process
  re-hashing every entry and checking every link.

Prints the figures; with --append-results adds a section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
POLICY = ("cxaudit: 1\nsystem: {name: churn}\n"
          "data: {label: Churn, positive: 'Yes', prediction: Churn, "
          "protected: [gender, SeniorCitizen]}\n"
          "checks:\n  - {id: parity, type: bias.selection_rate, severity: warn}\n")

#: The audit's work by pandas + hashlib + cryptography in one process: selection rates per
#: protected group, the JSON written, every file in the folder and the inputs hashed, the
#: manifest signed with Ed25519.
AUDIT_ALONE = """import sys, time
start = time.perf_counter()
import hashlib, json, pathlib
import pandas as pd
from cryptography.hazmat.primitives.serialization import load_pem_private_key
data, policy, key, out = sys.argv[1:5]
frame = pd.read_csv(data)
positive = frame["Churn"] == "Yes"
rates = {a: positive.groupby(frame[a]).mean().to_dict() for a in ("gender", "SeniorCitizen")}
folder = pathlib.Path(out)
folder.mkdir(parents=True, exist_ok=True)
(folder / "rates.json").write_text(json.dumps(rates, default=str))
def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
manifest = {"reports": {p.name: digest(p) for p in sorted(folder.iterdir())
                        if p.is_file() and not p.name.startswith("manifest")},
            "inputs": {"data": digest(data), "policy": digest(policy)}}
body = json.dumps(manifest, sort_keys=True).encode()
(folder / "manifest.json").write_bytes(body)
private = load_pem_private_key(pathlib.Path(key).read_bytes(), password=None)
(folder / "manifest.sig").write_bytes(private.sign(body))
print(time.perf_counter() - start)
"""

#: ``cxaudit verify``'s work in one process: the manifest's hashes and its Ed25519 signature.
VERIFY_ALONE = """import sys, time
start = time.perf_counter()
import base64, hashlib, json, pathlib
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
folder = pathlib.Path(sys.argv[1])
body = (folder / "manifest.json").read_bytes()
manifest = json.loads(body)
key = Ed25519PublicKey.from_public_bytes(base64.b64decode(manifest["signing"]["public_key"]))
key.verify((folder / "manifest.sig").read_bytes(), body)
bad = 0
for name, expected in manifest["reports"].items():
    h = hashlib.sha256()
    with open(folder / name, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    bad += h.hexdigest() != expected
print(time.perf_counter() - start, bad)
"""

#: ``cxaudit approve``'s work in one process: the bundle verified as above, then one
#: hash-chained entry appended to the trail under an exclusive lock and fsync'd.
APPROVE_ALONE = VERIFY_ALONE.replace("print(time.perf_counter() - start, bad)", """
import fcntl, os
from datetime import datetime, timezone
def line(entry):
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
with open(sys.argv[2], "a+b") as trail:
    fcntl.flock(trail, fcntl.LOCK_EX)
    trail.seek(0)
    last = trail.read().splitlines()
    prev = json.loads(last[-1]) if last else {"seq": 0, "hash": "0" * 64}
    entry = {"seq": prev["seq"] + 1, "time": datetime.now(timezone.utc).isoformat(),
             "kind": "approval", "data": {"role": "product_owner", "approver": sys.argv[3],
             "report_digest": hashlib.sha256(body).hexdigest()}, "prev": prev["hash"]}
    entry["hash"] = hashlib.sha256(line(entry)).hexdigest()
    trail.write(line(entry) + b"\\n")
    trail.flush()
    os.fsync(trail.fileno())
print(time.perf_counter() - start, bad)""")

#: ``cxaudit log verify``'s work in one process: every entry re-hashed, every link checked.
TRAIL_ALONE = """import sys, time
start = time.perf_counter()
import hashlib, json
prev, bad, n = "0" * 64, 0, 0
with open(sys.argv[1], "rb") as handle:
    for raw in handle:
        n += 1
        entry = json.loads(raw)
        claimed = entry.pop("hash")
        body = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=False).encode("ascii")
        bad += hashlib.sha256(body).hexdigest() != claimed or entry["prev"] != prev
        prev = claimed
print(time.perf_counter() - start, n, bad)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--append-results", action="store_true")
    parser.add_argument("--big-mb", type=int, default=200, help="size of the large file")
    parser.add_argument("--trail-entries", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each command (median)")
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    from bench_families import timed
    from cxaudit.evidence.trail import canonical_line, entry_hash
    from cxaudit.resources import demo_dataset

    cxaudit = str(Path(sys.executable).with_name("cxaudit"))
    python = sys.executable
    runs: dict[str, list[dict]] = {}

    def run(label: str, command: list[str], ok: tuple[int, ...] = (0,)) -> dict:
        found = timed(command)
        if found["exit"] not in ok:
            raise SystemExit(f"{label}: exit {found['exit']}: {' '.join(command)}")
        runs.setdefault(label, []).append(found)
        return found

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        policy = root / "policy.yaml"
        policy.write_text(POLICY)
        data = str(demo_dataset())
        key = root / "key.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)],
                       check=True, capture_output=True)
        out = root / "out"
        audit = [cxaudit, "audit", "--policy", str(policy), "--data", data, "--out", str(out),
                 "--format", "json,md,html,junit", "--no-trail"]
        signed = [*audit, "--sign-key", str(key)]
        alone = [python, "-c", AUDIT_ALONE, data, str(policy), str(key), str(root / "alone")]
        verify = [cxaudit, "verify", str(out)]
        verify_alone = [python, "-c", VERIFY_ALONE, str(out)]

        def files() -> list[str]:
            return sorted(str(p) for p in out.iterdir() if p.is_file())

        for _ in range(args.rounds):
            run("audit-unsigned", audit)
            run("audit", signed)
            run("audit-alone", alone)
            run("verify", verify)
            run("verify-alone", verify_alone)
            run("verify-sha256sum", ["sha256sum", *files()])

        big = out / "big-attachment.bin"
        with open(big, "wb") as handle:
            chunk = os.urandom(1 << 20)
            for _ in range(args.big_mb):
                handle.write(chunk)
        os.link(big, root / "alone" / big.name)   # the same bytes for the one-process tool
        for _ in range(args.rounds):
            run("audit-big", signed)
            run("audit-big-alone", alone)
            run("verify-big", verify)
            run("verify-big-alone", verify_alone)
            run("verify-big-sha256sum", ["sha256sum", *files()])
        big.unlink()
        (root / "alone" / big.name).unlink()
        subprocess.run(signed, check=True, capture_output=True)   # the bundle without it

        trail = root / "trail.jsonl"
        for _ in range(args.rounds):
            run("approve", [cxaudit, "approve", str(out), "--approver", "a@example.com",
                            "--role", "product_owner", "--comment", "benchmark",
                            "--trail", str(trail)])
            run("approve-alone", [python, "-c", APPROVE_ALONE, str(out), str(root / "t2.jsonl"),
                                  "a@example.com"])

        # A long trail, written directly in canonical form for speed.
        long_trail = root / "long.jsonl"
        prev = "0" * 64
        with open(long_trail, "wb") as handle:
            for seq in range(1, args.trail_entries + 1):
                entry = {"seq": seq, "time": "2026-11-23T00:00:00+00:00", "kind": "audit",
                         "data": {"verdict": "pass", "k": seq}, "prev": prev}
                entry["hash"] = prev = entry_hash(entry)
                handle.write(canonical_line(entry) + b"\n")
        for _ in range(args.rounds):
            found = run("log-verify", [cxaudit, "log", "verify", str(long_trail)])
            if f"{args.trail_entries} entries" not in found["out"].replace(",", ""):
                raise SystemExit(f"cxaudit log verify: unexpected output {found['out']!r}")
            found = run("log-verify-alone", [python, "-c", TRAIL_ALONE, str(long_trail)])
            if found["out"].split()[1:] != [str(args.trail_entries), "0"]:
                raise SystemExit(f"trail check alone: unexpected output {found['out']!r}")
    load_after = os.getloadavg()

    def med(label: str, key: str = "wall") -> float:
        return statistics.median(r[key] for r in runs[label])

    def row(what: str, label: str, mb: float | None = None) -> str:
        each = ", ".join(f"{r['wall']:.2f}" for r in runs[label])
        rate = f"{mb / med(label):,.0f} MB/s" if mb else ""
        return (f"| {what} | {med(label):.2f} ({each}) | {med(label, 'cpu'):.2f} | "
                f"{max(r['peak_mb'] for r in runs[label]):.0f} MB | {rate} |")

    big_mb = args.big_mb
    lines = [
        "| process | wall s, median (each run) | CPU s | peak RSS (tree) | MB/s, start-up included |",
        "|---|---|---:|---:|---|",
        row("`cxaudit audit` telco 7,043 rows, 1 bias check, 4 formats, no signature",
            "audit-unsigned"),
        row("`cxaudit audit … --sign-key` (+ manifest, Ed25519 signature)", "audit"),
        row("pandas + hashlib + cryptography: same rates, JSON, hashes, signature; one process",
            "audit-alone"),
        row("`cxaudit verify DIR` (4 reports, signature)", "verify"),
        row("hashlib + cryptography: same hashes and signature; one process", "verify-alone"),
        row("`sha256sum` of the bundle's files", "verify-sha256sum"),
        row(f"`cxaudit audit … --sign-key`, a {big_mb} MB file in the folder", "audit-big"),
        row("pandas + hashlib + cryptography, the same folder; one process", "audit-big-alone"),
        row(f"`cxaudit verify DIR`, a {big_mb} MB file in the bundle", "verify-big", big_mb),
        row("hashlib + cryptography, the same bundle; one process", "verify-big-alone", big_mb),
        row("`sha256sum` of the same files", "verify-big-sha256sum", big_mb),
        row("`cxaudit approve DIR` (verify, locked fsync'd trail append)", "approve"),
        row("hashlib + cryptography verify + chained fsync'd append; one process",
            "approve-alone"),
        row(f"`cxaudit log verify`, {args.trail_entries:,} entries", "log-verify"),
        row("json + hashlib re-hashing every entry and link; one process", "log-verify-alone"),
    ]
    per_s = args.trail_entries / med("log-verify")
    lines += ["", f"`cxaudit log verify`: {per_s:,.0f} entries/s including start-up; "
              f"`cxaudit verify` costs {med('verify') / med('verify-alone'):.1f}× the "
              f"one-process check; signing adds {med('audit') - med('audit-unsigned'):+.2f} s "
              f"wall ({med('audit', 'cpu') - med('audit-unsigned', 'cpu'):+.2f} CPU s) to the "
              f"audit and the {big_mb} MB file {med('audit-big') - med('audit'):+.2f} s wall "
              f"({med('audit-big', 'cpu') - med('audit', 'cpu'):+.2f} CPU s) (differences of "
              "medians)."]
    print("\n".join(lines))
    print(f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
          f"on {os.cpu_count()} cores")
    if args.append_results:
        results = HERE / "RESULTS.md"
        command = (f"python benchmarks/evidence_bench.py --big-mb {args.big_mb} --trail-entries "
                   f"{args.trail_entries} --rounds {args.rounds} --append-results")
        section = [
            f"\n## evidence — signed audit, verify, approve, log through the CLI "
            f"({dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC)\n",
            f"Command: `{command}`.  ",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; load average {load_before[0]:.2f} / "
            f"{load_before[1]:.2f} before, {load_after[0]:.2f} / {load_after[1]:.2f} after "
            "(1/5 min). Each `cxaudit` figure is the command in a subprocess; each comparison "
            "runs in the same round.\n", *lines, ""]
        with open(results, "a", encoding="utf-8") as handle:
            handle.write("\n".join(section) + "\n")
        print(f"appended to {results}")


if __name__ == "__main__":
    main()
