"""Benchmark the explainability section: five explain.* checks on a large LightGBM audit.

Generates (once, under benchmarks/data/) a telco-shaped table of ``--rows`` rows
by resampling the real telco churn customers with jittered numbers and fresh
ids, trains a ``--trees``-tree LightGBM pipeline (ordinal-encoded categoricals)
on a 100,000-row slice, builds the audit context (predictions for every row:
the audit's shared prediction step, timed separately) and then times the five
explain.* checks with the default sample (2,000 rows). Prints the figures and,
with ``--record``, appends them to benchmarks/RESULTS.md.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    from cxaudit.context import build_context
    from cxaudit.engines.local import LocalEngine
    from cxaudit.loaders.model import from_estimator
    from cxaudit.policy.loader import load_policy
    from cxaudit.runner import run_check

    load_before = os.getloadavg()
    clock = time.perf_counter()
    frame = make_data(args.rows)
    model = make_model(frame, args.trees)
    prepared = time.perf_counter() - clock
    policy_path = DATA / "bench-explain-policy.yaml"
    policy_path.write_text(POLICY)
    policy = load_policy(policy_path)

    clock = time.perf_counter()
    ctx = build_context(policy, frame, LocalEngine(), model=from_estimator(model))
    context_s = time.perf_counter() - clock

    timings, results = [], []
    cpu = time.process_time()
    section = time.perf_counter()
    for params in policy.checks:
        clock = time.perf_counter()
        result = run_check(params, ctx)
        timings.append((params.type, time.perf_counter() - clock))
        results.append(result)
    section_s = time.perf_counter() - section
    section_cpu = time.process_time() - cpu
    load_after = os.getloadavg()

    details = results[0].details
    lines = [
        f"rows {args.rows:,}; LightGBM {args.trees} trees × 31 leaves, {len(FEATURES)} features",
        f"data + model ready (cached after first run): {prepared:.1f} s",
        f"build_context (predict every row, shared by all families): {context_s:.1f} s",
        f"explainability section, 5 checks: {section_s:.1f} s wall, {section_cpu:.1f} s CPU "
        "(this process, all threads)",
        *(f"  {t:<28} {s:6.2f} s" for t, s in timings),
        f"  of which: sample {details.get('seconds', {}).get('sample', float('nan')):.2f} s, "
        f"SHAP (incl. shap import) {details.get('seconds', {}).get('shap', float('nan')):.2f} s, "
        f"bootstrap {details.get('seconds', {}).get('bootstrap', float('nan')):.2f} s",
        f"explainer: {details.get('explainer')}; sample {details.get('sample_size')} of "
        f"{details.get('population')}; additivity max error "
        f"{details.get('additivity_max_error', float('nan')):.2g} ({details.get('output_space')})",
        *(f"  {r.id}: {r.status.value} — {r.summary[:150]}" for r in results),
        f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
        f"({os.cpu_count()} cores)",
    ]
    print("\n".join(lines))
    if args.record:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        busy = load_before[0] > 1.5 or load_after[0] > 1.5
        note = ("other agents were using the CPU during this run (load above), so these are "
                "upper bounds" if busy else "machine otherwise idle")
        block = [
            "", f"## explain — explainability section (issue 6), {stamp}", "",
            f"Command: `python benchmarks/bench_explain.py --rows {args.rows} --trees "
            f"{args.trees} --record` (Python {platform.python_version()}). Machine load: {note}.",
            "", "```", *lines, "```", "",
        ]
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write("\n".join(block))


if __name__ == "__main__":
    main()
