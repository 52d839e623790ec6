"""The parameter types a policy declares checks with: :class:`CheckParams` (the fields
every check declaration has; each check type's subclass is its policy schema) and
:class:`Threshold` (the bounds a measured value must respect).

They sit below both the policy model and the checks (issue 17): ``policy.model`` types a
policy's ``checks:`` with :class:`CheckParams` without importing the checks, which build on
the policy through :class:`~cxaudit.context.AuditContext`. :mod:`cxaudit.checks.base`
re-exports both names, where check modules import them from.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cxaudit.lawdates import LawMeta
from cxaudit.result import Severity

CHECK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class Threshold(BaseModel):
    """Bounds a measured value must respect: ``{min: 0.8}``, ``{max: 0.1}`` or both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _at_least_one_bound(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("a threshold needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min}) is greater than `max` ({self.max})")
        return self

    def holds(self, value: float | None) -> bool:
        """Return True when ``value`` is inside the bounds (NaN/None never holds)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)

    def as_dict(self) -> dict[str, float]:
        """The bounds that are set, for the report's ``threshold`` field."""
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}

    def describe(self) -> str:
        """Plain-language form, e.g. ``at least 0.8``."""
        parts = []
        if self.min is not None:
            parts.append(f"at least {self.min:g}")
        if self.max is not None:
            parts.append(f"at most {self.max:g}")
        return " and ".join(parts)


class CheckParams(BaseModel):
    """Fields every check declaration has. Subclasses add the check's own.

    Unknown keys are errors: a typo must never silently disable a check.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CHECK_ID_PATTERN, description="Unique id of the check in the policy.")
    type: str = Field(description="The check type, e.g. `bias.selection_rate`.")
    severity: Severity = Field(
        default=Severity.BLOCK,
        description="block: a failure blocks the gate; warn: it warns; info: report only.",
    )
    description: str | None = Field(default=None, description="Why this check is in the policy.")
    rule: str | None = Field(
        default=None, description="The rule or law this check stands for (overrides the default)."
    )
    law: LawMeta | None = Field(
        default=None, description="When and where the cited rule applies: jurisdiction, "
        "applies_from, compliance_deadline, applies_until, domains, confidence (P/Q/S). "
        "Built-in packs fill it from their `pack.law` defaults.")
    on_inconclusive: Literal["block", "warn"] = Field(
        default="block",
        description="What an inconclusive outcome (the data could not decide) does under "
        "severity block: block (default; the gate fails closed) or warn.",
    )
