"""Benchmark: the as-of consent join for 10 M scored rows against a 20 M-event ledger.

Usage::

    python benchmarks/bench_consent.py            # full size (10 M rows, 20 M events)
    python benchmarks/bench_consent.py --rows 1000000 --events 2000000 --subjects 500000
    python benchmarks/bench_consent.py --record   # also append the figures to RESULTS.md

Data is generated once into ``benchmarks/data/`` (gitignored) as Parquet:
5 M subjects with text ids, 4 purposes, tz-aware timestamps at whole seconds.
Each measurement runs in a fresh subprocess so its peak RSS is its own:

- ``join``: the target — from the loaded, validated ledger and scored rows to
  the consent state of every row (purpose filter, Arrow id encoding, ledger
  sort, as-of walk, classification): :func:`cxaudit.consent.states.consent_view`;
- ``validate``: :func:`cxaudit.loaders.consent.validate_ledger` on the raw
  20 M-row ledger (reported, not part of the target);
- ``merge_asof``: pandas ``merge_asof`` on the same purpose, for comparison;
- ``duckdb_asof``: DuckDB's ``ASOF JOIN`` on the same purpose, for comparison
  (no tie rule among equal timestamps, so not a candidate; see consent/asof.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PURPOSES = ("retention_offers", "analytics", "recommendations", "service_improvement")


def _paths(rows: int, events: int, subjects: int) -> tuple[Path, Path]:
    tag = f"{rows}-{events}-{subjects}"
    return DATA / f"consent-scored-{tag}.parquet", DATA / f"consent-ledger-{tag}.parquet"


def generate(rows: int, events: int, subjects: int, seed: int = 0) -> None:
    """Write the scored rows and the ledger as Parquet (skipped when present)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    scored_path, ledger_path = _paths(rows, events, subjects)
    if scored_path.exists() and ledger_path.exists():
        return
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def ids(codes: np.ndarray) -> pa.Array:
        return pc.binary_join_element_wise("CUST-", pc.cast(pa.array(codes), pa.string()), "")

    start = int(np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64))
    span = 2 * 365 * 86400
    subject = rng.integers(0, subjects, events)
    granted = start + rng.integers(0, span, events)
    status = rng.choice(4, events, p=[0.82, 0.05, 0.08, 0.05])  # granted/expired/withdrawn/refused
    withdrawn = np.where(status == 2, granted + rng.integers(1, 200 * 86400, events), 0)
    expires = np.where(status == 1, granted + rng.integers(1, 400 * 86400, events),
                       granted + 730 * 86400)
    signal = np.where((status == 3) & (rng.random(events) < 0.3), 0, -1)  # some GPC refusals

    def stamps(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
        arr = pa.array(values.astype("datetime64[s]").astype("datetime64[us]"),
                       type=pa.timestamp("us", tz="UTC"))
        return arr if present is None else pc.if_else(pa.array(present), arr, None)

    def category(values: np.ndarray, labels: list[str]) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(values, type=pa.int8()), pa.array(labels))

    purpose = rng.integers(0, len(PURPOSES), events)
    ledger = pa.table({
        "subject_id": ids(subject),
        "purpose": category(purpose, list(PURPOSES)),
        "lawful_basis": category(np.zeros(events, dtype=np.int8), ["consent"]),
        "status": category(status, ["granted", "expired", "withdrawn", "refused"]),
        "granted_at": stamps(granted),
        "withdrawn_at": stamps(withdrawn, status == 2),
        "expires_at": stamps(expires),
        "notice_version": category(rng.integers(0, 2, events), ["notice-v3", "notice-v4"]),
        "channel": category(rng.integers(0, 3, events), ["web", "app", "store"]),
        "jurisdiction": category(rng.integers(0, 3, events), ["EU-DE", "EU-FR", "US-CA"]),
        "signal": pa.DictionaryArray.from_arrays(
            pa.array(np.where(signal < 0, 0, signal), type=pa.int8(),
                     mask=signal < 0), pa.array(["gpc"])),
    })
    pq.write_table(ledger, ledger_path)
    del ledger
    scored_subject = rng.integers(0, int(subjects * 1.02), rows)  # 2% never in the ledger
    scored = pa.table({"customer_id": ids(scored_subject),
                       # scored in the second year: most subjects have a record by then
                       "scored_at": stamps(start + span // 2 + rng.integers(0, span // 2, rows)),
                       "score": pa.array(rng.random(rows))})
    pq.write_table(scored, scored_path)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _status_mb(field: str) -> float:
    """A ``/proc/self/status`` memory figure (VmRSS, VmHWM) in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


_figures: dict = {}


def _start_step() -> float:
    """Hand Arrow's retained buffers back and restart the peak-RSS counter; RSS now (MB).

    Reading Parquet leaves mimalloc holding ~0.5 GB of freed pages; without this
    the load's transient peak would be charged to the step measured next.
    """
    import pyarrow as pa

    _figures["load_peak_mb"] = round(_status_mb("VmHWM"))
    pa.default_memory_pool().release_unused()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)
    return _status_mb("VmRSS")


CLI_POLICY = """cxaudit: 1
system: {name: consent-bench, purpose: retention_offers}
data: {id: customer_id, timestamp: scored_at, score: score}
consent: {purpose: retention_offers}
checks:
  - {id: consent-coverage, type: consent.coverage}
  - {id: consent-withdrawn, type: consent.withdrawn}
  - {id: consent-refused, type: consent.refused}
"""


def measure_cli(rows: int, events: int, subjects: int) -> dict:
    """The product path: ``cxaudit audit`` with the three consent checks, as a subprocess."""
    sys.path.insert(0, str(HERE))
    from bench_families import timed

    scored_path, ledger_path = _paths(rows, events, subjects)
    policy = DATA / "consent-bench-policy.yaml"
    policy.write_text(CLI_POLICY, encoding="utf-8")
    out = DATA / "consent-bench-out"
    cxaudit = str(Path(sys.executable).with_name("cxaudit"))
    found = timed([cxaudit, "audit", "--policy", str(policy), "--data", str(scored_path),
                   "--consent", str(ledger_path), "--out", str(out), "--format", "json",
                   "--no-trail"])
    if found["exit"] not in (0, 1):
        raise SystemExit(f"cxaudit audit exited {found['exit']}")
    result = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    return {"kind": "cli", "seconds": round(found["wall"], 2),
            "cpu_seconds": round(found["cpu"], 2), "join_peak_mb": round(found["peak_mb"]),
            "checks_s": round(sum(result["run"]["check_seconds"].values()), 2),
            "audit_s": result["run"]["duration_s"]}


def measure(kind: str, rows: int, events: int, subjects: int) -> dict:
    """Run one measurement in this process; return its figures."""
    import numpy as np
    import pandas as pd

    scored_path, ledger_path = _paths(rows, events, subjects)
    t0 = time.perf_counter()
    ledger = pd.read_parquet(ledger_path)
    load_s = time.perf_counter() - t0
    out: dict = {"kind": kind, "load_ledger_s": round(load_s, 2)}
    if kind == "validate":
        from cxaudit.loaders.consent import validate_ledger

        out["rss_before_mb"] = round(_start_step())
        t0, c0 = time.perf_counter(), _cpu_s()
        validate_ledger(ledger, source="bench")
        out["seconds"] = round(time.perf_counter() - t0, 2)
        out["cpu_seconds"] = round(_cpu_s() - c0, 2)
        out["join_peak_mb"] = round(_status_mb("VmHWM"))
    elif kind == "join":
        from cxaudit.consent.states import consent_view
        from cxaudit.context import AuditContext
        from cxaudit.engines.local import LocalEngine
        from cxaudit.loaders.consent import ATTRS_KEY
        from cxaudit.policy.model import ConsentSpec, DataSpec, Policy, System

        # The loaded Parquet is already in the validated form; mark it as such.
        ledger.attrs[ATTRS_KEY] = {"aware": True, "source": "bench", "optional_columns":
                                   ["signal"]}
        scored = pd.read_parquet(scored_path)
        policy = Policy(system=System(name="bench", purpose="retention_offers"),
                        data=DataSpec(id="customer_id", timestamp="scored_at"),
                        consent=ConsentSpec(), checks=(), source="bench.yaml", sha256="-",
                        resolved_sha256="-")
        ctx = AuditContext(policy=policy, engine=LocalEngine(), frame=scored,
                           data_columns=tuple(scored.columns), features=("score",),
                           consent=ledger)
        out["rss_before_mb"] = round(_start_step())
        t0, c0 = time.perf_counter(), _cpu_s()
        view = consent_view(ctx)
        out["seconds"] = round(time.perf_counter() - t0, 2)
        out["cpu_seconds"] = round(_cpu_s() - c0, 2)
        out["join_peak_mb"] = round(_status_mb("VmHWM"))
        out["states"] = view.counts()
    elif kind == "merge_asof":
        scored = pd.read_parquet(scored_path, columns=["customer_id", "scored_at"])
        out["rss_before_mb"] = round(_start_step())
        t0, c0 = time.perf_counter(), _cpu_s()
        part = ledger.loc[ledger["purpose"] == "retention_offers", ["subject_id", "granted_at"]]
        part = part.assign(record=np.arange(len(part))).sort_values("granted_at")
        left = scored.assign(row=np.arange(len(scored))).sort_values("scored_at")
        joined = pd.merge_asof(left, part, left_on="scored_at", right_on="granted_at",
                               left_by="customer_id", right_by="subject_id")
        out["seconds"] = round(time.perf_counter() - t0, 2)
        out["cpu_seconds"] = round(_cpu_s() - c0, 2)
        out["join_peak_mb"] = round(_status_mb("VmHWM"))
        out["matched"] = int(joined["record"].notna().sum())
    elif kind == "duckdb_asof":
        import duckdb
        import pyarrow as pa

        scored = pd.read_parquet(scored_path, columns=["customer_id", "scored_at"])
        out["rss_before_mb"] = round(_start_step())
        t0, c0 = time.perf_counter(), _cpu_s()
        part = ledger.loc[ledger["purpose"] == "retention_offers", ["subject_id", "granted_at"]]
        with duckdb.connect(config={"threads": os.cpu_count() or 1}) as con:
            con.register("ledger", pa.table({"sid": pa.array(part["subject_id"].array),
                                             "t": pa.array(part["granted_at"].array),
                                             "rec": np.arange(len(part))}))
            con.register("scored", pa.table({"sid": pa.array(scored["customer_id"].array),
                                             "t": pa.array(scored["scored_at"].array)}))
            found = con.sql("SELECT l.rec FROM scored s ASOF LEFT JOIN ledger l "
                            "ON s.sid = l.sid AND s.t >= l.t").fetchnumpy()["rec"]
        out["seconds"] = round(time.perf_counter() - t0, 2)
        out["cpu_seconds"] = round(_cpu_s() - c0, 2)
        out["join_peak_mb"] = round(_status_mb("VmHWM"))
        out["matched"] = int(np.ma.count(found)) if np.ma.isMaskedArray(found) else int(
            (~pd.isna(found)).sum())
    out.update(_figures)
    return out


def _machine_note() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--subjects", type=int, default=5_000_000)
    parser.add_argument("--only", choices=["cli", "join", "validate", "merge_asof",
                                           "duckdb_asof"], action="append",
                        help="cli: the cxaudit command (recorded); join/validate: components "
                        "in-process (diagnostics, never recorded)")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.rows, args.events, args.subjects)))
        return
    t0 = time.perf_counter()
    generate(args.rows, args.events, args.subjects)
    print(f"data ready in {time.perf_counter() - t0:.1f} s under {DATA}")
    kinds = args.only or ["cli", "duckdb_asof", "merge_asof"]
    if args.record and {"join", "validate"} & set(kinds):
        raise SystemExit("join/validate time cxaudit's internals, a path users cannot run: "
                         "they are diagnostics and are not recorded (record cli instead)")
    results = []
    for kind in kinds:
        before = _machine_note()
        if kind == "cli":
            figures = measure_cli(args.rows, args.events, args.subjects)
            figures["machine"] = before
            results.append(figures)
            print(json.dumps(figures))
            continue
        proc = subprocess.run([sys.executable, __file__, "--measure", kind, "--rows",
                               str(args.rows), "--events", str(args.events), "--subjects",
                               str(args.subjects)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"{kind} failed")
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
        figures["machine"] = before
        results.append(figures)
        print(json.dumps(figures))
    if args.record:
        _record(args, results)


def _record(args: argparse.Namespace, results: list[dict]) -> None:
    lines = [f"\n### Consent as-of join — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n",
             f"Command: `python benchmarks/bench_consent.py --rows {args.rows} --events "
             f"{args.events} --subjects {args.subjects}`  ",
             f"Data: {args.rows:,} scored rows, {args.events:,} ledger events, "
             f"{args.subjects:,} subjects, {len(PURPOSES)} purposes (text ids, tz-aware).\n",
             "`peak during step` is the process's peak RSS from the start of the step "
             "(inputs loaded, Arrow's freed load buffers released, counter reset) to its end: "
             "the loaded ledger and rows (`RSS before`) plus what the step allocates. "
             "`peak while loading` is the Parquet read's own transient peak, before the step.\n",
             "| step | wall s | CPU s (user+sys) | RSS before MB | peak during step MB | "
             "peak while loading MB | machine during the run |",
             "|---|---|---|---|---|---|---|"]
    names = {"cli": "**`cxaudit audit`, 3 consent checks, whole process (subprocess; peak: "
                     "process tree)**",
             "join": "**as-of join + states (target ≤ 10 s, ≤ 3 GB)**",
             "validate": "ledger validation (not in the target)",
             "merge_asof": "pandas merge_asof, one purpose (comparison)",
             "duckdb_asof": "DuckDB ASOF JOIN on text ids, one purpose (comparison)"}
    for r in results:
        lines.append(f"| {names[r['kind']]} | {r['seconds']} | {r.get('cpu_seconds', '')} | "
                     f"{r.get('rss_before_mb', '')} | {r.get('join_peak_mb', '')} | "
                     f"{r.get('load_peak_mb', '')} | {r['machine']} |")
    path = HERE / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if "## Consent" not in text:
        text += "\n## Consent and privacy\n"
    path.write_text(text + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
