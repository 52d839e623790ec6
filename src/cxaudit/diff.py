"""Compare two audits: what got worse, what got fixed, which numbers moved.

A metric change counts as *beyond the intervals* when both audits report a
confidence interval and the two intervals do not overlap; without intervals
the change is shown but never called significant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cxaudit.result import AuditResult, CheckResult, Metric, Status

SEVERITY_RANK = {Status.NOT_APPLICABLE: 0, Status.PASS: 0, Status.WARN: 1,
                 Status.INSUFFICIENT_DATA: 1, Status.INCONCLUSIVE: 1, Status.FAIL: 2,
                 Status.ERROR: 3}
VERDICT_RANK = {"pass": 0, "warn": 1, "fail": 2, "error": 3}


@dataclass(frozen=True)
class CheckChange:
    """A check whose status differs between the two audits (or that appeared/vanished)."""

    id: str
    type: str
    old: str | None
    new: str | None
    summary: str

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

    @property
    def delta(self) -> float | None:
        """new − old, when both are defined."""
        if self.old is None or self.new is None:
            return None
        return self.new - self.old

    @property
    def beyond_intervals(self) -> bool:
        """True when both intervals exist and do not overlap."""
        if not self.old_ci or not self.new_ci:
            return False
        return self.new_ci[0] > self.old_ci[1] or self.new_ci[1] < self.old_ci[0]


@dataclass(frozen=True)
class AuditDiff:
    """Everything that differs between two audit results."""

    old_verdict: str
    new_verdict: str
    checks: list[CheckChange] = field(default_factory=list)
    metrics: list[MetricChange] = field(default_factory=list)
    inputs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def regressed(self) -> bool:
        """The verdict got worse or any check's status got worse (or a new check fails)."""
        if VERDICT_RANK[self.new_verdict] > VERDICT_RANK[self.old_verdict]:
            return True
        return any(c.kind == "regressed" or (c.kind == "added" and c.new in ("fail", "error"))
                   for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "verdict": {"old": self.old_verdict, "new": self.new_verdict},
            "regressed": self.regressed,
            "checks": [{"id": c.id, "type": c.type, "old": c.old, "new": c.new, "kind": c.kind,
                        "summary": c.summary} for c in self.checks],
            "metrics": [{"check": m.check, "name": m.name, "group": m.group, "old": m.old,
                         "new": m.new, "delta": m.delta, "old_ci": m.old_ci, "new_ci": m.new_ci,
                         "beyond_intervals": m.beyond_intervals, "old_status": m.old_status,
                         "new_status": m.new_status} for m in self.metrics],
            "inputs": {k: {"old": o, "new": n} for k, (o, n) in self.inputs.items()},
        }


def _metric_key(check: CheckResult, metric: Metric) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return check.id, metric.name, tuple(sorted(metric.group.items()))


def diff_audits(old: AuditResult, new: AuditResult, *, tolerance: float = 1e-12) -> AuditDiff:
    """Compare two results check by check and metric by metric."""
    old_checks = {c.id: c for c in old.checks}
    new_checks = {c.id: c for c in new.checks}
    changes = []
    for check_id in sorted(set(old_checks) | set(new_checks)):
        before, after = old_checks.get(check_id), new_checks.get(check_id)
        if before and after and before.status == after.status:
            continue
        ref = after or before
        assert ref is not None
        changes.append(CheckChange(id=check_id, type=ref.type,
                                   old=before.status.value if before else None,
                                   new=after.status.value if after else None,
                                   summary=ref.summary))
    old_metrics = {_metric_key(c, m): m for c in old.checks for m in c.metrics}
    new_metrics = {_metric_key(c, m): m for c in new.checks for m in c.metrics}
    moved = []
    for key in sorted(set(old_metrics) & set(new_metrics)):
        a, b = old_metrics[key], new_metrics[key]
        same_value = (a.value is None and b.value is None) or (
            a.value is not None and b.value is not None and abs(a.value - b.value) <= tolerance)
        if same_value and a.status == b.status:
            continue
        moved.append(MetricChange(check=key[0], name=key[1], group=dict(key[2]), old=a.value,
                                  new=b.value, old_ci=a.ci, new_ci=b.ci,
                                  old_status=a.status.value if a.status else None,
                                  new_status=b.status.value if b.status else None))
    inputs = {}
    for name in sorted(set(old.inputs) | set(new.inputs)):
        a_hash = old.inputs[name].sha256 if name in old.inputs else None
        b_hash = new.inputs[name].sha256 if name in new.inputs else None
        if a_hash != b_hash:
            inputs[name] = (a_hash, b_hash)
    return AuditDiff(old_verdict=old.verdict.value, new_verdict=new.verdict.value,
                     checks=changes, metrics=moved, inputs=inputs)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def render_markdown(diff: AuditDiff, *, limit: int = 40) -> str:
    """A PR-comment-sized summary of the differences."""
    lines = [f"## cxaudit: {diff.old_verdict.upper()} → {diff.new_verdict.upper()}"
             + (" (regression)" if diff.regressed else ""), ""]
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
                  "| Check | Metric | Group | Old | New | Δ | Beyond intervals |",
                  "|---|---|---|---|---|---|---|"]
        ordered = sorted(diff.metrics, key=lambda m: (not m.beyond_intervals,
                                                      -abs(m.delta or 0.0)))
        for m in ordered[:limit]:
            group = " × ".join(f"{k}={v}" for k, v in m.group.items()) or "overall"
            delta = "" if m.delta is None else f"{m.delta:+.4g}"
            lines.append(f"| `{m.check}` | {m.name} | {group} | {_num(m.old)} | {_num(m.new)} | "
                         f"{delta} | {'yes' if m.beyond_intervals else 'no'} |")
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
