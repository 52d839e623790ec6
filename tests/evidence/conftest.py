"""Fixtures for the evidence tests: a real audit of the telco data, written as a bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cxaudit.resources import demo_dataset

POLICY = """\
cxaudit: 1
system:
  name: churn-retention-offers
  owner: data-team@example.com
  approver: head-of-cx@example.com
  model_type: churn
data:
  id: customerID
  label: Churn
  positive: "Yes"
  prediction: Churn
  protected: [gender, SeniorCitizen]
checks:
  - id: schema
    type: data.required_columns
    columns: [customerID, tenure, Contract, MonthlyCharges]
    severity: block
  - id: offer-rate-parity
    type: bias.selection_rate
    attributes: [gender, SeniorCitizen]
    min_group_size: 50
    severity: block
"""

#: Waives the one failing group of offer-rate-parity (seniors churn more, so the
#: non-senior group's selection-rate ratio is far below 0.8).
WAIVER = """\
waivers:
  - check: offer-rate-parity
    group: {SeniorCitizen: 0}
    justification: Non-seniors get the general retention programme; reviewed quarterly.
    approver: head-of-cx@example.com
    expires: 2999-12-31
"""


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


def write_reports(out: Path, result) -> None:
    """Stand-in for the lead's report writers: audit.json plus a Markdown and HTML page.

    The evidence code treats every file in the folder as a report, whatever wrote it.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(result.to_json(), encoding="utf-8")
    lines = [f"# Audit of {result.system.get('name')}", "", f"Verdict: {result.verdict.value}"]
    lines += [f"- {c.id}: {c.status.value} — {c.summary}" for c in result.checks]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "report.html").write_text("<html><body><pre>" + json.dumps(result.counts())
                                     + "</pre></body></html>\n", encoding="utf-8")


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
