"""The work behind the ``cxaudit`` evaluator plugin (imported only when it runs)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from cxaudit.errors import InputError
from cxaudit.integrations.mlflow_tracking import ARTIFACT_DIR, audit_metrics
from cxaudit.result import InputRecord


def _with_data(policy: Any, **changes: Any) -> Any:
    """A copy of ``policy`` whose ``data`` section has ``changes`` applied."""
    return policy.model_copy(update={"data": policy.data.model_copy(update=changes)})


def evaluation_frame(dataset: Any, policy: Any, *, with_model: bool) -> tuple[Any, Any]:
    """Rebuild one table (features + labels [+ predictions]) from MLflow's dataset.

    The label goes under the policy's ``data.label`` (else the evaluate ``targets``
    name); static predictions (no model) under ``data.prediction``.
    """
    import pandas as pd

    features = dataset.features_data
    if not isinstance(features, pd.DataFrame):
        raise InputError("the cxaudit evaluator needs a pandas DataFrame (named columns: "
                         "protected attributes, features, target)",
                         hint="pass data= as a DataFrame to mlflow.models.evaluate")
    frame = features.copy()
    if dataset.has_targets:
        column = policy.data.label or dataset.targets_name or "label"
        frame[column] = pd.Series(dataset.labels_data, index=frame.index)
        if policy.data.label is None:
            policy = _with_data(policy, label=column)
    if not with_model and dataset.has_predictions:
        column = policy.data.prediction or dataset.predictions_name or "prediction"
        frame[column] = pd.Series(dataset.predictions_data, index=frame.index)
        if policy.data.prediction is None:
            policy = _with_data(policy, prediction=column)
    return frame, policy


def evaluate_with_policy(*, dataset: Any, run_id: str, config: dict, model: Any = None,
                         model_id: str | None = None) -> Any:
    """Audit inside ``mlflow.models.evaluate`` and log the outcome to ``run_id``.

    Logs every ``cxaudit_`` metric, the reports under ``cxaudit/``, and the tags
    ``cxaudit.verdict`` and ``cxaudit.policy_sha256`` on the evaluation run.
    """
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    from mlflow.models.evaluation import EvaluationResult
    from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact

    from cxaudit.engines import get_engine
    from cxaudit.integrations.mlflow_models import loaded_from_pyfunc
    from cxaudit.integrations.registry_gate import write_reports
    from cxaudit.policy.loader import load_policy
    from cxaudit.runner import audit_loaded

    policy = load_policy(str(config["policy"]))
    frame, policy = evaluation_frame(dataset, policy, with_model=model is not None)
    loaded = None
    if model is not None:
        source = f"models:/{model_id}" if model_id else f"runs:/{run_id} (evaluated pyfunc model)"
        loaded = loaded_from_pyfunc(model, source=source, sha256=None)
    record = InputRecord(kind="data", path=str(dataset.name), sha256=None, rows=len(frame),
                         detail={"origin": "mlflow.models.evaluate", "mlflow_digest": dataset.hash,
                                 "run_id": run_id})
    result = audit_loaded(policy, frame, engine=get_engine("local"), model=loaded,
                          seed=int(config.get("seed", 0)), records={"data": record})
    client = MlflowClient()
    with tempfile.TemporaryDirectory(prefix="cxaudit-eval-") as scratch:
        out = Path(config.get("out_dir") or scratch)
        write_reports(result, out, ("json", "md", "html"))
        client.log_artifacts(run_id, str(out), ARTIFACT_DIR)
    metrics = audit_metrics(result)
    entries = [Metric(k, v, 0, 0) for k, v in sorted(metrics.items())]
    for start in range(0, len(entries), 900):
        client.log_batch(run_id, metrics=entries[start:start + 900])
    client.set_tag(run_id, "cxaudit.verdict", result.verdict.value)
    client.set_tag(run_id, "cxaudit.policy_sha256", str(result.policy.get("sha256")))
    artifact_uri = f"{client.get_run(run_id).info.artifact_uri}/{ARTIFACT_DIR}/audit.json"
    artifacts = {"cxaudit_audit": JsonEvaluationArtifact(
        uri=artifact_uri, content=json.loads(result.to_json()))}
    return EvaluationResult(metrics=metrics, artifacts=artifacts, run_id=run_id)
