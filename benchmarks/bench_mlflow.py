"""Time the MLflow integration against a real local server.

    python benchmarks/bench_mlflow.py [--repeats 3] [--no-append]

Starts ``mlflow server`` (SQLite, 127.0.0.1, one worker, job execution off),
registers the telco demo models (7,043 rows), then times: server start to
``/health``; resolving + downloading + loading a pinned version; ``run_gate``
end to end (lineage data, audit, reports, logging, tagging, alias); logging an
audit alone; the extra import cost of the evaluator plugin. Prints the figures
and appends them to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "mlflow"))
sys.path.insert(0, str(ROOT / "scripts"))


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})"


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

    from cxaudit.integrations.mlflow_models import load_mlflow_model
    from cxaudit.integrations.mlflow_tracking import log_audit_to_mlflow
    from cxaudit.integrations.registry_gate import run_gate

    figures: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="cxaudit-bench-mlflow-") as tmp:
        root = Path(tmp)
        server = MlflowServer(root / "server")
        started = time.perf_counter()
        server.start().wait(timeout=240)
        figures.append(("server start → /health (pre-migrated SQLite copy when cached)",
                        f"{time.perf_counter() - started:.1f} s"))
        try:
            mlflow.set_tracking_uri(server.uri)
            mlflow.set_experiment("bench")
            frame, path = prepare(root)
            started = time.perf_counter()
            version = register(frame, path, V1, "telco-churn")
            figures.append(("log + register one sklearn tree (client side)",
                            f"{time.perf_counter() - started:.1f} s"))
            uri = f"models:/telco-churn/{version}"
            loads, gates, logs = [], [], []
            policy = str(ROOT / "scripts" / "mlflow-demo-policy.yaml")
            for index in range(args.repeats):
                started = time.perf_counter()
                load_mlflow_model(uri, tracking_uri=server.uri)
                loads.append(time.perf_counter() - started)
                started = time.perf_counter()
                outcome = run_gate(uri, policy, promote_to="champion",
                                   out_dir=root / f"gate{index}", tracking_uri=server.uri)
                gates.append(time.perf_counter() - started)
                started = time.perf_counter()
                log_audit_to_mlflow(outcome.result, root / f"gate{index}", model_uri=uri,
                                    tracking_uri=server.uri)
                logs.append(time.perf_counter() - started)
            figures += [
                ("resolve + download + pyfunc load of a pinned version", _median(loads)),
                ("`run_gate` end to end, 7,043 rows from lineage, 2 checks, 4 report formats",
                 _median(gates)),
                ("log an audit as a run + tag the version (1 run, ~15 metrics, 4 files)",
                 _median(logs)),
            ]
        finally:
            server.stop()
    figures.append(("import cxaudit's evaluator plugin after mlflow.models.evaluation",
                    f"{_evaluator_import_cost() * 1000:.1f} ms"))

    load = os.getloadavg()
    lines = [f"- {name}: {value}" for name, value in figures]
    print("\n".join(lines))
    if args.no_append:
        return
    section = [
        "", f"## MLflow integration ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
        f"Command: `python benchmarks/bench_mlflow.py --repeats {args.repeats}` "
        f"(mlflow {mlflow.__version__}, real local server).",
        f"Machine load while measuring: 1/5/15-min load averages {load[0]:.1f}/{load[1]:.1f}/"
        f"{load[2]:.1f} on 2 cores — other agents were running, so absolute times are inflated.",
        "", *lines, "",
    ]
    with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as handle:
        handle.write("\n".join(section))


if __name__ == "__main__":
    main()
