"""The ``cxaudit`` evaluator plugin inside ``mlflow.models.evaluate`` (real server)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
from fairlearn.metrics import MetricFrame, selection_rate
from mlflow_testdata import FEATURES

from cxaudit.integrations.mlflow_evaluator import CxauditEvaluator

CHECK = "offer-rate-parity"


def _evaluate(registry, version, data=None, **kwargs):
    import mlflow

    data = registry.frame.drop(columns=["customer"]) if data is None else data
    with mlflow.start_run() as run, warnings.catch_warnings():
        # MLflow's evaluate warns about its own internals (dataset digests under pandas 3).
        warnings.simplefilter("ignore")
        result = mlflow.models.evaluate(f"models:/{registry.name}/{version}", data,
                                        targets="churn", model_type="classifier", **kwargs)
    return result, run.info.run_id


def test_can_evaluate_only_when_a_policy_is_named():
    assert CxauditEvaluator.can_evaluate(model_type="classifier", evaluator_config={"policy": "p"})
    assert not CxauditEvaluator.can_evaluate(model_type="classifier", evaluator_config={})
    assert not CxauditEvaluator.can_evaluate(model_type="classifier", evaluator_config=None)
    assert not CxauditEvaluator.can_evaluate(model_type="classifier",
                                             evaluator_config={"log_model_explainability": False})


def test_evaluate_with_cxaudit_logs_metrics_reports_and_verdict(registry):
    from mlflow import MlflowClient

    result, run_id = _evaluate(registry, registry.unfair_version, evaluators=["cxaudit"],
                               evaluator_config={"cxaudit": {"policy": str(registry.policy)}})
    assert result.metrics and all(k.startswith("cxaudit_") for k in result.metrics)
    client = MlflowClient()
    run = client.get_run(run_id)
    assert run.data.tags["cxaudit.verdict"] == "fail"
    assert "cxaudit/audit.json" in [a.path for a in client.list_artifacts(run_id, "cxaudit")]
    # Independent reference: fairlearn on raw rows, predictions from the sklearn flavor.
    import mlflow

    model = mlflow.sklearn.load_model(f"models:/{registry.name}/{registry.unfair_version}")
    frame = registry.frame
    decided = (model.predict_proba(frame[list(model.feature_names_in_)])[:, 1] >= 0.5).astype(int)
    rates = MetricFrame(metrics=selection_rate, y_true=decided, y_pred=decided,
                        sensitive_features=frame["gender"]).by_group
    for gender, rate in rates.items():
        key = f"cxaudit_{CHECK}_selection_rate/gender_{gender}"
        assert run.data.metrics[key] == pytest.approx(rate, abs=1e-12)
        assert result.metrics[key] == pytest.approx(rate, abs=1e-12)
    assert run.data.metrics["cxaudit_verdict_pass"] == 0.0
    assert result.artifacts["cxaudit_audit"].content["verdict"] == "fail"


def test_plain_evaluate_does_not_run_cxaudit(registry):
    from mlflow import MlflowClient

    # evaluators=None runs every registered evaluator whose can_evaluate is true; the flat
    # config reaches cxaudit too, and names no policy.
    # MLflow's own classifier evaluator feeds every non-target column to the model and
    # compares labels with predictions as they are (0/1 here).
    data = registry.frame[FEATURES].assign(churn=(registry.frame["churn"] == "Yes").astype(int))
    result, run_id = _evaluate(registry, registry.fair_version, data,
                               evaluator_config={"log_model_explainability": False})
    assert result.metrics, "the default evaluator should have run"
    assert not [k for k in result.metrics if k.startswith("cxaudit_")]
    run = MlflowClient().get_run(run_id)
    assert "cxaudit.verdict" not in run.data.tags
    assert not [k for k in run.data.metrics if k.startswith("cxaudit_")]


def test_evaluator_module_is_cheap_to_import():
    code = (
        "import sys; import mlflow.models.evaluation.base; before = set(sys.modules);"
        "import cxaudit.integrations.mlflow_evaluator;"
        "new = set(sys.modules) - before;"
        "heavy = sorted(m for m in new if m.split('.')[0] in "
        "{'sklearn', 'shap', 'great_expectations', 'fairlearn', 'scipy'} "
        "or m.startswith(('cxaudit.runner', 'cxaudit.checks', 'cxaudit.context')));"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == ""


def test_evaluate_static_predictions_audits_the_prediction_column(registry):
    import mlflow
    from mlflow import MlflowClient

    frame = registry.frame.drop(columns=["customer"])
    # Predictions in the label's vocabulary: "Yes" for every woman, "No" for every man.
    data = frame.assign(offer=frame["gender"].map({"Female": "Yes", "Male": "No"}))
    with mlflow.start_run() as run, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mlflow.models.evaluate(data=data, targets="churn", predictions="offer",
                                        model_type="classifier", evaluators=["cxaudit"],
                                        evaluator_config={"cxaudit": {"policy": str(registry.policy)}})
    assert result.metrics[f"cxaudit_{CHECK}_selection_rate/gender_Female"] == 1.0
    assert result.metrics[f"cxaudit_{CHECK}_selection_rate/gender_Male"] == 0.0
    assert MlflowClient().get_run(run.info.run_id).data.tags["cxaudit.verdict"] == "fail"
