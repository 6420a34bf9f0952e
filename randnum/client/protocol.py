# -*- test-case-name: tests.client.test_protocol -*-
"""
The Twisted client for the randnum line protocol.

L{RandnumClientProtocol} is the Twisted client: each L{request
<RandnumClientProtocol.request>} returns a L{Deferred} that fires with a list
of ints, and any number of requests may be outstanding at once (they are
pipelined and answered in order).  L{connect} opens one from a client
endpoint description.

The blocking client for code that does not use Twisted is in
L{randnum.client.blocking}; both encode requests and decode replies with
L{randnum.client.lines}, and both raise L{RandnumError}.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from OpenSSL import SSL
from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IReactorCore, IStreamClientEndpoint, ITransport
from twisted.internet.protocol import connectionDone
from twisted.protocols.basic import LineOnlyReceiver
from twisted.python.failure import Failure

from randnum.client.endpoints import clientEndpoint, endpointError, trustRoot
from randnum.client.lines import (
    MAX_REPLY,
    RandnumError,
    UnexpectedReply,
    dataToken,
    parseReply,
    parseSigned,
    parseTexts,
    parseValues,
    requestLine,
    valuesLine,
)
from randnum.client.reaching import UntrustedCertificate
from randnum.client.wrongport import (
    ClosedWithoutReply,
    WrongPort,
    recognize,
    shownAddress,
)
from randnum.mistakes import clientHostAndPort, notAnEndpoint
from randnum.query import MAX_REPLY as MAX_TYPED_REPLY

# The names this module had before lines and endpoints were split out of
# it stay importable from here.
__all__ = [
    "MAX_REPLY",
    "RandnumClientProtocol",
    "RandnumError",
    "UnexpectedReply",
    "WrongPort",
    "clientEndpoint",
    "connect",
    "dataToken",
    "endpointError",
    "parseReply",
    "parseSigned",
    "parseTexts",
    "parseValues",
    "requestLine",
    "trustRoot",
    "valuesLine",
]


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
        # The first bytes received, until they tell what the server speaks
        # (then None).
        self._start: bytes | None = b""
        self._where = "the server"

    def connectionMade(self) -> None:
        """
        Note the server's address, for errors that name it.
        """
        peer = self.transport.getPeer()
        host, port = getattr(peer, "host", None), getattr(peer, "port", None)
        if isinstance(host, str) and isinstance(port, int):
            self._where = shownAddress(host, port)
        elif isinstance(getattr(peer, "name", None), (str, bytes)):
            name = peer.name  # type: ignore[attr-defined]
            self._where = name.decode() if isinstance(name, bytes) else name

    def dataReceived(self, data: bytes) -> None:
        """
        Read replies, once their first bytes say they are randnum's: an
        HTTP or TLS server's answer fails every request with L{WrongPort}.
        """
        if self._start is not None:
            self._start += data
            try:
                if not recognize(self._start, self._where):
                    return
            except WrongPort as wrong:
                self._failAll(Failure(wrong))
                self.transport.loseConnection()
                return
            data, self._start = self._start, None
        super().dataReceived(data)  # type: ignore[no-untyped-call]

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
        except UnexpectedReply as error:
            waiting.errback(UnexpectedReply(error.reason, self._where))
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
        Fail every outstanding request with C{reason}, or with
        L{ClosedWithoutReply} if the server closed without a word, or with
        L{UntrustedCertificate} if its certificate is not trusted.
        """
        if self._start == b"" and self._waiting and reason.check(ConnectionDone):
            reason = Failure(ClosedWithoutReply(self._where))
        elif reason.check(SSL.Error) and "certificate verify failed" in str(
            reason.value
        ):
            reason = Failure(UntrustedCertificate(self._where))
        self._failAll(reason)

    def _failAll(self, reason: Failure) -> None:
        if self._lost is None:
            self._lost = reason
        waiting, self._waiting = self._waiting, deque()
        for pending, _ in waiting:
            pending.errback(reason)


def connect(
    reactor: IReactorCore,
    description: str | IStreamClientEndpoint | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    tls: bool = False,
    cafile: str | None = None,
) -> Deferred[RandnumClientProtocol]:
    """
    Connect to a randnum server.

    @param description: a client endpoint (an L{IStreamClientEndpoint},
        such as L{randnum.testing.InMemoryServer.endpoint}'s), or a Twisted
        client endpoint description, such as C{tcp:host=127.0.0.1:port=5000}
        or C{unix:path=/run/randnum.sock}; if not given, C{host} and C{port}
        (with TLS if C{tls} or C{cafile}, trusting the CA certificates in
        the PEM file C{cafile} or else the system's).
    @return: a L{Deferred} firing with the connected client.  A port that
        is not randnum's (an HTTP or TLS port) fails the first request with
        a L{WrongPort}, a L{ConnectionError} that names the likely cause; a
        certificate not trusted fails it with an L{UntrustedCertificate}.
    @raise ValueError: for a description that is not one (an address and
        port, C{127.0.0.1:5000}, gets the description it likely means).
    @raise TypeError: for a C{description} that is neither a string nor an
        endpoint.
    """
    endpoint: IStreamClientEndpoint
    if isinstance(description, str):
        endpoint = _fromString(reactor, description)
    elif description is None:
        endpoint = clientEndpoint(reactor, host, port, tls=tls, cafile=cafile)
    elif IStreamClientEndpoint.providedBy(description):
        endpoint = description
    else:
        hint = ""
        if callable(getattr(description, "endpoint", None)):
            hint = f"; for an {type(description).__name__} pass server.endpoint()"
        raise TypeError(
            f"connect() needs an endpoint description or an IStreamClientEndpoint{hint}"
        )
    connecting: Deferred[RandnumClientProtocol] = connectProtocol(
        endpoint, RandnumClientProtocol()
    )
    return connecting


def _fromString(reactor: IReactorCore, description: str) -> IStreamClientEndpoint:
    """
    The client endpoint that C{description} describes.

    @raise ValueError: if it describes none, in words.
    """
    try:
        endpoint: IStreamClientEndpoint = clientFromString(reactor, description)
    except ValueError:
        meant = clientHostAndPort(description)
        if meant is None:
            raise
        raise ValueError(
            notAnEndpoint(repr(description), f"{meant!r} (or host= and port=)")
        ) from None
    return endpoint
