"""Re-check an evidence bundle: signature, every report hash, approvals and trail."""

from __future__ import annotations

import binascii
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxaudit.evidence.manifest import (
    APPROVALS_FILE,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    digest_of,
    manifest_bytes,
    report_files,
)
from cxaudit.evidence.signing import (
    SIGNATURE_FILE,
    key_id,
    public_key_from_b64,
    public_raw,
    verify,
)
from cxaudit.evidence.trail import TRAIL_FILE, verify_trail

EMBEDDED_KEY_CAVEAT = (
    "the signature was checked against the public key embedded in the bundle itself: that "
    "proves the files match what the key holder signed, not who the key holder is (anyone can "
    "re-sign an edited bundle with a new key); pass --public-key with the signer's published "
    "key to prove origin")


@dataclass
class BundleReport:
    """What :func:`verify_bundle` found."""

    directory: Path
    ok_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    signed: bool = False
    key_id: str | None = None
    origin_checked: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems


def _shape_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with the manifest's structure, or None (values are checked later)."""
    reports = manifest.get("reports")
    if not isinstance(reports, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in reports.items()):
        return "reports is not a mapping of file names to SHA-256 digests"
    for key in ("trail", "signing", "inputs", "policy", "approvals"):
        if manifest.get(key) is not None and not isinstance(manifest[key], dict):
            return f"{key} is not a mapping"
    head = (manifest.get("trail") or {}).get("head")
    if head is not None and not isinstance(head, dict):
        return "trail.head is not a mapping"
    if not all(isinstance(manifest.get(k), (str, type(None)))
               for k in ("report_digest", "audit_digest", "verdict", "system")):
        return "a digest, the verdict or the system is not text"
    return None


def _load_manifest(root: Path, report: BundleReport) -> tuple[dict[str, Any] | None, bytes]:
    path = root / MANIFEST_FILE
    if not path.is_file():
        report.problems.append(f"{MANIFEST_FILE}: missing (run the audit again: every audit "
                               "writes one)")
        return None, b""
    data = path.read_bytes()
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        report.problems.append(f"{MANIFEST_FILE}: not valid JSON (the file was edited or damaged)")
        return None, data
    if not isinstance(manifest, dict) or manifest.get("cxaudit_manifest") != MANIFEST_FORMAT:
        report.problems.append(f"{MANIFEST_FILE}: not a cxaudit manifest of format "
                               f"{MANIFEST_FORMAT}")
        return None, data
    shape = _shape_problem(manifest)
    if shape is not None:
        report.problems.append(f"{MANIFEST_FILE}: {shape} (the file was edited or damaged)")
        return None, data
    if manifest_bytes(manifest) != data:
        report.problems.append(f"{MANIFEST_FILE}: not in the form cxaudit writes (the file was "
                               "edited)")
    return manifest, data


def _check_signature(root: Path, manifest: dict[str, Any] | None, data: bytes,
                     report: BundleReport, public_key: Any, require_signature: bool) -> None:
    sig_path = root / SIGNATURE_FILE
    block = manifest.get("signing") if manifest else None
    if not sig_path.is_file():
        if block:
            report.problems.append(f"{SIGNATURE_FILE}: missing, but {MANIFEST_FILE} says the "
                                   "bundle was signed")
        elif public_key is not None or require_signature:
            report.problems.append(f"{SIGNATURE_FILE}: missing: the bundle is not signed")
        else:
            report.notes.append("the bundle is not signed: the hashes show the reports match the "
                                "manifest, not that the manifest itself is unchanged (audit "
                                "with --sign-key to sign it)")
        return
    signature = sig_path.read_bytes()
    if manifest is None:
        report.problems.append(f"{SIGNATURE_FILE}: cannot be checked without a valid "
                               f"{MANIFEST_FILE}")
        return
    if not isinstance(block, dict) or block.get("algorithm") != "Ed25519":
        report.problems.append(f"{MANIFEST_FILE}: names no Ed25519 signing key, but "
                               f"{SIGNATURE_FILE} exists")
        return
    try:
        embedded = public_key_from_b64(str(block.get("public_key", "")))
    except (ValueError, binascii.Error):
        report.problems.append(f"{MANIFEST_FILE}: the embedded public key is malformed")
        return
    embedded_id = key_id(public_raw(embedded))
    report.key_id = embedded_id
    if block.get("key_id") != embedded_id:
        report.problems.append(f"{MANIFEST_FILE}: the key id does not match the embedded key")
    if not verify(embedded, data, signature):
        report.problems.append(f"{SIGNATURE_FILE}: the signature does not match {MANIFEST_FILE} "
                               "(one of them was changed after signing)")
        return
    report.signed = True
    if public_key is not None:
        given_id = key_id(public_raw(public_key))
        if given_id != embedded_id:
            report.problems.append(f"{SIGNATURE_FILE}: signed by key {embedded_id}, not by the "
                                   f"given public key {given_id}")
            return
        if not verify(public_key, data, signature):  # same key bytes; belt and braces
            report.problems.append(f"{SIGNATURE_FILE}: does not verify with the given public key")
            return
        report.origin_checked = True
        report.notes.append(f"signature valid for the given public key {given_id}")
    else:
        report.notes.append(f"signature valid for the embedded key {embedded_id}; "
                            + EMBEDDED_KEY_CAVEAT)


