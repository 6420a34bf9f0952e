# -*- test-case-name: tests.client.test_lines -*-
"""
randnum's request and reply lines, as both clients write and read them:
L{requestLine} and L{valuesLine} encode a request, L{parseReply},
L{parseValues}, L{parseSigned} and L{parseTexts} decode its reply.  No I/O:
the Twisted client (L{randnum.client.protocol}) and the blocking one
(L{randnum.client.blocking}) both use these, and both raise L{RandnumError}.
"""

from __future__ import annotations

import base64
import decimal
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from randnum.query import MAX_COUNT
from randnum.signing.records import RecordError, parseRecord

#: The longest integer reply line a client accepts: MAX_COUNT numbers of up
#: to 20 characters (a signed 64-bit value) plus separators.
MAX_REPLY = MAX_COUNT * 21 + 64

#: How each type's values, as the server writes them, become Python values.
#: (Bytes are decoded by L{parseValues}, which knows their encoding.)
CONVERTERS: dict[str, Callable[[str], object]] = {
    "int": int,
    "decimal": decimal.Decimal,
    "gaussian": float,
    "string": str,
    "uuid": uuid.UUID,
}


class RandnumError(Exception):
    """
    The server could not answer a request.

    @ivar reason: why, in the server's words.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnexpectedReply(RandnumError):
    """
    The server's reply is not one the protocol allows: the server at
    C{where} (when the client knows it) does not speak randnum's protocol.

    @ivar where: the server, as C{host:port}, or L{None}.
    """

    def __init__(self, reason: str, where: str | None = None) -> None:
        super().__init__(reason)
        self.where = where

    def __str__(self) -> str:
        if self.where is None:
            return self.reason
        return f"{self.where} does not speak randnum's protocol: {self.reason}"


def requestLine(
    n: int = 1, min: int | None = None, max: int | None = None, unique: bool = False
) -> bytes:
    """
    Encode one parameter request.  Bounds not given are left to the server's
    defaults; the server validates everything.
    """
    fields = [f"n={n}"]
    if min is not None:
        fields.append(f"min={min}")
    if max is not None:
        fields.append(f"max={max}")
    if unique:
        fields.append("unique=true")
    line = " ".join(fields).encode("ascii")
    # A TLS server reads a 5-byte record header before it answers anything:
    # n=1 and a newline would leave it silent until the timeout.  With a
    # \r, which the server reads as part of the line ending, it refuses
    # (closes) at once, and the client can say why.
    return line + (b"\r\n" if len(line) < 4 else b"\n")


def _answered(line: bytes) -> bytes:
    """
    A reply line without its C{\r}, unless it is an C{ERR}.

    @raise RandnumError: for an C{ERR} reply, with its reason.
    """
    line = line.rstrip(b"\r")
    if line.startswith(b"ERR "):
        raise RandnumError(line[4:].decode("utf-8", "replace"))
    return line


def parseReply(line: bytes) -> list[int]:
    """
    Decode one reply line (without its newline).

    @raise RandnumError: for an C{ERR} reply.
    @raise UnexpectedReply: for anything else that is not numbers.
    """
    line = _answered(line)
    try:
        return [int(field) for field in line.split(b" ")]
    except ValueError:
        shown = line[:80].decode("utf-8", "replace")
        raise UnexpectedReply(f"it answered {shown!r}") from None


def valuesLine(type: str, n: int = 1, **parameters: object) -> bytes:
    """
    Encode one request for C{n} values of C{type}, with the type's
    parameters (those given as L{None} are left to the server's defaults).
    """
    fields = [f"type={type}", f"n={n}"]
    for name, value in parameters.items():
        if value is None:
            continue
        if name == "data":
            fields.append(f"data={dataToken(str(value))}")
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, float):
            # Plain notation: the server takes no exponent.
            text = format(decimal.Decimal(repr(value)), "f")
        else:
            text = str(value)
        if not text or text.split() != [text] or not text.isascii():
            # A space or newline would make it another request.
            raise ValueError(f"{name} must be ASCII, no spaces, not {text!r}")
        fields.append(f"{name}={text}")
    return " ".join(fields).encode("utf-8") + b"\n"


def dataToken(text: str) -> str:
    """
    A signed request's C{data} as one token of a request line: UTF-8, with
    C{%}, whitespace and control characters percent-encoded (C{%25},
    C{%20}, ...), everything else as it is (so that text in any script
    takes as few bytes of the line as it can).

    @raise ValueError: for empty text.
    """
    if not text:
        raise ValueError("data must not be empty")
    return "".join(
        quote(character, safe="")
        if character == "%" or character.isspace() or not character.isprintable()
        else character
        for character in text
    )


def parseValues(line: bytes, type: str, format: str | None = None) -> list[Any]:
    """
    Decode one reply line to values of C{type}: L{int}, L{decimal.Decimal},
    L{float}, L{str}, L{uuid.UUID} or L{bytes} (from C{format}, C{hex} or
    C{base64}).

    @raise RandnumError: for an C{ERR} reply.
    @raise UnexpectedReply: for anything else that is not such values.
    """
    line = _answered(line)
    try:
        fields = line.decode("ascii").split(" ")
        if type == "bytes":
            decode = base64.b64decode if format == "base64" else bytes.fromhex
            return [decode(field) for field in fields]
        return [CONVERTERS[type](field) for field in fields]
    except (ValueError, KeyError, decimal.InvalidOperation):
        shown = line[:80].decode("utf-8", "replace")
        raise UnexpectedReply(f"it answered {shown!r}") from None


def parseSigned(line: bytes) -> dict[str, Any]:
    """
    Decode one reply line to a signed draw's record (a L{dict}; verify it
    with L{randnum.signing.records.verifyDraw}).

    @raise RandnumError: for an C{ERR} reply.
    @raise UnexpectedReply: for anything else that is not a record.
    """
    line = _answered(line)
    try:
        return parseRecord(line)
    except RecordError:
        shown = line[:80].decode("utf-8", "replace")
        raise UnexpectedReply(f"it answered {shown!r}") from None


def parseTexts(line: bytes) -> list[str]:
    """
    Decode one reply line to its values' text.

    @raise RandnumError: for an C{ERR} reply.
    """
    line = _answered(line)
    return line.decode("ascii", "replace").split(" ")
