"""The manifest records independent hashes of every input and report, versions and seeds."""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
from evidence_helpers import write_reports

from cxaudit.evidence import EvidenceError
from cxaudit.evidence.manifest import write_evidence
from cxaudit.evidence.verify import verify_bundle


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_hashes_match_hashlib_on_the_files(bundle: Path, audited) -> None:
    inputs, result = audited
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["inputs"]["data"]["sha256"] == _sha(Path(inputs.data))
    assert manifest["inputs"]["policy"]["sha256"] == _sha(Path(inputs.policy))
    assert manifest["inputs"]["data"]["rows"] == 7043
    names = {"audit.json", "audit.md", "audit.html", "audit.junit.xml"}
    assert set(manifest["reports"]) == names
    for name in names:
        assert manifest["reports"][name] == _sha(bundle / name)
    assert manifest["seeds"] == {"audit": 7}
    assert manifest["versions"]["cxaudit"] == version("cxaudit")
    assert manifest["versions"]["pandas"] == version("pandas")
    assert manifest["versions"]["cryptography"] == version("cryptography")
    assert manifest["verdict"] == result.verdict.value


def test_the_resolved_policy_hash_changes_with_a_parent_but_the_file_hash_does_not(
        tmp_path: Path, telco_csv: Path) -> None:
    from evidence_helpers import POLICY

    from cxaudit.runner import AuditInputs, audit

    base = tmp_path / "base.yaml"
    child = tmp_path / "child.yaml"
    child.write_text("cxaudit: 1\nextends: [base.yaml]\nsystem: {name: churn}\n")
    digests = []
    for threshold in ("50", "60"):
        base.write_text(POLICY.replace("min_group_size: 50", f"min_group_size: {threshold}"))
        result = audit(AuditInputs(policy=str(child), data=str(telco_csv)))
        out = tmp_path / f"out{threshold}"
        write_reports(out, result)
        write_evidence(out, result, trail=False)
        policy = json.loads((out / "manifest.json").read_text())["inputs"]["policy"]
        digests.append((policy["sha256"], policy["resolved_sha256"]))
    assert digests[0][0] == digests[1][0] == _sha(child)
    assert digests[0][1] != digests[1][1]


def test_a_model_artifact_is_hashed(tmp_path: Path, telco_csv: Path, policy_file) -> None:
    import pickle

    from evidence_helpers import TenureModel

    from cxaudit.runner import AuditInputs, audit

    model_path = tmp_path / "model.pkl"
    model_path.write_bytes(pickle.dumps(TenureModel()))
    policy = policy_file().read_text().replace("  prediction: Churn\n", "")
    (tmp_path / "p.yaml").write_text(policy)
    inputs = AuditInputs(policy=str(tmp_path / "p.yaml"), data=str(telco_csv),
                         model=str(model_path), trust_model=True)
    result = audit(inputs)
    out = tmp_path / "out"
    write_reports(out, result)
    write_evidence(out, result, inputs=inputs, trail=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["model"]["sha256"] == _sha(model_path)
    assert manifest["inputs"]["model"]["file"] == "model.pkl"
    assert manifest["inputs"]["model"]["format"] == "pickle"


def test_no_directory_names_in_the_manifest(bundle: Path, tmp_path: Path) -> None:
    text = (bundle / "manifest.json").read_text()
    assert str(tmp_path) not in text and "/tmp" not in text


def test_an_input_changed_after_the_audit_is_refused(tmp_path: Path, audited) -> None:
    inputs, result = audited
    changed = tmp_path / "telco.csv"
    changed.write_bytes(Path(inputs.data).read_bytes() + b"\n")
    out = tmp_path / "out"
    write_reports(out, result)
    with pytest.raises(EvidenceError, match="changed after the audit read it"):
        write_evidence(out, result, inputs={"data": str(changed)})


def test_an_unsigned_rerun_removes_a_stale_signature(bundle: Path, audited) -> None:
    write_evidence(bundle, audited[1], inputs=audited[0])
    assert not (bundle / "manifest.sig").exists()
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    assert any("not signed" in n for n in report.notes)
    assert not verify_bundle(bundle, require_signature=True).ok


def test_the_trail_head_in_the_manifest_reveals_a_cut_trail(bundle: Path, audited) -> None:
    write_evidence(bundle, audited[1], inputs=audited[0])  # second audit: trail has 2 entries
    trail = bundle / "audit-trail.jsonl"
    assert verify_bundle(bundle).ok
    trail.write_bytes(trail.read_bytes().splitlines(keepends=True)[0])  # drop the newest
    problems = verify_bundle(bundle).problems
    assert problems == ["audit-trail.jsonl: has no audit entry for this manifest (it was "
                        "removed, or the manifest was replaced)"]


def test_openssl_verifies_the_signature_independently(bundle: Path, keypair) -> None:
    done = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(keypair[1]),
                           "-rawin", "-in", str(bundle / "manifest.json"),
                           "-sigfile", str(bundle / "manifest.sig")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature Verified Successfully" in done.stdout


def test_a_key_made_by_openssl_signs_bundles(tmp_path: Path, audited) -> None:
    key = tmp_path / "openssl.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)],
                   check=True, capture_output=True)
    out = tmp_path / "out"
    write_reports(out, audited[1])
    record = write_evidence(out, audited[1], sign_key=key, trail=False)
    assert record.key_id.startswith("ed25519:")
    assert verify_bundle(out).signed


