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
