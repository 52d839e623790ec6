"""Time bias.slices, bias.shift_stress and explain.counterfactual_flip at 1M rows.

Each check runs alone in its own ``cxaudit audit`` subprocess on the same 1,000,000-row
Parquet file (20 features: 10 categorical, 10 numeric; 2 protected attributes; a
gradient-boosting model predicting from the 10 numeric features and ``sex``), beside a baseline
audit with one trivial check (load + predict + reports). Usage:

    python benchmarks/bench_issue20.py [ROWS] [WORKDIR]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def build(folder: Path, rows: int) -> list[str]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from skops.io import dump

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{i}": rng.choice([f"v{j}" for j in range(6)], rows)
                          for i in range(10)})
    for i in range(10):
        frame[f"n{i}"] = rng.normal(size=rows).round(3)
    frame["sex"] = rng.integers(0, 2, rows)
    frame["age_band"] = rng.choice(["18-30", "31-50", "51+"], rows)
    logit = frame["n0"] + 0.5 * frame["sex"] + (frame["c0"] == "v0") * 0.8 - 0.3
    frame["y"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    features = [f"n{i}" for i in range(10)] + ["sex"]
    model = HistGradientBoostingClassifier(max_iter=50, random_state=0)
    model.fit(frame[features].head(20_000), frame["y"].head(20_000))
    dump(model, folder / "m.skops")
    frame.to_parquet(folder / "d.parquet", index=False)
    return features


def policy(features: list[str], check: dict) -> dict:
    return {"cxaudit": 1, "system": {"name": "bench", "intervention": "assistive"},
            "data": {"label": "y", "protected": ["sex", "age_band"], "features": features},
            "checks": [check]}


def main() -> None:
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    features = build(folder, ROWS)
    slice_columns = [f"c{i}" for i in range(10)] + [f"n{i}" for i in range(10)]
    checks = {
        "baseline": {"id": "b", "type": "data.required_columns", "columns": ["y"]},
        "bias.slices": {"id": "s", "type": "bias.slices", "features": slice_columns,
                        "metric": "error_rate"},
        "bias.shift_stress": {"id": "h", "type": "bias.shift_stress", "scenarios": [
            {"name": "s1", "feature": "c1", "target": {f"v{j}": 1 / 6 for j in range(6)}},
            {"name": "s2", "feature": "n1", "edges": [0.0], "target": [0.7, 0.3]},
            {"name": "s3", "feature": "c2", "within": "population",
             "target": {"v0": 0.5, "v1": 0.1, "v2": 0.1, "v3": 0.1, "v4": 0.1, "v5": 0.1}}]},
        "explain.counterfactual_flip": {"id": "f", "type": "explain.counterfactual_flip",
                                        "proxies": {"sex": ["n0"]}},
    }
    for name, check in checks.items():
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(policy(features, check), sort_keys=False))
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "cxaudit", "-q", "audit", "--policy",
                               str(path), "--data", str(folder / "d.parquet"), "--model",
                               str(folder / "m.skops"), "--out", str(folder / f"out-{name}")],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
        print(f"{name:<30} exit {proc.returncode}  {seconds:6.2f} s", flush=True)
        if proc.returncode not in (0, 1):
            print(proc.stderr[-2000:])


if __name__ == "__main__":
    main()
