"""Keep personal data out of reports, logs and error messages.

Customer ids are shown only as keyed hashes (HMAC-SHA-256, first 12 hex digits), and
only when the user provides the key: ``CXAUDIT_ID_SALT`` (a secret) or a key file the
policy names (``data.id_key_file``). The key is never written to a report. With the
same key, reruns give the same hashes (byte-identical reports) and findings can be
cross-referenced; without the key the hashes cannot be reversed by trying every id.
Without a key, reports carry no per-customer identifier at all, only counts
(a public default key would let anyone recover numeric ids by brute force).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: The environment variable holding the id key (the name predates "key").
ID_KEY_ENV = "CXAUDIT_ID_SALT"
#: How to turn examples on, for reports and summaries that show only counts.
EXAMPLES_HINT = ("examples of ids are hidden: set CXAUDIT_ID_SALT to a secret, or name a key "
                 "file in the policy (data.id_key_file), to list them as keyed hashes")
#: Shown where a single id would appear, when there is no key.
HIDDEN_ID = "id:(hidden)"
_KEY: ContextVar[bytes | None] = ContextVar("cxaudit_id_key", default=None)


def id_key() -> bytes | None:
    """The key ids are hashed with: the audit's (policy key file), else $CXAUDIT_ID_SALT."""
    key = _KEY.get()
    if key:
        return key
    configured = os.environ.get(ID_KEY_ENV, "")
    return configured.encode() if configured else None


@contextmanager
def using_id_key(key: bytes | None) -> Iterator[None]:
    """Hash ids with ``key`` inside the block (None: the environment's key, if any)."""
    token = _KEY.set(key)
    try:
        yield
    finally:
        _KEY.reset(token)


def examples_enabled() -> bool:
    """True when a key is set, so reports may list hashed example ids."""
    return id_key() is not None


def hash_id(value: Any) -> str:
    """Keyed hash of a customer id, ``id:3f2a9c0b1d4e``; ``id:(hidden)`` without a key."""
    key = id_key()
    if key is None:
        return HIDDEN_ID
    digest = hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()
    return f"id:{digest[:12]}"


def hash_ids(values: Iterable[Any], limit: int = 5) -> list[str]:
    """Hashes of the first ``limit`` ids, for examples in findings; none without a key."""
    if id_key() is None:
        return []
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


#: A short number (a score, a code, a count; a decimal comma allowed): phone, card and
#: account numbers are longer.
_SHORT_NUMBER = re.compile(r"[-+]?(?=[\d.,]{1,9}(?:[eE][-+]?\d+)?$)\d*[.,]?\d+(?:[eE][-+]?\d+)?")


def looks_personal(column: str, values: Iterable[Any]) -> bool:
    """True when ``column`` may hold personal data: a name the PII detectors recognise,
    values they recognise (emails, phones, names, cards ...), long text, or more
    distinct values than a category has. Messages then show masked values only."""
    import pandas as pd

    from cxaudit.detect import (
        PII_NAME_RULES,
        SPECIAL_NAME_RULES,
        match_name,
        value_kind,
    )

    if match_name(str(column), PII_NAME_RULES) or match_name(str(column), SPECIAL_NAME_RULES):
        return True
    values = [v for v in values if v is not None]
    if values and all(_SHORT_NUMBER.fullmatch(str(v).strip()) for v in values):
        return False  # scores, codes, counts: short numbers identify nobody
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
