# -*- test-case-name: tests.signing.test_keys -*-
"""
Signing keys: making them (C{randnum keygen}) and reading them back.

A randnum signing key is an Ed25519 private key in a PEM file readable by
its owner only; its public half sits beside it in C{KEYFILE.pub}.  Every
problem with a key file is a L{KeyFileError} whose message says, in words,
what is wrong with which file.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from randnum.signing.records import keyId


class KeyFileError(Exception):
    """
    A key file that cannot be written or used; the message says why.
    """


def publicPem(key: Ed25519PublicKey) -> str:
    """
    A public key as PEM text.
    """
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


def _create(path: Path, data: bytes, mode: int) -> None:
    """
    Write a new file, never replacing one.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def generateKey(path: str | os.PathLike[str]) -> str:
    """
    Write a new Ed25519 private key to C{path} (PEM, mode 0600) and its
    public key to C{path}.pub; return the key id.

    @raise KeyFileError: if either file exists or cannot be written.
    """
    private = Path(path)
    public = Path(f"{private}.pub")
    for existing in (private, public):
        if existing.exists() or existing.is_symlink():
            raise KeyFileError(f"{existing} already exists; not overwriting it")
    key = Ed25519PrivateKey.generate()
    try:
        _create(
            private,
            key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
            0o600,
        )
    except OSError as error:
        raise KeyFileError(f"cannot write {private}: {error.strerror}") from None
    try:
        _create(public, publicPem(key.public_key()).encode("ascii"), 0o644)
    except OSError as error:
        private.unlink()
        raise KeyFileError(f"cannot write {public}: {error.strerror}") from None
    return keyId(key.public_key())


def _kind(key: object) -> str:
    """
    What kind of key this is, in words.
    """
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "an RSA key"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return f"an elliptic-curve key ({key.curve.name})"
    return f"a {type(key).__name__} key"


def keepKey(path: str | os.PathLike[str]) -> str:
    """
    Check the existing key in C{path}, write C{path}.pub if it is missing,
    and return the key id.

    @raise KeyFileError: if the key cannot be used.
    """
    key = loadPrivateKey(path).public_key()
    public = Path(f"{path}.pub")
    if not public.exists():
        try:
            _create(public, publicPem(key).encode("ascii"), 0o644)
        except OSError as error:
            raise KeyFileError(f"cannot write {public}: {error.strerror}") from None
    return keyId(key)


def othersMayRead(path: str | os.PathLike[str]) -> bool:
    """
    Whether users other than the key file's owner may read it.
    """
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except OSError:
        return False


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(1 << 20)
    except OSError as error:
        raise KeyFileError(f"cannot read {path}: {error.strerror}") from None


def loadPrivateKey(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """
    The Ed25519 private key in the PEM file C{path}.

    @raise KeyFileError: if it cannot be read, is not a PEM private key, is
        encrypted, or is a key of another kind.
    """
    data = _read(path)
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(
            f"{path} is encrypted; randnum needs an unencrypted key"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        if b"PUBLIC KEY" in data:
            raise KeyFileError(
                f"{path} is a public key; the signing key is the private one"
            ) from None
        raise KeyFileError(
            f"{path} is not a PEM private key (make one with 'randnum keygen')"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds {_kind(key)}, not an Ed25519 key")
    return key


def loadPublicKey(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """
    The Ed25519 public key in the PEM file C{path} (a private key file is
    accepted too: its public half is used).

    @raise KeyFileError: if there is none.
    """
    data = _read(path)
    if b"PRIVATE KEY" in data:
        return loadPrivateKey(path).public_key()
    try:
        key = load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} holds {_kind(key)}, not an Ed25519 key")
    return key


def parsePublicPem(text: str) -> Ed25519PublicKey:
    """
    An Ed25519 public key from PEM text (the C{publicKey} of
    C{GET /v1/key}'s JSON).

    @raise KeyFileError: if it is not one.
    """
    try:
        key = load_pem_public_key(text.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError("not an Ed25519 public key")
    return key


class Signer:
    """
    Sign with one Ed25519 private key.

    @ivar keyId: the key's id.
    @ivar publicKey: its public key.
    """

    def __init__(self, privateKey: Ed25519PrivateKey) -> None:
        self._key = privateKey
        self.publicKey = privateKey.public_key()
        self.keyId = keyId(self.publicKey)
        #: Bound once: signing is the hot path of a signed draw.
        self.sign = privateKey.sign

    @property
    def publicPem(self) -> str:
        """
        The public key, as PEM text.
        """
        return publicPem(self.publicKey)

    @classmethod
    def fromFile(cls, path: str | os.PathLike[str]) -> Signer:
        """
        A signer for the key in C{path}.

        @raise KeyFileError: as L{loadPrivateKey}.
        """
        return cls(loadPrivateKey(path))
