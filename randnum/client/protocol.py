"""
Clients for the randnum line protocol.

L{RandnumClientProtocol} is the Twisted client: each L{request
<RandnumClientProtocol.request>} returns a L{Deferred} that fires with a list
of ints, and any number of requests may be outstanding at once (they are
pipelined and answered in order).  L{connect} opens one from a client
endpoint description.

The blocking client for code that does not use Twisted is in
L{randnum.client.blocking}; both encode requests and decode replies with the
functions here, and both raise L{RandnumError}.
"""

from __future__ import annotations

import base64
import decimal
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet._sslverify import IOpenSSLTrustRoot
from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import (
    HostnameEndpoint,
    clientFromString,
    connectProtocol,
    wrapClientTLS,
)
from twisted.internet.interfaces import (
    IReactorCore,
    IStreamClientEndpoint,
    ITransport,
)
from twisted.internet.protocol import connectionDone
from twisted.protocols.basic import LineOnlyReceiver
from twisted.python.failure import Failure

from randnum.query import MAX_COUNT
from randnum.query import MAX_REPLY as MAX_TYPED_REPLY
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
    The server's reply is not one the protocol allows.
    """


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
    return " ".join(fields).encode("ascii") + b"\n"


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


class RandnumClientProtocol(LineOnlyReceiver):
    """
    A connection to a randnum server, speaking line framing.
    """

    delimiter = b"\n"
    MAX_LENGTH = MAX_TYPED_REPLY + 64

    # Set by makeConnection before any request can be made.
    transport: ITransport

    def __init__(self) -> None:
        self._waiting: deque[tuple[Deferred[Any], Callable[[bytes], Any]]] = deque()
        self._lost: Failure | None = None

    def request(
        self,
        n: int = 1,
        min: int | None = None,
        max: int | None = None,
        unique: bool = False,
    ) -> Deferred[list[int]]:
        """
        Ask for C{n} numbers in C{min..max} (the server's defaults where not
        given), distinct if C{unique}.

        @return: a L{Deferred} firing with the numbers, or failing with
            L{RandnumError} if the server refuses the request, or with the
            reason the connection was lost.
        """
        return self._ask(requestLine(n, min, max, unique), parseReply)

    def values(self, type: str, n: int = 1, **parameters: object) -> Deferred[Any]:
        """
        Ask for C{n} values of C{type} (C{decimal}, C{gaussian}, C{string},
        C{uuid}, C{bytes} or C{int}) with that type's parameters, e.g.
        C{values("string", 5, length=8, chars="hex")}.  With C{signed=True}
        (and optionally C{data="raffle 12"}), the answer is the signed
        draw's record instead (see L{parseSigned}).

        @return: a L{Deferred} firing with the values as Python values (see
            L{parseValues}) or the record, or failing as L{request}'s does.
        """
        line = valuesLine(type, n, **parameters)
        if parameters.get("signed"):
            return self._ask(line, parseSigned)
        encoding = parameters.get("format")
        return self._ask(
            line, lambda reply: parseValues(reply, type, str(encoding or "hex"))
        )

    def texts(self, type: str, n: int = 1, **parameters: object) -> Deferred[list[str]]:
        """
        As L{values}, but each value as the server wrote it (for printing).
        """
        return self._ask(valuesLine(type, n, **parameters), parseTexts)

    def _ask(self, line: bytes, parse: Callable[[bytes], Any]) -> Deferred[Any]:
        if self._lost is not None:
            return fail(self._lost)
        waiting: Deferred[Any] = Deferred()
        self._waiting.append((waiting, parse))
        self.transport.write(line)
        return waiting

    def lineReceived(self, line: bytes) -> None:
        """
        Fire the oldest outstanding request with its reply.
        """
        if not self._waiting:
            # A reply nobody asked for: this is not a randnum server.
            self.transport.loseConnection()
            return
        waiting, parse = self._waiting.popleft()
        try:
            values = parse(line)
        except RandnumError as error:
            waiting.errback(error)
        else:
            waiting.callback(values)

    def lineLengthExceeded(self, line: bytes) -> None:
        """
        A reply longer than any valid one: give up on this connection.
        """
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Fail every outstanding request with C{reason}.
        """
        self._lost = reason
        waiting, self._waiting = self._waiting, deque()
        for pending, _ in waiting:
            pending.errback(reason)


