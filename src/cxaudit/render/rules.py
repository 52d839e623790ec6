"""The report's "Rules covered" section: each cited rule, the checks that test it, the outcome.

A check cites its rule in ``rule:`` (several citations separated by ``;``);
built-in packs also say in the check's description whether its threshold is
"set by the rule" or a "cxaudit default". This module turns an
:class:`~cxaudit.result.AuditResult` into rows for the templates.
"""

from __future__ import annotations

import re
from typing import Any

from cxaudit.result import AuditResult, Status

NOT_LEGAL_ADVICE = ("cxaudit tests what the data, the model and the policy show against the "
                    "cited rules; a check passing is not a finding of compliance and a check "
                    "failing is not a legal finding. Not legal advice.")

#: Worst first: the outcome of a rule is the worst outcome among its checks.
_ORDER = {Status.ERROR.value: 0, Status.FAIL.value: 1, Status.WARN.value: 2,
          Status.INCONCLUSIVE.value: 3, Status.INSUFFICIENT_DATA.value: 4,
          Status.PASS.value: 5, Status.NOT_APPLICABLE.value: 6}
_BY_RULE = re.compile(r"set by the rule", re.IGNORECASE)
_BY_DEFAULT = re.compile(r"cxaudit default", re.IGNORECASE)


def split_citations(rule: str) -> list[str]:
    """Split ``"GDPR Art. 7(3); CJEU C-203/22"`` into citations (``;`` outside brackets).

    Parameters
    ----------
    rule
        The check's ``rule`` text.

    Returns
    -------
    list of str
        The citations, stripped, in order, without empties.
    """
    parts, depth, current = [], 0, []
    for char in rule:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        if char == ";" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def threshold_source(description: str | None) -> str | None:
    """``rule``, ``cxaudit default``, ``rule and cxaudit default`` or None (not stated)."""
    if not description:
        return None
    by_rule, by_default = bool(_BY_RULE.search(description)), bool(_BY_DEFAULT.search(description))
    if by_rule and by_default:
        return "rule and cxaudit default"
    return "rule" if by_rule else ("cxaudit default" if by_default else None)


def rules_covered(result: AuditResult) -> list[dict[str, Any]]:
    """Each cited rule with the checks that test it and their outcome.

    Parameters
    ----------
    result
        A finished audit.

    Returns
    -------
    list of dict
        One row per citation, in order of first appearance: ``rule``, ``outcome``
        (the worst status among its checks) and ``checks`` (id, type, status,
        severity, threshold source). Checks without a rule are not listed.
    """
    rows: dict[str, dict[str, Any]] = {}
    for check in result.checks:
        if not check.rule:
            continue
        law = check.law or {}
        entry = {"id": check.id, "type": check.type, "status": check.status.value,
                 "severity": check.severity.value,
                 "threshold_source": threshold_source(check.description),
                 "standing": law.get("standing"), "confidence": law.get("confidence"),
                 "jurisdiction": law.get("jurisdiction"), "note": law.get("note"),
                 "applies_from": law.get("applies_from"),
                 "applies_until": law.get("applies_until"),
                 "compliance_deadline": law.get("compliance_deadline"),
                 "pack": law.get("pack"), "pack_version": law.get("pack_version")}
        for citation in split_citations(check.rule):
            row = rows.setdefault(citation, {"rule": citation, "checks": []})
            row["checks"].append(entry)
    for row in rows.values():
        row["outcome"] = min((c["status"] for c in row["checks"]),
                             key=lambda s: _ORDER.get(s, 9))
        marks = sorted({c["confidence"] for c in row["checks"] if c.get("confidence")},
                       key="PQS".index)
        # The weakest mark among its checks ([S] weaker than [Q], weaker than [P]).
        row["confidence"] = marks[-1] if marks else None
        row["note"] = next((c["note"] for c in row["checks"] if c.get("note")), None)
    return list(rows.values())
