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
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cxaudit.policy.params import CHECK_ID_PATTERN, CheckParams, Threshold
from cxaudit.result import Metric, Status

if TYPE_CHECKING:
    from cxaudit.context import AuditContext

__all__ = ["CHECK_ID_PATTERN", "Check", "CheckOutcome", "CheckParams", "Threshold"]


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
