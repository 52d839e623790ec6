"""The registry gate: audit a model version, tag it, and move an alias only on a pass.

Order of work, each step failing closed:

1. resolve the URI once (``@alias`` → pinned version) — exit 2 if it does not resolve;
2. load the pinned version, the policy and the data (``--data``, else the training
   dataset from the run's lineage);
3. audit, write the local reports and their evidence manifest (and audit-trail entry);
4. log the audit as a run and tag the version (``cxaudit.verdict``, ``cxaudit.run_id``,
   ``cxaudit.policy_sha256``) — if that fails the alias is not moved (exit 1);
5. with ``--require-approval``, look the approval up — none found: not moved (exit 1);
6. move the alias only when the verdict passes (``warn`` passes unless ``strict``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxaudit.errors import EXIT_BLOCKED, EXIT_PASS, InputError
from cxaudit.result import AuditResult, Verdict

DEFAULT_FORMATS = ("json", "html", "md", "junit")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_ALIAS = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")


@dataclass
class GateOutcome:
    """What the gate did, for the CLI to print and exit on."""

    result: AuditResult
    model_uri: str
    pinned_uri: str
    alias: str
    promoted: bool
    exit_code: int
    run_id: str | None = None
    previous_version: str | None = None
    written: dict[str, Path] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Approval:
    """The answer of an approval lookup."""

    approved: bool
    message: str


def find_approval(result: AuditResult, report_dir: Path, subject: str) -> Approval:
    """Look up a sign-off for this audit; fail closed when there is no approval workflow.

    The approval workflow lives in :mod:`cxaudit.evidence` (approvals bound to the
    report hash). The gate calls ``cxaudit.evidence.approvals.approval_for_gate(
    report_dir=..., result=..., subject=...)``, expecting an object with ``approved``
    (bool) and ``message`` (str). When that module or function is absent, nothing
    can have been approved, so the answer is "not approved", with the reason.
    """
    try:
        from cxaudit.evidence import approvals
    except ImportError:
        return Approval(False, "--require-approval: this cxaudit has no approval workflow "
                               "(cxaudit.evidence.approvals is not installed), so no approval can "
                               "exist; the gate fails closed and does not promote")
    lookup = getattr(approvals, "approval_for_gate", None)
    if lookup is None:
        return Approval(False, "--require-approval: cxaudit.evidence.approvals has no "
                               "approval_for_gate(); the gate fails closed and does not promote")
    answer = lookup(report_dir=report_dir, result=result, subject=subject)
    return Approval(bool(getattr(answer, "approved", False)),
                    str(getattr(answer, "message", "no message from the approval lookup")))


def check_alias(alias: str) -> None:
    """Reject aliases MLflow reserves or refuses, before any work is done."""
    if _RESERVED_ALIAS.match(alias):
        raise InputError(f"--promote-to {alias}: MLflow reserves the aliases 'latest' and 'v<N>'",
                         hint="pick another alias, e.g. champion or production")
    if not _ALIAS.match(alias):
        raise InputError(f"--promote-to {alias!r}: an alias may hold letters, digits, '_' and '-'",
                         hint="e.g. --promote-to champion")


def write_reports(result: AuditResult, out_dir: Path,
                  formats: tuple[str, ...] | list[str] = DEFAULT_FORMATS) -> dict[str, Path]:
    """Write the reports into ``out_dir`` with the standard renderers."""
    from cxaudit.render import write_reports as render_all

    return render_all(result, out_dir, list(formats))


def _load_data(ref: Any, data: str | None, client: Any, policy: Any) -> tuple[Any, Any, str]:
    from cxaudit.integrations.mlflow_lineage import given_data_record, training_data
    from cxaudit.loaders.data import read_table

    if data:
        frame = read_table(data, role="data",
                           text_columns=[policy.data.id] if policy.data.id else [])
        return frame, given_data_record(data, frame), data
    return training_data(ref.run_id, model_uri=ref.pinned_uri, client=client)


def run_gate(model_uri: str, policy_path: str, *, promote_to: str, out_dir: str | Path,
             data: str | None = None, tracking_uri: str | None = None,
             require_approval: bool = False, strict: bool = False, seed: int = 0,
             formats: tuple[str, ...] | list[str] = DEFAULT_FORMATS,
             trust_model: bool = False, sign_key: str | None = None,
             trail: str | bool = True, use_day: Any = None) -> GateOutcome:
    """Audit ``model_uri`` and promote it to ``promote_to`` only if it passes.

    ``use_day``: the date the promoted version is used from (default: today's date by the
    clock, said in the output); an NYC LL144 bias audit more than a year before it is
    refused (Admin. Code § 20-871(a)(1)).

    Returns
    -------
    GateOutcome
        ``exit_code`` 0 when the alias was moved, 1 when the gate refused.

    Raises
    ------
    InputError
        (exit 2) bad URI, policy or data; ModelError lists what exists in the registry.
    """
    from cxaudit.integrations.mlflow_common import using_tracking

    check_alias(promote_to)
    with using_tracking(tracking_uri) as uri:
        return _gate(model_uri, policy_path, uri=uri, promote_to=promote_to, out_dir=out_dir,
                     data=data, require_approval=require_approval, strict=strict, seed=seed,
                     formats=formats, trust_model=trust_model, sign_key=sign_key, trail=trail,
                     use_day=use_day)


def _gate(model_uri: str, policy_path: str, *, uri: str, promote_to: str, out_dir: str | Path,
          data: str | None, require_approval: bool, strict: bool, seed: int,
          formats: tuple[str, ...] | list[str], trust_model: bool, sign_key: str | None,
          trail: str | bool, use_day: Any = None) -> GateOutcome:
    from mlflow import MlflowClient

    from cxaudit.engines import get_engine
    from cxaudit.evidence.bundle import prepare_out, write_bundle
    from cxaudit.integrations.mlflow_common import TrackingError, require_reachable
    from cxaudit.integrations.mlflow_models import load_mlflow_model, resolve_model_uri
    from cxaudit.integrations.mlflow_tracking import log_audit_to_mlflow
    from cxaudit.policy.loader import load_policy
    from cxaudit.runner import audit_loaded

    require_reachable(uri, doing="gate the model")
    prepare_out(out_dir, trail=trail, sign_key=sign_key)  # before the audit: exit 2, untouched
    client = MlflowClient(tracking_uri=uri)
    ref = resolve_model_uri(model_uri, tracking_uri=uri, client=client)
    if not ref.registered:
        raise InputError(f"{model_uri}: the gate promotes registered model versions",
                         hint="register it (mlflow.register_model) and pass models:/NAME/VERSION "
                              "or models:/NAME@ALIAS")
    policy = load_policy(policy_path)
    model = load_mlflow_model(ref.pinned_uri, tracking_uri=uri, ref=ref, trust=trust_model)
    frame, data_record, data_path = _load_data(ref, data, client, policy)
    result = audit_loaded(policy, frame, engine=get_engine("local"), model=model, seed=seed,
                          records={"data": data_record})
    out = Path(out_dir)
    # The same bundle as `cxaudit audit`: whole or not at all, manifest last, under a lock.
    written = write_bundle(out, result, list(formats),
                           inputs={"policy": policy_path, "data": data_path},
                           sign_key=sign_key, trail=trail).written
    outcome = GateOutcome(result=result, model_uri=model_uri, pinned_uri=ref.pinned_uri,
                          alias=promote_to, promoted=False, exit_code=EXIT_BLOCKED,
                          written=written)
    lines = outcome.lines
    if ref.alias:
        lines.append(f"resolved {model_uri} → {ref.pinned_uri} (pinned for this audit)")
    lines.append(f"data: {_describe_data(data_record)}")
    try:
        outcome.run_id = log_audit_to_mlflow(result, out, model_uri=ref.pinned_uri,
                                             tracking_uri=uri)
    except TrackingError as exc:
        lines.append(f"error: {exc.format()}")
        lines.append(f"alias @{promote_to} NOT moved: the audit could not be recorded")
        return outcome
    lines.append(f"logged run {outcome.run_id}; tagged {ref.name} v{ref.version} "
                 f"cxaudit.verdict={result.verdict.value}")
    outcome.previous_version = _alias_target(client, ref.name, promote_to)
    recent, why = _ll144_recent(result, use_day)
    if why:
        lines.append(why)
    if recent is False:
        lines.append(f"alias @{promote_to} NOT moved ({_alias_text(outcome.previous_version)}): "
                     "the LL144 bias audit is not recent enough for the date of use")
        return outcome
    passes = result.verdict is Verdict.PASS or (result.verdict is Verdict.WARN and not strict)
    if not passes:
        lines.append(f"alias @{promote_to} NOT moved ({_alias_text(outcome.previous_version)}): "
                     f"verdict {result.verdict.value}")
        return outcome
    if require_approval:
        approval = find_approval(result, out, ref.pinned_uri)
        lines.append(approval.message)
        if not approval.approved:
            lines.append(f"alias @{promote_to} NOT moved ({_alias_text(outcome.previous_version)})"
                         ": approval required")
            return outcome
    client.set_registered_model_alias(ref.name, promote_to, ref.version)
    client.set_model_version_tag(ref.name, ref.version, "cxaudit.promoted_to", promote_to)
    outcome.promoted, outcome.exit_code = True, EXIT_PASS
    was = f"v{outcome.previous_version}" if outcome.previous_version else "unset"
    lines.append(f"promoted: @{promote_to} → {ref.name} v{ref.version} (was {was})")
    return outcome


def _ll144_recent(result: AuditResult, use_day: Any) -> tuple[bool | None, str]:
    """Whether an NYC LL144 bias audit may back the use from ``use_day`` (None: today by
    the clock, said so); ``(None, "")`` for an audit LL144 does not cover."""
    from datetime import datetime, timezone

    from cxaudit.ll144 import is_ll144_audit, use_standing

    audit = result.model_dump(mode="json")
    if not is_ll144_audit(audit):
        return None, ""
    clock = use_day is None
    day = use_day or datetime.now(timezone.utc).date()
    allowed, message = use_standing(audit, day)
    if clock:
        message += (f" [date of use: today, {day.isoformat()}, by the clock; give --as-of "
                    "to set it]")
    return allowed, message


def _alias_target(client: Any, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except Exception:
        return None


def _alias_text(version: str | None) -> str:
    return f"still v{version}" if version else "alias unset"


def _describe_data(record: Any) -> str:
    detail = record.detail
    if detail.get("origin") == "mlflow-lineage":
        match = {True: "digest matches the logged one", False: "DIGEST DIFFERS from the logged "
                 "one", None: "digest not comparable"}[detail.get("digest_matches")]
        return (f"training dataset {detail.get('dataset_name')!r} of run {detail.get('run_id')} "
                f"(lineage, {record.rows} rows; {match})")
    return f"{record.path} ({record.rows} rows, given with --data)"
