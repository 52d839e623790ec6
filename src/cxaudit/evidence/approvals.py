"""Release sign-offs bound to the audit they approve.

``cxaudit approve DIR --approver EMAIL --role ROLE --comment …`` first verifies the
bundle in DIR against its manifest, then appends an entry to ``DIR/approvals.jsonl``
(hash-chained like the audit trail) and to the audit trail. The entry is bound to
the *audit digest*: the SHA-256 of ``audit.json`` without its ``run`` block (see
:func:`~cxaudit.evidence.manifest.audit_digest`). Change anything in the audit —
a number, a check, a waiver, an input's hash, a package version — and the sign-off
no longer counts; re-run the *same* audit (same inputs and seed, which give a
byte-identical ``audit.json`` apart from ``run``) and it still does. The entry also
records the report digest and the manifest's SHA-256 of the reports it was given for.

A policy can require roles (``approvals: {required_roles: [product_owner,
compliance]}``); each must be approved by a different person (four eyes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxaudit.errors import InputError
from cxaudit.evidence import EvidenceError
from cxaudit.evidence import trail as trail_module
from cxaudit.evidence.manifest import (
    APPROVALS_FILE,
    MANIFEST_FILE,
    audit_digest,
    report_digest,
    sha256_file,
)
from cxaudit.evidence.schema import EMAIL_PATTERN, ROLE_PATTERN

AUDIT_FILE = "audit.json"
_APPROVABLE = ("pass", "warn")


@dataclass(frozen=True)
class Approval:
    """One recorded sign-off, and whether it approves the audit being asked about."""

    seq: int
    time: str
    role: str
    approver: str
    comment: str
    audit_digest: str
    verdict: str | None
    current: bool
    #: Why it does not count although it names this audit (unsigned, wrong key), else None.
    refused: str | None = None


@dataclass(frozen=True)
class GateApproval:
    """The answer :func:`approval_for_gate` gives the registry gate."""

    approved: bool
    message: str
    missing_roles: tuple[str, ...] = ()


def _read_audit(root: Path) -> dict[str, Any]:
    path = root / AUDIT_FILE
    if not path.is_file():
        raise InputError(f"no {AUDIT_FILE} in {root.name}/: not a cxaudit report folder",
                         hint="pass the --out folder of `cxaudit audit`")
    try:
        audit = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise EvidenceError(f"{AUDIT_FILE} in {root.name}/ is not valid JSON (damaged or edited)",
                            hint="re-run the audit") from None
    if not isinstance(audit, dict):
        raise EvidenceError(f"{AUDIT_FILE} in {root.name}/ is not a cxaudit audit (not a JSON "
                            "object)", hint="re-run the audit")
    return audit


def _roles_of(audit: dict[str, Any]) -> list[str]:
    return list(((audit.get("settings") or {}).get("approvals") or {}).get("required_roles", []))


def _keys_of(settings: dict[str, Any] | None) -> dict[str, str]:
    """Registered approver keys (email, lower case → base64 raw Ed25519 key) of an audit."""
    return dict(((settings or {}).get("approvals") or {}).get("approver_keys") or {})


def required_roles(report_dir: str | Path) -> list[str]:
    """Roles the audited policy requires to sign off (from ``audit.json``)."""
    return _roles_of(_read_audit(Path(report_dir)))


def _verified(root: Path, doing: str) -> None:
    from cxaudit.evidence.verify import verify_bundle

    checked = verify_bundle(root)
    if not checked.ok:
        raise EvidenceError(f"the reports do not match their evidence, so {doing}: "
                            + "; ".join(checked.problems[:3]),
                            hint=f"run `cxaudit verify {root}` for the full list")


def record_approval(report_dir: str | Path, *, approver: str, role: str, comment: str,
                    trail: str | Path | bool | None = True,
                    sign_key: str | Path | None = None) -> dict[str, Any]:
    """Verify the bundle, then record a sign-off of its audit.

    Parameters
    ----------
    report_dir
        The report folder (with ``audit.json``).
    approver
        The approver's email address.
    role
        The role signed for, e.g. ``product_owner``.
    comment
        Why the release is accepted.
    trail
        True: the default audit trail; a path: that trail; False/None: only
        ``approvals.jsonl``.
    sign_key
        The approver's Ed25519 private key (PEM): the entry is signed with it.
        Required when the audited policy registers approver keys, and then it
        must be the key registered for ``approver``.

    Returns
    -------
    dict
        The ``approvals.jsonl`` entry.

    Raises
    ------
    InputError
        Bad email or role, or not a report folder (exit 2).
        A missing ``manifest.json`` or a bundle that fails verification (exit 2:
        nothing is recorded).
    EvidenceError
        The verdict is ``fail``/``error`` (exit 1).
    """
    root = Path(report_dir)
    if not re.match(EMAIL_PATTERN, approver):
        raise InputError("--approver must be an email address (name@domain)")
    if not re.match(ROLE_PATTERN, role):
        raise InputError(f"--role {role!r} must be lower-case letters, digits and _",
                         hint="e.g. product_owner or compliance")
    if not comment.strip():
        raise InputError("--comment is empty", hint="say why the release is accepted")
    if not root.is_dir():
        raise InputError(f"report folder not found: {root}", hint="pass the --out folder")
    try:
        audit = _read_audit(root)
    except EvidenceError as exc:
        raise InputError(exc.message, hint=exc.hint) from None
    # A bundle that cannot be verified cannot be approved: a sign-off must bind reports
    # whose hashes the manifest vouches for (exit 2, nothing recorded).
    if not (root / MANIFEST_FILE).is_file():
        raise InputError(f"no {MANIFEST_FILE} in {root.name}/, so the reports cannot be verified "
                         "and cannot be approved",
                         hint="approve the --out folder of `cxaudit audit`, which writes the "
                              "manifest; if it was deleted, audit again")
    try:
        _verified(root, "they cannot be approved")
    except EvidenceError as exc:
        raise InputError(exc.message, hint=exc.hint) from None
    manifest_sha = sha256_file(root / MANIFEST_FILE)
    verdict = audit.get("verdict")
    if verdict not in _APPROVABLE:
        raise EvidenceError(f"the verdict is {verdict}: a sign-off cannot override a blocking "
                            "finding",
                            hint="fix it, or record an approved, expiring waiver in the policy "
                                 "and audit again")
    keys = _keys_of(audit.get("settings"))
    if keys and approver.lower() not in keys:
        raise InputError("the audited policy registers approver keys, and none for this "
                         "approver, so their sign-off could not count",
                         hint="ask the policy owner to add you under approvals.approver_keys")
    if keys and sign_key is None:
        raise InputError("the audited policy requires signed approvals",
                         hint="pass --sign-key with your Ed25519 private key (PEM)")
    data = {"role": role, "approver": approver, "comment": comment.strip(),
            "audit_digest": audit_digest(audit), "report_digest": report_digest(root),
            "manifest_sha256": manifest_sha, "verdict": verdict,
            "system": (audit.get("system") or {}).get("name")}
    if sign_key is not None:
        from cxaudit.evidence.approval_keys import SIGNATURE_FIELD, sign_entry

        data[SIGNATURE_FIELD] = sign_entry(data, sign_key, keys)
    path = None
    if trail:
        path = (trail_module.default_trail(root) if trail is True
                else trail_module.resolve_trail_path(trail))
    # Both logs are checked whole before either is extended: a sign-off appended to a
    # damaged chain would hide the damage (exit 2, nothing recorded).
    for log in (root / APPROVALS_FILE, path):
        if log is not None and log.exists():
            checked = trail_module.verify_trail(log) if log.is_file() else None
            if checked is None or not checked.ok:
                problems = "; ".join(checked.problems[:3]) if checked else "not a regular file"
                raise InputError(f"{log.name} is damaged, so no approval was recorded: "
                                 f"{problems}", hint=f"run `cxaudit log verify {log}` and "
                                                     "restore it from a backup")
    entry = trail_module.append(root / APPROVALS_FILE, "approval", data)
    if path is not None:
        trail_module.append(path, "approval", data)
    return entry


def _approval_entries(path: Path) -> list[dict[str, Any]]:
    chain = trail_module.verify_trail(path)
    if not chain.ok:
        raise EvidenceError(f"{path.name} was tampered with: " + "; ".join(chain.problems[:3]),
                            hint="no approval in it counts until it is restored; run "
                                 f"`cxaudit log verify {path}`")
    return [e for e in chain.entries if e.get("kind") == "approval"]


def list_approvals(report_dir: str | Path, *, digest: str | None = None,
                   sources: Iterable[str | Path] = (),
                   keys: dict[str, str] | None = None) -> list[Approval]:
    """Every recorded approval, each marked ``current`` when it approves this audit.

    Parameters
    ----------
    report_dir
        Folder whose ``approvals.jsonl`` is read.
    digest
        The audit digest approvals must match (default: that of ``report_dir/audit.json``).
    sources
        More approval logs or audit trails to read approvals from.
    keys
        Registered approver keys (default: those of ``report_dir/audit.json``);
        when any are registered, only approvals signed by their approver's key
        are ``current``.

    Raises
    ------
    EvidenceError
        An approvals log or trail fails verification (edited, deleted or reordered entries).
    """
    from cxaudit.evidence.approval_keys import signature_problem

    root = Path(report_dir)
    if digest is None or keys is None:
        audit = _read_audit(root)
        digest = audit_digest(audit) if digest is None else digest
        keys = _keys_of(audit.get("settings")) if keys is None else keys
    paths = [root / APPROVALS_FILE, *(Path(s) for s in sources)]
    seen: set[tuple[str, str]] = set()
    out = []
    for path in paths:
        if not path.is_file():
            continue
        for entry in _approval_entries(path):
            data = entry.get("data") or {}
            key = (str(data.get("role")), str(data.get("approver")),
                   str(data.get("audit_digest")), str(entry.get("time")))
            # The same approval in approvals.jsonl and in the trail: same time, same data.
            same = (key[3], json.dumps(data, sort_keys=True))
            if same in seen:
                continue
            seen.add(same)
            refused = signature_problem(data, keys) if key[2] == digest else None
            out.append(Approval(seq=entry["seq"], time=str(entry.get("time", "")),
                                role=key[0], approver=key[1],
                                comment=str(data.get("comment", "")), audit_digest=key[2],
                                verdict=data.get("verdict"),
                                current=key[2] == digest and refused is None, refused=refused))
    return out


def _assign(roles: list[str], people_by_role: dict[str, set[str]]) -> set[str]:
    """Roles that can be filled with distinct people (bipartite matching)."""
    holder: dict[str, str] = {}

    def place(role: str, seen: set[str]) -> bool:
        for person in sorted(people_by_role.get(role, ())):
            if person in seen:
                continue
            seen.add(person)
            if person not in holder or place(holder[person], seen):
                holder[person] = role
                return True
        return False

    for role in roles:
        place(role, set())
    return set(holder.values())


def _decide(roles: list[str], approvals: list[Approval]) -> tuple[bool, list[str]]:
    current = [a for a in approvals if a.current]
    if not roles:
        return (bool(current), [] if current else ["any"])
    people: dict[str, set[str]] = {}
    for approval in current:
        people.setdefault(approval.role, set()).add(approval.approver.lower())
    filled = _assign(roles, people)
    missing = [r for r in roles if r not in filled]
    return (not missing, missing)


def approval_status(report_dir: str | Path) -> tuple[bool, list[str], list[Approval]]:
    """Whether the audit in ``report_dir`` is signed off.

    The bundle is verified against its manifest first, so an edited report
    makes every approval void.

    Parameters
    ----------
    report_dir
        The report folder.

    Returns
    -------
    approved, missing_roles, approvals
        ``approved`` is True when every required role has a current approval by
        a different person, or — when the policy requires no role — when at least
        one current approval exists. ``missing_roles`` lists required roles still
        unfilled (``["any"]`` when no role is required and nobody approved).
        ``approvals`` holds every recorded approval, others' audits marked
        ``current=False``.

    Raises
    ------
    EvidenceError
        The reports no longer match their manifest, the manifest an approval was
        given with is gone, or the approvals log was tampered with (the gate must
        not pass; exit code 1).
    InputError
        ``report_dir`` is not a report folder.
    """
    root = Path(report_dir)
    audit = _read_audit(root)
    if not (root / MANIFEST_FILE).is_file():
        raise EvidenceError(f"{MANIFEST_FILE} is missing from {root.name}/, so the reports "
                            "cannot be verified and no approval counts",
                            hint="restore it, or audit again")
    _verified(root, "no approval counts")
    approvals = list_approvals(root, digest=audit_digest(audit),
                               keys=_keys_of(audit.get("settings")))
    approved, missing = _decide(_roles_of(audit), approvals)
    return approved, missing, approvals


def approval_for_gate(*, report_dir: str | Path, result: Any, subject: str = "") -> GateApproval:
    """Answer the registry gate's ``--require-approval`` for an audit it just ran.

    The audit in memory is matched by its digest against the approvals in
    ``report_dir/approvals.jsonl`` and in the audit trail (``$CXAUDIT_TRAIL`` or
    ``report_dir/audit-trail.jsonl``). Any failure to read them is "not approved"
    (the gate fails closed); the message never names a person.

    Parameters
    ----------
    report_dir
        Where the gate wrote the reports.
    result
        The :class:`~cxaudit.result.AuditResult` the gate decides on.
    subject
        What is being promoted (e.g. the pinned model URI), for the message.
    """
    digest = audit_digest(result)
    roles = list((result.settings.get("approvals") or {}).get("required_roles", []))
    what = f" of {subject}" if subject else ""
    try:
        approvals = list_approvals(report_dir, digest=digest,
                                   sources=[trail_module.default_trail(report_dir)],
                                   keys=_keys_of(result.settings))
    except Exception as exc:  # fail closed, whatever went wrong
        message = getattr(exc, "message", f"{type(exc).__name__}: {exc}")
        return GateApproval(False, f"approval{what}: cannot be checked ({message}); the gate "
                                   "fails closed", tuple(roles))
    approved, missing = _decide(roles, approvals)
    if approved:
        filled = sorted({a.role for a in approvals if a.current})
        return GateApproval(True, f"approval{what}: signed off as {', '.join(filled)} "
                                  f"(audit {digest[:12]})")
    refused = sorted({a.refused for a in approvals if a.refused})
    why = f" ({len(refused)} kind(s) of approval refused: {'; '.join(refused)})" if refused else ""
    return GateApproval(False, f"approval{what}: missing {', '.join(missing)} for audit "
                               f"{digest[:12]}{why}; run `cxaudit approve {report_dir} "
                               "--approver EMAIL --role ROLE --comment …`", tuple(missing))
