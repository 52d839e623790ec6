"""Plain-language lines about what an audit found, for the end of ``cxaudit demo``."""

from __future__ import annotations

from cxaudit.result import AuditResult, Status


def describe_findings(result: AuditResult) -> list[str]:
    """One line per check that did not pass, most serious first."""
    order = {Status.ERROR: 0, Status.FAIL: 1, Status.INCONCLUSIVE: 2, Status.INSUFFICIENT_DATA: 3,
             Status.WARN: 4}
    flagged = sorted((c for c in result.checks if c.status in order),
                     key=lambda c: (order[c.status], c.id))
    return [f"{c.id} ({c.status.value}, {c.severity.value}): {c.summary}" for c in flagged]
