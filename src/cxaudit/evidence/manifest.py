"""The evidence manifest: what was audited, with what, and the hash of every report.

``manifest.json`` beside the reports records

- the SHA-256 of each input: model artifact, data, consent ledger, reference data,
  policy file and the resolved policy (after ``extends``);
- the versions of cxaudit and the libraries that shape its numbers;
- the random seeds (the audit's, and any a check reports as ``details["seed"]``);
- the SHA-256 of every report file in the folder;
- the audit trail's head before this audit was logged (so a cut trail shows);
- with ``--sign-key``, the signer's public key; ``manifest.sig`` then holds the
  Ed25519 signature of ``manifest.json``'s exact bytes.

Only file *names* are recorded, never directories (which often hold user names).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxaudit.errors import InputError
from cxaudit.evidence import EvidenceError
from cxaudit.evidence.signing import SIGNATURE_FILE, describe_public_key, load_private_key, sign
from cxaudit.evidence.trail import TRAIL_FILE

MANIFEST_FILE = "manifest.json"
APPROVALS_FILE = "approvals.jsonl"
MANIFEST_FORMAT = 1
#: Files in a report folder that are evidence about the reports, not reports.
EVIDENCE_FILES = frozenset({MANIFEST_FILE, SIGNATURE_FILE, APPROVALS_FILE, TRAIL_FILE})
_INPUT_KINDS = ("model", "data", "consent", "reference", "policy", "waivers")
_SEED_KEYS = ("seed", "random_state")


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The one byte form of a manifest (sorted keys, 2-space indent, ASCII, final newline)."""
    return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False)
            + "\n").encode("ascii")


def _is_temporary(name: str) -> bool:
    # Atomic writers (cxaudit's and ours) use ".<name>.<random>.tmp" and leave one
    # behind only when interrupted; any other file, hidden or not, is part of the bundle.
    return name.startswith(".") and name.endswith(".tmp")


def report_files(report_dir: str | Path) -> dict[str, str]:
    """SHA-256 of every report file under ``report_dir`` (POSIX relative paths, sorted).

    Evidence files (manifest, signature, approvals, trail) and the temporary
    files of interrupted atomic writes (``.*.tmp``) are left out.
    """
    root = Path(report_dir)
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        if relative in EVIDENCE_FILES or any(_is_temporary(part) for part in
                                             path.relative_to(root).parts):
            continue
        found[relative] = sha256_file(path)
    return found


def digest_of(files: Mapping[str, str]) -> str:
    """One SHA-256 over a ``{name: sha256}`` listing (the *report digest*)."""
    listing = json.dumps(dict(sorted(files.items())), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def report_digest(report_dir: str | Path) -> str:
    """The digest approvals are bound to: any change to any report file changes it."""
    return digest_of(report_files(report_dir))


def audit_digest(source: Any) -> str:
    """SHA-256 of an audit's content: ``audit.json`` without its ``run`` block.

    The same inputs and seed give the same digest (the run block holds the only
    timestamps), so a sign-off of an audit still counts when the same audit is
    run and rendered again, and stops counting when anything in it changes.

    Parameters
    ----------
    source
        An :class:`~cxaudit.result.AuditResult`, the text of ``audit.json``, a
        path to it, or its parsed mapping.
    """
    if hasattr(source, "model_dump"):
        # The parsed form of ``source.to_json()`` without its indented (pure-Python)
        # encoding: the same document, so the same digest, in a third of the time.
        source = json.dumps(source.model_dump(mode="json"), allow_nan=False)
    elif hasattr(source, "to_json"):
        source = source.to_json()
    if isinstance(source, Path):
        source = source.read_text(encoding="utf-8")
    document = json.loads(source) if isinstance(source, str) else dict(source)
    document.pop("run", None)
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                           allow_nan=False)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _input_paths(inputs: Any) -> dict[str, str]:
    if inputs is None:
        return {}
    if isinstance(inputs, Mapping):
        pairs = inputs.items()
    else:  # runner.AuditInputs or anything with those attributes
        pairs = ((kind, getattr(inputs, kind, None)) for kind in _INPUT_KINDS)
    return {kind: str(path) for kind, path in pairs if path}


