"""Audit-wide false discovery rate control across every bias check.

The runner runs checks independently, so each bias check adjusts its p-values
(Benjamini–Hochberg) across its own comparisons. An audit makes more
comparisons than that (attributes × groups × metrics); this post-processing
step re-adjusts every raw p-value of every bias check together and re-judges
each check (statuses under ``block_on: significant`` and summaries may change).
The runner calls it on the tuple of results after ``run_checks``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from cxaudit.checks.base import Threshold
from cxaudit.checks.bias.judge import adjust_p_values, outcome
from cxaudit.result import CheckResult, Status


def _is_bias(check: CheckResult) -> bool:
    return (check.type.startswith("bias.") and check.status is not Status.ERROR
            and isinstance(check.details.get("comparisons"), list))


def adjust_audit_p_values(checks: Sequence[CheckResult]) -> tuple[CheckResult, ...]:
    """Benjamini–Hochberg across all comparisons of all bias checks; re-judge them.

    Parameters
    ----------
    checks
        The audit's check results, in policy order.

    Returns
    -------
    tuple of CheckResult
        The same results, with bias checks' ``p_value`` fields, statuses and
        summaries recomputed from audit-wide adjusted p-values
        (``details.p_value_adjustment`` says so). Other checks are unchanged.
    """
    rows_by_check = {i: copy.deepcopy(c.details["comparisons"])
                     for i, c in enumerate(checks) if _is_bias(c)}
    every_row = [row for rows in rows_by_check.values() for row in rows]
    tested = adjust_p_values(every_row, scope="audit")
    out = list(checks)
    for i, rows in rows_by_check.items():
        check = checks[i]
        details = dict(check.details)
        details["p_value_adjustment"] = (f"Benjamini-Hochberg across the {tested} comparison(s) of "
                                         f"all {len(rows_by_check)} bias check(s) of this audit")
        overall = [m for m in check.metrics if not m.group]
        judged = outcome(rows, title=details.get("title", check.type),
                         what=details.get("what", details.get("metric", check.type)),
                         threshold=Threshold(**details["threshold"]), compare=details["compare"],
                         block_on=details["block_on"], alpha=details["alpha"], overall=overall,
                         details=details, decide_on=details.get("decide_on", "significance"))
        prefix = details.get("summary_prefix")
        summary = f"{prefix} {judged.summary}" if prefix else judged.summary
        out[i] = check.model_copy(update={"status": judged.status, "summary": summary,
                                          "metrics": judged.metrics, "details": judged.details})
    return tuple(out)
