"""Compare two audits: what got worse, what got fixed, which numbers moved.

A metric change counts as *beyond the intervals* when both audits report a
confidence interval and the two intervals do not overlap; without intervals
the change is shown but never called significant.

A *regression* (``report diff --fail-on-regression`` exits 1) is any of:

- a metric whose new value lies outside the old audit's interval for it, on
  the harmful side of the metric's direction (below the interval when higher is
  better, above it when lower is better) — whatever its check's status;
- a check whose status got worse (pass → warn / insufficient_data →
  inconclusive → fail → error), or a new check that fails or errors;
- a blocking check that disappeared (removed, or no longer severity ``block``);
- a worse verdict.

Metrics without a direction (counts, data-quality figures) are reported as
changes and count as regressions only through their check's status. Every
metric change is marked ``better`` or ``worse`` when its metric has a direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cxaudit.result import AuditResult, CheckResult, Metric, Severity, Status

SEVERITY_RANK = {Status.NOT_APPLICABLE: 0, Status.PASS: 0, Status.WARN: 1,
                 Status.INSUFFICIENT_DATA: 1, Status.INCONCLUSIVE: 2, Status.FAIL: 3,
                 Status.ERROR: 4}
VERDICT_RANK = {"pass": 0, "warn": 1, "fail": 2, "error": 3}


@dataclass(frozen=True)
class CheckChange:
    """A check whose status or severity differs between the two audits (or that appeared/vanished)."""

    id: str
    type: str
    old: str | None
    new: str | None
    summary: str
    old_severity: str | None = None
    new_severity: str | None = None

    @property
    def kind(self) -> str:
        """``regressed``, ``fixed``, ``added``, ``removed`` or ``changed``."""
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        old, new = SEVERITY_RANK[Status(self.old)], SEVERITY_RANK[Status(self.new)]
        if new > old:
            return "regressed"
        if new < old:
            return "fixed"
        return "changed"

    @property
    def blocking_lost(self) -> bool:
        """A check that was blocking is gone, or no longer blocks."""
        return self.old_severity == Severity.BLOCK.value and self.new_severity != Severity.BLOCK.value

    @property
    def regression(self) -> str | None:
        """Why this change is a regression, or None."""
        if self.kind == "regressed":
            return f"status got worse ({self.old} → {self.new})"
        if self.kind == "added" and self.new in ("fail", "error", "inconclusive"):
            return f"new check is {self.new}"
        if self.blocking_lost:
            return ("blocking check disappeared" if self.new is None
                    else f"check is no longer blocking (severity {self.new_severity})")
        return None


@dataclass(frozen=True)
class MetricChange:
    """One metric of one group in both audits."""

    check: str
    name: str
    group: dict[str, str]
    old: float | None
    new: float | None
    old_ci: tuple[float, float] | None
    new_ci: tuple[float, float] | None
    old_status: str | None
    new_status: str | None
    direction: str | None = None

    @property
    def delta(self) -> float | None:
        """new − old, when both are defined and finite."""
        if self.old is None or self.new is None:
            return None
        if not (math.isfinite(self.old) and math.isfinite(self.new)):
            return None
        return self.new - self.old

    @property
    def beyond_intervals(self) -> bool:
        """True when both intervals exist and do not overlap."""
        if not self.old_ci or not self.new_ci:
            return False
        return self.new_ci[0] > self.old_ci[1] or self.new_ci[1] < self.old_ci[0]

    @property
    def change(self) -> str | None:
        """``better`` or ``worse`` for the group by the metric's direction (None: no direction,
        or a value missing on one side)."""
        if self.direction not in ("higher", "lower") or self.old is None or self.new is None:
            return None
        if self.new == self.old:
            return "same"
        up = self.new > self.old
        return "better" if up == (self.direction == "higher") else "worse"

    @property
    def regression(self) -> bool:
        """The new value is outside the old interval, on the harmful side of the direction."""
        if self.direction not in ("higher", "lower") or self.new is None or not self.old_ci:
            return False
        low, high = self.old_ci
        if self.direction == "higher":
            return low is not None and self.new < low
        return high is not None and self.new > high


@dataclass(frozen=True)
class AuditDiff:
    """Everything that differs between two audit results."""

    old_verdict: str
    new_verdict: str
    checks: list[CheckChange] = field(default_factory=list)
    metrics: list[MetricChange] = field(default_factory=list)
    inputs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def regressions(self) -> list[str]:
        """Every reason this diff is a regression (empty: none)."""
        reasons = []
        if VERDICT_RANK[self.new_verdict] > VERDICT_RANK[self.old_verdict]:
            reasons.append(f"verdict got worse ({self.old_verdict} → {self.new_verdict})")
        reasons += [f"{c.id}: {c.regression}" for c in self.checks if c.regression]
        for m in self.metrics:
            if m.regression:
                group = ", ".join(f"{k}={v}" for k, v in m.group.items()) or "overall"
                reasons.append(f"{m.check}: {m.name} for {group} moved to {_num(m.new)}, outside "
                               f"the old interval [{_num(m.old_ci[0])}, {_num(m.old_ci[1])}] on "
                               f"the harmful side ({m.direction} is better)")
        return reasons

    @property
    def regressed(self) -> bool:
        """Any regression: see the module docstring."""
        return bool(self.regressions)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "verdict": {"old": self.old_verdict, "new": self.new_verdict},
            "regressed": self.regressed,
            "regressions": self.regressions,
            "checks": [{"id": c.id, "type": c.type, "old": c.old, "new": c.new, "kind": c.kind,
                        "old_severity": c.old_severity, "new_severity": c.new_severity,
                        "regression": c.regression, "summary": c.summary} for c in self.checks],
            "metrics": [{"check": m.check, "name": m.name, "group": m.group,
                         **_json_number("old", m.old), **_json_number("new", m.new),
                         "delta": m.delta, "old_ci": _json_ci(m.old_ci),
                         "new_ci": _json_ci(m.new_ci), "direction": m.direction,
                         "change": m.change, "regression": m.regression,
                         "beyond_intervals": m.beyond_intervals, "old_status": m.old_status,
                         "new_status": m.new_status} for m in self.metrics],
            "inputs": {k: {"old": o, "new": n} for k, (o, n) in self.inputs.items()},
        }


def _json_number(key: str, value: float | None) -> dict[str, Any]:
    if value is not None and math.isinf(value):
        return {key: None, f"{key}_infinite": True}
    return {key: value}


def _json_ci(ci: tuple[float, float] | None) -> list[float | None] | None:
    if ci is None:
        return None
    return [b if b is not None and math.isfinite(b) else None for b in ci]


def _metric_key(check: CheckResult, metric: Metric) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return check.id, metric.name, tuple(sorted(metric.group.items()))


def diff_audits(old: AuditResult, new: AuditResult, *, tolerance: float = 1e-12) -> AuditDiff:
    """Compare two results check by check and metric by metric."""
    old_checks = {c.id: c for c in old.checks}
    new_checks = {c.id: c for c in new.checks}
    changes = []
    for check_id in sorted(set(old_checks) | set(new_checks)):
        before, after = old_checks.get(check_id), new_checks.get(check_id)
        if (before and after and before.status == after.status
                and before.severity == after.severity):
            continue
        ref = after or before
        assert ref is not None
        changes.append(CheckChange(id=check_id, type=ref.type,
                                   old=before.status.value if before else None,
                                   new=after.status.value if after else None,
                                   summary=ref.summary,
                                   old_severity=before.severity.value if before else None,
                                   new_severity=after.severity.value if after else None))
    old_metrics = {_metric_key(c, m): m for c in old.checks for m in c.metrics}
    new_metrics = {_metric_key(c, m): m for c in new.checks for m in c.metrics}
    moved = []
    for key in sorted(set(old_metrics) & set(new_metrics)):
        a, b = old_metrics[key], new_metrics[key]
        same_value = (a.value is None and b.value is None) or (
            a.value is not None and b.value is not None
            and (a.value == b.value or abs(a.value - b.value) <= tolerance))
        if same_value and a.status == b.status:
            continue
        moved.append(MetricChange(check=key[0], name=key[1], group=dict(key[2]), old=a.value,
                                  new=b.value, old_ci=a.ci, new_ci=b.ci,
                                  old_status=a.status.value if a.status else None,
                                  new_status=b.status.value if b.status else None,
                                  direction=b.direction or a.direction))
    inputs = {}
    for name in sorted(set(old.inputs) | set(new.inputs)):
        a_hash = old.inputs[name].sha256 if name in old.inputs else None
        b_hash = new.inputs[name].sha256 if name in new.inputs else None
        if a_hash != b_hash:
            inputs[name] = (a_hash, b_hash)
    return AuditDiff(old_verdict=old.verdict.value, new_verdict=new.verdict.value,
                     checks=changes, metrics=moved, inputs=inputs)


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.4g}"


def render_markdown(diff: AuditDiff, *, limit: int = 40) -> str:
    """A PR-comment-sized summary of the differences."""
    lines = [f"## cxaudit: {diff.old_verdict.upper()} → {diff.new_verdict.upper()}"
             + (" (regression)" if diff.regressed else ""), ""]
    if diff.regressions:
        lines += ["### Regressions", ""]
        lines += [f"- {reason}" for reason in diff.regressions[:limit]]
        if len(diff.regressions) > limit:
            lines.append(f"- … and {len(diff.regressions) - limit} more")
        lines.append("")
    groups = {kind: [c for c in diff.checks if c.kind == kind]
              for kind in ("regressed", "added", "fixed", "removed", "changed")}
    titles = {"regressed": "New failures / regressions", "added": "New checks",
              "fixed": "Fixed", "removed": "Removed checks", "changed": "Status changed"}
    for kind, items in groups.items():
        if not items:
            continue
        lines += [f"### {titles[kind]}", ""]
        lines += [f"- `{c.id}` ({c.type}): {c.old or '—'} → {c.new or '—'} — {c.summary}"
                  for c in items]
        lines.append("")
    if diff.metrics:
        significant = sum(m.beyond_intervals for m in diff.metrics)
        lines += [f"### Metric changes ({len(diff.metrics)}, {significant} beyond the intervals)", "",
                  "| Check | Metric | Group | Old | New | Δ | For the group | Beyond intervals |",
                  "|---|---|---|---|---|---|---|---|"]
        ordered = sorted(diff.metrics, key=lambda m: (not m.regression, not m.beyond_intervals,
                                                      -abs(m.delta or 0.0)))
        for m in ordered[:limit]:
            group = " × ".join(f"{k}={v}" for k, v in m.group.items()) or "overall"
            delta = "" if m.delta is None else f"{m.delta:+.4g}"
            change = m.change or "—"
            if m.regression:
                change = "**worse (regression)**"
            lines.append(f"| `{m.check}` | {m.name} | {group} | {_num(m.old)} | {_num(m.new)} | "
                         f"{delta} | {change} | {'yes' if m.beyond_intervals else 'no'} |")
        if len(ordered) > limit:
            lines.append(f"\n… and {len(ordered) - limit} more (use `--format json`).")
        lines.append("")
    if diff.inputs:
        lines += ["### Inputs that changed", ""]
        lines += [f"- {name}: `{(o or '—')[:12]}` → `{(n or '—')[:12]}`"
                  for name, (o, n) in diff.inputs.items()]
        lines.append("")
    if len(lines) == 2:
        lines.append("No differences.")
    return "\n".join(lines).rstrip() + "\n"