def _inputs_block(result: Any, inputs: Any) -> dict[str, Any]:
    records = {kind: record.model_dump(mode="json") for kind, record in result.inputs.items()}
    block: dict[str, Any] = {}
    for kind, record in sorted(records.items()):
        entry = {"file": record.get("path"), "sha256": record.get("sha256")}
        if record.get("rows") is not None:
            entry["rows"] = record["rows"]
        detail = record.get("detail") or {}
        if kind == "policy":
            entry["resolved_sha256"] = (detail.get("resolved_sha256")
                                        or result.policy.get("resolved_sha256"))
        if kind == "model" and detail.get("format"):
            entry["format"] = detail["format"]
        block[kind] = entry
    for kind, path in _input_paths(inputs).items():
        file = Path(path)
        if "://" in path or ":/" in path or not file.is_file():
            continue  # a model URI: the runner recorded what it loaded
        digest = sha256_file(file)
        recorded = block.get(kind, {}).get("sha256")
        if recorded and recorded != digest:
            raise EvidenceError(f"the {kind} file {file.name} changed after the audit read it "
                                "(its SHA-256 differs from the one in the audit result)",
                                hint="re-run the audit on files nobody is writing to")
        block.setdefault(kind, {"file": file.name})["sha256"] = digest
    return block


def _versions(result: Any) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = dict(result.versions)
    # The library that makes and checks the signature of this manifest.
    with contextlib.suppress(PackageNotFoundError):
        found.setdefault("cryptography", version("cryptography"))
    return dict(sorted(found.items()))


def _seeds(result: Any) -> dict[str, Any]:
    seeds: dict[str, Any] = {"audit": result.settings.get("seed")}
    per_check = {}
    for check in result.checks:
        for key in _SEED_KEYS:
            if isinstance(check.details.get(key), (int, str)):
                per_check[check.id] = check.details[key]
                break
    if per_check:
        seeds["checks"] = per_check
    return seeds


