"""Signed sign-offs: an approval counts only when its approver's own key signed it.

A policy can name each approver's Ed25519 public key::

    approvals:
      required_roles: [product_owner, compliance]
      approver_keys:
        po@example.com: keys/po.pub          # PEM public key, relative to the policy
        officer@example.com: 9kq2...Zc=        # or the raw key in base64 (44 characters)

The audit resolves them into ``audit.json`` (``settings.approvals.approver_keys``,
raw keys in base64), so the keys are bound to the audit digest like everything
else. ``cxaudit approve --sign-key KEY.pem`` then signs the approval entry (its
canonical JSON without the signature) and the entry carries the signature; when
the audit names keys, an approval without a valid signature by *its approver's*
key does not count, whoever wrote it into the log.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cxaudit.errors import InputError

SIGNATURE_FIELD = "signature"


def resolve_keys(keys: dict[str, str] | None, base: Path, where: Any) -> dict[str, str]:
    """``{email: base64 raw public key}`` from the policy's ``approver_keys``.

    ``where(email)`` gives the policy location of an entry, for errors (exit 2).
    """
    from cxaudit.evidence.signing import describe_public_key, load_public_key

    out: dict[str, str] = {}
    for email, value in (keys or {}).items():
        text = value.strip()
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) == 32:
            out[email.lower()] = text
            continue
        path = base / text
        if not path.is_file():
            raise InputError(f"{where(email)}: approvals.approver_keys: the key of {email} is "
                             "neither a base64 Ed25519 public key (44 characters) nor a key "
                             f"file: {path} does not exist",
                             hint="give the PEM file from `openssl pkey -in key.pem -pubout`")
        out[email.lower()] = describe_public_key(load_public_key(path))["public_key"]
    return out


def payload(data: dict[str, Any]) -> bytes:
    """The bytes an approval signature covers: the entry's data, canonical, unsigned."""
    unsigned = {k: v for k, v in data.items() if k != SIGNATURE_FIELD}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def sign_entry(data: dict[str, Any], key_path: str | Path, keys: dict[str, str]
               ) -> dict[str, Any]:
    """The signature block for ``data``; refuses a key that is not the approver's (exit 2)."""
    from cxaudit.evidence.signing import describe_public_key, load_private_key, sign

    private = load_private_key(key_path)
    described = describe_public_key(private)
    registered = keys.get(str(data["approver"]).lower())
    if keys and registered != described["public_key"]:
        raise InputError(f"--sign-key {Path(key_path).name} is not the key the policy registers "
                         "for this approver", hint="sign with your own key, or ask the policy "
                         "owner to register it under approvals.approver_keys")
    signature = sign(private, payload(data))
    return {"key_id": described["key_id"], "public_key": described["public_key"],
            "value": base64.b64encode(signature).decode("ascii")}


def signature_problem(data: dict[str, Any], keys: dict[str, str]) -> str | None:
    """Why an approval entry does not count under ``keys`` (None: it does).

    With no registered keys every approval counts (unsigned sign-offs, as
    before); with keys, the entry must be signed by its approver's key.
    """
    if not keys:
        return None
    from cxaudit.evidence.signing import public_key_from_b64, verify

    registered = keys.get(str(data.get("approver", "")).lower())
    if registered is None:
        return "its approver has no key in approvals.approver_keys"
    block = data.get(SIGNATURE_FIELD)
    if not isinstance(block, dict) or not block.get("value"):
        return "it is not signed"
    try:
        signature = base64.b64decode(str(block["value"]).encode("ascii"), validate=True)
        valid = verify(public_key_from_b64(registered), payload(data), signature)
    except ValueError:
        valid = False
    return None if valid else "its signature is not its approver's"
