"""The first screen: identity, counts, scorecard by concern, top findings, baseline changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cxaudit.render.html.fairness import (
    cell_id,
    failing_rows,
    finding_sentence,
    num,
)
from cxaudit.render.html.status import CONCERNS, check_tone, concern_of
from cxaudit.result import AuditResult, CheckResult

TOP_FINDINGS = 5

#: What the reader should do, by concern, for a finding that needs action.
ACTIONS = {
    "fairness": "Investigate why this group is treated differently and fix the model or the "
                "decision rule, or record a waiver with its rationale and an approver.",
    "consent": "Stop scoring these customers for this purpose and fix the consent filter "
               "upstream; then re-run the audit.",
    "data": "Fix the data pipeline (or the expectation, if it is wrong) and re-run the audit.",
    "explain": "Review which features drive the decisions and whether they are justified.",
    "governance": "Complete the system's declaration in the policy and re-run the audit.",
}


def identity(result: AuditResult, digest: str) -> list[tuple[str, str]]:
    """Label/value pairs naming exactly what was audited."""
    system = result.system
    model = result.inputs.get("model")
    model_text = system.get("model_type", "") or ""
    if model is not None:
        detail = model.detail or {}
        name = detail.get("uri") or detail.get("name") or model.path or ""
        version = detail.get("version") or detail.get("mlflow_version")
        model_text = " · ".join(x for x in (str(name), model_text,
                                            f"MLflow version {version}" if version else "",
                                            f"sha256 {model.sha256[:12]}" if model.sha256 else "")
                                if x)
    data = result.inputs.get("data")
    data_text = ""
    if data is not None:
        data_text = " · ".join(x for x in (data.path or "", f"{num(data.rows)} rows" if data.rows
                                           is not None else "",
                                           f"sha256 {data.sha256[:12]}" if data.sha256 else "") if x)
    policy = result.policy
    versions = {p.get("name"): p.get("version") for p in policy.get("packs") or []}
    packs = ", ".join(f"{name} {versions[name]}" if versions.get(name) else name
                      for name in policy.get("extends") or []) or "none"
    as_of = policy.get("as_of") or {}
    judged = (f"{str(as_of['date'])[:10]} ({as_of.get('source')})" if as_of.get("date")
              else (as_of.get("source") or "not recorded"))
    places = ", ".join(policy.get("jurisdictions") or []) or "not declared (every pack's rules)"
    return [("System", str(system.get("name", ""))),
            ("Model", model_text or "not given"),
            ("Data snapshot", data_text or "not given"),
            ("Policy", f"{policy.get('name', '')} (sha256 {str(policy.get('sha256', ''))[:12]}) · "
                       f"packs: {packs}"),
            ("cxaudit", result.versions.get("cxaudit", "?")),
            ("Date", str(result.run.get("started_at", ""))[:19].replace("T", " ") or "not recorded"),
            ("Rules judged at", judged),
            ("Jurisdictions", places),
            ("Audit digest", digest)]


def scorecard(result: AuditResult) -> list[dict[str, Any]]:
    """Each concern: worst tone, counts by tone, link to its section."""
    cards = []
    for key, title in CONCERNS:
        checks = [c for c in result.checks if concern_of(c.type) == key]
        tones = [check_tone(c) for c in checks]
        worst = min(tones, key=lambda t: t.rank) if tones else None
        tally: dict[str, int] = {}
        for tone in sorted(tones, key=lambda t: t.rank):
            tally[tone.word] = tally.get(tone.word, 0) + 1
        cards.append({"key": key, "title": title, "anchor": f"concern-{key}", "n": len(checks),
                      "worst": worst, "tally": tally})
    return cards


def _finding(check: CheckResult) -> dict[str, Any]:
    concern = concern_of(check.type)
    tone = check_tone(check)
    link = f"#check-{check.id}"
    if check.details.get("comparisons") and failing_rows(check):
        row = failing_rows(check)[0]
        sentence = finding_sentence(check, row)
        attr = " × ".join(row.get("attributes") or [])
        link = "#" + cell_id(attr, str(row.get("label", "")), check.id)
    else:
        from cxaudit.render.html.findings import observed

        sentence = first_sentence(check.error or check.summary)
        seen = observed(check)
        if seen and not check.error:
            sentence = f"{sentence[:-1]} ({seen})."
    return {"id": check.id, "tone": tone, "sentence": sentence, "link": link,
            "action": ACTIONS[concern] if tone.key != "error" else
            "Fix what stopped the check and re-run the audit; the gate stays closed until then.",
            "concern": concern}


def first_sentence(text: str, limit: int = 260) -> str:
    """The text up to its first full stop (at most ``limit`` characters)."""
    text = " ".join(text.split())
    stops = [at for at in (text.find(". "), text.find("; ")) if 0 < at < limit]
    if stops:
        return text[: min(stops)] + "."
    return text if len(text) <= limit else text[: limit - 1] + "…"


def top_findings(result: AuditResult, limit: int = TOP_FINDINGS) -> list[dict[str, Any]]:
    """At most ``limit`` findings: worst first, spread across concerns."""
    candidates = [c for c in result.checks
                  if check_tone(c).key in ("error", "block", "inconc", "warn", "other")]
    candidates.sort(key=lambda c: check_tone(c).rank)
    picked: list[CheckResult] = []
    seen: dict[str, int] = {}
    for rank in sorted({check_tone(c).rank for c in candidates}):
        tier = [c for c in candidates if check_tone(c).rank == rank]
        # Round-robin over concerns inside one tier, so five consent checks do not hide fairness.
        while tier and len(picked) < limit:
            tier.sort(key=lambda c: seen.get(concern_of(c.type), 0))
            chosen = tier.pop(0)
            seen[concern_of(chosen.type)] = seen.get(concern_of(chosen.type), 0) + 1
            picked.append(chosen)
    return [_finding(c) for c in picked]


def load_baseline(path: str | Path) -> AuditResult:
    """The audit in a baseline report folder (or an ``audit.json`` file itself)."""
    source = Path(path)
    if source.is_dir():
        source = source / "audit.json"
    return AuditResult.read(source, what="baseline audit",
                            hint="pass the --out folder of an earlier `cxaudit audit`")


def baseline_changes(result: AuditResult, baseline: AuditResult | None) -> dict[str, Any] | None:
    """New, resolved and worse since the baseline, as ``report diff`` defines them."""
    if baseline is None:
        return None
    from cxaudit.diff import diff_audits

    diff = diff_audits(baseline, result)
    kinds: dict[str, list[dict[str, Any]]] = {"new": [], "worse": [], "resolved": [], "other": []}
    for change in diff.checks:
        kind = change.kind
        item = {"id": change.id, "old": change.old or "—", "new": change.new or "—",
                "summary": first_sentence(change.summary, 160)}
        if kind == "added":
            kinds["new" if change.new not in ("pass", "not_applicable") else "other"].append(item)
        elif kind == "regressed":
            kinds["worse"].append(item)
        elif kind in ("fixed", "removed"):
            kinds["resolved"].append(item)
        else:
            kinds["other"].append(item)
    significant = [m for m in diff.metrics if m.beyond_intervals]
    return {"old_verdict": diff.old_verdict, "new_verdict": diff.new_verdict,
            "regressed": diff.regressed, **kinds,
            "metrics_moved": len(diff.metrics), "metrics_significant": len(significant),
            "inputs_changed": sorted(diff.inputs),
            "baseline_date": str(baseline.run.get("started_at", ""))[:10]}
