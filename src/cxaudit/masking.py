"""Keep personal data out of reports, logs and error messages.

Customer ids are replaced by salted hashes (HMAC-SHA-256, first 12 hex digits):
stable within an audit so findings can be cross-referenced, useless for
re-identification without the salt. Set ``CXAUDIT_ID_SALT`` to a secret to
make the hashes unlinkable across organisations; the default salt is fixed so
that reports stay deterministic.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from typing import Any

DEFAULT_SALT = "cxaudit-default-salt"


def _salt() -> bytes:
    return os.environ.get("CXAUDIT_ID_SALT", DEFAULT_SALT).encode()


def hash_id(value: Any) -> str:
    """Salted hash of a customer id: ``id:3f2a9c0b1d4e``."""
    digest = hmac.new(_salt(), str(value).encode(), hashlib.sha256).hexdigest()
    return f"id:{digest[:12]}"


def hash_ids(values: Iterable[Any], limit: int = 5) -> list[str]:
    """Hashes of the first ``limit`` ids, for examples in findings."""
    out = []
    for value in values:
        if len(out) >= limit:
            break
        out.append(hash_id(value))
    return out


def mask_value(value: Any) -> str:
    """Show the shape of a value, not the value: ``Jo** ****h`` → ``A***`` style masking."""
    text = str(value)
    if len(text) <= 2:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 2) + text[-1]


#: Distinct values above which a column is treated as identifying (names, ids, free text).
VOCABULARY_LIMIT = 12
#: Longer values are never shown in messages (free text, pasted records).
SHOWN_LENGTH_LIMIT = 32


def looks_personal(column: str, values: Iterable[Any]) -> bool:
    """True when ``column`` may hold personal data: a name the PII detectors recognise,
    values they recognise (emails, phones, names, cards ...), long text, or more
    distinct values than a category has. Messages then show masked values only."""
    import pandas as pd

    from cxaudit.checks.privacy.detectors import (
        PII_NAME_RULES,
        SPECIAL_NAME_RULES,
        match_name,
        value_kind,
    )

    if match_name(str(column), PII_NAME_RULES) or match_name(str(column), SPECIAL_NAME_RULES):
        return True
    values = [v for v in values if v is not None]
    if len({str(v) for v in values}) > VOCABULARY_LIMIT:
        return True
    if any(len(str(v)) > SHOWN_LENGTH_LIMIT for v in values):
        return True
    kind, _ = value_kind(pd.Series([str(v) for v in values], dtype=object), 0.3)
    return kind is not None


def shown_values(column: str, values: Iterable[Any], limit: int = 5, *,
                 personal: bool | None = None) -> str:
    """Up to ``limit`` values of ``column`` for a message: as written when the column is a
    small vocabulary of short non-personal values (``'Yes', 'No'``), masked otherwise
    (``'Z***********e' (masked)``). Never more than :data:`SHOWN_LENGTH_LIMIT` characters."""
    values = list(values)
    if personal is None:
        personal = looks_personal(column, values)
    shown = []
    for value in values[:limit]:
        text = str(value)
        if personal:
            text = mask_value(text[:SHOWN_LENGTH_LIMIT]) if len(text) <= SHOWN_LENGTH_LIMIT \
                else f"{text[0]}…({len(text)} characters)"
        shown.append(repr(text))
    more = " …" if len(values) > limit else ""
    return ", ".join(shown) + more + (" (masked)" if personal and shown else "")


def mask_message(text: str) -> str:
    """A third-party message (a model's exception) with quoted values masked: libraries
    quote the offending value (``could not convert string to float: 'Jane Doe'``)."""
    import re

    def masked(match: re.Match[str]) -> str:
        quote, inner = match.group(1), match.group(2)
        return f"{quote}{mask_value(inner)}{quote}"

    # Values follow a colon or a space; code inside parentheses (dtype('float64')) is kept.
    text = re.sub(r"(?<!\()(['\"])(.*?)\1", masked, text)
    return text if len(text) <= 300 else text[:300] + " …"
