"""Release sign-offs bound to the report digest.

``cxaudit approve DIR --approver EMAIL --role ROLE --comment …`` appends an entry
to ``DIR/approvals.jsonl`` (hash-chained like the audit trail) and to the audit
trail. The entry holds the *report digest* — one SHA-256 over the SHA-256 of
every report file — so an approval counts only for the exact reports it was
given for: change any report and it needs a new sign-off.

A policy can require roles (``approvals: {required_roles: [product_owner,
compliance]}``); each must be approved by a different person (four eyes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxaudit.errors import InputError
from cxaudit.evidence import EvidenceError
from cxaudit.evidence import trail as trail_module
from cxaudit.evidence.manifest import APPROVALS_FILE, MANIFEST_FILE, report_digest, sha256_file
from cxaudit.evidence.schema import EMAIL_PATTERN, ROLE_PATTERN

AUDIT_FILE = "audit.json"
_APPROVABLE = ("pass", "warn")


@dataclass(frozen=True)
class Approval:
    """One recorded sign-off, and whether it still matches the reports."""

    seq: int
    time: str
    role: str
    approver: str
    comment: str
    report_digest: str
    verdict: str | None
    current: bool


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


def required_roles(report_dir: str | Path) -> list[str]:
    """Roles the audited policy requires to sign off (from ``audit.json``)."""
    audit = _read_audit(Path(report_dir))
    return list(((audit.get("settings") or {}).get("approvals") or {}).get("required_roles", []))


def record_approval(report_dir: str | Path, *, approver: str, role: str, comment: str,
                    trail: str | Path | bool | None = True) -> dict[str, Any]:
    """Verify the bundle, then record a sign-off of its reports.

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
    from cxaudit.evidence.verify import verify_bundle

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
        checked = verify_bundle(root)
        if not checked.ok:
            raise EvidenceError("the reports do not match their evidence, so they cannot be "
                                "approved: " + "; ".join(checked.problems[:3]),
                                hint=f"run `cxaudit verify {root}` for the full list")
        manifest_sha = sha256_file(root / MANIFEST_FILE)
    verdict = audit.get("verdict")
    if verdict not in _APPROVABLE:
        raise EvidenceError(f"the verdict is {verdict}: a sign-off cannot override a blocking "
                            "finding",
                            hint="fix it, or record an approved, expiring waiver in the policy "
                                 "and audit again")
    data = {"role": role, "approver": approver, "comment": comment.strip(),
            "report_digest": report_digest(root),
            "audit_sha256": sha256_file(root / AUDIT_FILE), "manifest_sha256": manifest_sha,
            "verdict": verdict, "system": (audit.get("system") or {}).get("name")}
    entry = trail_module.append(root / APPROVALS_FILE, "approval", data)
    if trail:
        path = (trail_module.default_trail(root) if trail is True
                else trail_module.resolve_trail_path(trail))
        trail_module.append(path, "approval", data)
    return entry


def list_approvals(report_dir: str | Path) -> list[Approval]:
    """Every recorded approval, each marked ``current`` when it matches today's reports.

    Raises
    ------
    EvidenceError
        ``approvals.jsonl`` fails verification (edited, deleted or reordered entries).
    """
    root = Path(report_dir)
    path = root / APPROVALS_FILE
    if not path.is_file():
        return []
    chain = trail_module.verify_trail(path)
    if not chain.ok:
        raise EvidenceError(f"{APPROVALS_FILE} in {root.name}/ was tampered with: "
                            + "; ".join(chain.problems[:3]),
                            hint="no approval counts until it is restored; run `cxaudit verify`")
    digest = report_digest(root)
    out = []
    for entry in chain.entries:
        data = entry.get("data") or {}
        if entry.get("kind") != "approval":
            continue
        out.append(Approval(seq=entry["seq"], time=entry.get("time", ""),
                            role=str(data.get("role")), approver=str(data.get("approver")),
                            comment=str(data.get("comment", "")),
                            report_digest=str(data.get("report_digest")),
                            verdict=data.get("verdict"),
                            current=data.get("report_digest") == digest))
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


def approval_status(report_dir: str | Path) -> tuple[bool, list[str], list[Approval]]:
    """Whether the reports in ``report_dir`` are signed off.

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
        ``approvals`` holds every recorded approval, stale ones marked ``current=False``.

    Raises
    ------
    EvidenceError
        The reports no longer match their manifest, or the approvals log was
        tampered with (the gate must not pass; exit code 1).
    InputError
        ``report_dir`` is not a report folder.
    """
    from cxaudit.evidence.verify import verify_bundle

    root = Path(report_dir)
    roles = required_roles(root)
    if (root / MANIFEST_FILE).is_file():
        checked = verify_bundle(root)
        if not checked.ok:
            raise EvidenceError("the reports do not match their evidence, so no approval "
                                "counts: " + "; ".join(checked.problems[:3]),
                                hint=f"run `cxaudit verify {root}` for the full list")
    approvals = list_approvals(root)
    current = [a for a in approvals if a.current]
    if not roles:
        return (bool(current), [] if current else ["any"], approvals)
    people: dict[str, set[str]] = {}
    for approval in current:
        people.setdefault(approval.role, set()).add(approval.approver.lower())
    filled = _assign(roles, people)
    missing = [r for r in roles if r not in filled]
    return (not missing, missing, approvals)
