"""Policy sections for sign-off: ``waivers:`` and ``approvals:`` (pydantic, no heavy imports).

Example::

    approvals:
      required_roles: [product_owner, compliance]
      waiver_approvers: [head-of-cx@example.com]
    waivers:
      - check: offer-rate-parity
        group: {SeniorCitizen: "1"}
        justification: >-
          Seniors get a separate retention programme; the offer model is not
          their main channel. Re-assessed at the next quarterly review.
        approver: head-of-cx@example.com
        expires: 2027-03-31
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

ROLE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Waiver(BaseModel):
    """An accepted risk: a check (optionally one group) whose failure does not block.

    A waiver counts only while it is approved and not expired (``expires`` is
    the last day it counts); otherwise it is ignored and the report says why.
    Waived findings stay in every report, marked as waived.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, description="Optional name for the waiver "
                           "(default: the check id and group).")
    check: str = Field(description="Id of the check whose finding is waived.")
    group: dict[str, str] | None = Field(
        default=None,
        description="Waive only findings for this group, e.g. {SeniorCitizen: '1'}; the check "
                    "stays blocking if any other group fails.")
    justification: str = Field(min_length=20, description="Why the risk is accepted (at least "
                               "20 characters: a reason a reviewer can judge).")
    approver: str | None = Field(default=None, description="Email of who approved the waiver; "
                                 "a waiver without one is ignored.")
    approved_on: dt.date | None = Field(default=None, description="Date of the approval.")
    expires: dt.date = Field(description="Last day the waiver counts (YYYY-MM-DD).")

    @field_validator("group", mode="before")
    @classmethod
    def _group_as_text(cls, value: object) -> object:
        # YAML reads `SeniorCitizen: 1` as an int; groups are compared as text.
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @field_validator("approver")
    @classmethod
    def _approver_is_email(cls, value: str | None) -> str | None:
        if value is not None and not re.match(EMAIL_PATTERN, value):
            raise ValueError("approver must be an email address (name@domain)")
        return value

    @property
    def label(self) -> str:
        """The waiver's name in reports."""
        if self.id:
            return self.id
        if self.group:
            scope = ", ".join(f"{k}={v}" for k, v in sorted(self.group.items()))
            return f"{self.check}[{scope}]"
        return self.check


class Approvals(BaseModel):
    """Who must sign off a release, and who may approve waivers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required_roles: list[str] = Field(
        default_factory=list,
        description="Roles that must each approve the report (`cxaudit approve --role`), by "
                    "different people, before `cxaudit gate --require-approval` passes.")
    waiver_approvers: list[str] | None = Field(
        default=None,
        description="Emails allowed to approve waivers; unset: any named approver.")
    approver_keys: dict[str, str] | None = Field(
        default=None,
        description="Ed25519 public key of each person who may sign off, by email: a PEM "
                    "public-key file relative to the policy (`openssl pkey -in key.pem -pubout`) "
                    "or the raw key in base64. When set, `cxaudit approve` needs --sign-key and "
                    "only approvals signed with the approver's own key count.")

    @field_validator("required_roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if not re.match(ROLE_PATTERN, role):
                raise ValueError(f"role {role!r} must be lower-case letters, digits and _ "
                                 "(e.g. product_owner)")
        if len(set(value)) != len(value):
            raise ValueError("required_roles lists a role twice")
        return value

    @field_validator("waiver_approvers")
    @classmethod
    def _emails(cls, value: list[str] | None) -> list[str] | None:
        for email in value or ():
            if not re.match(EMAIL_PATTERN, email):
                raise ValueError("waiver_approvers holds email addresses (name@domain)")
        return value

    @field_validator("approver_keys")
    @classmethod
    def _key_emails(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for email in value or {}:
            if not re.match(EMAIL_PATTERN, email):
                raise ValueError(f"approver_keys is keyed by email address, not {email!r}")
        if value is not None and len({e.lower() for e in value}) != len(value):
            raise ValueError("approver_keys lists an email twice")
        return value
