# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
The HTTP face in memory, as Twisted tests its own channel: each connection
a L{StringTransport}, time a L{Clock}, and the server's TCP face beside it
on the same L{RandnumServer} (so that they share its limits and its
metrics).  Nothing opens a socket.
"""

from __future__ import annotations

import io
from http.client import HTTPResponse
from typing import Any

from loopback import TurnClock
from servers import Response
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IProtocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from randnum.generation.source import seededSource
from randnum.limits import Limits
from randnum.metrics import metricsRegistry
from randnum.server import RandnumServer
from randnum.tcp.protocol import RandnumFactory
from randnum.web.site import RandnumSite, webSite

#: How a chunked body (one written as it is made) ends.
LAST_CHUNK = b"0\r\n\r\n"

#: Most reactor turns a response may take (a 10 MB body streams in a few
#: hundred).
TURNS = 100_000


class Connection:
    """
    One client connection to a face: what the client sends, what the
    server has written back, and whether the server closed.
    """

    def __init__(self, protocol: IProtocol, peer: IPv4Address, clock: Clock) -> None:
        self.protocol = protocol
        self.clock = clock
        self.transport = StringTransport(peerAddress=peer)
        protocol.makeConnection(self.transport)
        self.lost = False

    def send(self, data: bytes) -> None:
        """
        The client sends C{data}.
        """
        self.protocol.dataReceived(data)

    @property
    def received(self) -> bytes:
        """
        Everything the server has written so far.
        """
        value: bytes = self.transport.value()
        return value

    @property
    def closed(self) -> bool:
        """
        Whether the server has closed (or begun to close) the connection.
        """
        return bool(self.transport.disconnecting)

    def turn(self, count: int = 1) -> None:
        """
        Let C{count} reactor turns pass.
        """
        for _ in range(count):
            oneTurn(self.clock)

    def turnUntil(self, done: Any) -> None:
        """
        Let turns pass until C{done()} is true.
        """
        for _ in range(TURNS):
            if done():
                return
            oneTurn(self.clock)
        raise AssertionError("no answer in time")

    def turnUntilEnds(self, ending: bytes) -> None:
        """
        Let turns pass until what the server wrote ends with C{ending}.
        """
        self.turnUntil(lambda: self.received.endswith(ending))

    def turnUntilAnswered(self) -> None:
        """
        Let turns pass until one whole response is received (its length
        given, or its last chunk).
        """
        self.turnUntil(lambda: responseComplete(self.received))

    def close(self) -> None:
        """
        The connection is gone (the client left, or the server's close
        completed).
        """
        if not self.lost:
            self.lost = True
            self.protocol.connectionLost(Failure(ConnectionDone()))


def oneTurn(clock: Clock) -> None:
    """
    One turn of C{clock}'s reactor: only the calls due now, where it can
    tell them apart (L{TurnClock}), else those and what they call for now.
    """
    if isinstance(clock, TurnClock):
        clock.turn()
    else:
        clock.advance(0)


def responseComplete(data: bytes) -> bool:
    """
    Whether C{data} holds one whole response: its head, and as many bytes
    after it as its C{Content-Length} says (or its last chunk).
    """
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return body.endswith(LAST_CHUNK)


def parseResponse(data: bytes, method: str = "GET") -> Response:
    """
    The one HTTP response in C{data}, as L{servers.fetch} reads it
    (chunked bodies joined; a HEAD response has no body).
    """

    class OneSocket:
        def makefile(self, mode: str) -> io.BytesIO:
            return io.BytesIO(data)

    response = HTTPResponse(OneSocket(), method=method)  # type: ignore[arg-type]
    response.begin()
    return Response(response.status, response.headers, response.read())


class MemoryWeb:
    """
    A L{RandnumServer} (seeded, on a L{TurnClock} unless given) with both
    faces, served in memory.

    @ivar site: its HTTP face, as C{twistd randnum --http} serves it.
    @ivar tcp: its TCP face.
    """

    def __init__(self, server: RandnumServer | None = None, **limits: Any) -> None:
        if server is None:
            server = RandnumServer(
                source=seededSource(1), clock=TurnClock(), limits=Limits(**limits)
            )
        clock = server.clock
        assert isinstance(clock, Clock)
        self.clock = clock
        self.server = server
        self.site: RandnumSite = webSite(server, metricsRegistry(server))
        self.tcp = RandnumFactory(server=server)
        self._port = 40000

    def _peer(self, host: str) -> IPv4Address:
        self._port += 1
        return IPv4Address("TCP", host, self._port)

    def connect(self, host: str = "127.0.0.1") -> Connection:
        """
        A new HTTP connection from C{host}.
        """
        peer = self._peer(host)
        protocol = self.site.buildProtocol(peer)
        assert protocol is not None
        return Connection(protocol, peer, self.clock)

    def connectTcp(self, host: str = "127.0.0.1") -> Connection:
        """
        A new TCP connection from C{host}.
        """
        peer = self._peer(host)
        protocol = self.tcp.buildProtocol(peer)
        assert protocol is not None
        return Connection(protocol, peer, self.clock)

    def fetch(
        self, path: str, method: str = "GET", host: str = "127.0.0.1"
    ) -> Response:
        """
        One request on a connection of its own, as L{servers.fetch} makes
        it (C{Connection: close}); its response, once the server has
        closed.
        """
        connection = self.connect(host)
        connection.send(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Connection: close\r\n\r\n".encode("latin-1")
        )
        connection.turnUntil(lambda: connection.closed)
        connection.close()
        return parseResponse(connection.received, method)
