"""Sign-off, waivers, evidence and the appendix (crosswalk, definitions, run configuration).

Approvals bind the audit digest (``audit.json`` without its ``run`` block), not
the rendered files, so a report can be re-rendered with its sign-off block
without invalidating the approvals it shows.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from cxaudit.result import AuditResult

#: Sign-off lines when the policy requires no named roles.
DEFAULT_ROLES = (("findings", "Findings accepted by"),
                 ("residual_risk", "Residual risk accepted by"),
                 ("release", "Release approved by"))


def _signatures(report_dir: Path) -> dict[int, str]:
    """seq → signing key id, read from approvals.jsonl (already verified by list_approvals)."""
    out: dict[int, str] = {}
    path = report_dir / "approvals.jsonl"
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        sig = (entry.get("data") or {}).get("signature") or {}
        if isinstance(sig, dict) and sig.get("key_id"):
            out[int(entry.get("seq", -1))] = str(sig["key_id"])
    return out


def signoff(result: AuditResult, report_dir: str | Path | None) -> dict[str, Any]:
    """Signed lines from the approvals log, and the empty lines still to sign."""
    roles = list(((result.settings.get("approvals") or {}).get("required_roles")) or [])
    approvals: list[Any] = []
    problem = ""
    sigs: dict[int, str] = {}
    if report_dir is not None and (Path(report_dir) / "approvals.jsonl").is_file():
        from cxaudit.errors import CxauditError
        from cxaudit.evidence.approvals import list_approvals

        try:
            approvals = list_approvals(report_dir)
            sigs = _signatures(Path(report_dir))
        except CxauditError as exc:
            problem = str(exc)
    current = [a for a in approvals if a.current]
    lines = []
    wanted = [(r, r.replace("_", " ").capitalize()) for r in roles] or list(DEFAULT_ROLES)
    used: set[int] = set()
    for role, title in wanted:
        match = next((a for a in current if a.role == role and a.seq not in used), None)
        if match is not None:
            used.add(match.seq)
        lines.append({"role": title, "approval": match,
                      "signature": sigs.get(match.seq, "unsigned") if match else ""})
    for extra in (a for a in current if a.seq not in used):
        lines.append({"role": extra.role.replace("_", " ").capitalize(), "approval": extra,
                      "signature": sigs.get(extra.seq, "unsigned")})
    stale = [a for a in approvals if not a.current]
    return {"lines": lines, "required": bool(roles), "stale": len(stale),
            "refused": sorted({a.refused for a in stale if a.refused}), "problem": problem,
            "approver": result.system.get("approver") or ""}


def waivers(result: AuditResult) -> list[dict[str, Any]]:
    """Every declared waiver with its status, rationale, approver and expiry."""
    out = []
    for w in result.waivers:
        out.append({"check": w.get("check", ""), "label": w.get("waiver", ""),
                    "status": str(w.get("status", "")).replace("_", " "),
                    "justification": w.get("justification", ""), "approver": w.get("approver") or
                    "none", "expires": w.get("expires", ""), "message": w.get("message", "")})
    return out


def reproduce_command(result: AuditResult) -> str:
    """The command that re-runs this audit on the same inputs (paths as recorded)."""
    flags = {"policy": "--policy", "data": "--data", "model": "--model", "consent": "--consent",
             "reference": "--reference"}
    parts = ["cxaudit", "audit"]
    for name, flag in flags.items():
        record = result.inputs.get(name)
        if record is not None and record.path:
            parts += [flag, record.path]
    model = result.inputs.get("model")
    if model is not None and model.sha256:
        # Pinned by its SHA-256, the same file may be trusted again: pickles need
        # --trust-model; skops files only the types admitted one by one (--trust-type).
        parts += ["--model-sha256", model.sha256]
        detail = model.detail or {}
        if detail.get("format") in ("pickle", "joblib"):
            parts.append("--trust-model")
        for name in detail.get("trusted_types") or ():
            parts += ["--trust-type", str(name)]
    if "seed" in result.settings:
        parts += ["--seed", str(result.settings["seed"])]
    if result.run.get("engine"):
        parts += ["--engine", str(result.run["engine"])]
    return " ".join(shlex.quote(p) for p in parts)


def evidence(result: AuditResult, digest: str, report_dir: str | Path | None) -> dict[str, Any]:
    """Hashes, digest, signature state, manifest location and the reproduce command."""
    inputs = [{"name": name, "path": rec.path or "", "rows": rec.rows, "sha256": rec.sha256 or ""}
              for name, rec in sorted(result.inputs.items())]
    signature = ("not known when this report was written (the manifest is written after it); "
                 "cxaudit verify DIR checks the bundle and its signature")
    if report_dir is not None:
        root = Path(report_dir)
        if (root / "manifest.json.sig").is_file():
            signature = "manifest.json is signed (manifest.json.sig); `cxaudit verify` checks it"
        elif (root / "manifest.json").is_file():
            signature = "manifest.json is not signed"
    return {"inputs": inputs, "digest": digest, "signature": signature,
            "manifest": "manifest.json, next to this report (lists every report file's SHA-256)",
            "command": reproduce_command(result)}


#: Report section → (EU AI Act Annex IV headings, GDPR Art. 35(7) DPIA elements) it supports.
CROSSWALK = (
    ("First screen: identity and verdict", "1 general description of the system",
     "(a) systematic description of the processing and its purposes"),
    ("Data quality", "2 elements and development process (data requirements); "
                     "4 appropriateness of the performance metrics",
     "(c) assessment of the risks to rights and freedoms"),
    ("Consent & privacy", "2 elements and development process (data provenance)",
     "(a) the processing and its purposes; (b) necessity and proportionality"),
    ("Fairness", "2 validation and testing; 4 appropriateness of the performance metrics; "
                 "5 risk management system", "(c) risks to rights and freedoms"),
    ("Explainability", "2 design logic; 3 monitoring, functioning and control",
     "(c) risks; (d) measures envisaged to address them"),
    ("Changes since the baseline", "6 changes through the lifecycle; 9 post-market monitoring",
     "(d) measures to demonstrate compliance"),
    ("Rules covered", "7 harmonised standards applied or other solutions adopted", "—"),
    ("Sign-off and waivers", "5 risk management (residual risk accepted); "
                             "8 supports the EU declaration of conformity",
     "(d) measures, safeguards; sign-off and record of outcomes"),
    ("Evidence", "2 validation and testing (reproducibility); 6 changes through the lifecycle",
     "(d) mechanisms to demonstrate compliance"),
)

#: Metric → (what it is, when it matters).
DEFINITIONS = {
    "selection_rate": ("Share of customers who receive the positive decision.",
                       "When the decision itself is the benefit or the harm (offers, flags)."),
    "true_positive_rate": ("Share of customers with the positive outcome whom the model selects.",
                           "When missing people who need help is the harm (assistive, scarce)."),
    "false_negative_rate": ("Share of customers with the positive outcome whom the model misses.",
                            "The mirror of the true positive rate: missed churners go unhelped."),
    "false_positive_rate": ("Share of customers without the outcome whom the model flags.",
                            "When being flagged wrongly harms the customer (punitive)."),
    "auc": ("How well scores rank positives above negatives, within a group.",
            "When one group's scores carry less information than another's."),
    "calibration_error": ("Gap between predicted probability and observed rate, within a group.",
                          "When people act on the score as a probability."),
    "scoring_rate": ("Share of customers scoring above the median score (LL144 scoring rate).",
                     "When the score, not a decision, is what is used."),
    "psi": ("Population stability index between reference and audited data.",
            "When the model may be applied to a population it was not built on."),
    "mean_abs_shap": ("Mean absolute SHAP contribution of a feature to the model's output.",
                      "When you must explain what drives decisions, or spot proxies."),
}


def definitions(result: AuditResult) -> list[dict[str, str]]:
    """Definitions of the metrics this audit reports."""
    names = list(dict.fromkeys(m.name for c in result.checks for m in c.metrics))
    out = []
    for name in names:
        base = name
        for suffix in ("_ratio", "_difference", "_gap"):
            base = base.removesuffix(suffix)
        if base in DEFINITIONS and not any(d["name"] == base for d in out):
            what, when = DEFINITIONS[base]
            out.append({"name": base.replace("_", " "), "what": what, "when": when})
    return out


def run_config(result: AuditResult) -> list[tuple[str, str]]:
    """Settings, run block (minus per-check timings) and package versions."""
    rows = [(f"setting {k}", json.dumps(v, sort_keys=True)) for k, v in sorted(result.settings.items())]
    rows += [(f"run {k}", str(v)) for k, v in sorted(result.run.items()) if k != "check_seconds"]
    rows += [("versions", ", ".join(f"{k} {v}" for k, v in sorted(result.versions.items())))]
    rows += [("report schema", result.schema_version)]
    return rows
