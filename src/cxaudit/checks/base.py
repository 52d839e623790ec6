"""What every check is: frozen, declarative parameters plus a ``run`` method.

A check declares *what* is measured (its :class:`CheckParams` subclass, which is
also the policy schema for that check type) and computes through the engine on
the :class:`~cxaudit.context.AuditContext`. It returns a :class:`CheckOutcome`;
it does not raise for problems in the data — the runner turns exceptions into
``error`` results and the gate fails closed.

The class docstring is the user documentation (``cxaudit explain TYPE``): what
is measured, why it matters, and a policy snippet.
"""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cxaudit.lawdates import LawMeta
from cxaudit.result import Metric, Severity, Status

if TYPE_CHECKING:
    from cxaudit.context import AuditContext

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


class CheckOutcome(BaseModel):
    """What a check's ``run`` returns; the runner adds id, type and severity."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    status: Status
    summary: str
    metrics: tuple[Metric, ...] = ()
    details: dict[str, Any] = Field(default_factory=dict)


class Check(abc.ABC):
    """Base class of every check; subclasses set ``type`` and ``params_model``."""

    #: Stable dotted name used as ``type:`` in policies, e.g. ``bias.selection_rate``.
    type: ClassVar[str]
    #: The pydantic model that validates this check's declaration.
    params_model: ClassVar[type[CheckParams]] = CheckParams
    #: The rule or law the check stands for, shown in reports.
    rule: ClassVar[str | None] = None
    #: What the check needs from the context: any of "label", "prediction", "score", "model".
    requires: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, params: CheckParams) -> None:
        self.params = params

    @abc.abstractmethod
    def run(self, ctx: AuditContext) -> CheckOutcome:
        """Measure and return the outcome; never raise for problems in the data."""

    @classmethod
    def documentation(cls) -> str:
        """The check's user documentation (its docstring, dedented)."""
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def title(cls) -> str:
        """First line of the documentation."""
        return cls.documentation().splitlines()[0] if cls.__doc__ else cls.type
