"""Tiny real models (fitted once per session) and policy helpers for the explain tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxaudit.context import build_context
from cxaudit.engines.local import LocalEngine
from cxaudit.loaders.model import from_estimator
from cxaudit.policy.loader import load_policy

CATEGORICAL = ["Partner", "Dependents", "PhoneService", "MultipleLines", "InternetService",
               "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
               "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod"]
NUMERIC = ["tenure", "MonthlyCharges"]
FEATURES = CATEGORICAL + NUMERIC

POLICY = """\
cxaudit: 1
system: {{name: telco-test, intervention: {intervention}}}
data:
  id: customerID
  label: Churn
  positive: "Yes"
  protected: [gender, SeniorCitizen]
  intersections: [[gender, SeniorCitizen]]
{data_extra}
checks:
{checks}
"""


def demo_pipeline(max_iter: int = 30, features: list[str] | None = None):  # type: ignore[no-untyped-def]
    """The demo's model shape: one-hot categoricals + passthrough numerics → HGB trees."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    features = features or FEATURES
    categorical = [c for c in features if c not in NUMERIC]
    numeric = [c for c in features if c in NUMERIC]
    preprocess = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
         ("numeric", "passthrough", numeric)],
        verbose_feature_names_out=False,
    )
    return Pipeline([("preprocess", preprocess),
                     ("classifier", HistGradientBoostingClassifier(
                         max_iter=max_iter, learning_rate=0.1, max_leaf_nodes=8,
                         random_state=0))])


@pytest.fixture(scope="session")
def split(telco_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows and audited rows of the real telco table (fixed, disjoint)."""
    shuffled = telco_frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    return shuffled.iloc[:2500].reset_index(drop=True), shuffled.iloc[2500:3700].reset_index(
        drop=True)


@pytest.fixture(scope="session")
def pipeline(split):  # type: ignore[no-untyped-def]
    """A fitted demo-shaped pipeline."""
    train, _ = split
    return demo_pipeline().fit(train[FEATURES], train["Churn"])


@pytest.fixture(scope="session")
def policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("policies")


@pytest.fixture(scope="session")
def make_policy(policy_dir: Path):  # type: ignore[no-untyped-def]
    """Write a telco policy with the given check declarations (YAML list items) and load it."""
    counter = iter(range(10_000))

    def make(checks: str, intervention: str = "assistive",  # type: ignore[no-untyped-def]
             data_extra: str = ""):
        path = policy_dir / f"policy-{next(counter)}.yaml"
        body = "\n".join("  " + line for line in checks.strip("\n").splitlines())
        extra = "\n".join("  " + line for line in data_extra.strip("\n").splitlines())
        path.write_text(POLICY.format(intervention=intervention, checks=body, data_extra=extra))
        return load_policy(path)

    return make


@pytest.fixture(scope="session")
def make_context():  # type: ignore[no-untyped-def]
    """Build an audit context for a policy, rows and an estimator (or a LoadedModel)."""
    def make(policy, frame, model, seed: int = 0):  # type: ignore[no-untyped-def]
        loaded = model if hasattr(model, "estimator") else from_estimator(model)
        return build_context(policy, frame, LocalEngine(), model=loaded, seed=seed)

    return make


def aggregate_by_prefix(values: np.ndarray, columns: list[str], features: list[str]) -> np.ndarray:
    """Independent one-hot aggregation: a column belongs to the feature it is named after."""
    out = np.zeros((values.shape[0], len(features)))
    for j, column in enumerate(columns):
        owners = [i for i, f in enumerate(features) if column == f or column.startswith(f + "_")]
        owner = max(owners, key=lambda i: len(features[i]))
        out[:, owner] += values[:, j]
    return out
