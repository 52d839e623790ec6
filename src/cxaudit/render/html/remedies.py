"""The report's "What would fix it" section, worded from ``cxaudit remedies``' output.

The remedies come from ``cxaudit audit --remedies`` (rendered with the reports and
written beside them as ``remedies.json``, covered by the manifest) or, when a report is
re-rendered (``cxaudit approve``), from that file when its ``audit_digest`` is this
audit's. They are never part of audit.json: decision aids do not change the verdict and
do not enter the audit digest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REMEDIES_FILE = "remedies.json"


def stored_remedies(report_dir: str | Path | None, digest: str) -> dict[str, Any] | None:
    """The report folder's remedies.json when it was computed for this audit, else None."""
    if report_dir is None:
        return None
    path = Path(report_dir) / REMEDIES_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("audit_digest") != digest:
        return None
    return found


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _ci(values: Any) -> str:
    return f" [{values[0]:.3g}, {values[1]:.3g}]" if values else ""


def _blind(r: dict[str, Any]) -> str:
    if not r.get("offered"):
        return f"not offered: {r.get('reason', '')}"
    a, c = r["after"], r["current"]
    return (f"one threshold {r['threshold']:.3g} for everyone (now {c['threshold']:.3g}) passes "
            f"(worst {_num(r['worst_comparison'])}); accuracy {c['accuracy']:.3f} → "
            f"{a['accuracy']:.3f}{_ci(a.get('accuracy_ci'))}; selected {c['selected']:,} → "
            f"{a['selected']:,}")


def _aware(r: dict[str, Any]) -> str:
    if not r.get("offered"):
        return f"not offered: {r.get('reason', '')}"
    return (f"per-group thresholds (fairlearn ThresholdOptimizer, {r['constraint']}) "
            f"{'pass' if r['passes_policy_check'] else 'do not pass'} (worst "
            f"{_num(r['worst_comparison'])}); accuracy {r['after']['accuracy']:.3f}; needs the "
            f"group at decision time; {r['randomisation']}")


def _retrain(r: dict[str, Any], compare: str) -> tuple[str, list[str]]:
    if not r.get("offered"):
        return f"not offered: {r.get('reason', '')}", []
    now = r["current_model"]
    sample = (f"a stratified sample of {r['rows_used']:,} of {r['reference_rows']:,} rows"
              if r["sampled"] else f"{r['rows_used']:,} rows")
    head = (f"fairlearn ExponentiatedGradient ({r['constraint']}, fitted on {r['fitted_on']}, "
            f"{sample} of the reference data, {r['max_iter']} iterations, seed {r['seed']}); "
            f"current model {compare} {_num(now['worst'])}{_ci(now.get('worst_ci'))}, accuracy "
            f"{now['accuracy']:.3f}")
    points = []
    for p in r["points"]:
        d, e = p["deterministic"], p["expected"]
        points.append(f"bound {p['difference_bound']:g}: {compare} {_num(d['worst'])}"
                      f"{_ci(d.get('worst_ci'))} ({'passes' if d['passes'] else 'fails'}), "
                      f"accuracy {d['accuracy']:.3f}{_ci(d.get('accuracy_ci'))}; randomised "
                      f"mixture {_num(e['worst'])}, accuracy {e['accuracy']:.3f}")
    return head, points


def remedies_view(found: dict[str, Any] | None) -> dict[str, Any] | None:
    """Rows of the section (None when the audit was not given --remedies)."""
    if not found:
        return None
    rows = []
    for item in found.get("remedies", []):
        head, points = _retrain(item["retraining"], item["compare"])
        rows.append({"check": item["check"], "attribute": item["attribute"],
                     "metric": f"{item['metric'].replace('_', ' ')} {item['compare']}",
                     "blind": _blind(item["group_blind"]), "aware": _aware(item["group_aware"]),
                     "retrain": head, "points": points,
                     "short": _short(item)})
    legal = found.get("legal_warning") or {}
    return {"note": found.get("note", ""), "rows": rows,
            "skipped": [f"{s['check']}: {s['reason']}" for s in found.get("skipped", [])],
            "legal": legal.get("text", ""),
            "any_aware": any(i["group_aware"].get("offered") for i in found.get("remedies", []))}


def _short(item: dict[str, Any]) -> str:
    """One line for the Markdown report."""
    parts = []
    blind = item["group_blind"]
    parts.append(f"one threshold {blind['threshold']:.3g}" if blind.get("offered")
                 else "no single threshold")
    aware = item["group_aware"]
    if aware.get("offered"):
        parts.append("per-group thresholds " + ("pass" if aware["passes_policy_check"]
                                                else "do not pass"))
    retraining = item["retraining"]
    if retraining.get("offered"):
        def at(bounds: list[float]) -> str:
            return (f"passes at bound {', '.join(f'{b:g}' for b in bounds)}" if bounds
                    else "does not pass at any bound tried")

        parts.append(f"retraining (ExponentiatedGradient): deterministic "
                     f"{at(retraining['passing_points'])}, randomised mixture "
                     f"{at(retraining.get('passing_points_randomised', []))}")
    return "; ".join(parts)
