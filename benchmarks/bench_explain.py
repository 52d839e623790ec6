"""Benchmark the explainability section: five explain.* checks on a large LightGBM audit.

Generates (once, under benchmarks/data/) a telco-shaped table of ``--rows`` rows
by resampling the real telco churn customers with jittered numbers and fresh
ids, trains a ``--trees``-tree LightGBM pipeline (ordinal-encoded categoricals)
on a 100,000-row slice, builds the audit context (predictions for every row:
the audit's shared prediction step, timed separately) and then times the five
explain.* checks with the default sample (2,000 rows) through the ``cxaudit audit``
command (a subprocess), beside shap alone doing the same work in one process. Prints the
figures and, with ``--record``, appends them to benchmarks/RESULTS.md.

    python benchmarks/bench_explain.py --record
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
CATEGORICAL = ["Partner", "Dependents", "PhoneService", "MultipleLines", "InternetService",
               "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
               "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod"]
NUMERIC = ["tenure", "MonthlyCharges"]
FEATURES = CATEGORICAL + NUMERIC

POLICY = """\
cxaudit: 1
system: {name: bench-telco-churn, intervention: assistive}
data:
  id: customerID
  label: Churn
  positive: "Yes"
  protected: [gender, SeniorCitizen]
  intersections: [[gender, SeniorCitizen]]
checks:
  - {id: drivers, type: explain.global_importance}
  - id: protected
    type: explain.protected_driver
    proxies: {gender: [Partner, Dependents], SeniorCitizen: [PaymentMethod, Dependents]}
  - {id: divergence, type: explain.group_divergence}
  - {id: reasons, type: explain.reason_codes, positive_outcome: offered a retention discount}
  - {id: stability, type: explain.stability}
"""


def make_data(rows: int, seed: int = 7):  # type: ignore[no-untyped-def]
    """Telco-shaped rows: resampled real customers, jittered numbers, unique ids (cached)."""
    import numpy as np
    import pandas as pd

    from cxaudit.resources import demo_dataset

    path = DATA / f"telco-{rows}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    base = pd.read_csv(demo_dataset())
    rng = np.random.default_rng(seed)
    frame = base.iloc[rng.integers(0, len(base), size=rows)].reset_index(drop=True)
    frame["tenure"] = np.clip(frame["tenure"] + rng.integers(-2, 3, size=rows), 0, 72)
    frame["MonthlyCharges"] = np.round(frame["MonthlyCharges"] * rng.uniform(0.95, 1.05, rows), 2)
    frame["customerID"] = [f"C{i:08d}" for i in range(rows)]
    DATA.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return frame


def make_model(frame, trees: int):  # type: ignore[no-untyped-def]
    """Ordinal-encoded categoricals → LightGBM with ``trees`` trees (cached with joblib)."""
    import joblib
    import lightgbm as lgb
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    path = DATA / f"lgbm-{trees}-{len(frame)}.joblib"
    if path.exists():
        return joblib.load(path)
    encode = ColumnTransformer(
        [("categorical", OrdinalEncoder(), CATEGORICAL), ("numeric", "passthrough", NUMERIC)],
        verbose_feature_names_out=False).set_output(transform="pandas")
    model = Pipeline([("encode", encode),
                      ("lgbm", lgb.LGBMClassifier(n_estimators=trees, num_leaves=31,
                                                  learning_rate=0.03, verbose=-1,
                                                  random_state=0, n_jobs=2))])
    train = frame.iloc[:100_000]
    model.fit(train[FEATURES], train["Churn"])
    joblib.dump(model, path)
    return model


#: The comparable tool: shap alone on the same model — load, predict every row (as the audit
#: does once for all checks), TreeSHAP on a 2,000-row sample — in one process.
SHAP_ALONE = """import sys, time
start = time.perf_counter()
import joblib, pandas as pd, shap
frame = pd.read_parquet(sys.argv[1])
model = joblib.load(sys.argv[2])
features = sys.argv[3].split(",")
model.predict_proba(frame[features])
sample = frame.sample(2000, random_state=0)[features]
encoded = model[:-1].transform(sample)
shap.TreeExplainer(model[-1]).shap_values(encoded)
print(time.perf_counter() - start)
"""


def main() -> None:
    import json
    import statistics
    import sys

    sys.path.insert(0, str(HERE))
    from bench_families import timed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    clock = time.perf_counter()
    frame = make_data(args.rows)
    make_model(frame, args.trees)
    prepared = time.perf_counter() - clock
    data_path = DATA / f"telco-{args.rows}.parquet"
    model_path = DATA / f"lgbm-{args.trees}-{args.rows}.joblib"
    policy_path = DATA / "bench-explain-policy.yaml"
    policy_path.write_text(POLICY)
    out = DATA / "explain-out"
    cxaudit = str(Path(sys.executable).with_name("cxaudit"))
    command = [cxaudit, "audit", "--policy", str(policy_path), "--data", str(data_path),
               "--model", str(model_path), "--trust-model", "--out", str(out), "--format",
               "json", "--no-trail"]
    alone = [sys.executable, "-c", SHAP_ALONE, str(data_path), str(model_path),
             ",".join(FEATURES)]
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {"cxaudit": [], "shap": []}
    for _ in range(args.rounds):
        runs["shap"].append(timed(alone))
        runs["cxaudit"].append(timed(command))
        if runs["cxaudit"][-1]["exit"] not in (0, 1):
            raise SystemExit(f"cxaudit audit exited {runs['cxaudit'][-1]['exit']}")
    load_after = os.getloadavg()
    result = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    seconds = result["run"]["check_seconds"]

    def median(name: str, key: str = "wall") -> float:
        return statistics.median(r[key] for r in runs[name])

    lines = [
        f"rows {args.rows:,}; LightGBM {args.trees} trees × 31 leaves, {len(FEATURES)} features",
        f"data + model ready (cached after first run): {prepared:.1f} s",
        f"cxaudit audit (subprocess, median of {args.rounds}): {median('cxaudit'):.2f} s wall, "
        f"{median('cxaudit', 'cpu'):.1f} CPU-s, peak "
        f"{max(r['peak_mb'] for r in runs['cxaudit']):.0f} MB; rounds "
        + ", ".join(f"{r['wall']:.2f}" for r in runs["cxaudit"]),
        f"  inside the audit (inputs read → result): {result['run']['duration_s']:.2f} s; "
        f"explainability section {sum(seconds.values()):.2f} s",
        *(f"    {c['id']:<12} {c['type']:<28} {seconds[c['id']]:6.2f} s  {c['status']}"
          for c in result["checks"]),
        f"shap alone (load, predict every row, TreeSHAP on 2,000 rows; one process): "
        f"{median('shap'):.2f} s wall, {median('shap', 'cpu'):.1f} CPU-s, peak "
        f"{max(r['peak_mb'] for r in runs['shap']):.0f} MB",
        f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
        f"({os.cpu_count()} cores)",
    ]
    print("\n".join(lines))
    if args.record:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        block = [
            "", f"## explain — explainability section through the CLI, {stamp}", "",
            f"Command: `python benchmarks/bench_explain.py --rows {args.rows} --trees "
            f"{args.trees} --rounds {args.rounds} --record` (Python "
            f"{platform.python_version()}); no other work running.",
            "", "```", *lines, "```", "",
        ]
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write("\n".join(block))


if __name__ == "__main__":
    main()
