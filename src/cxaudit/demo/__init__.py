"""The built-in example: a churn model deciding retention offers on real telecom data.

``build_demo(out)`` trains a scikit-learn pipeline on IBM's public telco churn
table (7,043 customers; Apache-2.0), saves it with skops, writes the held-out
customers it scores, a deterministic consent ledger and the policy, and
returns their paths. ``cxaudit demo`` then audits them exactly as
``cxaudit audit`` would.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cxaudit.resources import demo_dataset

SEED = 20261123
SNAPSHOT = "2026-10-01T00:00:00Z"
CATEGORICAL = ["Partner", "Dependents", "PhoneService", "MultipleLines", "InternetService",
               "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
               "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod"]
NUMERIC = ["tenure", "MonthlyCharges"]
# gender and SeniorCitizen are protected and deliberately not model inputs
# ("fairness through unawareness"); the audit shows what that does and does not buy.
# TotalCharges is left out: it is text with blanks for new customers and is
# close to tenure × MonthlyCharges.
FEATURES = CATEGORICAL + NUMERIC


@dataclass(frozen=True)
class DemoFiles:
    """Where the demo put its inputs."""

    policy: Path
    data: Path
    reference: Path
    model: Path
    consent: Path


def train_model(train):  # type: ignore[no-untyped-def]
    """Fit the demo's churn pipeline: one-hot categoricals + gradient-boosted trees."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    preprocess = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
         ("numeric", "passthrough", NUMERIC)],
        verbose_feature_names_out=False,
    )
    model = Pipeline([
        ("preprocess", preprocess),
        ("classifier", HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08,
                                                      max_leaf_nodes=15, random_state=SEED)),
    ])
    return model.fit(train[FEATURES], train["Churn"])


def build_demo(out: Path) -> DemoFiles:
    """Write the demo's model, data, consent ledger and policy into ``out``."""
    import pandas as pd
    import skops.io as sio
    from sklearn.model_selection import train_test_split

    from cxaudit.demo.consent import generate_ledger

    out.mkdir(parents=True, exist_ok=True)
    customers = pd.read_csv(demo_dataset())
    # The public table is one snapshot without dates; stamp it so consent is
    # checked as of the moment the customers were scored (not a model input).
    customers["snapshot_date"] = SNAPSHOT
    train, scored = train_test_split(customers, test_size=0.3, random_state=SEED,
                                     stratify=customers["Churn"])
    model = train_model(train)
    files = DemoFiles(policy=out / "policy.yaml", data=out / "customers.csv",
                      reference=out / "training.csv", model=out / "model.skops",
                      consent=out / "consent-ledger.csv")
    sio.dump(model, files.model)
    scored.to_csv(files.data, index=False)
    train.to_csv(files.reference, index=False)
    generate_ledger(customers, id_column="customerID", purpose="retention_offers", seed=SEED,
                    timestamp_column="snapshot_date").to_csv(files.consent, index=False)
    shutil.copyfile(Path(__file__).with_name("policy.yaml"), files.policy)
    return files
