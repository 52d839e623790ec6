"""Record an audit in MLflow: a run with params, metrics and reports; tags on the version.

The run holds the policy and data hashes as params, every measured number as a
metric prefixed ``cxaudit_``, and the report files as artifacts under
``cxaudit/``. The audited model version gets the tags ``cxaudit.verdict``,
``cxaudit.run_id`` and ``cxaudit.policy_sha256``.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

from cxaudit.integrations.mlflow_common import (
    TrackingError,
    resolve_tracking_uri,
    unreachable_reason,
)
from cxaudit.result import AuditResult, Verdict

PREFIX = "cxaudit_"
DEFAULT_EXPERIMENT = "cxaudit"
ARTIFACT_DIR = "cxaudit"
_UNSAFE = re.compile(r"[^0-9A-Za-z_\-. /:]")


def metric_key(*parts: str) -> str:
    """``cxaudit_`` + parts joined with ``_``, characters MLflow rejects replaced."""
    return _UNSAFE.sub("_", PREFIX + "_".join(p for p in parts if p))[:250]


def audit_metrics(result: AuditResult) -> dict[str, float]:
    """Every number of an audit as MLflow metrics (``cxaudit_`` prefix).

    ``cxaudit_verdict_pass`` (1/0), ``cxaudit_checks_<status>`` (counts), then per
    check ``cxaudit_<check>_<metric>`` overall and ``…/<attr>=<value>`` per group
    (``=`` written as ``_``). Undefined values are left out, never logged as 0.
    """
    metrics: dict[str, float] = {metric_key("verdict_pass"): float(result.verdict is Verdict.PASS)}
    for status, count in result.counts().items():
        metrics[metric_key("checks", status)] = float(count)
    for check in result.checks:
        for metric in check.metrics:
            if metric.value is None:
                continue
            key = metric_key(check.id, metric.name)
            if metric.group:
                key += "/" + "/".join(f"{k}_{v}" for k, v in sorted(metric.group.items()))
                key = _UNSAFE.sub("_", key)[:250]
            metrics.setdefault(key, float(metric.value))
    return metrics


def audit_params(result: AuditResult, *, model_uri: str | None = None) -> dict[str, str]:
    """Params that identify what was audited: hashes, sizes, origin, versions."""
    params: dict[str, Any] = {
        "cxaudit.policy_name": result.policy.get("name"),
        "cxaudit.policy_sha256": result.policy.get("sha256"),
        "cxaudit.policy_resolved_sha256": result.policy.get("resolved_sha256"),
        "cxaudit.seed": result.settings.get("seed"),
        "cxaudit.version": result.versions.get("cxaudit"),
        "cxaudit.model_uri": model_uri,
    }
    for kind, record in sorted(result.inputs.items()):
        if kind == "policy":
            continue
        params[f"cxaudit.{kind}_sha256"] = record.sha256
        params[f"cxaudit.{kind}_rows"] = record.rows
        params[f"cxaudit.{kind}_file"] = record.path
        origin = record.detail.get("origin")
        if origin:
            params[f"cxaudit.{kind}_origin"] = origin
        if record.detail.get("source"):
            params[f"cxaudit.{kind}_source"] = str(record.detail["source"])[:500]
    return {k: str(v) for k, v in params.items() if v is not None}


def version_tags(result: AuditResult, run_id: str) -> dict[str, str]:
    """Tags set on the audited model version."""
    return {"cxaudit.verdict": result.verdict.value, "cxaudit.run_id": run_id,
            "cxaudit.policy_sha256": str(result.policy.get("sha256"))}


def _experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name)


def log_audit_to_mlflow(result: AuditResult, report_dir: str | Path | None, *,
                        model_uri: str | None = None, tracking_uri: str | None = None,
                        experiment: str | None = None) -> str:
    """Log an audit as an MLflow run and tag the audited model version.

    Parameters
    ----------
    result
        The finished audit.
    report_dir
        Directory of report files to attach (all files, under ``cxaudit/``); None: only
        ``audit.json`` is written from ``result``.
    model_uri
        The audited model. ``models:/NAME/VERSION`` (or ``@ALIAS``, resolved) tags that
        version; other URIs are recorded as a param only.
    tracking_uri
        Default ``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``.
    experiment
        Experiment name; default ``MLFLOW_EXPERIMENT_NAME`` or ``cxaudit``.

    Returns
    -------
    str
        The run id.

    Raises
    ------
    TrackingError
        The server is unreachable or refused the record (exit 1: nothing may pass on
        an audit that was not recorded). Local reports are untouched.
    """
    import tempfile

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    uri = resolve_tracking_uri(tracking_uri)
    reason = unreachable_reason(uri)
    if reason is not None:
        raise TrackingError(f"logging the audit to MLflow failed: cannot reach {uri} ({reason})",
                            hint="the local reports are complete; start the tracking server "
                                 "or fix --tracking-uri, then log again")
    client = MlflowClient(tracking_uri=uri)
    run_id = None
    try:
        ref = _model_ref(model_uri, uri, client)
        pinned = ref.pinned_uri if ref else model_uri
        name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        system = result.system.get("name") or result.policy.get("name") or "audit"
        run = client.create_run(
            _experiment_id(client, name),
            run_name=f"cxaudit {system} {result.verdict.value}",
            tags={"cxaudit.verdict": result.verdict.value,
                  "cxaudit.policy_sha256": str(result.policy.get("sha256")),
                  **({"cxaudit.model_uri": pinned} if pinned else {})})
        run_id = run.info.run_id
        params = [Param(k, v) for k, v in sorted(audit_params(result, model_uri=pinned).items())]
        metrics = [Metric(k, v, 0, 0) for k, v in sorted(audit_metrics(result).items())]
        for start in range(0, max(len(metrics), 1), 900):
            client.log_batch(run_id, metrics=metrics[start:start + 900],
                             params=params if start == 0 else [])
        folder = Path(report_dir) if report_dir else None
        if folder is not None and folder.is_dir():
            client.log_artifacts(run_id, str(folder), ARTIFACT_DIR)
        if folder is None or not (folder / "audit.json").is_file():
            with tempfile.TemporaryDirectory(prefix="cxaudit-log-") as scratch:
                file = Path(scratch) / "audit.json"
                file.write_text(result.to_json(), encoding="utf-8")
                client.log_artifact(run_id, str(file), ARTIFACT_DIR)
        if ref is not None and ref.registered:
            for key, value in version_tags(result, run_id).items():
                client.set_model_version_tag(ref.name, ref.version, key, value)
        client.set_terminated(run_id, "FINISHED")
    except TrackingError:
        raise
    except Exception as exc:
        if run_id is not None:
            with contextlib.suppress(Exception):  # the original error is the one to report
                client.set_terminated(run_id, "FAILED")
        raise TrackingError(f"logging the audit to MLflow failed: {type(exc).__name__}: "
                            f"{str(exc)[:300]}",
                            hint="the local reports are complete; fix the tracking server "
                                 "and log again") from None
    return run_id


def _model_ref(model_uri: str | None, uri: str, client: Any) -> Any:
    if not model_uri or not model_uri.startswith("models:/"):
        return None
    from cxaudit.integrations.mlflow_models import resolve_model_uri

    return resolve_model_uri(model_uri, tracking_uri=uri, client=client)


def log_to_mlflow_or_report(result: AuditResult, report_dir: str | Path, code: int, *,
                            tracking_uri: str | None = None) -> int:
    """``cxaudit audit --mlflow``: log, print where, and fail closed if logging failed.

    Returns the exit code: ``code`` when the audit was recorded, else at least 1
    (the local reports are already written and stay).
    """
    import click

    model = result.inputs.get("model")
    pinned = model.path if model and model.path and model.path.startswith("models:/") else None
    try:
        run_id = log_audit_to_mlflow(result, report_dir, model_uri=pinned,
                                     tracking_uri=tracking_uri)
    except TrackingError as exc:
        click.echo(f"error: {exc.format()}", err=True)
        return code or TrackingError.exit_code
    tagged = f"; tagged {pinned} cxaudit.verdict={result.verdict.value}" if pinned else ""
    click.echo(f"logged to MLflow: run {run_id}{tagged}")
    return code