def endpointError(error: BaseException) -> str:
    """
    Why an endpoint description was refused, in words: no empty reasons,
    Python internals or OpenSSL error tuples.
    """
    text = str(error)
    if isinstance(error, TypeError) and "multiple values" in text:
        return "a value with colons must escape them, as in tcp:5000:interface=\\:\\:1"
    if isinstance(error, SSL.Error) or text.startswith("[('"):
        return f"not a usable certificate or key (OpenSSL: {_opensslReason(error)})"
    if isinstance(error, OSError) and error.strerror:
        name = f" {error.filename!r}" if error.filename else ""
        return f"{error.strerror}{name}"
    return text or error.__class__.__name__


def _opensslReason(error: BaseException) -> str:
    reasons = [item[-1] for item in getattr(error, "args", [[]])[0] or []]
    return ", ".join(str(r) for r in reasons if r) or str(error)


def trustRoot(cafile: str) -> IOpenSSLTrustRoot:
    """
    A TLS trust root of the CA certificates in the PEM file C{cafile}.

    @raise ValueError: if the file holds no certificate, or cannot be read.
    """
    try:
        with open(cafile, "rb") as file:
            pem = file.read()
    except OSError as error:
        raise ValueError(f"cannot read {cafile!r}: {error.strerror}") from None
    marker = b"-----END CERTIFICATE-----"
    blocks = [block + marker for block in pem.split(marker) if b"-----BEGIN" in block]
    try:
        certificates = [ssl.Certificate.loadPEM(block) for block in blocks]
    except Exception:
        certificates = []
    if not certificates:
        raise ValueError(f"{cafile!r} holds no PEM certificate")
    root: IOpenSSLTrustRoot = ssl.trustRootFromCertificates(certificates)
    return root


def clientEndpoint(
    reactor: Any,
    host: str,
    port: int,
    *,
    tls: bool = False,
    cafile: str | None = None,
    timeout: float = 30,
) -> IStreamClientEndpoint:
    """
    An endpoint for a randnum server at C{host} (a name, or an IPv4 or IPv6
    address) and C{port}: TCP, or TLS if C{tls} or C{cafile}, trusting the
    CA certificates in C{cafile} or else the system's.

    @raise ValueError: if C{cafile} holds no certificate.
    """
    endpoint: IStreamClientEndpoint = HostnameEndpoint(
        reactor, host, port, timeout=timeout
    )
    if tls or cafile is not None:
        trust = trustRoot(cafile) if cafile is not None else None
        options = ssl.optionsForClientTLS(host, trustRoot=trust)
        endpoint = wrapClientTLS(options, endpoint)
    return endpoint


def connect(
    reactor: IReactorCore,
    description: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    tls: bool = False,
    cafile: str | None = None,
) -> Deferred[RandnumClientProtocol]:
    """
    Connect to a randnum server.

    @param description: a Twisted client endpoint description, such as
        C{tcp:host=127.0.0.1:port=5000} or C{unix:path=/run/randnum.sock};
        if not given, C{host} and C{port} (with TLS if C{tls} or C{cafile},
        trusting the CA certificates in the PEM file C{cafile} or else the
        system's).
    """
    endpoint = (
        clientFromString(reactor, description)
        if description is not None
        else clientEndpoint(reactor, host, port, tls=tls, cafile=cafile)
    )
    connecting: Deferred[RandnumClientProtocol] = connectProtocol(
        endpoint, RandnumClientProtocol()
    )
    return connecting
