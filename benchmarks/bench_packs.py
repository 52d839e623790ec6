"""Benchmark `cxaudit init`'s data inspection and the chatbot automation checks (issue 10).

Usage::

    python benchmarks/bench_packs.py [--rows 1000000] [--conversations 100000] [--rounds 1]
                                     [--record]

Both figures are the ``cxaudit`` command run as a subprocess (wall from this process, CPU
seconds and peak RSS of its process tree: ``timed`` in ``bench_families.py``), each beside,
in the same run, the fastest comparable tool doing the same work in one process:

- ``cxaudit init --model-type churn`` on the telco table repeated to ``--rows`` rows
  (Parquet) — beside pandas reading the same file, ``describe(include="all")`` and the
  Cramér's V of each protected attribute init found against every other column on a
  20,000-row sample (init's sample size);
- ``cxaudit audit`` with the ``chatbot-automation`` pack on ``--conversations`` generated
  conversations (the pack tests' log, as Parquet) — beside DuckDB computing the same
  disclosure, handoff and per-language escalation figures (the same regular expressions);
  the two sets of figures are compared.

Seconds per check come from the audit's own record (audit.json ``run.check_seconds``).
Generated data is kept under benchmarks/data/. Prints figures; with --record appends a
section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

#: init's inspection by pandas in one process: read, describe every column, Cramér's V of
#: each protected attribute against every other column on a 20,000-row sample.
INIT_ALONE = """import sys, time
start = time.perf_counter()
import numpy as np, pandas as pd
frame = pd.read_parquet(sys.argv[1])
frame.describe(include="all")
sample = frame.sample(min(len(frame), 20000), random_state=0)
def cramers_v(a, b):
    table = pd.crosstab(a, b).to_numpy(dtype=float)
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    k = min(table.shape) - 1
    return float(np.sqrt(chi2 / n / k)) if k > 0 else 0.0
found = {p: {c: cramers_v(sample[p], sample[c]) for c in sample.columns
             if c != p and sample[c].nunique() < 0.5 * len(sample)}
         for p in sys.argv[2].split(",")}
print(time.perf_counter() - start, sum(len(v) for v in found.values()))
"""

#: The chatbot pack's three checks by DuckDB in one process: the bot's first turn disclosing
#: (regex), the first customer request for a human, the next agent turn within 2 turns, by
#: language.
CHATBOT_ALONE = """import json, sys, time
start = time.perf_counter()
import duckdb
disclosure, request = json.loads(sys.argv[2])
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("CREATE VIEW log AS SELECT conversation_id AS c, TRY_CAST(turn AS DOUBLE) AS t, "
            "speaker AS s, text, language FROM read_parquet('" + sys.argv[1] + "')")
conversations, without = con.execute(
    "SELECT (SELECT count(DISTINCT c) FROM log), "
    "(SELECT count(DISTINCT c) FROM log) - count_if(regexp_matches(coalesce(text, ''), $1, 'i')) "
    "FROM (SELECT c, arg_min(text, t) AS text FROM log WHERE s = 'bot' GROUP BY c)",
    [disclosure]).fetchone()
rows = con.execute(
    "WITH trig AS (SELECT c, min(t) AS t FROM log WHERE s = 'customer' "
    "              AND regexp_matches(coalesce(text, ''), $1, 'i') GROUP BY c), "
    "nxt AS (SELECT trig.c, trig.t, min(a.t) AS agent_t FROM trig LEFT JOIN "
    "        (SELECT c, t FROM log WHERE s = 'agent') a ON a.c = trig.c AND a.t > trig.t "
    "        GROUP BY ALL), "
    "lang AS (SELECT c, arg_min(language, t) AS language FROM log GROUP BY c) "
    "SELECT language, count(*), avg(CASE WHEN agent_t - t <= 2 THEN 1.0 ELSE 0.0 END) "
    "FROM nxt JOIN lang USING (c) GROUP BY language ORDER BY language", [request]).fetchall()
triggered = sum(r[1] for r in rows)
print(json.dumps({"conversations": conversations, "without_disclosure": without,
                  "triggered": triggered,
                  "handed_off_in_time": sum(r[1] * r[2] for r in rows) / triggered,
                  "by_language": {r[0]: r[2] for r in rows}}))
