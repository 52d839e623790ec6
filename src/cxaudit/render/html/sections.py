"""Consent & privacy, explainability and applicable rules, built from the audit alone."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

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

_EMPLOYMENT = re.compile(r"four-fifths|1607|LL ?144|Local Law 144|RCNY|EEOC|Title VII", re.I)
_CREDIT = re.compile(r"ECOA|Reg\.? ?B|1002\.|FCRA|credit", re.I)
_METHOD = re.compile(r"et al\.|Aequitas|fairness tree|Group fairness|Equal opportunity", re.I)
_JURISDICTION = (("US-NY", re.compile(r"NYC|New York|RCNY|LL ?144", re.I)),
                 ("US-CA", re.compile(r"CCPA|CPRA|CCR", re.I)),
                 ("EU", re.compile(r"GDPR|EU AI Act|DSA|CJEU", re.I)))


def _declared(system: dict[str, Any], *names: str) -> list[str]:
    for name in names:
        value = system.get(name)
        if value:
            return [str(v) for v in (value if isinstance(value, list) else [value])]
    return []


def applies(citation: str, system: dict[str, Any]) -> str | None:
    """Why ``citation`` does not apply to ``system`` (None: it applies)."""
    sector = " ".join(_declared(system, "sector", "domain")
                      + [str(system.get("purpose") or ""), str(system.get("description") or "")])
    model_type = str(system.get("model_type") or "")
    if _METHOD.search(citation) and not re.search(r"Art\.|CFR|§|Law", citation):
        return "a method, not a rule"
    if _EMPLOYMENT.search(citation) and not re.search(r"employ|hiring|recruit", sector, re.I):
        return f"an employment rule; this is a {model_type or 'non-employment'} system"
    if (_CREDIT.search(citation) and model_type != "credit_scoring"
            and not re.search(r"credit|lending|loan", sector, re.I)):
        return f"a credit rule; this is a {model_type or 'non-credit'} system"
    if re.match(r"\s*GDPR Art\. ?22", citation) and system.get("automation") not in (
            None, "fully_automated", "automated") and not system.get("significant_effect"):
        return "applies to solely automated decisions with significant effects"
    places = _declared(system, "jurisdictions", "jurisdiction")
    if places:
        for code, pattern in _JURISDICTION:
            if pattern.search(citation) and not any(p.upper().startswith(code) for p in places):
                return f"outside the declared jurisdictions ({', '.join(places)})"
    return None


def applicable_rules(result: AuditResult) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Rules to list (with their checks) and those left out with the reason."""
    listed, left_out = [], []
    for row in rules_covered(result):
        standing = [c for c in row["checks"] if c["status"] != "not_applicable"]
        why = applies(row["rule"], result.system) if standing else "its checks do not apply"
        if why:
            left_out.append({"rule": row["rule"], "why": why})
        else:
            listed.append({**row, "checks": standing, "tone": status_tone(row["outcome"])})
    return listed, left_out


def markup_join(items: list[Markup]) -> Markup:
    """Join already-safe fragments."""
    return Markup("").join(items)
