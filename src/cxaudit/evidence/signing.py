"""Ed25519 signatures over the evidence manifest (the ``cryptography`` package).

Key files:

- the signing key (``--sign-key``) is a PEM PKCS#8 Ed25519 private key, as made by
  ``openssl genpkey -algorithm ed25519 -out signing-key.pem``; an encrypted key is
  read with the passphrase in ``CXAUDIT_SIGN_KEY_PASSPHRASE``;
- a public key (``--public-key``) is PEM SubjectPublicKeyInfo
  (``openssl pkey -in signing-key.pem -pubout -out signing-key.pub``) or an
  OpenSSH ``ssh-ed25519 …`` line.

The signature file is the raw 64-byte Ed25519 signature of ``manifest.json``'s
bytes, so it can be checked without cxaudit::

    openssl pkeyutl -verify -pubin -inkey signing-key.pub -rawin \\
        -in manifest.json -sigfile manifest.sig

A signature checked only against the public key embedded in the bundle proves
the bundle is internally consistent, not who made it: anyone can re-sign an
edited bundle with a key of their own. Check it against the signer's published
key (``cxaudit verify DIR --public-key FILE``) to prove origin.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from cxaudit.errors import InputError

SIGNATURE_FILE = "manifest.sig"
ALGORITHM = "Ed25519"
PASSPHRASE_ENV = "CXAUDIT_SIGN_KEY_PASSPHRASE"
_MAKE_KEY = "make one with `openssl genpkey -algorithm ed25519 -out signing-key.pem`"


def _read(path: str | Path, what: str) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}", hint="check the path you passed")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the {what} {path}: {exc.strerror}",
                         hint="check the file's permissions") from None


def load_private_key(path: str | Path) -> Any:
    """Read an Ed25519 private key from a PEM PKCS#8 file.

    Parameters
    ----------
    path
        The key file. An encrypted key needs its passphrase in the environment
        variable ``CXAUDIT_SIGN_KEY_PASSPHRASE``.

    Returns
    -------
    cryptography.hazmat.primitives.asymmetric.ed25519.Ed25519PrivateKey

    Raises
    ------
    InputError
        The file is missing, not PEM, encrypted without a passphrase, or not Ed25519.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = _read(path, "signing key")
    if b"-----BEGIN" not in raw:
        raise InputError(f"signing key {path} is not a PEM file",
                         hint=f"--sign-key takes a PEM PKCS#8 Ed25519 private key; {_MAKE_KEY}")
    if b"PUBLIC KEY-----" in raw and b"PRIVATE KEY-----" not in raw:
        raise InputError(f"signing key {path} holds a public key",
                         hint="--sign-key needs the private key; the public key goes to "
                              "`cxaudit verify --public-key`")
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        key = serialization.load_pem_private_key(
            raw, password=passphrase.encode() if passphrase else None)
    except TypeError:
        # cryptography raises TypeError both for "encrypted, no password" and the reverse.
        if passphrase:
            raise InputError(f"signing key {path} is not encrypted but {PASSPHRASE_ENV} is set",
                             hint=f"unset {PASSPHRASE_ENV}") from None
        raise InputError(f"signing key {path} is encrypted",
                         hint=f"put its passphrase in the environment variable {PASSPHRASE_ENV}"
                         ) from None
    except ValueError:
        raise InputError(f"signing key {path} could not be read (wrong passphrase, or a damaged "
                         "or unsupported PEM file)",
                         hint=f"--sign-key takes a PEM PKCS#8 Ed25519 private key; {_MAKE_KEY}"
                         ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"signing key {path} holds {_kind(key)} key, not Ed25519",
                         hint=_MAKE_KEY)
    return key


def _kind(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa

    for module, name in ((rsa, "an RSA"), (ec, "an ECDSA"), (dsa, "a DSA"), (ed448, "an Ed448")):
        if any(isinstance(key, getattr(module, attr)) for attr in dir(module)
               if attr.endswith("PrivateKey") and isinstance(getattr(module, attr), type)):
            return name
    return "another kind of"


def load_public_key(path: str | Path) -> Any:
    """Read an Ed25519 public key: PEM SubjectPublicKeyInfo or an OpenSSH line.

    Raises
    ------
    InputError
        The file is missing, unreadable or holds another kind of key.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = _read(path, "public key file")
    hint = ("give a PEM public key (`openssl pkey -in signing-key.pem -pubout`) "
            "or an `ssh-ed25519 …` line")
    if b"PRIVATE KEY-----" in raw:
        raise InputError(f"public key file {path} holds a private key",
                         hint="never hand out the private key; " + hint)
    try:
        if raw.lstrip().startswith(b"ssh-"):
            key = serialization.load_ssh_public_key(raw.strip())
        else:
            key = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError):
        raise InputError(f"public key file {path} could not be read", hint=hint) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"public key file {path} is not an Ed25519 key", hint=hint)
    return key


def public_raw(key: Any) -> bytes:
    """The 32 raw bytes of an Ed25519 public key (or of a private key's public half)."""
    from cryptography.hazmat.primitives import serialization

    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(raw_public: bytes) -> str:
    """A short fingerprint of a public key: ``ed25519:`` + 16 hex digits of its SHA-256."""
    return "ed25519:" + hashlib.sha256(raw_public).hexdigest()[:16]


def describe_public_key(key: Any) -> dict[str, str]:
    """The block embedded in a signed manifest: algorithm, base64 key and key id."""
    raw = public_raw(key)
    return {"algorithm": ALGORITHM, "public_key": base64.b64encode(raw).decode("ascii"),
            "key_id": key_id(raw)}


def public_key_from_b64(text: str) -> Any:
    """Rebuild an Ed25519 public key from its base64 raw form; ``ValueError`` if malformed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = base64.b64decode(text.encode("ascii"), validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(private_key: Any, data: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``data``."""
    return private_key.sign(data)


def verify(public_key: Any, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``data`` by ``public_key``."""
    from cryptography.exceptions import InvalidSignature

    if len(signature) != 64:
        return False
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def write_keypair(private_path: str | Path, public_path: str | Path | None = None) -> str:
    """Create a new Ed25519 key pair (PEM PKCS#8, unencrypted, mode 0600); return its key id.

    For tests and first steps; in production keep the private key in a secret store.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    private_path = Path(private_path)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    if public_path is not None:
        Path(public_path).write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_id(public_raw(key))
