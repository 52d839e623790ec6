"""approve renders the sign-off into the reports and the bundle still verifies."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from evidence_helpers import POLICY

from cxaudit.cli import cli
from cxaudit.evidence.approvals import approval_status
from cxaudit.evidence.trail import verify_trail
from cxaudit.evidence.verify import verify_bundle

WAIVERS = """\
waivers:
  - check: offer-rate-parity
    group: {SeniorCitizen: "0"}
    justification: Non-seniors get the general retention programme this quarter.
    approver: head-of-cx@example.com
    expires: 2999-12-31
"""
ROLES = "approvals:\n  required_roles: [product_owner, compliance]\n"


def _audit(tmp_path: Path, telco_csv: Path, *extra: str) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + ROLES, encoding="utf-8")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS, encoding="utf-8")
    out = tmp_path / "out"
    done = CliRunner().invoke(cli, ["audit", "--policy", str(policy), "--data", str(telco_csv),
                                    "--waivers", str(waivers), "--out", str(out), *extra])
    assert done.exit_code == 0, done.output  # warn: the failing group is waived
    return out


def _approve(out: Path, email: str, role: str):
    return CliRunner().invoke(cli, ["approve", str(out), "--approver", email, "--role", role,
                                    "--comment", "Residual risk accepted."])


def test_each_approval_is_rendered_and_the_bundle_verifies(tmp_path: Path, telco_csv: Path):
    out = _audit(tmp_path, telco_csv)
    audit_bytes = (out / "audit.json").read_bytes()
    assert "po@example.com" not in (out / "audit.html").read_text(encoding="utf-8")

    first = _approve(out, "po@example.com", "product_owner")
    assert first.exit_code == 0, first.output
    assert "sign-off block rendered in audit.html, audit.md" in first.output
    html = (out / "audit.html").read_text(encoding="utf-8")
    assert "po@example.com" in html and "officer@example.com" not in html
    assert verify_bundle(out).ok, verify_bundle(out).problems

    second = _approve(out, "officer@example.com", "compliance")
    assert second.exit_code == 0, second.output
    assert "officer@example.com" in (out / "audit.html").read_text(encoding="utf-8")
    assert "officer@example.com" in (out / "audit.md").read_text(encoding="utf-8")
    checked = CliRunner().invoke(cli, ["verify", str(out)])
    assert checked.exit_code == 0, checked.output

    # The audit itself never changes, so both sign-offs still count.
    assert (out / "audit.json").read_bytes() == audit_bytes
    assert approval_status(out)[:2] == (True, [])
    kinds = [e["kind"] for e in verify_trail(out / "audit-trail.jsonl").entries]
    assert kinds == ["audit", "waiver", "approval", "render", "approval", "render"]


def test_a_report_edited_after_the_approval_is_still_caught(tmp_path: Path, telco_csv: Path):
    out = _audit(tmp_path, telco_csv)
    assert _approve(out, "po@example.com", "product_owner").exit_code == 0
    html = out / "audit.html"
    html.write_text(html.read_text(encoding="utf-8").replace("Pass", "PASS"), encoding="utf-8")
    problems = verify_bundle(out).problems
    assert any(p.startswith("audit.html: SHA-256 differs") for p in problems), problems


def test_a_render_entry_of_another_audit_anchors_nothing(tmp_path: Path, telco_csv: Path):
    from cxaudit.evidence.verify import _anchoring_audit

    entries = [
        {"kind": "audit", "data": {"manifest_sha256": "m1", "audit_digest": "a"}},
        {"kind": "render", "data": {"manifest_sha256": "m2", "audit_digest": "b",
                                    "replaces_manifest_sha256": "m1"}},
        {"kind": "render", "data": {"manifest_sha256": "m3", "audit_digest": "a",
                                    "replaces_manifest_sha256": "m1"}},
        {"kind": "render", "data": {"manifest_sha256": "m4", "audit_digest": "a",
                                    "replaces_manifest_sha256": "m4"}},
    ]
    assert _anchoring_audit(entries, "m1") == entries[0]["data"]
    assert _anchoring_audit(entries, "m3") == entries[0]["data"]
    assert _anchoring_audit(entries, "m2") is None       # another audit's digest
    assert _anchoring_audit(entries, "m4") is None       # a loop anchors nothing
    assert _anchoring_audit(entries, "m9") is None


def test_a_signed_bundle_keeps_its_reports(tmp_path: Path, telco_csv: Path, keypair):
    out = _audit(tmp_path, telco_csv, "--sign-key", str(keypair[0]))
    before = (out / "audit.html").read_bytes()
    done = _approve(out, "po@example.com", "product_owner")
    assert done.exit_code == 0, done.output
    assert "the manifest is signed" in done.output
    assert (out / "audit.html").read_bytes() == before
    checked = CliRunner().invoke(cli, ["verify", str(out), "--public-key", str(keypair[1])])
    assert checked.exit_code == 0, checked.output
