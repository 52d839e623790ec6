"""Signing keys: what is accepted, and what each wrong key file is told."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cxaudit.errors import InputError
from cxaudit.evidence.signing import (
    PASSPHRASE_ENV,
    load_private_key,
    load_public_key,
    public_raw,
    sign,
    verify,
)


def _write_pem(path: Path, key, password: bytes | None = None) -> Path:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, encryption))
    return path


def test_sign_and_verify_round_trip(keypair) -> None:
    private = load_private_key(keypair[0])
    public = load_public_key(keypair[1])
    signature = sign(private, b"manifest bytes")
    assert len(signature) == 64
    assert verify(public, b"manifest bytes", signature)
    assert not verify(public, b"manifest bytez", signature)
    assert not verify(public, b"manifest bytes", signature[:-1])


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "holds an RSA key, not Ed25519"),
    (lambda: ec.generate_private_key(ec.SECP256R1()), "holds an ECDSA key, not Ed25519"),
])
def test_other_key_types_are_refused_with_how_to_make_one(tmp_path: Path, make, fragment) -> None:
    path = _write_pem(tmp_path / "key.pem", make())
    with pytest.raises(InputError, match=fragment) as caught:
        load_private_key(path)
    assert "openssl genpkey -algorithm ed25519" in caught.value.format()


def test_an_encrypted_key_needs_its_passphrase(tmp_path: Path, monkeypatch) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    path = _write_pem(tmp_path / "key.pem", key, password=b"s3cret-phrase")
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    with pytest.raises(InputError, match="is encrypted"):
        load_private_key(path)
    monkeypatch.setenv(PASSPHRASE_ENV, "wrong")
    with pytest.raises(InputError, match="wrong passphrase"):
        load_private_key(path)
    monkeypatch.setenv(PASSPHRASE_ENV, "s3cret-phrase")
    assert public_raw(load_private_key(path)) == public_raw(key)


def test_wrong_files_get_clear_errors(tmp_path: Path, keypair) -> None:
    with pytest.raises(InputError, match="holds a public key"):
        load_private_key(keypair[1])
    with pytest.raises(InputError, match="holds a private key"):
        load_public_key(keypair[0])
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(InputError, match="not a PEM file"):
        load_private_key(junk)
    with pytest.raises(InputError, match="not found"):
        load_private_key(tmp_path / "missing.pem")


def test_an_openssh_public_key_line_is_accepted(tmp_path: Path, keypair) -> None:
    private = load_private_key(keypair[0])
    line = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH)
    path = tmp_path / "key.pub"
    path.write_bytes(line + b" ci@example\n")
    assert public_raw(load_public_key(path)) == public_raw(private)


def test_openssl_extracted_public_key_is_accepted(tmp_path: Path, keypair) -> None:
    out = tmp_path / "openssl.pub"
    subprocess.run(["openssl", "pkey", "-in", str(keypair[0]), "-pubout", "-out", str(out)],
                   check=True, capture_output=True)
    assert public_raw(load_public_key(out)) == public_raw(load_private_key(keypair[0]))
