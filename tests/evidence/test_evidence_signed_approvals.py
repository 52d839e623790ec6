"""Signed sign-offs: with approver keys in the policy, only approvals their approver signed count."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from evidence_helpers import POLICY, WAIVER, write_reports

from cxaudit.cli.approve import approve
from cxaudit.errors import InputError
from cxaudit.evidence import trail as trail_module
from cxaudit.evidence.approval_keys import payload
from cxaudit.evidence.approvals import approval_status, record_approval
from cxaudit.evidence.manifest import APPROVALS_FILE
from cxaudit.evidence.signing import describe_public_key, load_public_key, write_keypair

COMMENT = "Risk accepted as waived, reviewed with the data team."


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    """Key pairs of the product owner, the compliance officer and an outsider."""
    folder = tmp_path_factory.mktemp("approver-keys")
    out = {}
    for who in ("po", "officer", "mallory"):
        write_keypair(folder / f"{who}.pem", folder / f"{who}.pub")
        out[who] = (folder / f"{who}.pem", folder / f"{who}.pub")
    return out


@pytest.fixture(scope="session")
def signed_audit(tmp_path_factory, telco_csv: Path, keys):
    """A waived (verdict warn) audit whose policy registers both approvers' keys: one as a
    PEM file next to the policy, one as the raw key in base64."""
    from cxaudit.runner import AuditInputs, audit

    folder = tmp_path_factory.mktemp("signed")
    (folder / "keys").mkdir()
    (folder / "keys" / "po.pub").write_bytes(keys["po"][1].read_bytes())
    officer = describe_public_key(load_public_key(keys["officer"][1]))["public_key"]
    policy = folder / "policy.yaml"
    policy.write_text(POLICY + WAIVER + "approvals:\n  required_roles: [product_owner, "
                      "compliance]\n  approver_keys:\n    po@example.com: keys/po.pub\n"
                      f"    Officer@Example.com: {officer}\n", encoding="utf-8")
    inputs = AuditInputs(policy=str(policy), data=str(telco_csv))
    return inputs, audit(inputs)


@pytest.fixture
def signed_bundle(tmp_path: Path, signed_audit):
    from cxaudit.evidence.manifest import write_evidence

    inputs, result = signed_audit
    out = tmp_path / "out"
    write_reports(out, result)
    write_evidence(out, result, inputs=inputs)
    return out


def _sign_off(out: Path, who: str, email: str, role: str, keys) -> dict:
    return record_approval(out, approver=email, role=role, comment=COMMENT, trail=False,
                           sign_key=keys[who][0])


def test_keys_are_bound_into_the_audit(signed_audit, keys):
    registered = signed_audit[1].settings["approvals"]["approver_keys"]
    for who, email in (("po", "po@example.com"), ("officer", "officer@example.com")):
        assert registered[email] == describe_public_key(load_public_key(keys[who][1]))[
            "public_key"]


def test_signed_approvals_by_the_registered_keys_complete_the_sign_off(signed_bundle, keys):
    entry = _sign_off(signed_bundle, "po", "po@example.com", "product_owner", keys)
    assert approval_status(signed_bundle)[:2] == (False, ["compliance"])
    _sign_off(signed_bundle, "officer", "officer@example.com", "compliance", keys)
    approved, missing, approvals = approval_status(signed_bundle)
    assert (approved, missing) == (True, []) and all(a.refused is None for a in approvals)
    # OpenSSL, not cxaudit, checks the signature over the documented payload.
    message = signed_bundle / "payload.bin"
    message.write_bytes(payload(entry["data"]))
    signature = signed_bundle / "approval.sig"
    signature.write_bytes(base64.b64decode(entry["data"]["signature"]["value"]))
    done = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                           str(keys["po"][1]), "-rawin", "-in", str(message), "-sigfile",
                           str(signature)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("who,email,key,message", [
    ("po", "po@example.com", None, "requires signed approvals"),
    ("po", "po@example.com", "mallory", "is not the key the policy registers"),
    ("mallory", "mallory@example.com", "mallory", "none for this approver"),
])
def test_unsigned_or_wrongly_signed_approvals_are_refused(signed_bundle, keys, who, email, key,
                                                          message):
    with pytest.raises(InputError, match=message):
        record_approval(signed_bundle, approver=email, role="product_owner", comment=COMMENT,
                        trail=False, sign_key=keys[key][0] if key else None)
    assert not (signed_bundle / APPROVALS_FILE).exists()  # nothing half-written


def _forge(out: Path, data: dict) -> None:
    """Append an entry the way an attacker with write access to the log could (valid chain)."""
    trail_module.append(out / APPROVALS_FILE, "approval", data)


def test_forged_approvals_in_the_log_do_not_count(signed_bundle, keys):
    genuine = _sign_off(signed_bundle, "po", "po@example.com", "product_owner", keys)["data"]
    # 1. An unsigned entry naming the officer.
    _forge(signed_bundle, {**{k: v for k, v in genuine.items() if k != "signature"},
                           "approver": "officer@example.com", "role": "compliance"})
    # 2. The product owner's signature moved onto a compliance sign-off.
    _forge(signed_bundle, {**genuine, "role": "compliance"})
    # 3. Signed by a key that is not the officer's.
    fake = {**{k: v for k, v in genuine.items() if k != "signature"},
            "approver": "officer@example.com", "role": "compliance"}
    from cxaudit.evidence.signing import load_private_key, sign

    fake["signature"] = {**genuine["signature"], "value": base64.b64encode(
        sign(load_private_key(keys["mallory"][0]), payload(fake))).decode()}
    _forge(signed_bundle, fake)
    approved, missing, approvals = approval_status(signed_bundle)
    assert (approved, missing) == (False, ["compliance"])
    assert [a.refused for a in approvals] == [
        None, "it is not signed", "its signature is not its approver's",
        "its signature is not its approver's"]


def test_cli_signs_and_says_so(signed_bundle, keys):
    runner = CliRunner()
    done = runner.invoke(approve, [str(signed_bundle), "--approver", "po@example.com", "--role",
                                   "product_owner", "--comment", COMMENT, "--no-trail",
                                   "--sign-key", str(keys["po"][0])])
    assert done.exit_code == 0, done.output
    key_id = describe_public_key(load_public_key(keys["po"][1]))["key_id"]
    assert f"signed by {key_id}" in done.output
    refused = runner.invoke(approve, [str(signed_bundle), "--approver", "officer@example.com",
                                      "--role", "compliance", "--comment", COMMENT, "--no-trail"])
    assert refused.exit_code == 2 and "--sign-key" in refused.output
    assert "Traceback" not in refused.output


def test_a_missing_key_file_is_a_located_input_error(tmp_path, telco_csv):
    from cxaudit.runner import AuditInputs, audit

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + "approvals:\n  approver_keys:\n    po@example.com: keys/nope.pub\n",
                      encoding="utf-8")
    with pytest.raises(InputError) as caught:
        audit(AuditInputs(policy=str(policy), data=str(telco_csv)))
    text = caught.value.format()
    assert "policy.yaml:" in text and "approver_keys" in text and "nope.pub" in text


def test_without_registered_keys_unsigned_approvals_still_count(tmp_path, signed_audit):
    """Policies without approver_keys keep working as before (and may sign anyway)."""
    from cxaudit.evidence.manifest import write_evidence

    inputs, result = signed_audit
    plain = result.model_copy(update={"settings": {"seed": 0}})
    out = tmp_path / "plain"
    write_reports(out, plain)
    write_evidence(out, plain, inputs=inputs)
    record_approval(out, approver="someone@example.com", role="product_owner", comment=COMMENT,
                    trail=False)
    assert approval_status(out)[0]
    assert json.loads((out / APPROVALS_FILE).read_text().splitlines()[0])["data"].get(
        "signature") is None
