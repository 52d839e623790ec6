"""Sign-offs bound to the report digest, required roles, four eyes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from evidence_helpers import POLICY, WAIVER, write_reports

from cxaudit.cli.approve import approve
from cxaudit.errors import InputError
from cxaudit.evidence import EvidenceError
from cxaudit.evidence.approvals import approval_status, record_approval
from cxaudit.evidence.trail import verify_trail

ROLES = "approvals:\n  required_roles: [product_owner, compliance]\n"


@pytest.fixture(scope="session")
def role_audit(tmp_path_factory, telco_csv: Path):
    """One waived (verdict warn) audit whose policy requires two roles."""
    from cxaudit.runner import AuditInputs, audit

    policy = tmp_path_factory.mktemp("roles") / "policy.yaml"
    policy.write_text(POLICY + WAIVER + ROLES, encoding="utf-8")
    inputs = AuditInputs(policy=str(policy), data=str(telco_csv))
    return inputs, audit(inputs)


@pytest.fixture
def role_bundle(tmp_path: Path, role_audit):
    """A fresh unsigned bundle of that audit."""
    from cxaudit.evidence.manifest import write_evidence

    inputs, result = role_audit
    out = tmp_path / "out"
    write_reports(out, result)
    write_evidence(out, result, inputs=inputs)
    return out


def _approve(out: Path, email: str, role: str):
    return record_approval(out, approver=email, role=role, comment="Risk accepted as waived.")


def test_required_roles_must_each_sign(role_bundle: Path) -> None:
    assert approval_status(role_bundle) == (False, ["product_owner", "compliance"], [])
    _approve(role_bundle, "po@example.com", "product_owner")
    approved, missing, approvals = approval_status(role_bundle)
    assert (approved, missing) == (False, ["compliance"])
    assert [(a.role, a.current) for a in approvals] == [("product_owner", True)]
    _approve(role_bundle, "officer@example.com", "compliance")
    assert approval_status(role_bundle)[:2] == (True, [])


def test_one_person_cannot_fill_two_roles(role_bundle: Path) -> None:
    _approve(role_bundle, "po@example.com", "product_owner")
    _approve(role_bundle, "PO@example.com", "compliance")
    approved, missing, _ = approval_status(role_bundle)
    assert not approved and len(missing) == 1


def test_a_changed_audit_needs_a_new_sign_off_but_a_rerun_does_not(role_bundle: Path,
                                                                     role_audit) -> None:
    from cxaudit.evidence.manifest import write_evidence
    from cxaudit.runner import audit

    _approve(role_bundle, "po@example.com", "product_owner")
    _approve(role_bundle, "officer@example.com", "compliance")
    assert approval_status(role_bundle)[0]
    inputs, _ = role_audit
    # The same audit run again into the folder: only its run block differs, still approved.
    rerun = audit(inputs)
    write_reports(role_bundle, rerun)
    write_evidence(role_bundle, rerun, inputs=inputs)
    assert approval_status(role_bundle)[:2] == (True, [])
    # A different audit (another seed): the old sign-offs no longer count.
    changed = audit(dataclasses.replace(inputs, seed=99))
    write_reports(role_bundle, changed)
    write_evidence(role_bundle, changed, inputs=inputs)
    approved, missing, approvals = approval_status(role_bundle)
    assert not approved and missing == ["product_owner", "compliance"]
    assert [a.current for a in approvals] == [False, False]


def test_an_edited_report_counts_no_approval_and_cannot_be_approved(role_bundle: Path) -> None:
    _approve(role_bundle, "po@example.com", "product_owner")
    report = role_bundle / "audit.md"
    report.write_text(report.read_text() + "\nEdited after sign-off.\n")
    with pytest.raises(EvidenceError, match="audit.md: SHA-256 differs"):
        approval_status(role_bundle)
    with pytest.raises(InputError, match="do not match their evidence"):  # exit 2
        _approve(role_bundle, "po@example.com", "product_owner")


def test_a_tampered_approvals_log_counts_for_nothing(role_bundle: Path) -> None:
    _approve(role_bundle, "po@example.com", "product_owner")
    _approve(role_bundle, "officer@example.com", "compliance")
    path = role_bundle / "approvals.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[1] + lines[0])  # reorder
    with pytest.raises(EvidenceError, match="approvals.jsonl:2: entry 1 comes after entry 2"):
        approval_status(role_bundle)


def test_approvals_are_logged_in_the_audit_trail(role_bundle: Path) -> None:
    _approve(role_bundle, "po@example.com", "product_owner")
    trail = verify_trail(role_bundle / "audit-trail.jsonl")
    assert trail.ok
    kinds = [e["kind"] for e in trail.entries]
    assert kinds == ["audit", "waiver", "approval"]
    assert trail.entries[1]["data"]["status"] == "applied"
    manifest = json.loads((role_bundle / "manifest.json").read_text())
    assert trail.entries[2]["data"]["audit_digest"] == manifest["audit_digest"]
    assert trail.entries[0]["data"]["audit_digest"] == manifest["audit_digest"]
    assert trail.entries[2]["data"]["report_digest"] == manifest["report_digest"]


def test_a_failing_verdict_cannot_be_signed_off(bundle: Path) -> None:
    with pytest.raises(EvidenceError, match="the verdict is fail"):
        _approve(bundle, "po@example.com", "product_owner")


def test_without_required_roles_one_current_approval_suffices(approved_bundle: Path) -> None:
    approved, missing, approvals = approval_status(approved_bundle)
    assert approved and missing == [] and len(approvals) == 1


@pytest.mark.parametrize(("email", "role", "fragment"), [
    ("not-an-email", "product_owner", "--approver must be an email address"),
    ("po@example.com", "Product Owner", "must be lower-case letters"),
])
def test_bad_approver_or_role_is_a_usage_error(role_bundle: Path, email, role, fragment) -> None:
    with pytest.raises(InputError, match=fragment):
        _approve(role_bundle, email, role)


def test_cli_approve(role_bundle: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(approve, [str(role_bundle), "--approver", "po@example.com",
                                    "--role", "product_owner", "--comment", "Accepted."])
    assert first.exit_code == 0, first.output
    assert "recorded approval 1 as product_owner" in first.output
    assert "sign-off still missing: compliance" in first.output
    assert "po@example.com" not in first.output  # no personal data echoed
    second = runner.invoke(approve, [str(role_bundle), "--approver", "c@example.com",
                                     "--role", "compliance", "--comment", "Accepted."])
    assert "sign-off complete" in second.output
    bad = runner.invoke(approve, [str(role_bundle), "--approver", "jane.doe",
                                  "--role", "compliance", "--comment", "x"])
    assert bad.exit_code == 2
    assert "jane.doe" not in bad.output


def test_the_audit_digest_is_audit_json_without_run(role_bundle: Path, role_audit) -> None:
    from cxaudit.evidence.manifest import audit_digest

    document = json.loads((role_bundle / "audit.json").read_text())
    del document["run"]
    expected = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":"))
                              .encode()).hexdigest()
    assert audit_digest(role_audit[1]) == expected
    assert audit_digest(role_bundle / "audit.json") == expected


def test_the_gate_finds_approvals_for_the_audit_it_just_ran(tmp_path: Path, role_bundle: Path,
                                                            role_audit, monkeypatch) -> None:
    from cxaudit.evidence.approvals import approval_for_gate
    from cxaudit.runner import audit

    inputs, _ = role_audit
    trail = tmp_path / "shared-trail.jsonl"
    monkeypatch.setenv("CXAUDIT_TRAIL", str(trail))
    record_approval(role_bundle, approver="po@example.com", role="product_owner",
                    comment="Accepted.")
    gate_dir = tmp_path / "gate"  # the gate audits again and writes elsewhere
    fresh = audit(inputs)
    write_reports(gate_dir, fresh)
    waiting = approval_for_gate(report_dir=gate_dir, result=fresh, subject="models:/churn/3")
    assert not waiting.approved and waiting.missing_roles == ("compliance",)
    assert "approval of models:/churn/3: missing compliance" in waiting.message
    record_approval(role_bundle, approver="cco@example.com", role="compliance",
                    comment="Accepted.")
    answer = approval_for_gate(report_dir=gate_dir, result=fresh, subject="models:/churn/3")
    assert answer.approved, answer.message
    assert "@example.com" not in answer.message
    other = audit(dataclasses.replace(inputs, seed=3))  # not the approved audit
    assert not approval_for_gate(report_dir=gate_dir, result=other).approved
    lines = trail.read_bytes().splitlines(keepends=True)
    trail.write_bytes(b"".join(reversed(lines)))
    broken = approval_for_gate(report_dir=gate_dir, result=fresh)
    assert not broken.approved and "cannot be checked" in broken.message
