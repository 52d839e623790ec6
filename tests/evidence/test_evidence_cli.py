"""The evidence flow through the real `cxaudit` command group."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from evidence_helpers import POLICY

from cxaudit.cli import cli
from cxaudit.evidence.trail import verify_trail

WAIVERS_FILE = """\
waivers:
  - check: offer-rate-parity
    group: {SeniorCitizen: "0"}
    justification: Non-seniors get the general retention programme this quarter.
    approver: head-of-cx@example.com
    expires: 2999-12-31
"""


def _args(tmp_path: Path, telco_csv: Path, *extra: str) -> list[str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    return ["audit", "--policy", str(policy), "--data", str(telco_csv),
            "--out", str(tmp_path / "out"), *extra]


def test_audit_signs_logs_and_verifies(tmp_path: Path, telco_csv: Path, keypair) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS_FILE, encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(cli, _args(tmp_path, telco_csv, "--sign-key", str(keypair[0]),
                                    "--waivers", str(waivers)))
    assert done.exit_code == 0, done.output  # warn: the failing group is waived
    assert "WAIVED until 2999-12-31" in done.output
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["signing"]["algorithm"] == "Ed25519"
    assert manifest["inputs"]["waivers"]["file"] == "waivers.yaml"
    assert (out / "manifest.sig").stat().st_size == 64
    trail = verify_trail(out / "audit-trail.jsonl")
    assert trail.ok and [e["kind"] for e in trail.entries] == ["audit", "waiver"]
    checked = runner.invoke(cli, ["verify", str(out), "--public-key", str(keypair[1])])
    assert checked.exit_code == 0, checked.output
    assert "signature valid for the given public key" in checked.output


def test_an_unusable_sign_key_stops_before_any_report(tmp_path: Path, telco_csv: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "rsa.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    done = CliRunner().invoke(cli, _args(tmp_path, telco_csv, "--sign-key", str(path)))
    assert done.exit_code == 2
    assert "holds an RSA key, not Ed25519" in done.output
    assert not (tmp_path / "out").exists()


def test_no_trail_and_an_unsigned_manifest(tmp_path: Path, telco_csv: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, _args(tmp_path, telco_csv, "--no-trail"))
    assert done.exit_code == 1  # the unwaived bias failure blocks
    out = tmp_path / "out"
    assert (out / "manifest.json").is_file() and not (out / "audit-trail.jsonl").exists()
    checked = runner.invoke(cli, ["verify", str(out)])
    assert checked.exit_code == 0
    assert "the bundle is not signed" in checked.output
    required = runner.invoke(cli, ["verify", str(out), "--require-signature"])
    assert required.exit_code == 1
    assert runner.invoke(cli, ["verify", str(tmp_path / "absent")]).exit_code == 2


def test_verify_and_log_do_not_import_the_data_stack(bundle: Path) -> None:
    code = ("import sys\nfrom cxaudit.cli import cli\n"
            "for args in (['verify', sys.argv[1]], ['log', 'verify', sys.argv[1]]):\n"
            "    try:\n        cli(args, prog_name='cxaudit')\n"
            "    except SystemExit as exc:\n        assert exc.code == 0, (args, exc.code)\n"
            "heavy = [m for m in ('pandas', 'numpy', 'sklearn', 'scipy') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    done = subprocess.run([sys.executable, "-c", code, str(bundle)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout


def test_machine_readable_output(bundle: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(cli, ["verify", str(bundle), "--json"])
    assert checked.exit_code == 0
    document = json.loads(checked.output)
    assert document["ok"] and document["signed"] and not document["origin_checked"]
    assert "audit.json" in document["verified_files"]
    shown = runner.invoke(cli, ["log", "show", str(bundle), "--json"])
    entries = [json.loads(line) for line in shown.output.splitlines()]
    assert [e["kind"] for e in entries] == ["audit"]
    assert entries[0]["data"]["key_id"] == document["key_id"]
