"""Register two telco churn models in MLflow for trying ``cxaudit gate``.

    python scripts/mlflow_register_demo.py --tracking-uri http://127.0.0.1:5055 --out DIR

Writes DIR/telco-train.csv (IBM telco churn data, Apache-2.0, with three derived
0/1 columns), logs it as each run's training input (``mlflow.log_input``, context
``training``) and registers ``telco-churn``:

- v1: a depth-4 tree on tenure, MonthlyCharges and month-to-month contract;
- v2: the same plus fiber-optic and electronic-check flags, which widen the gap
  in retention offers between senior and younger customers.

Both are scikit-learn trees saved with skops (their tree type declared trusted).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.tree import DecisionTreeClassifier

DATA = Path(__file__).resolve().parents[1] / "src/cxaudit/demo/data/telco-customer-churn.csv"
V1 = ["tenure", "MonthlyCharges", "month_to_month"]
V2 = [*V1, "fiber", "electronic_check"]


def prepare(out: Path) -> tuple[pd.DataFrame, Path]:
    frame = pd.read_csv(DATA)
    frame["tenure"] = frame["tenure"].astype(float)
    frame["month_to_month"] = (frame["Contract"] == "Month-to-month").astype(float)
    frame["fiber"] = (frame["InternetService"] == "Fiber optic").astype(float)
    frame["electronic_check"] = (frame["PaymentMethod"] == "Electronic check").astype(float)
    path = out / "telco-train.csv"
    frame.to_csv(path, index=False)
    return pd.read_csv(path), path


def register(frame: pd.DataFrame, path: Path, features: list[str], name: str) -> str:
    y = (frame["Churn"] == "Yes").astype(int)
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(frame[features], y)
    with warnings.catch_warnings(), mlflow.start_run(run_name=f"{name} {len(features)} features"):
        warnings.simplefilter("ignore")
        mlflow.log_input(mlflow.data.from_pandas(frame, source=str(path), targets="Churn",
                                                 name="telco-train"), context="training")
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=name,
            signature=infer_signature(frame[features], model.predict_proba(frame[features])),
            skops_trusted_types=["sklearn.tree._tree.Tree"], pip_requirements=["scikit-learn"])
    return str(info.registered_model_version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--name", default="telco-churn")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment("telco-churn-training")
    frame, path = prepare(args.out)
    for features in (V1, V2):
        version = register(frame, path, features, args.name)
        print(f"registered models:/{args.name}/{version} on {', '.join(features)}")


if __name__ == "__main__":
    main()
