"""Dates and places the audit knows: when and where the rule behind a check applies.

A rule-backed check carries a ``law:`` block (filled from its pack's ``pack.law``
defaults by the loader): the jurisdiction, the date the rule applies from, the
compliance deadline, the date it stops applying, the decision domains it covers
and the confidence mark of the facts behind it ([P] read in the primary text, [Q]
quoted from a public copy of it, [S] from secondary sources).

The date the audit judges at is an input, never the wall clock (reruns are
byte-identical): ``--as-of DATE``, else the policy's ``as_of``, else the latest
event time of ``data.timestamp``. Without any of them a check whose rule has
dates is ``inconclusive`` ("give --as-of"); a rule not in force at that date is
``not_applicable`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Decision domains a rule can be limited to (``system.domains``, ``law.domains``).
DOMAINS = ("employment", "financial_services", "insurance", "housing", "education",
           "healthcare", "government_services", "legal_services", "advertising",
           "customer_service", "commerce")

#: What a model type decides about, when ``system.domains`` is not declared (None: unknown).
MODEL_TYPE_DOMAINS: dict[str, tuple[str, ...]] = {
    "credit_scoring": ("financial_services",),
    "pricing": ("commerce",),
    "chatbot": ("customer_service",), "routing": ("customer_service",),
    "sentiment": ("customer_service",),
    "churn": ("advertising",), "recommendation": ("advertising",),
    "next_best_action": ("advertising",), "lead_scoring": ("advertising",),
    "segmentation": ("advertising",),
}

CONFIDENCE_WORDS = {"P": "read in the primary text", "Q": "quoted from a public copy of the "
                    "primary text", "S": "from secondary sources"}
#: What a check resting on [S] says in the pack, the report and `policy show`.
SECONDARY_NOTE = "per secondary sources; verify against the official text"


def _code(value: str) -> str:
    text = str(value).strip().upper()
    if not text or len(text) > 40 or not all(part.isalnum() for part in text.split("-")):
        raise ValueError(f"a jurisdiction is a code such as EU, UK, US, US-CA, US-NY-NYC "
                         f"(or `any`), got {value!r}")
    return text


class LawMeta(BaseModel):
    """When and where the rule behind a check applies, and how sure the facts are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    basis: Literal["law", "good_practice"] = Field(
        default="law", description="law: the check stands for a rule; good_practice: no rule "
        "sets it (no dates, no confidence mark).")
    jurisdiction: str = Field(default="ANY", description="Where the rule binds: EU, UK, US, "
                              "US-CA, US-CO, US-NY, US-NY-NYC, … or `any`.")
    applies_from: date | None = Field(default=None, description="First day the rule applies.")
    compliance_deadline: date | None = Field(
        default=None, description="Day by which existing uses must comply (before it, a "
        "failure warns instead of blocking).")
    applies_until: date | None = Field(default=None, description="First day the rule no longer "
                                       "applies (a sunset).")
    confidence: Literal["P", "Q", "S"] | None = Field(
        default=None, description="P: read in the primary text; Q: quoted from a public copy; "
        "S: from secondary sources (verify against the official text).")
    domains: list[str] | None = Field(default=None, description="Decision domains the rule "
                                      "covers (default: any).")
    solely_automated: bool = Field(default=False, description="The rule covers only solely "
                                   "automated decisions with significant effects.")
    source: str | None = Field(default=None, description="Where the facts were read.")
    pack: str | None = Field(default=None, description="The pack the check comes from (set by "
                             "the loader).")
    pack_version: str | None = Field(default=None, description="Its version (set by the "
                                     "loader).")

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction(cls, value: str) -> str:
        return _code(value)

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            bad = [d for d in value if d not in DOMAINS]
            if bad or not value:
                raise ValueError(f"unknown domain(s) {bad or value}; known: {', '.join(DOMAINS)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LawMeta:
        if self.basis == "law" and self.confidence is None:
            raise ValueError("a rule-backed check needs `confidence: P | Q | S`")
        start, until = self.applies_from, self.applies_until
        if start and until and until <= start:
            raise ValueError(f"applies_until {until} is not after applies_from {start}")
        deadline = self.compliance_deadline
        if deadline and start and deadline < start:
            raise ValueError(f"compliance_deadline {deadline} is before applies_from {start}")
        return self

    @property
    def dated(self) -> bool:
        """True when whether the rule applies depends on the date."""
        return bool(self.applies_from or self.applies_until or self.compliance_deadline)

    def mark(self) -> str:
        """``[P]``, ``[Q]``, ``[S]`` or empty."""
        return f"[{self.confidence}]" if self.confidence else ""


class PackMeta(BaseModel):
    """A pack's identity: name, version, where it applies, and its checks' ``law`` defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$", max_length=64)
    version: str = Field(pattern=r"^[0-9]+(\.[0-9]+){1,3}$", description="e.g. 2026.12.1")
    jurisdictions: list[str] = Field(min_length=1, description="Where its rules bind.")
    law: dict[str, Any] = Field(default_factory=dict, description="Defaults for the `law` "
                                "block of each of its checks.")

    @field_validator("jurisdictions")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [_code(v) for v in value]


@dataclass(frozen=True)
class AuditDate:
    """The moment the audit judges at, and where it came from (None: not known)."""

    moment: datetime | None
    source: str
    #: True when the moment is the data's own latest event time.
    from_data: bool = False
    #: The calendar day as given, when the input was a date (YYYY-MM-DD), not a time.
    given_day: date | None = None

    def local_day(self, zone: str) -> date | None:
        """The audit's day in ``zone``: the given date itself, else the moment's local date."""
        if self.given_day is not None:
            return self.given_day
        if self.moment is None:
            return None
        from zoneinfo import ZoneInfo

        return self.moment.astimezone(ZoneInfo(zone)).date()

    @property
    def day(self) -> date | None:
        """The calendar day as given, else the moment's (UTC)."""
        if self.given_day is not None:
            return self.given_day
        return self.moment.date() if self.moment else None

    def describe(self) -> str:
        """``2027-01-15 (--as-of)`` or why there is none."""
        if self.moment is None:
            return self.source
        return f"{self.moment.date().isoformat()} ({self.source})"


GIVE_AS_OF = "give --as-of DATE (or the policy's `as_of`, or declare data.timestamp)"


def to_moment(value: date | datetime | str, *, what: str = "as_of") -> datetime:
    """A date (midnight UTC) or an aware datetime as an aware UTC datetime.

    Raises ValueError for text that is not an ISO date and for a naive datetime.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = (date.fromisoformat(text) if len(text) == 10
                     else datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            shown = repr(value) if len(value) <= 32 else f"'{value[:1]}…' ({len(value)} characters)"
            raise ValueError(f"{what} {shown} is not an ISO date (YYYY-MM-DD) or a time with "
                             "its UTC offset (2027-01-15T09:00:00+01:00)") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{what} {value.isoformat()} has no UTC offset; give a date "
                             "(YYYY-MM-DD) or a time with its offset")
        return value.astimezone(timezone.utc)
    return datetime.combine(value, time(0), tzinfo=timezone.utc)


def resolve_audit_date(ctx: Any) -> AuditDate:
    """The audit's date: ``--as-of``, the policy's ``as_of``, else the data's latest event time.

    Cached in ``ctx.notes["audit_date"]`` (the runner sets ``ctx.notes["as_of_option"]``
    from ``--as-of`` first).
    """
    found = ctx.notes.get("audit_date")
    if isinstance(found, AuditDate):
        return found
    found = _resolve(ctx)
    ctx.notes["audit_date"] = found
    return found


def _resolve(ctx: Any) -> AuditDate:
    option = ctx.notes.get("as_of_option")
    if option is not None:
        moment = to_moment(option, what="--as-of")
        plain = len(str(option).strip()) == 10
        return AuditDate(moment, "--as-of", given_day=moment.date() if plain else None)
    policy = ctx.policy
    if getattr(policy, "as_of", None) is not None:
        plain = not isinstance(policy.as_of, datetime)
        return AuditDate(to_moment(policy.as_of), "the policy's as_of",
                         given_day=policy.as_of if plain else None)
    column = policy.data.timestamp
    if not column:
        return AuditDate(None, f"no audit date: {GIVE_AS_OF}")
    if column not in ctx.data_columns:
        return AuditDate(None, f"no audit date: data.timestamp {column!r} is not in the data; "
                               f"{GIVE_AS_OF}")
    try:
        found = ctx.engine.datetime_range(ctx.frame, column, format="ISO8601")
    except Exception:  # noqa: BLE001 - an unreadable column leaves the date unknown
        found = {"max": None}
    newest = found.get("max")
    if newest is None:
        return AuditDate(None, f"no audit date: no value of data.timestamp {column!r} is a "
                               f"timestamp; {GIVE_AS_OF}")
    if not found.get("aware"):
        zone = policy.consent.timezone if policy.consent else None
        if zone is None:
            return AuditDate(None, f"no audit date: data.timestamp {column!r} has no UTC offset "
                                   f"and no consent.timezone is declared; {GIVE_AS_OF}")
        from zoneinfo import ZoneInfo

        newest = newest.tz_localize(ZoneInfo(zone), ambiguous=True,
                                    nonexistent="shift_forward")
    moment = newest.tz_convert("UTC").to_pydatetime().replace(microsecond=0)
    return AuditDate(moment, f"the latest {column} in the data", from_data=True)


def _matches(rule: str, places: list[str]) -> bool:
    if rule == "ANY":
        return True
    parts = rule.split("-")
    for place in places:
        other = place.split("-")
        n = min(len(parts), len(other))
        if parts[:n] == other[:n]:
            return True
    return False


def system_domains(system: Any) -> tuple[list[str] | None, str]:
    """The system's decision domains: declared, else inferred from its model type."""
    declared = getattr(system, "domains", None)
    if declared:
        return list(declared), "declared"
    model_type = getattr(getattr(system, "model_type", None), "value",
                         getattr(system, "model_type", None))
    inferred = MODEL_TYPE_DOMAINS.get(str(model_type))
    if inferred:
        return list(inferred), f"from model_type {model_type}"
    return None, "not declared"


@dataclass(frozen=True)
class Standing:
    """Whether a rule applies: ``status`` None (it does), ``not_applicable`` or
    ``inconclusive``; ``reason`` in words; ``before_deadline`` when compliance is not due yet."""

    status: str | None
    reason: str
    before_deadline: bool = False


def standing(law: LawMeta, system: Any, when: AuditDate) -> Standing:
    """Does the rule behind a check apply to ``system`` at ``when``?"""
    if law.basis != "law":
        return Standing(None, "good practice; no rule sets it")
    places = [str(p).upper() for p in (getattr(system, "jurisdictions", None) or [])]
    if places and not _matches(law.jurisdiction, places):
        return Standing("not_applicable", f"a rule of {law.jurisdiction}; the system declares "
                                          f"jurisdictions {', '.join(places)}")
    if law.domains:
        domains, how = system_domains(system)
        if domains is not None and not set(domains) & set(law.domains):
            return Standing("not_applicable", f"covers {', '.join(law.domains)} decisions; this "
                                              f"system's are {', '.join(domains)} ({how})")
    if law.solely_automated:
        automation = getattr(getattr(system, "automation", None), "value", None)
        effect = getattr(system, "significant_effect", None)
        if automation != "autonomous" or effect is False:
            return Standing("not_applicable", "covers solely automated decisions with "
                                              "significant effects; this system is "
                                              f"{automation or 'not declared'}"
                                              + (", without significant effect"
                                                 if effect is False else ""))
    if not law.dated:
        return Standing(None, "in force (no date limits)")
    day = when.day
    if day is None:
        return Standing("inconclusive", f"whether the rule is in force depends on the date: "
                                        f"{GIVE_AS_OF}")
    if law.applies_from and day < law.applies_from:
        return Standing("not_applicable", f"not in force until {law.applies_from.isoformat()} "
                                          f"(audit date {when.describe()})")
    if law.applies_until and day >= law.applies_until:
        return Standing("not_applicable", f"no longer in force since "
                                          f"{law.applies_until.isoformat()} (audit date "
                                          f"{when.describe()})")
    if law.compliance_deadline and day < law.compliance_deadline:
        return Standing(None, f"in force; compliance due by {law.compliance_deadline.isoformat()}"
                              f" (audit date {when.describe()}): a failure warns until then",
                        before_deadline=True)
    return Standing(None, f"in force at {when.describe()}")


def law_record(law: LawMeta, found: Standing | None = None) -> dict[str, Any]:
    """The ``law`` entry of a check's result (dates as ISO text, the note for [S])."""
    record = law.model_dump(mode="json", exclude_none=True)
    if not law.solely_automated:
        record.pop("solely_automated", None)
    if law.basis != "law":
        record.pop("confidence", None)
    if law.confidence == "S":
        record["note"] = SECONDARY_NOTE
    if found is not None:
        record["standing"] = found.reason
    return record
