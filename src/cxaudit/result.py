"""The audit result: immutable, versioned, and round-trippable through JSON.

This is the contract CI consumers rely on (DESIGN.md, "The audit result").
Everything except the ``run`` block is a pure function of the inputs, so two
audits of the same inputs serialise to the same bytes apart from ``run``.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

SCHEMA_VERSION = "1.0"


class Status(str, Enum):
    """Outcome of one check."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    INSUFFICIENT_DATA = "insufficient_data"
    ERROR = "error"


class Severity(str, Enum):
    """What a failing check does to the verdict."""

    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


class Verdict(str, Enum):
    """The audit's one answer: may the model ship."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _finite_or_none(value: float | None) -> float | None:
    # JSON has no NaN/inf; a metric that is undefined is reported as null.
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Metric(_Frozen):
    """One number a check measured, for one group (empty group: overall)."""

    name: str
    group: dict[str, str] = Field(default_factory=dict)
    value: float | None
    n: int | None = None
    ci: tuple[float, float] | None = None
    threshold: dict[str, float] | None = None
    p_value: float | None = None
    status: Status | None = None
    note: str | None = None

    @field_serializer("value", "p_value")
    def _ser_float(self, value: float | None) -> float | None:
        return _finite_or_none(value)

    @field_serializer("ci")
    def _ser_ci(self, ci: tuple[float, float] | None) -> list[float | None] | None:
        return None if ci is None else [_finite_or_none(ci[0]), _finite_or_none(ci[1])]


class CheckResult(_Frozen):
    """The outcome of one declared check."""

    id: str
    type: str
    status: Status
    severity: Severity
    summary: str
    rule: str | None = None
    description: str | None = None
    metrics: tuple[Metric, ...] = ()
    details: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    #: Set when an approved, unexpired waiver accepts this finding (see cxaudit.evidence.waivers).
    waiver: dict[str, Any] | None = None

    @property
    def blocks(self) -> bool:
        """True when this result alone makes the verdict ``fail`` (a waived one never does)."""
        return (self.severity is Severity.BLOCK and self.status is Status.FAIL
                and self.waiver is None)


class InputRecord(_Frozen):
    """What one input was: where it came from and its SHA-256."""

    kind: str
    path: str | None = None
    sha256: str | None = None
    rows: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditResult(_Frozen):
    """The whole audit: verdict, per-check results, inputs, and the run block."""

    schema_version: str = SCHEMA_VERSION
    verdict: Verdict
    verdict_reason: str
    policy: dict[str, Any]
    system: dict[str, Any] = Field(default_factory=dict)
    checks: tuple[CheckResult, ...]
    inputs: dict[str, InputRecord]
    settings: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    #: Every declared waiver with its status (applied, expired, unapproved, …) and why.
    waivers: list[dict[str, Any]] = Field(default_factory=list)
    run: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        """Serialise deterministically: sorted keys, fixed indentation."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> AuditResult:
        """Load a result written by :meth:`to_json`."""
        return cls.model_validate(json.loads(text))

    def counts(self) -> dict[str, int]:
        """Number of checks per status, in a fixed order (for summaries)."""
        counts = {status.value: 0 for status in Status}
        for check in self.checks:
            counts[check.status.value] += 1
        return counts


def decide_verdict(checks: tuple[CheckResult, ...] | list[CheckResult]) -> tuple[Verdict, str]:
    """Return the verdict and a one-sentence reason.

    The gate fails closed: a ``block`` check that errored makes the verdict
    ``error`` (never a pass); a ``block`` check that failed makes it ``fail``;
    warnings, ``warn``-severity failures and checks without enough data make
    it ``warn`` — an audit that could not measure something never says ``pass``.
    """
    blocking_errors = [c for c in checks if c.status is Status.ERROR and c.severity is Severity.BLOCK]
    if blocking_errors:
        ids = ", ".join(c.id for c in blocking_errors)
        return Verdict.ERROR, f"could not complete blocking check(s) {ids}; the gate fails closed"
    blocking = [c for c in checks if c.blocks]
    if blocking:
        ids = ", ".join(c.id for c in blocking)
        return Verdict.FAIL, f"blocking check(s) failed: {ids}"
    soft = [
        c
        for c in checks
        if c.severity is not Severity.INFO
        and c.status in (Status.FAIL, Status.WARN, Status.ERROR, Status.INSUFFICIENT_DATA)
    ]
    if soft:
        ids = ", ".join(c.id + (" (waived)" if c.waiver else "") for c in soft)
        return Verdict.WARN, f"no blocking failures; needs attention: {ids}"
    if not checks:
        return Verdict.WARN, "the policy declares no checks"
    return Verdict.PASS, "every check passed"
