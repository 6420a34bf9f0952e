# -*- test-case-name: tests.test_testing -*-
"""
Test doubles for code that uses randnum: no sockets, no reactor, and
reproducible numbers.

Each double runs randnum's real server protocol (L{RandnumProtocol}) on
Twisted's in-memory transports, with a seeded source, so what your code sees
is what a real server with C{--seed} would send: the same replies, the same
C{ERR} reasons.

For code that uses the Twisted client (L{randnum.client.protocol})::

    server = InMemoryServer(seed=42)
    client = server.connect()           # a connected RandnumClientProtocol
    numbers = client.request(n=3, min=1, max=6)
    server.flush()                      # deliver requests and replies
    # numbers has fired with three dice

or hand C{server.endpoint()} to code that connects through an endpoint.

For code that uses the blocking client (L{randnum.client.blocking})::

    with fakeConnect(seed=42) as client:
        client.get(n=3, min=1, max=6)

and, to replace L{randnum.connect} in the code under test, pass
C{fakeConnect} where it expects C{connect}, or patch it (for example with
pytest's C{monkeypatch.setattr(randnum, "connect", fakeConnect)}).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import (
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.test import iosim
from zope.interface import implementer

from randnum.client.blocking import BlockingClient
from randnum.client.protocol import (
    RandnumClientProtocol,
    parseReply,
    parseSigned,
    parseValues,
    requestLine,
    valuesLine,
)
from randnum.generation.source import seededSource
from randnum.limits import Limits
from randnum.tcp.protocol import Framing, RandnumFactory, RandnumProtocol

__all__ = ["FakeBlockingClient", "InMemoryServer", "fakeConnect"]

#: The address in-memory clients appear to connect from.
CLIENT_ADDRESS = IPv4Address("TCP", "127.0.0.1", 40000)


def seededFactory(
    seed: int = 0, low: int = 1, high: int = 10000, clock: Clock | None = None
) -> RandnumFactory:
    """
    A line-framed L{RandnumFactory} with a seeded source and its own clock.
    """
    return RandnumFactory(
        low=low,
        high=high,
        source=seededSource(seed),
        framing=Framing.LINE,
        limits=Limits(),
        clock=Clock() if clock is None else clock,
    )


class InMemoryServer:
    """
    A randnum server in memory, and the clients connected to it.

    @ivar factory: the server's L{RandnumFactory}.
    @ivar clock: the server's clock (its idle timeouts), to advance in
        tests that are about time.
    """

    def __init__(self, seed: int = 0, low: int = 1, high: int = 10000) -> None:
        """
        @param seed: the seed of the server's reproducible source.
        @param low: the server's default smallest number.
        @param high: the server's default largest number.
        """
        self.clock = Clock()
        self.factory = seededFactory(seed, low, high, self.clock)
        self._pumps: list[iosim.IOPump] = []

    def connectProtocol(self, protocol: IProtocol) -> IProtocol:
        """
        Connect any client C{protocol} to the server; return it.
        """
        server = self.factory.buildProtocol(CLIENT_ADDRESS)
        pump = iosim.connect(
            server,
            iosim.makeFakeServer(server),
            protocol,
            iosim.makeFakeClient(protocol),
            greet=False,
        )
        self._pumps.append(pump)
        return protocol

    def connect(self) -> RandnumClientProtocol:
        """
        A Twisted client connected to the server.
        """
        client = RandnumClientProtocol()
        self.connectProtocol(client)
        return client

    def endpoint(self) -> MemoryEndpoint:
        """
        An L{IStreamClientEndpoint} whose connections reach this server.
        """
        return MemoryEndpoint(self)

    def flush(self) -> None:
        """
        Deliver everything written on every connection, both ways, until
        nothing more moves.
        """
        for pump in self._pumps:
            pump.flush()


@implementer(IStreamClientEndpoint)
class MemoryEndpoint:
    """
    A client endpoint that connects to an L{InMemoryServer}.
    """

    def __init__(self, server: InMemoryServer) -> None:
        self.server = server

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect a protocol of C{protocolFactory}'s; fires at once.
        """
        protocol = protocolFactory.buildProtocol(CLIENT_ADDRESS)
        assert protocol is not None
        return succeed(self.server.connectProtocol(protocol))


class FakeBlockingClient(BlockingClient):
    """
    A stand-in for L{randnum.client.blocking.BlockingClient}: the same C{get} and
    C{values}, errors and context manager, answered by randnum's protocol in memory.
    """

    def __init__(self, seed: int = 0, low: int = 1, high: int = 10000) -> None:
        self._transport = StringTransport(peerAddress=CLIENT_ADDRESS)
        self._server: RandnumProtocol = seededFactory(seed, low, high).buildProtocol(
            CLIENT_ADDRESS
        )
        self._server.makeConnection(self._transport)  # type: ignore[no-untyped-call]
        self.closed = False

    def get(
        self,
        n: int = 1,
        min: int | None = None,
        max: int | None = None,
        unique: bool = False,
    ) -> list[int]:
        """
        As L{randnum.client.blocking.BlockingClient.get}.

        @raise randnum.RandnumError: if the server refuses the request.
        @raise ConnectionError: if the client has been closed.
        """
        return parseReply(self._exchange(requestLine(n, min, max, unique)))

    def values(self, type: str, n: int = 1, **parameters: object) -> Any:
        """
        As L{randnum.client.blocking.BlockingClient.values}.
        """
        line = valuesLine(type, n, **parameters)
        if parameters.get("signed"):
            return parseSigned(self._exchange(line))
        return parseValues(
            self._exchange(line), type, str(parameters.get("format") or "hex")
        )

    def _exchange(self, line: bytes) -> bytes:
        """
        Send one request line; the reply line, once the server (a turn at a
        time, on its own clock) has made all of it.
        """
        if self.closed:
            raise ConnectionError("the client is closed")
        self._server.dataReceived(line)
        while not self._transport.value().endswith(b"\n"):
            self._server.clock.advance(0)  # type: ignore[attr-defined]
        reply = self._transport.value()
        self._transport.clear()
        return bytes(reply[:-1])

    def close(self) -> None:
        """
        Close the connection.
        """
        self.closed = True


def fakeConnect(
    host: str = "127.0.0.1",
    port: int = 5000,
    timeout: float = 10.0,
    *,
    seed: int = 0,
    **ignored: Any,
) -> FakeBlockingClient:
    """
    A drop-in for L{randnum.connect} in tests: the same signature (the
    address is ignored), a L{FakeBlockingClient} seeded with C{seed}.
    """
    return FakeBlockingClient(seed)
