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
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise EvidenceError(f"{AUDIT_FILE} in {root.name}/ is not valid JSON (damaged or edited)",
                            hint="re-run the audit") from None


def _roles_of(audit: dict[str, Any]) -> list[str]:
    return list(((audit.get("settings") or {}).get("approvals") or {}).get("required_roles", []))


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
                    trail: str | Path | bool | None = True) -> dict[str, Any]:
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

    Returns
    -------
    dict
        The ``approvals.jsonl`` entry.

    Raises
    ------
    InputError
        Bad email or role, or not a report folder (exit 2).
    EvidenceError
        The bundle fails verification, or the verdict is ``fail``/``error`` (exit 1).
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
    audit = _read_audit(root)
    manifest_sha = None
    if (root / MANIFEST_FILE).is_file():
        _verified(root, "they cannot be approved")
        manifest_sha = sha256_file(root / MANIFEST_FILE)
    verdict = audit.get("verdict")
    if verdict not in _APPROVABLE:
        raise EvidenceError(f"the verdict is {verdict}: a sign-off cannot override a blocking "
                            "finding",
                            hint="fix it, or record an approved, expiring waiver in the policy "
                                 "and audit again")
    data = {"role": role, "approver": approver, "comment": comment.strip(),
            "audit_digest": audit_digest(audit), "report_digest": report_digest(root),
            "manifest_sha256": manifest_sha, "verdict": verdict,
            "system": (audit.get("system") or {}).get("name")}
    entry = trail_module.append(root / APPROVALS_FILE, "approval", data)
    if trail:
        path = (trail_module.default_trail(root) if trail is True
                else trail_module.resolve_trail_path(trail))
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
                   sources: Iterable[str | Path] = ()) -> list[Approval]:
    """Every recorded approval, each marked ``current`` when it approves this audit.

    Parameters
    ----------
    report_dir
        Folder whose ``approvals.jsonl`` is read.
    digest
        The audit digest approvals must match (default: that of ``report_dir/audit.json``).
    sources
        More approval logs or audit trails to read approvals from.

    Raises
    ------
    EvidenceError
        An approvals log or trail fails verification (edited, deleted or reordered entries).
    """
    root = Path(report_dir)
    if digest is None:
        digest = audit_digest(_read_audit(root))
    paths = [root / APPROVALS_FILE, *(Path(s) for s in sources)]
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for path in paths:
        if not path.is_file():
            continue
        for entry in _approval_entries(path):
            data = entry.get("data") or {}
            key = (str(data.get("role")), str(data.get("approver")),
                   str(data.get("audit_digest")), str(entry.get("time")))
            if key in seen:  # the same approval in approvals.jsonl and in the trail
                continue
            seen.add(key)
            out.append(Approval(seq=entry["seq"], time=str(entry.get("time", "")),
                                role=key[0], approver=key[1],
                                comment=str(data.get("comment", "")), audit_digest=key[2],
                                verdict=data.get("verdict"), current=key[2] == digest))
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
    if (root / MANIFEST_FILE).is_file():
        _verified(root, "no approval counts")
    approvals = list_approvals(root, digest=audit_digest(audit))
    if not (root / MANIFEST_FILE).is_file() and (root / APPROVALS_FILE).is_file() and any(
            (e.get("data") or {}).get("manifest_sha256")
            for e in _approval_entries(root / APPROVALS_FILE)):
        raise EvidenceError(f"{MANIFEST_FILE} is missing from {root.name}/ although approvals "
                            "were given with it", hint="restore it or audit again")
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
                                   sources=[trail_module.default_trail(report_dir)])
    except Exception as exc:  # fail closed, whatever went wrong
        message = getattr(exc, "message", f"{type(exc).__name__}: {exc}")
        return GateApproval(False, f"approval{what}: cannot be checked ({message}); the gate "
                                   "fails closed", tuple(roles))
    approved, missing = _decide(roles, approvals)
    if approved:
        filled = sorted({a.role for a in approvals if a.current})
        return GateApproval(True, f"approval{what}: signed off as {', '.join(filled)} "
                                  f"(audit {digest[:12]})")
    return GateApproval(False, f"approval{what}: missing {', '.join(missing)} for audit "
                               f"{digest[:12]}; run `cxaudit approve {report_dir} --approver EMAIL "
                               "--role ROLE --comment …`", tuple(missing))
