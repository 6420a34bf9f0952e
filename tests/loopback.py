# Twisted's reactors and Clock are not fully annotated.
# mypy: disallow-untyped-calls=False
"""
Real loopback connections to a server factory, driven one reactor turn at a
time.

The server side is production's own path: a private epoll reactor (not the
global one) listens on 127.0.0.1 with the factory under test, so every reply
goes through Twisted's TCP transport and randnum's socket writer exactly as
in C{twistd randnum}.  Time is a L{TurnClock}, so timeouts are deterministic:
a test advances it, and each L{Loopback.turn} runs what a turn of a reactor
runs (the calls due now, then the socket events ready now).

The client side is plain non-blocking sockets.

For tests that need to decide exactly what the kernel accepts,
L{refusingTransport} gives Twisted's TCP transport over a socket whose
sends the test controls, in a reactor that never runs.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import tcp
from twisted.internet.epollreactor import EPollReactor
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IProtocol, IProtocolFactory
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure


class TurnClock(Clock):
    """
    A L{Clock} whose L{turn} runs only the calls due when it starts, as one
    iteration of a reactor does (L{Clock.advance} would also run the calls
    they schedule for now, over and over).
    """

    def turn(self) -> None:
        """
        Run the calls that are due now.
        """
        now = self.seconds()
        for call in [c for c in self.calls if c.getTime() <= now]:
            if call in self.calls:  # not cancelled by an earlier one
                self.calls.remove(call)
                call.called = 1
                call.func(*call.args, **call.kw)

    def advance(self, amount: float) -> None:
        """
        Move time on by C{amount}, running what falls due, a turn at a time.
        """
        self.rightNow += amount
        self.turn()


class Client:
    """
    One non-blocking client socket.

    @ivar received: everything received so far.
    @ivar ended: how the server ended the stream: C{None} (not yet),
        C{"FIN"} or C{"RST"}.
    """

    def __init__(self, sock: socket.socket, loopback: Loopback) -> None:
        self.sock = sock
        self.loopback = loopback
        self.received = b""
        self.ended: str | None = None

    def send(self, data: bytes) -> None:
        """
        Send all of C{data} (the server's turns run while the kernel is
        full).
        """
        view = memoryview(data)
        while view:
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                self.loopback.turn()

    def shutdown(self) -> None:
        """
        Half-close: no more requests.
        """
        self.sock.shutdown(socket.SHUT_WR)

    def read(self, limit: int = 1 << 30) -> bytes:
        """
        Read what is there now, up to C{limit} bytes; return it.
        """
        chunks = []
        while limit > 0 and self.ended is None:
            try:
                data = self.sock.recv(min(limit, 1 << 16))
            except BlockingIOError:
                break
            except ConnectionResetError:
                self.ended = "RST"
                break
            if not data:
                self.ended = "FIN"
                break
            chunks.append(data)
            limit -= len(data)
        new = b"".join(chunks)
        self.received += new
        return new

    def readUntilEnd(self, turns: int = 10_000) -> bytes:
        """
        Read while the server turns, until the stream ends.
        """
        for _ in range(turns):
            self.read()
            if self.ended:
                break
            self.loopback.turn()
        return self.received

    def close(self) -> None:
        self.sock.close()


class Loopback:
    """
    A factory listening on 127.0.0.1 in a private reactor, and its
    connections' protocols, in the order they were built.
    """

    def __init__(
        self,
        factory: IProtocolFactory,
        clock: TurnClock,
        listen: Callable[[EPollReactor, IProtocolFactory], Any] | None = None,
    ) -> None:
        self.clock = clock
        self.reactor = EPollReactor()
        self.protocols: list[IProtocol] = []
        build = factory.buildProtocol

        def recordingBuild(addr: Any) -> IProtocol | None:
            protocol = build(addr)
            if protocol is not None:
                self.protocols.append(protocol)
            return protocol

        factory.buildProtocol = recordingBuild  # type: ignore[method-assign]
        if listen is None:
            self.port = self.reactor.listenTCP(0, factory, interface="127.0.0.1")
        else:
            self.port = listen(self.reactor, factory)
        self.clients: list[Client] = []

    def turn(self, count: int = 1) -> None:
        """
        Run C{count} turns: the calls due now, then the ready socket events.
        """
        for _ in range(count):
            self.clock.turn()
            self.reactor.iterate(0)

    def settle(self, quiet: float = 0.05, limit: float = 5.0) -> None:
        """
        Turn until no socket event has been ready for C{quiet} seconds of
        real time (at most C{limit}): on a loaded machine the kernel may
        deliver loopback data and window updates well after the send, and
        a test that then advances the clock must not see them arrive late.
        """
        poller = self.reactor._poller.fileno()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            self.turn()
            # An epoll descriptor is readable while any event is ready.
            if not select.select([poller], [], [], quiet)[0]:
                return

    def connect(self, source: str = "127.0.0.1", small: bool = False) -> Client:
        """
        A new client connection, accepted by the server; with C{small}
        kernel buffers on both sides (a few KB: replies cannot hide there).
        """
        sock = socket.socket()
        if small:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", self.port.getHost().port))
        sock.setblocking(False)
        before = len(self.protocols)
        for _ in range(100):
            self.turn()
            if len(self.protocols) > before:
                break
        if small:
            server = self.protocols[-1].transport.getHandle()  # type: ignore[attr-defined]
            server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        client = Client(sock, self)
        self.clients.append(client)
        return client

    def readers(self) -> list[Any]:
        """
        The connections the reactor is reading from.
        """
        return [
            r
            for r in self.reactor.getReaders()
            if r is not self.port and r is not self.reactor.waker
        ]

    def close(self) -> None:
        """
        Close every client, stop listening and free the reactor.
        """
        for client in self.clients:
            client.close()
        self.port.stopListening()
        self.turn(3)
        for selectable in self.reactor.removeAll():
            selectable.connectionLost(Failure(ConnectionDone()))
        self.turn(1)
        self.reactor.waker.connectionLost(None)
        self.reactor._poller.close()


class RefusingSocket(socket.socket):
    """
    A real socket whose sends take at most C{room} bytes, or raise C{error}
    when C{room} is C{None}; C{sent} records what each send took.
    """

    room: int | None = 0
    error: type[OSError] = BlockingIOError
    sent: list[bytes]

    def send(self, data: Any, flags: int = 0) -> int:
        if self.room is None:
            raise self.error()
        size = min(self.room, len(data))
        self.sent.append(bytes(data[:size]))
        return size


def refusingTransport(
    protocol: IProtocol, room: int | None = 0, error: type[OSError] = BlockingIOError
) -> tuple[tcp.Server, RefusingSocket]:
    """
    Twisted's TCP transport for C{protocol} over a L{RefusingSocket}, in a
    reactor that never runs: its buffer is sent only when a test calls
    C{doWrite}.  The connection is not made yet.
    """
    ours, theirs = socket.socketpair()
    theirs.close()
    sock = RefusingSocket(fileno=ours.detach())
    sock.sent = []
    sock.room, sock.error = room, error
    reactor = MemoryReactorClock()
    address = ("127.0.0.1", 1)
    return tcp.Server(sock, protocol, address, None, 1, reactor), sock  # type: ignore[arg-type]
