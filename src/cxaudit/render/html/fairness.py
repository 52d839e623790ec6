"""One fairness block per protected attribute (and intersection), shared by all bias checks.

Every bias check stores its group comparisons in ``details["comparisons"]``
(group, n, share, value with interval, comparison to the reference with
interval, state, status). This module pivots them: rows are groups, columns are
checks, and each cell has a stable anchor the checks' findings link to. Groups
that could not be judged carry their n and are never drawn as ordinary marks.
"""

from __future__ import annotations

import math
import re
from typing import Any

from cxaudit.render.html.status import TONES, status_tone
from cxaudit.result import AuditResult, CheckResult

ATTR_JOIN = " × "


def slug(*parts: str) -> str:
    """A stable HTML id from free text."""
    return "-".join(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-").lower() for p in parts if p)


def num(value: Any, digits: int = 3) -> str:
    """Compact number, ``n/a`` when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def interval(ci: Any) -> str:
    """``0.39–0.54`` or empty."""
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f"{num(ci[0])}–{num(ci[1])}"


def ref_label(row: dict[str, Any]) -> str:
    """The reference group's label (a string, or a structured reference)."""
    ref = row.get("reference")
    if isinstance(ref, dict):
        return str(ref.get("label") or ref.get("group") or ref.get("kind") or "")
    return str(ref or "")


def threshold_text(threshold: dict[str, float] | None, compare: str) -> str:
    """``ratio ≥ 0.8`` / ``gap ≤ 0.1``."""
    if not threshold:
        return ""
    word = "ratio" if compare == "ratio" else "gap"
    parts = []
    if "min" in threshold:
        parts.append(f"{word} ≥ {threshold['min']:g}")
    if "max" in threshold:
        parts.append(f"{word} ≤ {threshold['max']:g}")
    return ", ".join(parts)


def bias_checks(result: AuditResult) -> list[CheckResult]:
    """Checks that carry group comparisons."""
    return [c for c in result.checks if isinstance(c.details.get("comparisons"), list)]


def cell_id(attr_key: str, group: str, check_id: str) -> str:
    """Anchor of one cell of a fairness block."""
    return "cell-" + slug(attr_key, group, check_id)


def _column(check: CheckResult) -> dict[str, Any]:
    d = check.details
    metric = str(d.get("metric") or check.type.split(".")[-1])
    compare = str(d.get("compare") or "ratio")
    return {"id": check.id, "metric": metric, "severity": check.severity.value, "label": metric.replace("_", " "),
            "compare": compare, "threshold": threshold_text(d.get("threshold"), compare),
            "threshold_raw": d.get("threshold") or {},
            "higher_is_better": bool(d.get("higher_is_better", True)),
            "definition": d.get("definition") or d.get("what") or ""}


def _cell(row: dict[str, Any], column: dict[str, Any], attr_key: str,
          values: dict[str, Any]) -> dict[str, Any]:
    state = str(row.get("state") or "")
    tone = status_tone(row.get("status"))
    if row.get("status") == "fail" and column["severity"] != "block":
        tone = TONES[column["severity"]]  # a warn- or info-severity check never blocks
    comparison = row.get("comparison")
    if state == "reference":
        main = "reference"
    elif state == "insufficient":
        main = f"insufficient data (n={num(row.get('n'))})"
    elif state == "excluded":
        main = f"excluded ({row.get('share', 0):.1%} of rows)"
    else:
        unit = "×" if column["compare"] == "ratio" else " gap"
        main = (f"{num(comparison, 2)}{unit}" if comparison is not None
                else "∞" if row.get("comparison_infinite") else "n/a")
        ci = interval(row.get("comparison_ci"))
        main += f" [{ci}]" if ci else ""
    rate = f"{num(row.get('value'))}"
    if interval(row.get("value_ci")):
        rate += f" [{interval(row.get('value_ci'))}]"
    return {"id": cell_id(attr_key, row.get("label", ""), column["id"]), "state": state,
            "tone": tone, "main": main, "rate": rate, "why": row.get("why", ""),
            "p": row.get("p_adjusted"), "row": row, "ref_value": values.get(ref_label(row))}


def _unknown_rows(checks: list[CheckResult], attributes: list[str]) -> int | None:
    for check in checks:
        for table in check.details.get("impact_tables") or []:
            if list(table.get("attributes") or []) == attributes and "unknown_rows" in table:
                return int(table["unknown_rows"] or 0)
    return None


def fairness_blocks(result: AuditResult) -> list[dict[str, Any]]:
    """One block per attribute set: groups × checks, with the chart rows."""
    from cxaudit.render.html.charts import ratio_chart

    checks = bias_checks(result)
    by_attr: dict[tuple[str, ...], dict[str, Any]] = {}
    for check in checks:
        column = _column(check)
        values = {str(r.get("label")): r.get("value") for r in check.details["comparisons"]}
        for row in check.details["comparisons"]:
            attrs = tuple(row.get("attributes") or sorted(row.get("group", {})))
            key = ATTR_JOIN.join(attrs)
            block = by_attr.setdefault(attrs, {"key": key, "id": "fair-" + slug(key),
                                               "attributes": list(attrs), "columns": [],
                                               "groups": {}, "references": {}})
            if column not in block["columns"]:
                block["columns"].append(column)
            label = str(row.get("label") or "")
            group = block["groups"].setdefault(label, {"label": label, "n": row.get("n"),
                                                       "share": row.get("share"), "cells": {}})
            group["cells"][column["id"]] = _cell(row, column, key, values)
            if row.get("state") == "reference":
                block["references"][column["id"]] = row
    blocks = []
    for attrs, block in by_attr.items():
        groups = list(block["groups"].values())
        for group in groups:
            states = {c["state"] for c in group["cells"].values()}
            group["insufficient"] = states <= {"insufficient"}
            group["share_text"] = f"{group['share']:.1%}" if group.get("share") is not None else ""
        block["groups"] = groups
        block["unknown_rows"] = _unknown_rows(checks, list(attrs))
        block["ref_labels"] = sorted({ref_label(r) for c in checks
                                      for r in c.details["comparisons"]
                                      if tuple(r.get("attributes") or ()) == attrs and ref_label(r)})
        block["chart"], block["chart_alt"] = ratio_chart(block)
        blocks.append(block)
    return blocks


def failing_rows(check: CheckResult) -> list[dict[str, Any]]:
    """The check's comparisons outside the threshold, worst first."""
    rows = [r for r in check.details.get("comparisons") or []
            if r.get("status") in ("fail", "warn", "inconclusive")]
    compare = check.details.get("compare", "ratio")

    def badness(r: dict[str, Any]) -> float:
        c = r.get("comparison")
        if c is None:
            return 0.0
        return -c if compare == "difference" else c

    return sorted(rows, key=lambda r: (r.get("status") != "fail", badness(r)))


def finding_sentence(check: CheckResult, row: dict[str, Any]) -> str:
    """One sentence: group and n, value against the reference, the threshold."""
    d = check.details
    metric = str(d.get("metric", "metric")).replace("_", " ")
    compare = d.get("compare", "ratio")
    thr = threshold_text(d.get("threshold"), compare)
    ci = interval(row.get("comparison_ci"))
    ci_text = f" (95% interval {ci})" if ci else ""
    ref = ref_label(row)
    if compare == "ratio":
        core = (f"{row.get('label')} (n={num(row.get('n'))}) has {metric} {num(row.get('value'))}, "
                f"{num(row.get('comparison'), 2)}× that of {ref}{ci_text}")
    else:
        core = (f"{row.get('label')} (n={num(row.get('n'))}) has {metric} {num(row.get('value'))}, "
                f"a gap of {num(row.get('comparison'), 2)} to {ref}{ci_text}")
    return f"{core}; threshold {thr}."
