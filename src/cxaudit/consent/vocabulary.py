"""The words a consent ledger may use, shared by the policy model, loader and schema.

Kept free of pandas so the policy model can import it cheaply.
"""

from __future__ import annotations

from enum import Enum


class LawfulBasis(str, Enum):
    """GDPR Art. 6(1) lawful bases; the ledger may also write the letter (a)–(f)."""

    consent = "consent"  # (a)
    contract = "contract"  # (b)
    legal_obligation = "legal_obligation"  # (c)
    vital_interests = "vital_interests"  # (d)
    public_task = "public_task"  # (e)
    legitimate_interests = "legitimate_interests"  # (f)


#: Accepted spellings of each basis in a ledger (lower-cased before lookup).
BASIS_ALIASES: dict[str, LawfulBasis] = {}
for _letter, _basis in zip("abcdef", LawfulBasis, strict=True):
    for _alias in (_basis.value, _letter, f"6(1)({_letter})", f"art6(1)({_letter})",
                   f"art. 6(1)({_letter})"):
        BASIS_ALIASES[_alias] = _basis

#: Record statuses, in increasing order of restriction. When two records of a
#: subject and purpose take effect at the same instant, the most restrictive wins.
STATUSES = ("granted", "expired", "withdrawn", "refused")

#: Optional ``signal`` values: how an opt-out reached the controller.
#: gpc = Global Privacy Control browser signal (CCPA, 11 CCR §7025);
#: opt_out = any other opt-out of sale/sharing/personalisation;
#: objection = a GDPR Art. 21 objection (to direct marketing or profiling).
SIGNALS = ("gpc", "opt_out", "objection")

#: Columns every ledger has (values may be empty where the format says so).
REQUIRED_COLUMNS = ("subject_id", "purpose", "lawful_basis", "status", "granted_at",
                    "withdrawn_at", "expires_at", "notice_version", "channel", "jurisdiction")
#: Columns a ledger may add.
OPTIONAL_COLUMNS = ("signal", "age_verified", "parental_consent")
#: Timestamp columns.
TIME_COLUMNS = ("granted_at", "withdrawn_at", "expires_at")
#: A record with this purpose applies to every purpose (e.g. a browser-wide GPC signal).
ALL_PURPOSES = "*"