def build_manifest(report_dir: str | Path, result: Any, *, inputs: Any = None,
                   public_key: dict[str, str] | None = None,
                   trail: dict[str, Any] | None = None,
                   reports: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Assemble the manifest of the reports now in ``report_dir``.

    Parameters
    ----------
    report_dir
        Folder holding the reports just written.
    result
        The :class:`~cxaudit.result.AuditResult` they render.
    inputs
        ``runner.AuditInputs`` or a mapping ``kind -> path``: the files are hashed
        again and must match what the audit recorded.
    public_key
        :func:`~cxaudit.evidence.signing.describe_public_key` of the signing key.
    trail
        ``{"file", "head"}``: the audit trail and its head before this audit.
    reports
        ``{name: sha256}`` of the report files the manifest lists (default: those now
        in ``report_dir``); the bundle writer passes the files it is about to place.
    """
    reports = dict(sorted((reports if reports is not None
                           else report_files(report_dir)).items()))
    if not reports:
        raise EvidenceError(f"no report files in {Path(report_dir).name}/ to put in a manifest",
                            hint="write the reports before the evidence")
    manifest: dict[str, Any] = {
        "cxaudit_manifest": MANIFEST_FORMAT,
        "created_at": result.run.get("finished_at") or result.run.get("started_at"),
        "system": result.system.get("name"),
        "verdict": result.verdict.value,
        "schema_version": result.schema_version,
        "inputs": _inputs_block(result, inputs),
        "policy": {k: result.policy.get(k) for k in ("name", "sha256", "resolved_sha256")},
        "versions": _versions(result),
        "seeds": _seeds(result),
        "reports": reports,
        "report_digest": digest_of(reports),
        "audit_digest": audit_digest(result),
        "approvals": {"required_roles": list(result.settings.get("approvals", {})
                                             .get("required_roles", []))},
        "signing": public_key,
    }
    if trail is not None:
        manifest["trail"] = trail
    return manifest


def _atomic_write(path: Path, data: bytes) -> None:
    from cxaudit.render.files import atomic_write

    atomic_write(path, data)


@dataclass(frozen=True)
class EvidenceRecord:
    """What :func:`write_evidence` wrote."""

    manifest_path: Path
    manifest_sha256: str
    report_digest: str
    signature_path: Path | None
    key_id: str | None
    trail_path: Path | None
    trail_entry: dict[str, Any] | None


def write_evidence(report_dir: str | Path, result: Any, *, inputs: Any = None,
                   sign_key: str | Path | None = None, trail: str | Path | bool | None = True,
                   ) -> EvidenceRecord:
    """Write ``manifest.json`` (and ``manifest.sig`` with a key) and log the audit.

    Call it after every report file is written.

    Parameters
    ----------
    report_dir
        The folder holding the reports.
    result
        The audit result the reports render.
    inputs
        ``runner.AuditInputs`` (or ``{kind: path}``) of the audit, hashed again.
    sign_key
        PEM PKCS#8 Ed25519 private key file; None leaves the manifest unsigned
        (and removes a stale ``manifest.sig``).
    trail
        True: the default trail (``$CXAUDIT_TRAIL`` or ``<report_dir>/audit-trail.jsonl``);
        a path: that trail; False or None: do not log.

    Returns
    -------
    EvidenceRecord
    """
    from cxaudit.evidence import trail as trail_module
    from cxaudit.evidence.waivers import trail_entries

    root = Path(report_dir)
    private_key = load_private_key(sign_key) if sign_key else None  # fail before writing
    public = describe_public_key(private_key) if private_key is not None else None
    trail_path = (trail_module.default_trail(root) if trail is True
                  else trail_module.resolve_trail_path(trail) if trail else None)
    trail_block = None
    if trail_path is not None:
        inside = trail_path.resolve().parent == root.resolve()
        if root.resolve() in trail_path.resolve().parents and trail_path.name != TRAIL_FILE:
            raise InputError(f"the audit trail {trail_path.name} is inside the report folder "
                             "under another name, so it would count as a report",
                             hint=f"name it {TRAIL_FILE}, or keep it outside the report folder")
        trail_block = {"file": trail_path.name if inside else None,
                       "head": trail_module.head(trail_path, strict=True)}
    manifest = build_manifest(root, result, inputs=inputs, public_key=public, trail=trail_block)
    data = manifest_bytes(manifest)
    signature_path = root / SIGNATURE_FILE
    if private_key is not None:
        _atomic_write(root / MANIFEST_FILE, data)
        _atomic_write(signature_path, sign(private_key, data))
    else:
        signature_path.unlink(missing_ok=True)
        _atomic_write(root / MANIFEST_FILE, data)
    manifest_sha = hashlib.sha256(data).hexdigest()
    entry = None
    if trail_path is not None:
        entry = trail_module.append(trail_path, "audit", {
            "system": manifest["system"], "verdict": manifest["verdict"],
            "policy_sha256": manifest["policy"]["sha256"],
            "report_digest": manifest["report_digest"], "audit_digest": manifest["audit_digest"],
            "manifest_sha256": manifest_sha,
            "key_id": public["key_id"] if public else None,
        })
        for waiver in trail_entries(result):
            trail_module.append(trail_path, "waiver", waiver)
    return EvidenceRecord(manifest_path=root / MANIFEST_FILE, manifest_sha256=manifest_sha,
                          report_digest=manifest["report_digest"],
                          signature_path=signature_path if private_key is not None else None,
                          key_id=public["key_id"] if public else None,
                          trail_path=trail_path, trail_entry=entry)
