"""Time the MLflow integration through the cxaudit command against a real local server.

    python benchmarks/bench_mlflow.py [--repeats 3] [--no-append]

Starts ``mlflow server`` (SQLite, 127.0.0.1, one worker, job execution off) and registers
the telco demo model (7,043 rows; setup, printed, not recorded). Then, ``--repeats`` times,
each a subprocess (wall from this process, CPU seconds and peak RSS of its process tree:
``timed`` in ``bench_families.py``):

- ``cxaudit gate models:/telco-churn/1 --promote-to champion`` end to end (lineage data,
  model download + load, 2 checks, 4 report formats, run logged, version tagged, alias
  moved);
- ``cxaudit audit --model models:/telco-churn/1`` on the same data, without and with
  ``--mlflow`` (the difference is the cost of logging the audit and tagging the version);
- beside them, in the same round, mlflow's own client doing the gate's MLflow work in one
  process: resolve the version, read the lineage dataset, download and load the pyfunc
  model, predict, the two selection rates in pandas, log a run with as many metrics and the
  gate's report files, set the three tags and the alias.

Prints the figures and appends them to ``benchmarks/RESULTS.md`` (unless --no-append). The
evaluator plugin's import cost is printed as a diagnostic only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
sys.path.insert(0, str(ROOT / "tests" / "mlflow"))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(HERE))

#: The gate's MLflow work by mlflow's own client in one process.
MLFLOW_ALONE = """import json, sys, time, warnings
start = time.perf_counter()
import mlflow, pandas as pd
from mlflow import MlflowClient
uri, name, version, reports, metrics = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], \\
    int(sys.argv[5])
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
mv = client.get_model_version(name, version)
run = client.get_run(mv.run_id)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    frame = pd.read_csv(mlflow.data.get_source(run.inputs.dataset_inputs[0]).load())
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
features = model.metadata.get_input_schema().input_names()
decision = (pd.DataFrame(model.predict(frame[features])).iloc[:, -1] > 0.5).astype(float)
rates = {a: decision.groupby(frame[a]).mean() for a in ("gender", "SeniorCitizen")}
values = {f"rate_{a}_{g}": float(v) for a, r in rates.items() for g, v in r.items()}
values.update({f"gap_{a}": float(r.max() - r.min()) for a, r in rates.items()})
values.update({f"m{i}": 0.0 for i in range(max(0, metrics - len(values)))})
mlflow.set_experiment("bench-alone")
with mlflow.start_run() as logged:
    mlflow.log_metrics(values)
    mlflow.log_artifacts(reports, artifact_path="cxaudit")
for key, value in (("cxaudit.verdict", "pass"), ("cxaudit.run_id", logged.info.run_id),
                   ("cxaudit.policy_sha256", "0" * 64)):
    client.set_model_version_tag(name, version, key, value)