def test_a_trail_inside_the_folder_under_another_name_is_refused(tmp_path: Path, audited
                                                                 ) -> None:
    from cxaudit.errors import InputError

    out = tmp_path / "out"
    write_reports(out, audited[1])
    with pytest.raises(InputError, match="inside the report folder"):
        write_evidence(out, audited[1], trail=out / "my-log.jsonl")


def test_seeds_a_check_reports_are_recorded(tmp_path: Path, audited) -> None:
    inputs, result = audited
    checks = tuple(c.model_copy(update={"details": {**c.details, "seed": 1234}})
                   if c.id == "offer-rate-parity" else c for c in result.checks)
    seeded = result.model_copy(update={"checks": checks})
    out = tmp_path / "out"
    write_reports(out, seeded)
    write_evidence(out, seeded, trail=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == {"audit": 7, "checks": {"offer-rate-parity": 1234}}


def test_an_external_trail_is_anchored_in_the_manifest(tmp_path: Path, audited) -> None:
    inputs, result = audited
    trail = tmp_path / "trails" / "cx.jsonl"
    outs = []
    for name in ("first", "second"):
        out = tmp_path / name
        write_reports(out, result)
        write_evidence(out, result, inputs=inputs, trail=trail)
        outs.append(out)
    manifest = json.loads((outs[1] / "manifest.json").read_text())
    assert manifest["trail"]["file"] is None  # not in the folder: no path recorded
    assert manifest["trail"]["head"]["seq"] == 1
    assert verify_bundle(outs[1], trail=trail).ok
    lines = trail.read_bytes().splitlines(keepends=True)
    trail.write_bytes(lines[0])  # cut the second audit's entry off
    assert verify_bundle(outs[0], trail=trail).ok
    problems = verify_bundle(outs[1], trail=trail).problems
    assert problems == ["cx.jsonl: has no audit entry for this manifest (it was removed, or the "
                        "manifest was replaced)"]


def test_a_damaged_trail_stops_before_any_evidence_is_written(tmp_path: Path, audited) -> None:
    inputs, result = audited
    trail = tmp_path / "cx.jsonl"
    trail.write_text('{"seq": 1}\n')
    out = tmp_path / "out"
    write_reports(out, result)
    with pytest.raises(EvidenceError, match="audit trail cx.jsonl is damaged"):
        write_evidence(out, result, inputs=inputs, trail=trail)
    assert not (out / "manifest.json").exists()


def test_hidden_files_count_but_interrupted_writes_do_not(bundle: Path) -> None:
    (bundle / ".audit.json.x1y2.tmp").write_text("half a report")
    assert verify_bundle(bundle).ok
    (bundle / ".sneaky.html").write_text("<p>pass</p>")
    assert verify_bundle(bundle).problems == [".sneaky.html: not in the manifest (added after the "
                                              "audit)"]
