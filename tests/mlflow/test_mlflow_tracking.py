"""Logging audits to MLflow: metric names, failure when the server is down."""

from __future__ import annotations

import os

import pytest
from mlflow_testserver import free_port

from cxaudit.integrations.mlflow_common import TrackingError, resolve_tracking_uri
from cxaudit.integrations.mlflow_tracking import audit_metrics, log_audit_to_mlflow
from cxaudit.result import AuditResult, CheckResult, Metric, Severity, Status, Verdict


def _result() -> AuditResult:
    check = CheckResult(
        id="offer parity", type="bias.selection_rate", status=Status.FAIL,
        severity=Severity.BLOCK, summary="s",
        metrics=(Metric(name="selection_rate", value=0.25, n=100),
                 Metric(name="selection_rate", group={"gender": "Female"}, value=0.5, n=40),
                 Metric(name="selection_rate_ratio", group={"gender": "Male"}, value=None)))
    return AuditResult(verdict=Verdict.FAIL, verdict_reason="r",
                       policy={"name": "p", "sha256": "ab" * 32}, checks=(check,), inputs={})


def test_metric_names_are_prefixed_sanitised_and_skip_undefined_values():
    metrics = audit_metrics(_result())
    assert metrics["cxaudit_verdict_pass"] == 0.0
    assert metrics["cxaudit_checks_fail"] == 1.0 and metrics["cxaudit_checks_pass"] == 0.0
    assert metrics["cxaudit_offer parity_selection_rate"] == 0.25
    assert metrics["cxaudit_offer parity_selection_rate/gender_Female"] == 0.5
    assert not [k for k in metrics if "ratio" in k]  # undefined: absent, never 0
    assert all(k.startswith("cxaudit_") for k in metrics)


def test_unreachable_server_raises_tracking_error_and_keeps_local_reports(tmp_path):
    report = tmp_path / "audit.json"
    report.write_text(_result().to_json(), encoding="utf-8")
    with pytest.raises(TrackingError, match="logging the audit to MLflow failed") as caught:
        log_audit_to_mlflow(_result(), tmp_path, tracking_uri=f"http://127.0.0.1:{free_port()}")
    assert caught.value.exit_code == 1
    assert "local reports are complete" in caught.value.hint
    assert report.read_text(encoding="utf-8") == _result().to_json()


def test_default_tracking_uri_is_sqlite_never_mlruns(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri() == "sqlite:///mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example.invalid:5000")
    assert resolve_tracking_uri() == "http://example.invalid:5000"
    assert resolve_tracking_uri("http://given") == "http://given"


def test_library_calls_leave_the_callers_tracking_uri_alone(registry, tmp_path):
    import mlflow

    from cxaudit.errors import InputError
    from cxaudit.integrations.mlflow_models import load_mlflow_model
    from cxaudit.integrations.registry_gate import run_gate

    before = (mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI"))
    with pytest.raises(InputError):
        run_gate("models:/x/1", str(registry.policy), promote_to="champion", out_dir=tmp_path,
                 tracking_uri=f"http://127.0.0.1:{free_port()}")

    load_mlflow_model(f"models:/{registry.name}/{registry.fair_version}", tracking_uri=registry.uri)
    assert (mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI")) == before
