"""Consent & privacy, explainability and applicable rules, built from the audit alone."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

from cxaudit.lawdates import CONFIDENCE_WORDS
from cxaudit.render.html.fairness import num
from cxaudit.render.html.status import check_tone, status_tone
from cxaudit.render.rules import rules_covered
from cxaudit.result import AuditResult, CheckResult

REASONS = {"no_record": "no consent record", "objected": "objected", "refused": "refused",
           "withdrawn": "withdrawn", "expired": "expired",
           "basis_not_accepted": "lawful basis not accepted for the purpose",
           "no_event_time": "no event time"}


def _first(result: AuditResult, prefix: str) -> CheckResult | None:
    return next((c for c in result.checks if c.type.startswith(prefix)), None)


def _protected(result: AuditResult) -> list[str]:
    attrs: list[str] = []
    for check in result.checks:
        for row in check.details.get("comparisons") or []:
            for a in row.get("attributes") or []:
                if a not in attrs:
                    attrs.append(a)
    driver = _first(result, "explain.protected_driver")
    for a in (driver.details.get("not_model_inputs") or []) if driver else []:
        if a not in attrs:
            attrs.append(a)
    return attrs


def _proxies(result: AuditResult) -> dict[str, str]:
    """feature → ``proxy for X`` from the explainability and proxy checks."""
    out: dict[str, str] = {}
    driver = _first(result, "explain.protected_driver")
    for cand in (driver.details.get("candidates") or []) if driver else []:
        if str(cand.get("role", "")).startswith("proxy"):
            out[cand["feature"]] = cand["role"]
    return out


def consent_view(result: AuditResult) -> dict[str, Any] | None:
    """Feature table and consent findings by reason (None when no consent check ran)."""
    coverage = _first(result, "consent.coverage")
    consent_checks = [c for c in result.checks if c.type.startswith("consent.")]
    if not consent_checks and not _first(result, "privacy."):
        return None
    data = (coverage.details.get("data") or {}) if coverage else {}
    states = data.get("rows_by_state") or {}
    total = sum(states.values()) or None
    reasons = [{"reason": REASONS.get(k, k.replace("_", " ")), "rows": v,
                "share": f"{v / total:.1%}" if total else ""}
               for k, v in sorted(states.items(), key=lambda kv: -kv[1]) if k != "valid" and v]
    valid = states.get("valid")
    special = _first(result, "privacy.special_category")
    flagged = {str(f.get("feature", f)) if isinstance(f, dict) else str(f)
               for f in ((special.details.get("flagged") or []) if special else [])}
    retention = _first(result, "privacy.retention")
    retention_text = (f"{retention.details.get('retention_days')} days"
                      if retention and retention.details.get("retention_days") else "not declared")
    purpose = data.get("purpose") or result.system.get("purpose") or "not declared"
    bases = ", ".join(data.get("accepted_lawful_bases") or []) or "not declared"
    cover = f"{valid / total:.1%} of rows" if valid is not None and total else "not measured"
    protected, proxies = _protected(result), _proxies(result)
    features = []
    for name in _model_features(result):
        role = ("protected attribute" if name in protected else proxies.get(name, ""))
        features.append({"feature": name, "purpose": purpose, "basis": bases, "coverage": cover,
                         "special": "yes" if name in flagged or name in protected else "no",
                         "retention": retention_text, "role": role})
    impact = []
    for row in data.get("bias_impact") or []:
        impact.append({"attrs": " × ".join(row.get("attributes") or []),
                       "before": f"{num(row.get('lowest_ratio_all_rows'), 2)} "
                                 f"({row.get('lowest_group_all_rows')})",
                       "after": f"{num(row.get('lowest_ratio_without_affected'), 2)} "
                                f"({row.get('lowest_group_without_affected')})"})
    checks = [{"id": c.id, "tone": check_tone(c), "rows": _affected(c)} for c in consent_checks]
    return {"features": features, "reasons": reasons, "total": total, "impact": impact,
            "checks": checks, "coverage_id": coverage.id if coverage else None}


def _affected(check: CheckResult) -> str:
    rows = check.details.get("affected_rows")
    if rows is None:
        rows = (check.details.get("data") or {}).get("affected_rows")
    return num(rows) if rows is not None else ""


def _importance(result: AuditResult) -> list[dict[str, Any]]:
    glob = _first(result, "explain.global_importance")
    if glob is None:
        return []
    items = glob.details.get("importance") or []
    return [{"feature": str(i.get("feature")), "importance": i.get("mean_abs_shap")}
            for i in items if isinstance(i, dict)]


def _model_features(result: AuditResult) -> list[str]:
    names = [i["feature"] for i in _importance(result)]
    if names:
        return names
    scan = _first(result, "privacy.pii_features")
    return [str(f) for f in (scan.details.get("features") or [])] if scan else []


def explain_view(result: AuditResult) -> dict[str, Any] | None:
    """The one importance chart, protected attributes and proxies marked."""
    from cxaudit.render.html.charts import importance_chart

    items = _importance(result)
    if not items:
        return None
    protected, proxies = set(_protected(result)), _proxies(result)
    features = [{**i, "protected": i["feature"] in protected, "proxy": i["feature"] in proxies,
                 "note": "protected attribute" if i["feature"] in protected else
                 proxies.get(i["feature"], "")} for i in items]
    driver = _first(result, "explain.protected_driver")
    absent = list((driver.details.get("not_model_inputs") or []) if driver else [])
    alt = "; ".join(f"{f['feature']} {f['importance']:.3g}" + (f" ({f['note']})" if f["note"] else "")
                    for f in features if f["importance"] is not None)
    return {"chart": importance_chart(features), "alt": alt, "features": features,
            "absent": absent}


# ---- rules: listed only when a check stands for them and they apply to this system ----

#: Citations of methods, not rules (a fairness tree, a paper): never listed as rules.
_METHOD = re.compile(r"et al\.|Aequitas|fairness tree|Group fairness|Equal opportunity", re.I)


def is_method(citation: str) -> bool:
    """True for a citation of a method or paper rather than a rule."""
    return bool(_METHOD.search(citation)) and not re.search(r"Art\.|CFR|§|Law", citation)


def applies(citation: str, checks: list[dict[str, Any]]) -> str | None:
    """Why ``citation`` is left out of the rules that apply (None: it applies).

    Whether a rule applies comes from the audit, not from the citation's words: each
    check carries its rule's ``law`` (jurisdiction, decision domains, dates) and a check
    whose rule does not apply to this system at the audit date is ``not_applicable``
    with the reason (see :mod:`cxaudit.lawdates`). ``checks`` are the rule's checks as
    :func:`cxaudit.render.rules.rules_covered` lists them (with ``status`` and ``standing``).
    """
    if is_method(citation):
        return "a method, not a rule"
    if checks and all(c["status"] == "not_applicable" for c in checks):
        reasons = sorted({c.get("standing") or "its checks do not apply" for c in checks})
        return "; ".join(reasons)
    return None


def where_and_when(checks: list[dict[str, Any]]) -> str:
    """``US-CA · from 2027-01-01 · due 2027-12-31 · until …`` from a rule's checks' law."""
    law = next((c for c in checks if c.get("jurisdiction")), None)
    if law is None:
        return "not stated"
    parts = ["any jurisdiction" if law["jurisdiction"] == "ANY" else law["jurisdiction"]]
    for key, word in (("applies_from", "from"), ("compliance_deadline", "compliance due"),
                      ("applies_until", "until")):
        if law.get(key):
            parts.append(f"{word} {law[key]}")
    if law.get("pack"):
        parts.append(f"pack {law['pack']} {law.get('pack_version') or ''}".strip())
    return " · ".join(parts)


def applicable_rules(result: AuditResult) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Rules to list (with their checks) and those left out with the reason."""
    listed, left_out = [], []
    for row in rules_covered(result):
        why = applies(row["rule"], row["checks"])
        if why:
            left_out.append({"rule": row["rule"], "why": why})
        else:
            standing = [c for c in row["checks"] if c["status"] != "not_applicable"]
            listed.append({**row, "checks": standing, "tone": status_tone(row["outcome"]),
                           "where": where_and_when(standing),
                           "confidence_words": CONFIDENCE_WORDS.get(row.get("confidence") or "",
                                                                    "")})
    return listed, left_out


def markup_join(items: list[Markup]) -> Markup:
    """Join already-safe fragments."""
    return Markup("").join(items)
