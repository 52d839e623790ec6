"""Pydantic models of the policy format, version 1.

Every section forbids unknown keys: a typo (``treshold:``) must be an error,
never a silently disabled check. Check declarations are validated separately
against the model their check type registers (see :mod:`cxaudit.policy.loader`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cxaudit.consent.vocabulary import LawfulBasis
from cxaudit.evidence.schema import Approvals, Waiver
from cxaudit.lawdates import DOMAINS, PackMeta
from cxaudit.ll144 import LL144Spec
from cxaudit.policy.params import CheckParams
from cxaudit.policy.validators import known_time_zone

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


#: The entries of ``system.documents`` (:class:`SystemDocuments`), as governance and
#: rule-log checks name them (``required:``, ``document:``).
DocumentKind = Literal["dpia", "intended_use", "impact_assessment", "technical_documentation",
                       "pre_use_notice", "risk_assessment", "developer_documentation",
                       "access_response", "decision_rights"]


class SystemDocuments(_Section):
    """Governance documents a pack may require, as relative paths (to the policy) or URLs."""

    dpia: str | None = Field(default=None, description="Data protection impact assessment "
                             "(GDPR Art. 35).")
    intended_use: str | None = Field(default=None, description="Intended-use statement "
                                     "(EU AI Act Art. 13(3)(b)(i); NIST MAP 1.1).")
    impact_assessment: str | None = Field(default=None, description="Algorithmic or fundamental-"
                                          "rights impact assessment (EU AI Act Art. 27).")
    technical_documentation: str | None = Field(default=None, description="Technical "
                                                "documentation (EU AI Act Art. 11, Annex IV).")
    pre_use_notice: str | None = Field(default=None, description="Notice given before the "
                                       "system is used (11 CCR § 7220; C.R.S. 6-1-1704(1)).")
    risk_assessment: str | None = Field(default=None, description="Risk assessment "
                                        "(11 CCR §§ 7150-7157).")
    developer_documentation: str | None = Field(default=None, description="Developer "
                                                "documentation (C.R.S. 6-1-1702(1)).")
    access_response: str | None = Field(default=None, description="Template of the answer to "
                                        "an access request (11 CCR § 7222(b)).")
    decision_rights: str | None = Field(default=None, description="How people are told about "
                                        "a decision, make representations, obtain human "
                                        "intervention and contest it (UK GDPR Arts 22A-22D).")


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
    journey_stage: str | None = Field(
        default=None, description="Customer-journey stage the model acts in, e.g. acquisition, "
        "onboarding, service, retention, collections.")
    significant_effect: bool | None = Field(
        default=None, description="Decisions produce legal or similarly significant effects on "
        "the customer (GDPR Art. 22(1)): credit, insurance, employment, contract termination.")
    override_mechanism: str | None = Field(
        default=None, description="How a person overrides or stops the model's decisions "
        "(EU AI Act Art. 14(4); GDPR Art. 22(3) human intervention).")
    reviewer: str | None = Field(
        default=None, description="Who reviews the model's decisions (a team or role).")
    decision_log: str | None = Field(
        default=None, description="Where each decision is logged, and for how long "
        "(EU AI Act Art. 12, 19).")
    documents: SystemDocuments | None = Field(
        default=None, description="References (relative paths or URLs) to governance documents.")
    jurisdictions: list[str] | None = Field(
        default=None, description="Where the system is used (EU, UK, US-CA, US-CO, US-NY, "
        "US-NY-NYC, …): only the rules of these places apply. Default: every pack's rules.")
    domains: list[str] | None = Field(
        default=None, description=f"What the decisions are about ({', '.join(DOMAINS)}); "
        "default: inferred from model_type where it can be.")
    ll144: LL144Spec | None = Field(
        default=None, description="NYC Local Law 144 public summary (--format ll144): data "
        "source and explanation, the tool's distribution date, the sex and race/ethnicity "
        "attributes and the mapping of race/ethnicity values to EEO-1 categories.")

    @field_validator("jurisdictions")
    @classmethod
    def _places(cls, value: list[str] | None) -> list[str] | None:
        from cxaudit.lawdates import _code

        return None if value is None else [_code(v) for v in value]

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            bad = [d for d in value if d not in DOMAINS]
            if bad:
                raise ValueError(f"unknown domain(s) {bad}; known: {', '.join(DOMAINS)}")
        return value


class DataSpec(_Section):
    """Which columns mean what in the audited data."""

    id: str | None = Field(default=None, description="Customer id column (hashed in outputs).")
    id_key_file: str | None = Field(
        default=None,
        description="File holding the secret key customer ids are hashed with in reports "
        "(relative to the policy; never written to a report). Without it, or "
        "CXAUDIT_ID_SALT, reports show no per-customer identifier, only counts.",
    )
    label: str | None = Field(default=None, description="Observed outcome column.")
    positive: str | int | float | bool | list[str | int | float | bool] | None = Field(
        default=None,
        description="Value of `label` (and of `prediction`) that counts as positive; "
        "default: 1/True, or 'Yes'/'yes'/'true' for text columns. A list names every "
        "positive value (needed when the column has more than two values).",
    )
    prediction: str | None = Field(
        default=None, description="Column holding decisions; null means the model predicts."
    )
    score: str | None = Field(default=None, description="Column holding scores (probabilities).")
    decision_threshold: float = Field(
        default=0.5,
        description="Score at or above which a decision is positive, when only scores exist; "
        "within [0, 1], or within `score_range` when one is given.",
    )
    score_range: tuple[float, float] | None = Field(
        default=None,
        description="[low, high] every value of the `score` column must lie in (e.g. "
        "[300, 850] for credit scores); default: probabilities, [0, 1], when the scores "
        "make the decisions.",
    )
    max_invalid_decisions: int = Field(
        default=0, ge=0,
        description="Rows whose decision cannot be computed (score not a finite number or "
        "out of range, decision or model output missing) tolerated before the data is "
        "refused; tolerated rows are left out of the audit.",
    )
    timestamp: str | None = Field(default=None, description="Event time of each row.")
    protected: list[str] = Field(default_factory=list, description="Protected attributes.")
    intersections: list[list[str]] = Field(
        default_factory=list, description="Combinations of protected attributes to audit together."
    )
    features: list[str] | None = Field(
        default=None, description="Model input columns; default: what the model declares."
    )

    @field_validator("positive")
    @classmethod
    def _positive_list_not_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("an empty list names no positive value")
        return value

    @model_validator(mode="after")
    def _threshold_within_scores(self) -> DataSpec:
        import math

        if self.score_range is not None:
            low, high = self.score_range
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"score_range must be two finite numbers [low, high] with "
                                 f"low < high, got {list(self.score_range)}")
        low, high = self.score_range or (0.0, 1.0)
        if not (math.isfinite(self.decision_threshold)
                and low <= self.decision_threshold <= high):
            raise ValueError(f"decision_threshold {self.decision_threshold} is outside the "
                             f"scores' range [{low:g}, {high:g}]"
                             + ("" if self.score_range else "; for scores that are not "
                                "probabilities, give data.score_range"))
        return self

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


class PurposeSpec(_Section):
    """What a processing purpose may rest on (GDPR Art. 6(1)) and what it is."""

    lawful_bases: list[LawfulBasis] = Field(
        default_factory=lambda: [LawfulBasis.consent], min_length=1,
        description="Lawful bases accepted for this purpose (default: consent only).")
    tcf_purposes: list[int] | None = Field(
        default=None, description="IAB TCF v2.2 purposes (1-11) this purpose involves; "
        "default: cxaudit's built-in mapping of common purpose ids.")
    direct_marketing: bool | None = Field(
        default=None, description="Direct marketing (Art. 21(3): objections are absolute); "
        "default: the built-in mapping, else false.")

    @field_validator("tcf_purposes")
    @classmethod
    def _tcf_range(cls, value: list[int] | None) -> list[int] | None:
        if value is not None:
            bad = [n for n in value if not 1 <= n <= 11]
            if bad:
                raise ValueError(f"TCF v2.2 purposes are numbered 1-11, got {bad}")
        return value

    @model_validator(mode="after")
    def _consent_only(self) -> PurposeSpec:
        from cxaudit.consent.tcf import consent_only_purposes

        only = sorted(set(self.tcf_purposes or ()) & consent_only_purposes())
        others = [b.value for b in self.lawful_bases if b is not LawfulBasis.consent]
        if only and others:
            raise ValueError(f"TCF v2.2 purpose(s) {only} can rest on consent only, but "
                             f"lawful_bases also lists {', '.join(others)}")
        return self


class FallbackSpec(_Section):
    """The non-personalised treatment opted-out subjects must receive."""

    column: str | None = Field(default=None, description="Column of the scoring log holding "
                               "the treatment; default: data.prediction, else the 0/1 decision "
                               "from the model or data.score.")
    value: str | int | float | bool = Field(description="The fallback value in that column.")


class ConsentSpec(_Section):
    """Consent and privacy: which purpose the data serves and what may be used for it."""

    purpose: str | None = Field(default=None, description="Purpose id in the consent ledger "
                                "(default: system.purpose).")
    ledger: str | None = Field(default=None, description="Path to the consent ledger, relative "
                               "to the policy file (--consent overrides it).")
    purposes: dict[str, PurposeSpec] = Field(
        default_factory=dict, description="Per purpose id: accepted lawful bases, TCF purposes, "
        "direct marketing.")
    as_of: datetime | date | None = Field(
        default=None, description="Event time of every row when the data has no data.timestamp "
        "column (default: the audit time, stated in every finding).")
    timezone: str | None = Field(
        default=None, description="IANA zone of timestamps written without a UTC offset; "
        "without it naive and offset-carrying timestamps are never compared.")
    age_limit: int = Field(default=16, ge=13, le=18, description="Age below which consent "
                           "needs a holder of parental responsibility (GDPR Art. 8: 13-16).")
    age_column: str | None = Field(default=None, description="Data column with the subject's "
                                   "age in years at the event time.")
    fallback: FallbackSpec | None = Field(default=None, description="Non-personalised "
                                          "treatment for opted-out subjects.")
    retention_days: int | None = Field(default=None, ge=1, description="Rows older than this "
                                       "many days (by data.timestamp) must be deleted.")
    feature_justifications: dict[str, str] = Field(
        default_factory=dict, description="Why each model feature is needed for the purpose "
        "(data minimisation, Art. 5(1)(c)).")
    special_category: list[str] = Field(default_factory=list, description="Columns known to "
                                        "hold special-category data (Art. 9).")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_time_zone(value)

    @field_validator("feature_justifications")
    @classmethod
    def _non_empty(cls, value: dict[str, str]) -> dict[str, str]:
        empty = [k for k, v in value.items() if not str(v).strip()]
        if empty:
            raise ValueError(f"justification for {', '.join(empty)} is empty; say why the "
                             "feature is needed")
        return value


LogRole = Literal["subject", "time", "done", "kind", "text", "flag"]


class LogSpec(_Section):
    """An event log a rule is about (opt-out requests, explanations sent, prices shown)."""

    file: str = Field(min_length=1, max_length=4096, description="CSV or Parquet file, "
                      "relative to the policy.")
    columns: dict[LogRole, str] = Field(
        description="Which column is which: subject and time (required); done (when the "
        "request was handled, or the notice sent), kind (event type), text (what was "
        "shown), flag (true/false, e.g. adverse or personalised).")
    timezone: str | None = Field(default=None, description="IANA zone of timestamps written "
                                 "without a UTC offset (and of business days).")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_time_zone(value)

    @field_validator("columns")
    @classmethod
    def _required(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [r for r in ("subject", "time") if r not in value]
        if missing:
            raise ValueError(f"columns needs {' and '.join(missing)} (the subject an event is "
                             "about and when it happened)")
        bad = [r for r, c in value.items() if not str(c).strip() or len(str(c)) > 256]
        if bad:
            raise ValueError(f"column name for {', '.join(bad)} is empty or too long")
        return value


class PolicyEnvelope(_Section):
    """Everything in a policy but the check declarations (validated per type)."""

    cxaudit: Literal[1] = Field(description="Policy format version (not the package version).")
    description: str | None = Field(default=None, description="What this policy is for.")
    extends: list[str] = Field(default_factory=list)
    system: System
    data: DataSpec = Field(default_factory=DataSpec)
    consent: ConsentSpec | None = None
    engine: Literal["local", "arrow", "spark"] | None = Field(
        default=None, description="Computation engine (the --engine option wins); default: local."
    )
    checks: list[dict[str, Any]] = Field(default_factory=list)
    logs: dict[str, LogSpec] = Field(default_factory=dict, description="Event logs checks "
                                     "read, by name (file, columns, timezone).")
    as_of: date | datetime | None = Field(
        default=None, description="The date rules are judged at (--as-of wins); default: the "
        "latest data.timestamp. A time needs its UTC offset.")
    pack: PackMeta | None = Field(default=None, description="A pack's name, version, "
                                  "jurisdictions and its checks' `law` defaults.")
    approvals: Approvals | None = Field(default=None, description="Required sign-off roles.")
    waivers: list[Waiver] = Field(default_factory=list, description="Accepted, expiring risks.")

    @field_validator("as_of")
    @classmethod
    def _aware_as_of(cls, value: date | datetime | None) -> date | datetime | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("`as_of` is a date (2027-01-15) or a time with its UTC offset "
                             "(2027-01-15T09:00:00Z): naive and aware times are never compared")
        return value


class Policy(BaseModel):
    """A loaded, resolved and validated policy."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    system: System
    data: DataSpec
    consent: ConsentSpec | None
    engine: str | None = None
    checks: tuple[CheckParams, ...]
    extends: tuple[str, ...] = ()
    approvals: Approvals | None = None
    waivers: tuple[Waiver, ...] = ()
    as_of: date | datetime | None = None
    logs: dict[str, LogSpec] = Field(default_factory=dict)
    #: The packs the policy draws checks from: name, version, jurisdictions.
    packs: tuple[dict[str, Any], ...] = ()
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
