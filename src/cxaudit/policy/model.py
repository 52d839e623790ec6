"""Pydantic models of the policy format, version 1.

Every section forbids unknown keys: a typo (``treshold:``) must be an error,
never a silently disabled check. Check declarations are validated separately
against the model their check type registers (see :mod:`cxaudit.policy.loader`).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from cxaudit.checks.base import CheckParams

FORMAT_VERSION = 1


class ModelType(str, Enum):
    """The kind of customer-experience model under audit."""

    churn = "churn"
    recommendation = "recommendation"
    next_best_action = "next_best_action"
    lead_scoring = "lead_scoring"
    pricing = "pricing"
    segmentation = "segmentation"
    routing = "routing"
    chatbot = "chatbot"
    sentiment = "sentiment"
    fraud = "fraud"
    credit_scoring = "credit_scoring"
    other = "other"


class Intervention(str, Enum):
    """Whether a positive decision helps the customer (an offer) or harms them (a flag)."""

    assistive = "assistive"
    punitive = "punitive"


class Automation(str, Enum):
    """How much a human is involved in acting on the model's decisions."""

    advisory = "advisory"
    human_in_the_loop = "human_in_the_loop"
    autonomous = "autonomous"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class System(_Section):
    """The AI system the policy is for, and who answers for it."""

    name: str = Field(description="Name of the system (shown on every report).")
    owner: str | None = Field(default=None, description="Team or person who owns the model.")
    approver: str | None = Field(default=None, description="Who signs off a release.")
    model_type: ModelType = Field(default=ModelType.other)
    purpose: str | None = Field(
        default=None, description="The processing purpose, as named in the consent ledger."
    )
    intervention: Intervention = Field(
        default=Intervention.assistive,
        description="assistive: a positive decision benefits the customer; punitive: it harms them.",
    )
    automation: Automation = Field(default=Automation.human_in_the_loop)
    description: str | None = None


class DataSpec(_Section):
    """Which columns mean what in the audited data."""

    id: str | None = Field(default=None, description="Customer id column (hashed in outputs).")
    label: str | None = Field(default=None, description="Observed outcome column.")
    positive: str | int | float | bool | None = Field(
        default=None,
        description="Value of `label` (and of `prediction`) that counts as positive; "
        "default: 1/True, or 'Yes'/'yes'/'true' for text columns.",
    )
    prediction: str | None = Field(
        default=None, description="Column holding decisions; null means the model predicts."
    )
    score: str | None = Field(default=None, description="Column holding scores (probabilities).")
    decision_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Score at or above which a decision is positive, when only scores exist.",
    )
    timestamp: str | None = Field(default=None, description="Event time of each row.")
    protected: list[str] = Field(default_factory=list, description="Protected attributes.")
    intersections: list[list[str]] = Field(
        default_factory=list, description="Combinations of protected attributes to audit together."
    )
    features: list[str] | None = Field(
        default=None, description="Model input columns; default: what the model declares."
    )

    @field_validator("intersections")
    @classmethod
    def _intersections_use_protected(cls, value: list[list[str]], info: ValidationInfo
                                     ) -> list[list[str]]:
        protected = info.data.get("protected") or []
        for combo in value:
            if len(combo) < 2:
                raise ValueError(f"an intersection needs at least two attributes, got {combo}")
            unknown = [a for a in combo if a not in protected]
            if unknown:
                raise ValueError(
                    f"intersection {combo} uses {', '.join(unknown)}: list "
                    f"{'it' if len(unknown) == 1 else 'them'} under data.protected first"
                )
        return value


class ConsentSpec(_Section):
    """Which processing purpose the consent ledger must cover."""

    purpose: str | None = Field(default=None, description="Purpose id in the consent ledger.")
    ledger: str | None = Field(default=None, description="Path to the consent ledger.")


class PolicyEnvelope(_Section):
    """Everything in a policy but the check declarations (validated per type)."""

    cxaudit: Literal[1] = Field(description="Policy format version (not the package version).")
    description: str | None = Field(default=None, description="What this policy is for.")
    extends: list[str] = Field(default_factory=list)
    system: System
    data: DataSpec = Field(default_factory=DataSpec)
    consent: ConsentSpec | None = None
    checks: list[dict[str, Any]] = Field(default_factory=list)


class Policy(BaseModel):
    """A loaded, resolved and validated policy."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    system: System
    data: DataSpec
    consent: ConsentSpec | None
    checks: tuple[CheckParams, ...]
    extends: tuple[str, ...] = ()
    source: str
    sha256: str = Field(description="SHA-256 of the policy file's bytes.")
    resolved_sha256: str = Field(description="SHA-256 of the policy after `extends` is applied.")
    resolved: dict[str, Any] = Field(default_factory=dict, repr=False)
    _locations: dict[tuple[Any, ...], tuple[str, int, int]] = PrivateAttr(default_factory=dict)

    def locate(self, *path: Any) -> str:
        """``FILE:LINE:COL`` of a policy path, for errors found at audit time."""
        where = self._locations.get(tuple(path))
        if where is None:
            return self.source
        file, line, col = where
        return f"{file}:{line}:{col}"
