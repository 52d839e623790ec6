"""Fixtures for the evidence tests: a real audit of the telco data, written as a bundle."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from evidence_helpers import POLICY, WAIVER, write_reports

from cxaudit.resources import demo_dataset


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch) -> None:
    """A trail or passphrase configured in the caller's shell must not leak into tests."""
    monkeypatch.delenv("CXAUDIT_TRAIL", raising=False)
    monkeypatch.delenv("CXAUDIT_SIGN_KEY_PASSPHRASE", raising=False)


@pytest.fixture(scope="session")
def telco_csv() -> Path:
    """The shipped telco churn table."""
    return demo_dataset()


@pytest.fixture
def policy_file(tmp_path: Path):
    """Write the test policy, optionally with extra YAML appended; return its path."""

    def write(extra: str = "", name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(POLICY + extra, encoding="utf-8")
        return path

    return write


def _audit(root: Path, telco_csv: Path, policy_text: str):
    from cxaudit.runner import AuditInputs, audit

    policy = root / "policy.yaml"
    policy.write_text(policy_text, encoding="utf-8")
    data = root / "telco.csv"
    shutil.copyfile(telco_csv, data)
    inputs = AuditInputs(policy=str(policy), data=str(data), seed=7)
    return inputs, audit(inputs)


@pytest.fixture(scope="session")
def audited(tmp_path_factory, telco_csv):
    """One real audit of the telco data (policy above; verdict fail), shared by the session."""
    return _audit(tmp_path_factory.mktemp("audited"), telco_csv, POLICY)


@pytest.fixture(scope="session")
def audited_waived(tmp_path_factory, telco_csv):
    """The same audit with the failing group waived (verdict warn), shared by the session."""
    return _audit(tmp_path_factory.mktemp("waived"), telco_csv, POLICY + WAIVER)


@pytest.fixture
def keypair(tmp_path: Path):
    """A fresh Ed25519 key pair: (private PEM path, public PEM path)."""
    from cxaudit.evidence.signing import write_keypair

    private, public = tmp_path / "signing-key.pem", tmp_path / "signing-key.pub"
    write_keypair(private, public)
    return private, public


@pytest.fixture
def bundle(tmp_path: Path, audited, keypair):
    """A signed bundle: reports + manifest.json + manifest.sig + audit trail."""
    from cxaudit.evidence.manifest import write_evidence

    inputs, result = audited
    out = tmp_path / "out"
    write_reports(out, result)
    write_evidence(out, result, inputs=inputs, sign_key=keypair[0])
    return out


@pytest.fixture
def approved_bundle(tmp_path: Path, audited_waived, keypair):
    """A signed bundle of the waived audit, approved by a product owner."""
    from cxaudit.evidence.approvals import record_approval
    from cxaudit.evidence.manifest import write_evidence

    inputs, result = audited_waived
    out = tmp_path / "approved"
    write_reports(out, result)
    write_evidence(out, result, inputs=inputs, sign_key=keypair[0])
    record_approval(out, approver="po@example.com", role="product_owner",
                    comment="Accepting the waived senior-group gap for this release.")
    return out
