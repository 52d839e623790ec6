"""Every single-byte change to any file of a signed bundle is caught by `cxaudit verify`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxaudit.cli.verify import verify
from cxaudit.evidence.verify import verify_bundle


def _positions(size: int) -> list[int]:
    """First, last, middle and a few spread-out byte offsets."""
    picks = {0, 1, size // 3, size // 2, (2 * size) // 3, size - 2, size - 1}
    return sorted(p for p in picks if 0 <= p < size)


def _bundle_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_the_untouched_bundle_verifies(bundle: Path) -> None:
    result = CliRunner().invoke(verify, [str(bundle)])
    assert result.exit_code == 0, result.output
    assert "signature valid for the embedded key" in result.output
    # The output says that an embedded key proves integrity, not origin.
    assert "not who the key holder is" in result.output


def test_every_byte_flip_in_every_file_is_detected(approved_bundle: Path, tmp_path: Path
                                                   ) -> None:
    bundle = approved_bundle
    files = _bundle_files(bundle)
    names = {p.name for p in files}
    assert names == {"audit.json", "audit.md", "audit.html", "audit.junit.xml", "manifest.json",
                     "manifest.sig", "audit-trail.jsonl", "approvals.jsonl"}
    runner = CliRunner()
    flips = 0
    for file in files:
        relative = file.relative_to(bundle).as_posix()
        original = file.read_bytes()
        for position in _positions(len(original)):
            for mask in (0x01, 0x80):
                work = tmp_path / "work"
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(bundle, work)
                damaged = bytearray(original)
                damaged[position] ^= mask
                (work / relative).write_bytes(bytes(damaged))
                done = runner.invoke(verify, [str(work)])
                where = f"flip of bit {mask:#x} at byte {position} of {relative}"
                assert done.exit_code == 1, where
                failures = [line for line in done.output.splitlines() if line.startswith("FAIL")]
                assert any(relative in line for line in failures), (where, done.output)
                flips += 1
    assert flips == sum(2 * len(_positions(p.stat().st_size)) for p in files)
    assert flips >= 8 * 6 * 2  # every file, at least six positions, two bits each


@pytest.mark.parametrize("name", ["audit.json", "audit.md", "audit.junit.xml", "manifest.json",
                                  "manifest.sig", "audit-trail.jsonl"])
def test_cli_exits_1_and_names_the_changed_file(bundle: Path, name: str) -> None:
    path = bundle / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(verify, [str(bundle)])
    assert result.exit_code == 1
    assert f"FAIL  {name}" in result.output


def test_removed_and_added_files_are_detected(bundle: Path) -> None:
    (bundle / "audit.html").unlink()
    (bundle / "extra.html").write_text("<p>all good</p>")
    report = verify_bundle(bundle)
    assert "audit.html: listed in the manifest but missing" in report.problems
    assert any(p.startswith("extra.html: not in the manifest") for p in report.problems)


def test_a_removed_signature_is_detected(bundle: Path) -> None:
    (bundle / "manifest.sig").unlink()
    report = verify_bundle(bundle)
    assert any(p.startswith("manifest.sig: missing") for p in report.problems)


def test_resigning_an_edited_bundle_passes_alone_but_fails_against_the_published_key(
        bundle: Path, audited, keypair, tmp_path: Path) -> None:
    """Why --public-key matters: a forger can rebuild and re-sign the whole bundle."""
    from cxaudit.evidence.manifest import write_evidence
    from cxaudit.evidence.signing import write_keypair

    inputs, result = audited
    forged_key = tmp_path / "forger.pem"
    write_keypair(forged_key)
    (bundle / "audit.md").write_text("# Everything passed\n")
    write_evidence(bundle, result, inputs=inputs, sign_key=forged_key, trail=False)
    runner = CliRunner()
    alone = runner.invoke(verify, [str(bundle)])
    assert alone.exit_code == 0, alone.output  # internally consistent ...
    assert "not who the key holder is" in alone.output
    published = runner.invoke(verify, [str(bundle), "--public-key", str(keypair[1])])
    assert published.exit_code == 1  # ... but not signed by the real signer
    assert "FAIL  manifest.sig: signed by key" in published.output


def test_the_published_key_confirms_origin(bundle: Path, keypair) -> None:
    result = CliRunner().invoke(verify, [str(bundle), "--public-key", str(keypair[1])])
    assert result.exit_code == 0, result.output
    assert "signature valid for the given public key" in result.output
