# -*- test-case-name: tests.signing.test_records -*-
"""
Signed draw records: their canonical form, and how anyone verifies them.

A record is a JSON object::

    {"serial": 7, "time": "2026-11-25T12:00:00.123Z",
     "request": {"type": "int", "n": 1, "min": 1, "max": 10000,
                 "unique": false},
     "values": [4711], "data": "raffle 12", "key": "<key id>",
     "prev": "<hex SHA-256 of record 6>", "signature": "<base64>"}

Its canonical form is RFC 8785 (JSON Canonicalization Scheme, JCS):
members sorted by name, no whitespace, strings escaped as ECMAScript's
C{JSON.stringify} escapes them.  Records hold only objects, arrays,
strings, booleans and integers within +-(2**53 - 1) (the integers every
JSON implementation reads exactly); anything else, such as an integer range
beyond that or a decimal, is written as a string.  For this subset JCS is
exactly Python's C{json.dumps(..., sort_keys=True, separators=(",", ":"),
ensure_ascii=False)}, so any language's JCS library reproduces the bytes.

The signature is Ed25519 over the canonical form of the record without its
C{signature} member.  C{prev} is the hex SHA-256 of the previous record's
canonical form (signature included), 64 zeros for serial 1.  The key id is
the hex SHA-256 of the raw 32-byte public key.

This module needs only the standard library and C{cryptography}: a client
can verify records without the rest of randnum.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

#: The largest integer a record holds as a JSON number (beyond it, strings).
SAFE_INTEGER = 2**53 - 1

#: C{prev} of the first record of a chain.
GENESIS = "0" * 64

#: The members every record has (C{data} is optional).
FIELDS = ("serial", "time", "request", "values", "key", "prev", "signature")


class RecordError(ValueError):
    """
    A record that does not verify.

    @ivar serial: the record's serial, if it has one.
    @ivar reason: why, in words.
    """

    def __init__(self, serial: object, reason: str) -> None:
        super().__init__(f"serial {serial}: {reason}")
        self.serial = serial
        self.reason = reason


class NotARecord(RecordError):
    """
    Text that is not a record at all: not JSON, not an object, or an
    object without a serial.

    @ivar missing: the members it lacks, if it is a JSON object.
    """

    def __init__(self, serial: object, reason: str, missing: tuple[str, ...] = ()):
        super().__init__(serial, reason)
        self.missing = missing


def _check(value: Any) -> None:
    """
    Refuse what a canonical record may not hold.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not -SAFE_INTEGER <= value <= SAFE_INTEGER:
            raise TypeError(f"integer {value} is beyond 2**53 - 1")
        return
    if isinstance(value, list):
        for item in value:
            # A record's values, thousands of them, are strings and safe
            # integers: checked here, without a call each.
            kind = type(item)
            if kind is str or (kind is int and -SAFE_INTEGER <= item <= SAFE_INTEGER):
                continue
            _check(item)
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise TypeError("object member names must be strings")
            _check(item)
        return
    raise TypeError(f"{type(value).__name__} has no canonical form here")


def canonical(value: Any) -> bytes:
    """
    The RFC 8785 canonical JSON of C{value}: objects, arrays, strings,
    booleans, null and safe integers (no floats).

    @raise TypeError: for anything else.
    """
    _check(value)
    # Sorting by code point equals JCS's UTF-16 order for names below
    # U+10000, which are the only ones randnum writes; records with other
    # names fail to verify rather than verify wrongly (see verifyRecord).
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def digest(record: Mapping[str, Any]) -> str:
    """
    The hex SHA-256 of a record's canonical form: the next record's C{prev}.
    """
    return hashlib.sha256(canonical(dict(record))).hexdigest()


def signedBytes(record: Mapping[str, Any]) -> bytes:
    """
    What a record's signature signs: its canonical form without C{signature}.
    """
    return canonical({k: v for k, v in record.items() if k != "signature"})


def keyId(publicKey: Ed25519PublicKey) -> str:
    """
    A key's id: the hex SHA-256 of its raw 32-byte public key.
    """
    raw = publicKey.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def parseRecord(text: str | bytes) -> dict[str, Any]:
    """
    One record from its JSON text.

    @raise RecordError: if it is not a JSON object with a record's members.
    """

    def noFloats(number: str) -> Any:
        raise ValueError(f"non-integer number {number}")

    try:
        record = json.loads(text, parse_float=noFloats, parse_constant=noFloats)
    except ValueError as error:
        raise NotARecord("?", f"not a record: {error}") from None
    if not isinstance(record, dict):
        raise NotARecord("?", "not a record: not a JSON object")
    serial = record.get("serial", "?")
    missing = tuple(name for name in FIELDS if name not in record)
    if "serial" in missing:
        raise NotARecord(serial, f"not a record: no {', '.join(missing)}", missing)
    if missing:
        # A record with members taken away (its signature, say) is one that
        # does not verify, not text that was never a record.
        raise RecordError(serial, f"incomplete record: no {', '.join(missing)}")
    if not isinstance(serial, int) or isinstance(serial, bool) or serial < 1:
        raise RecordError(serial, "serial is not a positive integer")
    return record


