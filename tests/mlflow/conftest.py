"""Fixtures: one real MLflow server per session and real registered sklearn models.

The server process starts as soon as collection finds a test that needs it, so
its ~15 s start overlaps with the tests that do not.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from mlflow_testdata import FEATURES, MODEL_NAME, POLICY, TREE_TYPES, synthetic_customers  # noqa: E402
from mlflow_testserver import MlflowServer  # noqa: E402

_SERVER: MlflowServer | None = None
_SERVER_ROOT: tempfile.TemporaryDirectory | None = None


def pytest_collection_modifyitems(session, config, items):
    """Start the server early (non-blocking) when any collected test needs it."""
    global _SERVER, _SERVER_ROOT
    if _SERVER is None and any("mlflow_server" in getattr(i, "fixturenames", ()) for i in items):
        _SERVER_ROOT = tempfile.TemporaryDirectory(prefix="cxaudit-mlflow-server-")
        _SERVER = MlflowServer(Path(_SERVER_ROOT.name)).start()


def pytest_sessionfinish(session, exitstatus):
    """Stop the server and its helpers, remove its directory."""
    if _SERVER is not None:
        _SERVER.stop()
    if _SERVER_ROOT is not None:
        _SERVER_ROOT.cleanup()


@pytest.fixture(scope="session")
def mlflow_server():
    """The session's running server (waits until it answers /health)."""
    if _SERVER is None:  # collection hook did not run (e.g. imported elsewhere)
        pytest.fail("the MLflow server was not started by the collection hook")
    return _SERVER.wait()


@pytest.fixture(scope="session")
def tracking_uri(mlflow_server):
    import mlflow

    mlflow.set_tracking_uri(mlflow_server.uri)
    return mlflow_server.uri


@dataclass(frozen=True)
class Registry:
    uri: str
    name: str
    fair_version: str
    unfair_version: str
    fair_run: str
    train_csv: Path
    policy: Path
    frame: pd.DataFrame


def _log_model(model, frame: pd.DataFrame, *, name: str, train_csv: Path | None) -> tuple[str, str]:
    import mlflow
    from mlflow.models import infer_signature

    X = frame[FEATURES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own hints (ambiguous source, int columns)
        with mlflow.start_run() as run:
            if train_csv is not None:
                dataset = mlflow.data.from_pandas(frame, source=str(train_csv), targets="churn",
                                                  name="synthetic-train")
                mlflow.log_input(dataset, context="training")
            info = mlflow.sklearn.log_model(
                model, name="model", signature=infer_signature(X, model.predict_proba(X)),
                registered_model_name=name, skops_trusted_types=TREE_TYPES,
                pip_requirements=["scikit-learn"])
    return str(info.registered_model_version), run.info.run_id


@pytest.fixture(scope="session")
def registry(tracking_uri, tmp_path_factory) -> Registry:
    """``churn-synth`` v1 (fair tree, training data logged) and v2 (leans on the proxy)."""
    import mlflow
    from sklearn.tree import DecisionTreeClassifier

    mlflow.set_experiment("cxaudit-tests")
    root = tmp_path_factory.mktemp("registry")
    frame = synthetic_customers()
    train_csv = root / "train.csv"
    frame.to_csv(train_csv, index=False)
    policy = root / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    y = (frame["churn"] == "Yes").astype(int)
    fair = DecisionTreeClassifier(max_depth=3, random_state=0).fit(frame[["tenure", "monthly"]]
                                                                   .assign(segment_code=0.0), y)
    # The unfair model learned from labels that were skewed against segment 1.
    rng = np.random.default_rng(1)
    skewed = np.where(frame["segment_code"] == 1, rng.random(len(frame)) < 0.75, y).astype(int)
    unfair = DecisionTreeClassifier(max_depth=3, random_state=0).fit(frame[FEATURES], skewed)
    fair_version, fair_run = _log_model(fair, frame, name=MODEL_NAME, train_csv=train_csv)
    unfair_version, _ = _log_model(unfair, frame, name=MODEL_NAME, train_csv=train_csv)
    return Registry(uri=tracking_uri, name=MODEL_NAME, fair_version=fair_version,
                    unfair_version=unfair_version, fair_run=fair_run, train_csv=train_csv,
                    policy=policy, frame=frame)