client.set_registered_model_alias(name, "champion-alone", version)
print(time.perf_counter() - start)
"""


def _evaluator_import_cost() -> float:
    code = ("import time, mlflow.models.evaluation.base; t = time.perf_counter();"
            "import cxaudit.integrations.mlflow_evaluator; print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the MLflow integration.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-append", action="store_true", help="Print only.")
    args = parser.parse_args()

    import mlflow
    from mlflow_register_demo import V1, prepare, register
    from mlflow_testserver import MlflowServer

    from bench_families import timed

    cxaudit = str(Path(sys.executable).with_name("cxaudit"))
    policy = str(ROOT / "scripts" / "mlflow-demo-policy.yaml")
    setup: list[str] = []
    runs: dict[str, list[dict]] = {"gate": [], "audit": [], "audit-mlflow": [], "alone": []}
    logged_metrics, verdict = 0, "?"
    with tempfile.TemporaryDirectory(prefix="cxaudit-bench-mlflow-") as tmp:
        root = Path(tmp)
        server = MlflowServer(root / "server")
        started = time.perf_counter()
        server.start().wait(timeout=240)
        setup.append(f"server start → /health (pre-migrated SQLite copy when cached): "
                     f"{time.perf_counter() - started:.1f} s")
        try:
            mlflow.set_tracking_uri(server.uri)
            mlflow.set_experiment("bench")
            frame, path = prepare(root)
            started = time.perf_counter()
            version = register(frame, path, V1, "telco-churn")
            setup.append(f"log + register one sklearn tree (client side, in this process): "
                         f"{time.perf_counter() - started:.1f} s")
            uri = f"models:/telco-churn/{version}"
            load_before = os.getloadavg()
            for index in range(args.repeats):
                out = root / f"gate{index}"
                found = timed([cxaudit, "gate", uri, "--policy", policy, "--promote-to",
                               "champion", "--out", str(out), "--tracking-uri", server.uri])
                if found["exit"] not in (0, 1):
                    raise SystemExit(f"cxaudit gate: exit {found['exit']}")
                runs["gate"].append(found)
                reports = root / f"reports{index}"
                reports.mkdir()
                for name in ("audit.json", "audit.html", "audit.md", "audit.junit.xml"):
                    (reports / name).write_bytes((out / name).read_bytes())
                result = json.loads((out / "audit.json").read_text(encoding="utf-8"))
                logged_metrics = sum(len(c.get("metrics", [])) for c in result["checks"])
                verdict = f"verdict {result['verdict']}, exit {found['exit']}"
                runs["alone"].append(timed([sys.executable, "-c", MLFLOW_ALONE, server.uri,
                                            "telco-churn", version, str(reports),
                                            str(logged_metrics)]))
                if runs["alone"][-1]["exit"] != 0:
                    raise SystemExit("the mlflow client process failed")
                audit = [cxaudit, "audit", "--policy", policy, "--data", str(path), "--model",
                         uri, "--tracking-uri", server.uri, "--no-trail"]
                for key, extra in (("audit", []), ("audit-mlflow", ["--mlflow"])):
                    found = timed([*audit, "--out", str(root / f"{key}{index}"), *extra])
                    if found["exit"] not in (0, 1):
                        raise SystemExit(f"cxaudit audit {' '.join(extra)}: exit {found['exit']}")
                    runs[key].append(found)
            load_after = os.getloadavg()
        finally:
            server.stop()
    diagnostic = (f"import cxaudit's evaluator plugin after mlflow.models.evaluation: "
                  f"{_evaluator_import_cost() * 1000:.1f} ms")

    def med(key: str, field: str = "wall") -> float:
        return statistics.median(r[field] for r in runs[key])

    def row(what: str, key: str) -> str:
        each = ", ".join(f"{r['wall']:.2f}" for r in runs[key])
        return (f"| {what} | {med(key):.2f} ({each}) | {med(key, 'cpu'):.2f} | "
                f"{max(r['peak_mb'] for r in runs[key]):.0f} MB |")

    lines = [
        "| process | wall s, median (each run) | CPU s | peak RSS (tree) |", "|---|---|---:|---:|",
        row(f"`cxaudit gate {uri} --promote-to champion` (lineage data, 7,043 rows, 2 checks, "
            "4 formats, run + tags + alias)", "gate"),
        row(f"mlflow client: same version, lineage data, pyfunc load + predict, rates, run with "
            f"{logged_metrics} metrics + the 4 reports, 3 tags, alias; one process", "alone"),
        row(f"`cxaudit audit --model {uri}` (same data and policy, nothing logged)", "audit"),
        row(f"`cxaudit audit --model {uri} --mlflow` (+ run logged, version tagged)",
            "audit-mlflow"),
        "", f"The gate's last run: {verdict} (0 promoted, 1 refused). Logging the audit and tagging the version adds "
        f"{med('audit-mlflow') - med('audit'):+.2f} s to `cxaudit audit` (difference of "
        f"medians); the gate takes {med('gate') / med('alone'):.1f}× the one-process mlflow "
        "client.",
    ]
    print("\n".join(setup + lines + [diagnostic]))
    if args.no_append:
        return
    section = [
        "", f"## MLflow integration through the CLI ({datetime.now(timezone.utc):%Y-%m-%d %H:%M}"
        " UTC)", "",
        f"Command: `python benchmarks/bench_mlflow.py --repeats {args.repeats}` "
        f"(mlflow {mlflow.__version__}, real local server). Machine: {os.cpu_count()} cores; "
        f"load average {load_before[0]:.2f} / {load_before[1]:.2f} before, {load_after[0]:.2f} "
        f"/ {load_after[1]:.2f} after (1/5 min). Each `cxaudit` figure is the command in a "
        "subprocess; the mlflow client process runs in the same round.",
        "", *lines, "",
    ]
    with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as handle:
        handle.write("\n".join(section))


if __name__ == "__main__":
    main()
