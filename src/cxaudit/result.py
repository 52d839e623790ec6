"""The audit result: immutable, versioned, and round-trippable through JSON.

This is the contract CI consumers rely on (DESIGN.md, "The audit result").
Everything except the ``run`` block is a pure function of the inputs, so two
audits of the same inputs serialise to the same bytes apart from ``run``.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    model_serializer,
    model_validator,
)

#: 2.0 (from 1.0): check statuses gained ``inconclusive`` and ``not_applicable`` and a
#: check carries ``on_inconclusive``; bias comparisons carry ``direction`` and a structured
#: ``reference``, and infinite ratios are ``null`` with ``"infinite": true``. A consumer that
#: matches statuses exhaustively (or validates them against an enum) would misread a 2.0
#: audit, so this is a major bump. 1.0 audits still load (``report diff`` across versions).
SCHEMA_VERSION = "2.0"


class Status(str, Enum):
    """Outcome of one check."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    INSUFFICIENT_DATA = "insufficient_data"
    #: The check ran but the data cannot decide: nothing could be judged (every group too
    #: small, one row, constant attributes, a single label class), or every gap outside the
    #: threshold is not significant / has an interval across it. Blocks under severity
    #: ``block`` unless the check says ``on_inconclusive: warn``.
    INCONCLUSIVE = "inconclusive"
    #: The check does not apply to this system (its reason in the summary); never blocks,
    #: never warns.
    NOT_APPLICABLE = "not_applicable"
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
    """One number a check measured, for one group (empty group: overall).

    ``direction`` says which way is better for the group (``higher`` or
    ``lower``; null when the number has no direction, e.g. a count). An infinite
    value (a ratio over a zero rate) is written as ``"value": null`` with
    ``"infinite": true``, never as a bare ``Infinity``; an interval's unbounded
    upper end is written as null.
    """

    name: str
    group: dict[str, str] = Field(default_factory=dict)
    value: float | None
    n: int | None = None
    #: In Python never None inside (an unbounded end is +inf); JSON writes that end as null.
    ci: tuple[float | None, float | None] | None = None
    threshold: dict[str, float] | None = None
    p_value: float | None = None
    status: Status | None = None
    note: str | None = None
    direction: Literal["higher", "lower"] | None = None
    #: True when ``value`` is +infinity (serialised only when true).
    infinite: bool = False

    @model_validator(mode="before")
    @classmethod
    def _infinite_marker(cls, data: Any) -> Any:
        if isinstance(data, dict):
            ci = data.get("ci")
            if isinstance(ci, (list, tuple)) and len(ci) == 2 and None in ci:
                # JSON writes an unbounded (+inf) end as null; nothing else is null there.
                data = {**data, "ci": tuple(math.inf if b is None else b for b in ci)}
            value = data.get("value")
            if data.get("infinite") and value is None:
                data = {**data, "value": math.inf}
            elif isinstance(value, (int, float)) and math.isinf(value) and value > 0:
                data = {**data, "infinite": True}
        return data

    @model_serializer(mode="wrap")
    def _drop_false_marker(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict) and not self.infinite:
            data.pop("infinite", None)
        return data

    @field_serializer("value", "p_value")
    def _ser_float(self, value: float | None) -> float | None:
        return _finite_or_none(value)

    @field_serializer("ci")
    def _ser_ci(self, ci: tuple[float | None, float | None] | None) -> list[float | None] | None:
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
    #: What an ``inconclusive`` outcome does under severity ``block``: ``block`` (default) or
    #: ``warn``. Stored so the verdict is a function of ``audit.json`` alone.
    on_inconclusive: Literal["block", "warn"] = "block"
    #: When and where the cited rule applies (jurisdiction, dates, confidence mark P/Q/S,
    #: pack and version) and its standing at the audit date; null for checks without one.
    law: dict[str, Any] | None = None

    @property
    def blocks(self) -> bool:
        """True when this result alone makes the verdict ``fail`` (a waived one never does).

        A blocking check fails, or could not decide (``inconclusive``) without
        ``on_inconclusive: warn``.
        """
        if self.severity is not Severity.BLOCK or self.waiver is not None:
            return False
        return self.status is Status.FAIL or self.inconclusive_blocks

    @property
    def inconclusive_blocks(self) -> bool:
        """True for an ``inconclusive`` blocking check that blocks (``on_inconclusive: block``)."""
        return (self.status is Status.INCONCLUSIVE and self.severity is Severity.BLOCK
                and self.on_inconclusive == "block" and self.waiver is None)


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
        """Serialise deterministically: sorted keys, fixed indentation, strict JSON.

        Metrics write non-finite values as ``null`` (with ``infinite`` where it
        applies) and check details are made finite before they get here, so a
        bare ``NaN`` or ``Infinity`` reaching this point is a bug: it raises
        rather than writing a file that is not JSON.
        """
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True,
                          allow_nan=False) + "\n"

    @classmethod
    def read(cls, path: str | Any, *, what: str = "report", hint: str) -> AuditResult:
        """Load an ``audit.json`` file; anything else is an input error (exit 2) saying why.

        ``what`` names the file in the "not found" message; ``hint`` says what to pass.
        """
        from cxaudit.errors import InputError

        try:
            with open(path, encoding="utf-8") as handle:
                return cls.from_json(handle.read())
        except FileNotFoundError:
            raise InputError(f"{what} not found: {path}", hint=hint) from None
        except IsADirectoryError:
            raise InputError(f"{path} is a folder, not an audit.json",
                             hint="pass the audit.json inside it") from None
        except RecursionError:
            raise InputError(f"{path} is nested too deeply to be a cxaudit audit.json",
                             hint=hint) from None
        except ValueError as exc:  # JSON errors and pydantic's ValidationError
            first = str(exc).splitlines()[0]
            raise InputError(f"{path} is not a cxaudit audit.json: {first}", hint=hint) from None

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
    ``error`` (never a pass); a ``block`` check that failed, or that could not
    decide (``inconclusive``, unless it says ``on_inconclusive: warn``), makes it
    ``fail``; warnings, ``warn``-severity failures, inconclusive checks that
    only warn and checks without enough data make it ``warn`` — an audit that
    could not measure something never says ``pass``. ``not_applicable`` checks
    never block and never warn.
    """
    blocking_errors = [c for c in checks if c.status is Status.ERROR and c.severity is Severity.BLOCK]
    if blocking_errors:
        ids = ", ".join(c.id for c in blocking_errors)
        return Verdict.ERROR, f"could not complete blocking check(s) {ids}; the gate fails closed"
    failed = [c.id for c in checks if c.blocks and c.status is Status.FAIL]
    undecided = [c.id for c in checks if c.inconclusive_blocks]
    if failed or undecided:
        parts = []
        if failed:
            parts.append(f"blocking check(s) failed: {', '.join(failed)}")
        if undecided:
            parts.append(f"blocking check(s) inconclusive: {', '.join(undecided)} (the data could "
                         "not decide them, and an inconclusive blocking check blocks unless it "
                         "sets on_inconclusive: warn)")
        return Verdict.FAIL, "; ".join(parts)
    soft = [
        c
        for c in checks
        if c.severity is not Severity.INFO
        and c.status in (Status.FAIL, Status.WARN, Status.ERROR, Status.INSUFFICIENT_DATA,
                         Status.INCONCLUSIVE)
    ]
    if soft:
        ids = ", ".join(c.id + (" (waived)" if c.waiver else "")
                        + (" (inconclusive)" if c.status is Status.INCONCLUSIVE else "")
                        for c in soft)
        return Verdict.WARN, f"no blocking failures; needs attention: {ids}"
    if not checks:
        return Verdict.WARN, "the policy declares no checks"
    applicable = [c for c in checks if c.status is not Status.NOT_APPLICABLE]
    if not applicable:
        return Verdict.WARN, "no declared check applies to this system"
    skipped = len(checks) - len(applicable)
    return Verdict.PASS, "every check passed" + (f" ({skipped} not applicable)" if skipped else "")


def audit_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``audit.json`` (shipped as ``schemas/audit.schema.json``)."""
    schema = AuditResult.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://cxaudit.dev/schemas/audit-{SCHEMA_VERSION}.json",
            "title": "cxaudit audit result (audit.json)", **schema}