print(time.perf_counter() - start)
"""


def _cxaudit() -> str:
    return str(Path(sys.executable).with_name("cxaudit"))


def _median(runs: list[dict], key: str = "wall") -> float:
    return statistics.median(r[key] for r in runs)


def _row(what: str, runs: list[dict]) -> str:
    each = ", ".join(f"{r['wall']:.2f}" for r in runs)
    return (f"| {what} | {_median(runs):.2f} ({each}) | {_median(runs, 'cpu'):.2f} | "
            f"{max(r['peak_mb'] for r in runs):.0f} MB |")


def _checked(found: dict, what: str) -> dict:
    if found["exit"] not in (0, 1):
        raise SystemExit(f"{what}: exit {found['exit']}")
    return found


def bench_init(rows: int, rounds: int) -> list[str]:
    import pandas as pd
    import yaml

    from bench_families import timed
    from cxaudit.resources import demo_dataset

    path = DATA / f"packs-telco-{rows}.parquet"
    base = pd.read_csv(demo_dataset())
    if not path.exists():
        frame = pd.concat([base] * (rows // len(base) + 1), ignore_index=True).iloc[:rows].copy()
        frame["customerID"] = [f"C{i:08d}" for i in range(len(frame))]
        DATA.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
    policy = DATA / "packs-init-policy.yaml"
    command = [_cxaudit(), "init", "--model-type", "churn", "--data", str(path), "--out",
               str(policy), "--force", "--no-interactive", "--name", "telco"]
    ours, alone = [], []
    for _ in range(rounds):
        ours.append(_checked(timed(command), "cxaudit init"))
        protected = yaml.safe_load(policy.read_text(encoding="utf-8"))["data"]["protected"]
        alone.append(timed([sys.executable, "-c", INIT_ALONE, str(path), ",".join(protected)]))
    return [f"init on the telco table ×{rows // len(base)}: {rows:,} rows × {base.shape[1]} "
            f"columns (Parquet, {path.stat().st_size / 2**20:.0f} MB); protected found: "
            f"{', '.join(protected)}", "",
            "| process | wall s, median (each run) | CPU s | peak RSS (tree) |",
            "|---|---|---:|---:|",
            _row("`cxaudit init --model-type churn --data telco.parquet`", ours),
            _row("pandas: read, describe(include='all'), Cramér's V of each protected "
                 "attribute on 20,000 rows; one process", alone)]


def bench_chatbot(conversations: int, rounds: int) -> list[str]:
    from bench_families import timed
    from cxaudit.checks.automation import DISCLOSURE, HUMAN_REQUEST
    from packs.conftest import wrap
    from packs.test_chatbot_pack import _log

    path = DATA / f"packs-chatbot-{conversations}.parquet"
    DATA.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        log, _ = _log(n=conversations)
        log.to_parquet(path, index=False)
    policy = wrap("chatbot-automation", DATA, system={"name": "bot"},
                  data={"protected": ["language"]}, name="packs-chatbot-policy")
    out = DATA / "packs-chatbot-out"
    command = [_cxaudit(), "audit", "--policy", str(policy), "--data", str(path), "--out",
               str(out), "--format", "json", "--no-trail", "--as-of", "2026-09-01"]
    patterns = json.dumps(["|".join(f"(?:{p})" for p in DISCLOSURE),
                           "|".join(f"(?:{p})" for p in HUMAN_REQUEST)])
    ours, alone = [], []
    for _ in range(rounds):
        ours.append(_checked(timed(command), "cxaudit audit"))
        alone.append(timed([sys.executable, "-c", CHATBOT_ALONE, str(path), patterns]))
    result = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    duck = json.loads(alone[-1]["out"].splitlines()[0])
    metrics = {(c["type"], m["name"], json.dumps(m.get("group") or {}, sort_keys=True)): m["value"]
               for c in result["checks"] for m in c.get("metrics", [])}
    pairs = [(metrics[("automation.disclosure", "conversations", "{}")],
              duck["conversations"]),
             (metrics[("automation.disclosure", "without_disclosure", "{}")],
              duck["without_disclosure"]),
             (metrics[("automation.handoff", "triggered", "{}")], duck["triggered"]),
             (metrics[("automation.handoff", "handed_off_in_time", "{}")],
              duck["handed_off_in_time"]),
             *((metrics[("automation.escalation_parity", "handed_off_in_time",
                         json.dumps({"language": lang}))], rate)
               for lang, rate in duck["by_language"].items())]
    agree = all(abs(a - b) <= 1e-9 for a, b in pairs)
    turns = result["inputs"]["data"].get("rows")
    seconds = result["run"]["check_seconds"]
    return [f"chatbot-automation on {conversations:,} conversations ({turns:,} turns, Parquet)",
            "", "| process | wall s, median (each run) | CPU s | peak RSS (tree) |",
            "|---|---|---:|---:|",
            _row("`cxaudit audit` (chatbot-automation pack, 3 checks)", ours),
            _row("DuckDB: the same disclosure, handoff and per-language figures; one process",
                 alone),
            "", "Inside the audit (audit.json `run`, last round): "
            + ", ".join(f"{c['type']} {seconds[c['id']]:.2f} s ({c['status']})"
                        for c in result["checks"])
            + f"; inputs read → result {result['run']['duration_s']:.2f} s.",
            f"DuckDB's figures equal the audit's (conversations, without disclosure, triggered, "
            f"handed off in time overall and by language, to 1e-9): {'yes' if agree else 'NO'}."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    before = os.getloadavg()
    lines = bench_init(args.rows, args.rounds) + [""] + bench_chatbot(args.conversations,
                                                                       args.rounds)
    after = os.getloadavg()
    print("\n".join(lines))
    print(f"load average (1/5 min) before {before[0]:.2f} / {before[1]:.2f}, after "
          f"{after[0]:.2f} / {after[1]:.2f}")
    if args.record:
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        section = (f"\n## Packs: init and chatbot automation through the CLI — {now}\n\n"
                   f"Command: `python benchmarks/bench_packs.py --rows {args.rows} "
                   f"--conversations {args.conversations} --rounds {args.rounds} --record`. "
                   f"Machine: {platform.machine()}, Python {platform.python_version()}, "
                   f"{os.cpu_count()} cores; load average {before[0]:.2f} / {before[1]:.2f} "
                   f"before, {after[0]:.2f} / {after[1]:.2f} after (1/5 min). Each `cxaudit` "
                   "figure is the command in a subprocess; each comparison runs in the same "
                   "round.\n\n" + "\n".join(lines) + "\n")
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(section)


if __name__ == "__main__":
    main()