def verifyRecord(
    record: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]
) -> None:
    """
    Check one record's key id and signature against the public keys
    C{keys} (by key id).

    @raise RecordError: naming the first problem found.
    """
    serial = record.get("serial", "?")
    key = keys.get(record.get("key"))  # type: ignore[arg-type]
    if key is None:
        raise RecordError(serial, f"signed by an unknown key {record.get('key')!r}")
    if keyId(key) != record["key"]:
        raise RecordError(serial, "key id does not match the key")
    try:
        signature = base64.b64decode(record["signature"], validate=True)
        key.verify(signature, signedBytes(record))
    except (InvalidSignature, binascii.Error, TypeError, ValueError):
        raise RecordError(serial, "bad signature") from None
    if record["serial"] == 1 and record["prev"] != GENESIS:
        raise RecordError(serial, "serial 1 must have prev = 64 zeros")


def verifyDraw(
    record: Mapping[str, Any] | str | bytes,
    publicKey: Ed25519PublicKey | str | bytes | os.PathLike[str],
) -> None:
    """
    Check one signed draw's record (as a client gets it: a L{dict}, or its
    JSON text) against the server's public key: a key, PEM text (the
    C{publicKey} of C{GET /v1/key}'s JSON; a private key's PEM works too),
    or the path of a PEM file.

    @raise RecordError: if the record does not verify, saying why.
    @raise ValueError: if C{publicKey} is not an Ed25519 key.
    """
    if isinstance(record, (str, bytes)):
        record = parseRecord(record)
    key = _publicKey(publicKey)
    for name in FIELDS:
        if name not in record:
            raise RecordError(record.get("serial", "?"), f"not a record: no {name}")
    verifyRecord(record, {keyId(key): key})


def _publicKey(
    given: Ed25519PublicKey | str | bytes | os.PathLike[str],
) -> Ed25519PublicKey:
    """
    An Ed25519 public key from a key, PEM text or a PEM file's path.
    """
    if isinstance(given, Ed25519PublicKey):
        return given
    if isinstance(given, os.PathLike) or (
        isinstance(given, str) and "-----BEGIN" not in given
    ):
        with open(given, "rb") as file:
            pem = file.read()
    else:
        pem = given.encode("ascii") if isinstance(given, str) else given
    try:
        if b"PRIVATE KEY" in pem:
            key: object = load_pem_private_key(pem, password=None).public_key()
        else:
            key = load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("not a PEM Ed25519 public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 key")
    return key


@dataclass
class ChainReport:
    """
    What L{verifyChains} found.

    @ivar records: how many records verified.
    @ivar chains: for each key id, the first and last serial seen.
    @ivar gaps: for each key id, the serials missing between records given.
    """

    records: int = 0
    chains: dict[str, tuple[int, int]] = field(default_factory=dict)
    gaps: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


def verifyChains(
    records: Iterable[Mapping[str, Any]],
    keys: Mapping[str, Ed25519PublicKey],
    complete: bool = False,
) -> ChainReport:
    """
    Verify records, which may come from several chains (one per key), each
    chain's records in order.  Within a chain, serials must increase; each
    record following the previous serial must link to it (C{prev}).  Missing
    serials are reported in L{ChainReport.gaps}, or, when C{complete}, are
    an error.

    @raise RecordError: naming the first bad serial and why.
    """
    report = ChainReport()
    last: dict[str, tuple[int, str]] = {}
    for record in records:
        verifyRecord(record, keys)
        serial, key = record["serial"], record["key"]
        before = last.get(key)
        if before is not None:
            previous, previousDigest = before
            if serial == previous:
                if digest(record) == previousDigest:
                    continue  # the same record again (overlapping exports)
                raise RecordError(
                    serial,
                    "two different records with this serial, both signed: "
                    "the chain forks",
                )
            if serial < previous:
                raise RecordError(
                    serial,
                    f"follows serial {previous}: out of order (give each "
                    "chain's records in serial order)",
                )
            if serial == previous + 1:
                if record["prev"] != previousDigest:
                    raise RecordError(
                        serial, f"prev does not link to serial {previous}"
                    )
            elif complete:
                raise RecordError(serial, f"follows serial {previous}: serials missing")
            else:
                report.gaps.setdefault(key, []).append((previous + 1, serial - 1))
        first = report.chains.get(key, (serial, serial))[0]
        report.chains[key] = (first, serial)
        last[key] = (serial, digest(record))
        report.records += 1
    return report
