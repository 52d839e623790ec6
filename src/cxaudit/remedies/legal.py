"""The legal caution a group-aware remedy carries, citing the rules the policy itself draws on.

Employment (42 U.S.C. § 2000e-2(l)) and credit (ECOA, Reg. B 12 CFR 1002.4(a)) are named
only when the policy makes them relevant: the system's decision domains (declared, or
from its model type), a check's ``law.domains`` or a check's ``rule`` citing them. Any
other system gets a general caution, with no employment- or credit-specific citation.
"""

from __future__ import annotations

import re
from typing import Any

EMPLOYMENT = ("In US employment, adjusting scores or using different cut-offs on the basis of "
              "race, colour, religion, sex or national origin is prohibited (Civil Rights Act "
              "§ 703(l), 42 U.S.C. § 2000e-2(l)).")
CREDIT = ("In credit, a creditor must not treat an applicant differently on a prohibited basis "
          "(ECOA, 15 U.S.C. § 1691; Reg. B, 12 CFR 1002.4(a)).")
GENERAL = ("Per-group cut-offs treat customers differently because of a protected attribute "
           "(direct, not indirect, differential treatment); whether that is lawful depends on "
           "the setting and the jurisdiction's equality law. Take legal advice before using one.")

#: 29 CFR 1607 (four-fifths) is not counted: packs borrow it as a benchmark outside employment.
_EMPLOYMENT_RULE = re.compile(r"2000e|title vii|ll ?144|6 rcny", re.I)
_CREDIT_RULE = re.compile(r"ecoa|1691|12 cfr 1002|reg(ulation)?\.? b\b", re.I)


def legal_warning(policy: Any) -> dict[str, Any]:
    """``{"text", "cites": [...], "sources": [...]}`` for this policy's group-aware remedies.

    Read from the policy: the system's decision domains, each check's ``law.domains``
    (counted when they cover the system's domains, or those are unknown) and each
    check's own ``rule`` field (the policy's or its pack's; a check type's built-in
    default is not the policy's choice and is not read: ``bias.selection_rate`` cites
    the four-fifths rule whatever the system).
    """
    from cxaudit.lawdates import system_domains

    declared, _ = system_domains(policy.system)
    domains = set(declared or ())
    found: dict[str, list[str]] = {"employment": [], "credit": []}
    if "employment" in domains:
        found["employment"].append("the system's decision domain is employment")
    if "financial_services" in domains:
        found["credit"].append("the system's decision domain is financial services")
    for params in policy.checks:
        law = getattr(params, "law", None)
        law_domains = set(getattr(law, "domains", None) or ())
        covers = declared is None or bool(law_domains & domains)
        if "employment" in law_domains and covers:
            found["employment"].append(f"check {params.id} stands for an employment rule")
        if "financial_services" in law_domains and covers:
            found["credit"].append(f"check {params.id} stands for a credit rule")
        rule = params.rule or ""
        if _EMPLOYMENT_RULE.search(rule):
            found["employment"].append(f"check {params.id} cites {rule}")
        if _CREDIT_RULE.search(rule):
            found["credit"].append(f"check {params.id} cites {rule}")
    parts, cites = [], []
    if found["employment"]:
        parts.append(EMPLOYMENT)
        cites.append("42 U.S.C. § 2000e-2(l)")
    if found["credit"]:
        parts.append(CREDIT)
        cites.append("12 CFR 1002.4(a)")
    if not parts:
        return {"text": GENERAL, "cites": [], "sources": []}
    why = list(dict.fromkeys(found["employment"] + found["credit"]))
    return {"text": " ".join(["Group-specific cut-offs are unlawful in some settings.", *parts,
                              f"Cited because {'; '.join(why)}."]),
            "cites": cites, "sources": why}