def _check_reports(root: Path, manifest: dict[str, Any], report: BundleReport) -> None:
    listed = manifest.get("reports")
    if not isinstance(listed, dict) or not listed:
        report.problems.append(f"{MANIFEST_FILE}: lists no report files")
        return
    present = report_files(root)
    for name, expected in sorted(listed.items()):
        actual = present.get(name)
        if actual is None:
            report.problems.append(f"{name}: listed in the manifest but missing")
        elif actual != expected:
            report.problems.append(f"{name}: SHA-256 differs from the manifest (the file was "
                                   "changed after the audit)")
        else:
            report.ok_files.append(name)
    for name in sorted(set(present) - set(listed)):
        report.problems.append(f"{name}: not in the manifest (added after the audit)")
    if manifest.get("report_digest") != digest_of(listed):
        report.problems.append(f"{MANIFEST_FILE}: report_digest does not match its report list")


def _check_trail(trail_path: Path, manifest: dict[str, Any] | None, manifest_data: bytes,
                 report: BundleReport, *, anchored: bool) -> None:
    chain = verify_trail(trail_path)
    report.problems.extend(chain.problems)
    if chain.ok:
        report.ok_files.append(trail_path.name)
    if manifest is None or not anchored:
        return
    name = trail_path.name
    anchor = (manifest.get("trail") or {}).get("head")
    if anchor and not any(e["hash"] == anchor.get("hash") and e["seq"] == anchor.get("seq")
                          for e in chain.entries):
        report.problems.append(f"{name}: entry {anchor.get('seq')}, the head when this audit was "
                               "logged, is gone (entries were removed, or it is another trail)")
    manifest_sha = hashlib.sha256(manifest_data).hexdigest()
    audit_entry = _anchoring_audit(chain.entries, manifest_sha)
    if audit_entry is None:
        report.problems.append(f"{name}: has no audit entry for this manifest (it was removed, "
                               "or the manifest was replaced)")
    elif audit_entry.get("audit_digest") != manifest.get("audit_digest"):
        report.problems.append(f"{name}: the audit entry for this manifest is of another audit")


def _anchoring_audit(entries: list[dict[str, Any]], manifest_sha: str) -> dict[str, Any] | None:
    """The data of the ``audit`` entry that vouches for the manifest ``manifest_sha``.

    Directly, or through ``render`` entries (reports rendered again with their sign-off
    block after an approval): each names the manifest it replaces, back to an audit
    entry of the same audit digest.
    """
    by_manifest: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        data = entry.get("data") or {}
        if entry.get("kind") in ("audit", "render") and isinstance(data.get("manifest_sha256"),
                                                                    str):
            by_manifest.setdefault(data["manifest_sha256"], []).append(entry)
    seen: set[str] = set()
    wanted, digest = manifest_sha, None
    while wanted not in seen:
        seen.add(wanted)
        for entry in by_manifest.get(wanted, []):
            data = entry["data"]
            if digest is not None and data.get("audit_digest") != digest:
                continue
            if entry["kind"] == "audit":
                return data
            digest, wanted = data.get("audit_digest"), str(data.get("replaces_manifest_sha256"))
            break
        else:
            return None
    return None


def _check_chains(root: Path, manifest: dict[str, Any] | None, manifest_data: bytes,
                  report: BundleReport, trail: Path | None) -> None:
    approvals = root / APPROVALS_FILE
    if approvals.is_file():
        chain = verify_trail(approvals)
        report.problems.extend(chain.problems)
        if chain.ok:
            report.ok_files.append(APPROVALS_FILE)
    local = root / TRAIL_FILE
    if local.is_file() and (trail is None or local.resolve() != trail.resolve()):
        recorded = ((manifest or {}).get("trail") or {}).get("file")
        _check_trail(local, manifest, manifest_data, report, anchored=recorded == TRAIL_FILE)
    if trail is not None:
        if not trail.is_file():
            report.problems.append(f"{trail.name}: the audit trail to check against is missing")
            return
        _check_trail(trail, manifest, manifest_data, report, anchored=True)


def verify_bundle(report_dir: str | Path, *, public_key: Any = None,
                  require_signature: bool = False, trail: str | Path | None = None
                  ) -> BundleReport:
    """Check a report folder against its manifest.

    Parameters
    ----------
    report_dir
        The folder with ``manifest.json`` and the reports.
    public_key
        An Ed25519 public key the bundle must be signed with (proves origin).
    require_signature
        Treat an unsigned bundle as a failure.
    trail
        An audit trail kept outside the folder: its chain is checked, and it
        must hold this audit's entry and the head recorded in the manifest.

    Returns
    -------
    BundleReport
        ``problems`` each start with the name of the file that failed.
    """
    root = Path(report_dir)
    report = BundleReport(directory=root)
    manifest, data = _load_manifest(root, report)
    report.manifest = manifest
    _check_signature(root, manifest, data, report, public_key, require_signature)
    if manifest is not None:
        _check_reports(root, manifest, report)
    _check_chains(root, manifest, data, report, Path(trail) if trail else None)
    return report

