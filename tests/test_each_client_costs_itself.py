# Twisted's reactors and Clock are not fully annotated.
# mypy: disallow-untyped-calls=False
"""
Hostile clients on production's write path (real loopback sockets, Twisted's
TCP transport, randnum's socket writer), driven a reactor turn at a time
with a deterministic clock: bounded work per turn, nothing lost on close,
timeouts that trickling cannot defeat.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from loopback import Loopback, TurnClock

from randnum.flow import SLICE
from randnum.limits import WORK_BUDGET, Limits
from randnum.server import RandnumServer
from randnum.tcp.answering import PARSE_COST
from randnum.tcp.protocol import Framing, RandnumFactory, RandnumProtocol

#: The most expensive request: 10,000 numbers of up to 20 digits.
HEAVY = b"n=10000 min=-9223372036854775808 max=9223372036854775807\n"
HEAVY_REPLY = 10000 * 21


def serve(clock: TurnClock, **limits: object) -> tuple[Loopback, RandnumServer]:
    server = RandnumServer(clock=clock, limits=Limits(**limits))  # type: ignore[arg-type]
    return Loopback(RandnumFactory(framing=Framing.LINE, server=server), clock), server


@pytest.fixture
def clock() -> TurnClock:
    return TurnClock()


@pytest.fixture
def loopback(clock: TurnClock) -> Iterator[Loopback]:
    loop, _ = serve(clock)
    yield loop
    loop.close()


def held(protocol: RandnumProtocol) -> int:
    """
    Reply bytes generated for C{protocol} and not yet handed to the kernel:
    in its writer and in its transport.
    """
    writer = protocol.writer
    waiting = sum(map(len, writer._waiting)) - writer._offset
    transport = protocol.transport
    inTransport: int = (
        len(transport.dataBuffer) - transport.offset + transport._tempDataLen  # type: ignore[attr-defined]
    )
    return waiting + inTransport


def test_amplifiedRequestsAreAnsweredOneBudgetPerTurn(loopback: Loopback) -> None:
    heavy = loopback.connect()
    heavy.send(b"n=10000\n" * 64 + HEAVY * 64)
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    light = loopback.connect(source="127.0.0.2")  # another client
    for turn in range(200):
        before = protocol.stats.numbers + protocol._unsentNumbers
        light.send(b"\n")
        loopback.turn()
        generated = protocol.stats.numbers + protocol._unsentNumbers - before
        # Never more than one budget (or one request) per turn...
        assert generated <= 20_000, turn
        # ... never more than that waiting in server memory ...
        assert held(protocol) <= max(WORK_BUDGET, HEAVY_REPLY) + SLICE
        # ... and the other client is answered in the same turn.
        loopback.turn()
        assert light.read().count(b"\n") == 1, turn
    # The heavy client reads nothing: its replies fill the kernel's buffers,
    # then it is no longer read from, nor answered.
    assert protocol.writer.queued
    assert protocol.transport not in loopback.readers()


def test_everyReplyAfterAHalfCloseThenAFin(loopback: Loopback) -> None:
    client = loopback.connect()
    client.send(b"n=10000\n" * 20 + b"n=3 min=1 max=6\n" + HEAVY * 5 + b"n=2")
    client.shutdown()
    # Reading late: the server fills the kernel's buffers and waits.
    loopback.turn(300)
    replies = client.readUntilEnd().split(b"\n")
    assert client.ended == "FIN"
    assert [len(reply.split()) for reply in replies] == [10000] * 20 + [3] + [
        10000
    ] * 5 + [2, 0]
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    assert protocol.stats.numbers == 20 * 10000 + 3 + 5 * 10000 + 2


def test_smallHalfClosedExchangeEndsWithAFin(loopback: Loopback) -> None:
    client = loopback.connect()
    client.send(b"n=3\n")
    client.shutdown()
    loopback.turn(5)
    assert len(client.readUntilEnd().split()) == 3
    assert client.ended == "FIN"


def test_slowReaderIsNeverCutOff(clock: TurnClock) -> None:
    loopback, server = serve(clock, idleTimeout=10)
    client = loopback.connect()
    client.send(HEAVY * 30)
    client.shutdown()
    loopback.turn(100)
    # 512 KiB every 9 s: slow, but always progressing as far as the kernel
    # lets the server see (Linux announces a reader's progress once it has
    # freed about 1/16 of its receive buffer).
    while client.ended is None:
        clock.advance(9)
        client.read(512 * 1024)
        loopback.turn(3)
    assert client.ended == "FIN"
    assert client.received.count(b"\n") == 30
    assert server.tcp.idleTimeouts == 0
    assert server.tcp.numbers == 30 * 10000
    loopback.close()


def test_stalledReaderIsAbortedAtTheTimeout(clock: TurnClock) -> None:
    loopback, server = serve(clock, idleTimeout=10)
    client = loopback.connect()
    client.send(HEAVY * 30)
    loopback.turn(100)
    loopback.settle()
    clock.advance(9.9)
    loopback.turn(2)
    assert loopback.protocols[0].transport.connected  # type: ignore[attr-defined]
    clock.advance(0.1)
    loopback.turn(2)
    client.readUntilEnd()
    assert client.ended == "RST"
    assert server.tcp.idleTimeouts == 1
    # Replies never sent are not counted as sent.
    assert server.tcp.numbers < 30 * 10000
    loopback.close()


def test_unreadRepliesHeldByTheKernelAreAbortedAtTheTimeout(clock: TurnClock) -> None:
    # They all fit in the kernel's buffers, so none waits in the server; a
    # FIN would leave the kernel delivering them for minutes after the
    # close, to a client that does not read.
    loopback, server = serve(clock, idleTimeout=10)
    client = loopback.connect()
    client.send(HEAVY * 3)
    loopback.turn(20)
    loopback.settle()
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    assert not protocol.writer.queued and protocol.writer.waitingForRoom
    # Nothing has watched it read yet: watched from the first timeout on,
    # cut off at the second.
    clock.advance(10)
    loopback.turn(3)
    assert server.connections.total == 1
    clock.advance(10)
    loopback.turn(3)
    client.readUntilEnd(turns=20)
    assert client.ended == "RST"
    assert server.tcp.idleTimeouts == 1
    assert server.connections.total == 0
    loopback.close()


def test_aSlowReaderOfRepliesHeldByTheKernelIsNotCutOff(clock: TurnClock) -> None:
    loopback, server = serve(clock, idleTimeout=10)
    client = loopback.connect()
    client.send(HEAVY * 3)
    loopback.turn(20)
    loopback.settle()
    clock.advance(10)  # watched from here
    loopback.turn(3)
    while len(client.received) < 300_000:
        client.read(64 * 1024)
        loopback.turn()
    loopback.settle()
    clock.advance(10)
    loopback.turn(3)
    # It read: not cut off.  (Once its kernel has taken every reply, the
    # connection is merely idle, and closes as idle ones do: a FIN after
    # every byte.)
    while client.received.count(b"\n") < 3 and client.ended is None:
        client.read()
        loopback.turn()
    loopback.settle()
    clock.advance(10)
    loopback.turn(3)
    client.readUntilEnd()
    assert client.ended == "FIN"
    assert client.received.count(b"\n") == 3
    assert server.tcp.numbers == 3 * 10000
    loopback.close()


@pytest.mark.parametrize("framing", [Framing.LINE, Framing.AUTO])
def test_tricklingCannotHoldAConnection(clock: TurnClock, framing: Framing) -> None:
    server = RandnumServer(clock=clock, limits=Limits(idleTimeout=5))
    loopback = Loopback(RandnumFactory(framing=framing, server=server), clock)
    client = loopback.connect()
    client.send(b"\n")  # line framing from here on
    loopback.turn(2)
    assert client.read().count(b"\n") == 1
    started = clock.seconds()
    for _ in range(15):
        client.send(b"x")
        clock.advance(1)
        loopback.turn(2)
        client.read()
        if client.ended:
            break
    # Closed at the timeout after the last complete request, not pushed
    # back by the trickle.
    assert client.ended == "FIN"
    assert clock.seconds() - started == 5
    assert server.tcp.idleTimeouts == 1
    assert server.connections.total == 0
    loopback.close()


def test_completeRequestsKeepAConnection(clock: TurnClock) -> None:
    loopback, _ = serve(clock, idleTimeout=5)
    client = loopback.connect()
    for _ in range(15):
        client.send(b"\n")
        clock.advance(4)
        loopback.turn(2)
    assert client.read().count(b"\n") == 15
    assert client.ended is None
    loopback.close()


def test_aReaderThatStopsIsAbortedAfterAll(clock: TurnClock) -> None:
    loopback, server = serve(clock, idleTimeout=10)
    client = loopback.connect()
    # More replies than the kernels' buffers hold, so some wait in the server.
    client.send(HEAVY * 100)
    loopback.turn(100)
    loopback.settle()
    # It reads for a while (and is seen reading) ...
    for _ in range(3):
        clock.advance(9)
        client.read(512 * 1024)
        loopback.turn(3)
    # On a loaded machine the kernel passes the reads on late: let it, so
    # that they are not taken for reading after the client stopped.
    loopback.settle()
    assert client.ended is None
    # ... then stops: it is cut off once its kernel takes no more replies
    # (the server answers while it does: the kernel may grow its buffer to
    # megabytes first) and an idle timeout passes.
    for _ in range(10):
        clock.advance(10)
        loopback.turn(3)
        loopback.settle()
        if server.tcp.idleTimeouts:
            break
    client.readUntilEnd(turns=20)
    assert client.ended == "RST"
    assert server.tcp.idleTimeouts == 1
    assert server.connections.total == 0
    loopback.close()


def test_floodsOfTinyRequestsAreBudgetedToo(loopback: Loopback) -> None:
    client = loopback.connect()
    client.send(b"n=1\n" * 16384)  # 64 KiB, and 64 KiB of replies at most
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    answered = []
    for _ in range(5000):
        before = protocol.stats.requests
        loopback.turn()
        answered.append(protocol.stats.requests - before)
        client.read()
        if client.received.count(b"\n") == 16384:
            break
    # Parsing counts against the budget: no turn parses a whole chunk.
    assert max(answered) <= WORK_BUDGET // PARSE_COST
    assert client.received.count(b"\n") == 16384


def test_numbersAreCountedWhenTheyLeave(clock: TurnClock) -> None:
    loopback, server = serve(clock)
    client = loopback.connect()
    client.send(HEAVY * 60)
    loopback.turn(100)
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    # Replies waiting in the server are not counted yet ...
    assert protocol.writer.queued
    assert server.tcp.numbers + protocol._unsentNumbers <= 60 * 10000
    assert server.tcp.numbers < 60 * 10000
    # ... and are once the client has read them, before any close.
    while client.received.count(b"\n") < 60:
        client.read()
        loopback.turn()
    loopback.turn(5)
    assert server.tcp.numbers == 60 * 10000
    assert protocol._unsentNumbers == 0
    loopback.close()


def test_aCloseThatCannotFinishIsAbortedAtTheTimeout(clock: TurnClock) -> None:
    loopback, server = serve(clock, idleTimeout=10)
    client = loopback.connect(small=True)
    # A last line without its newline: answered once the input has ended.
    client.send(HEAVY.rstrip(b"\n"))
    client.shutdown()
    loopback.turn(50)
    loopback.settle()
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    # Every request is answered, so the server closes: but the client reads
    # nothing, and the replies cannot all leave.
    assert protocol.finished and protocol.writer.sending
    clock.advance(9.9)
    loopback.turn(3)
    assert server.connections.total == 1
    clock.advance(0.1)
    loopback.turn(3)
    client.readUntilEnd(turns=20)
    assert client.ended == "RST"
    assert server.connections.total == 0
    # The numbers it never got are not counted.
    assert server.tcp.numbers == 0
    loopback.close()


def test_aCloseWaitsAnotherIdleTimeoutForAReaderThatProgresses(
    clock: TurnClock,
) -> None:
    loopback, server = serve(clock, idleTimeout=10)
    client = loopback.connect(small=True)
    client.send(HEAVY.rstrip(b"\n"))
    client.shutdown()
    loopback.turn(50)
    loopback.settle()
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    assert protocol.finished and protocol.writer.sending
    clock.advance(9)
    while len(client.received) < 150_000:  # slowly, but two segments and more
        client.read()
        loopback.turn()
    loopback.settle()
    clock.advance(1)
    loopback.turn(3)
    # Replies are still on their way: a whole idle timeout more, not the
    # (shorter) close grace.
    clock.advance(Limits(idleTimeout=10).closeGrace + 0.1)
    loopback.turn(3)
    assert server.connections.total == 1
    clock.advance(10)
    loopback.turn(3)
    client.readUntilEnd(turns=20)
    assert client.ended == "RST"
    assert server.connections.total == 0
    loopback.close()


def test_theKernelGivesUpOnRepliesLeftUnreadAfterTheClose(clock: TurnClock) -> None:
    # Every request answered and every reply handed to the kernel: Twisted
    # closes the descriptor.  The kernel must not go on offering them for
    # minutes to a client that never reads.
    loopback, server = serve(clock, idleTimeout=1)
    client = loopback.connect()
    client.send(HEAVY)
    client.shutdown()
    loopback.turn(20)
    loopback.settle()
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    assert protocol.finished and server.connections.total == 0
    time.sleep(2.5)  # the kernel's own timer: real time
    client.readUntilEnd()
    assert client.ended == "RST"
    assert len(client.received) < HEAVY_REPLY
    loopback.close()


def test_repliesLeftAfterTheCloseBeganAreCountedOnceDelivered(
    clock: TurnClock,
) -> None:
    loopback, server = serve(clock)
    client = loopback.connect(small=True)
    client.send(b"n=2\n" + HEAVY.rstrip(b"\n"))
    client.shutdown()
    loopback.turn(50)
    loopback.settle()
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    assert protocol.finished and server.tcp.numbers < 10002
    client.readUntilEnd()
    assert client.ended == "FIN"
    assert client.received.count(b"\n") == 2
    loopback.turn(3)
    assert server.tcp.numbers == 10002
    loopback.close()


def test_hugeTypedRepliesAreMadeAsTheClientReads(loopback: Loopback) -> None:
    # Two 10 MB replies, asked for at once by a client that reads late: the
    # server makes them a budget a turn, holds at most about one budget of
    # them, and delivers every byte, then a FIN.
    client = loopback.connect()
    client.send(b"type=string length=1024 n=10000\n" * 2 + b"n=2\n")
    client.shutdown()
    protocol = loopback.protocols[0]
    assert isinstance(protocol, RandnumProtocol)
    for _ in range(300):
        loopback.turn()
        assert held(protocol) <= WORK_BUDGET + 1025 + SLICE
    assert protocol.writer.queued and protocol.reader.pending
    light = loopback.connect(source="127.0.0.2")  # another client
    light.send(b"\n")
    loopback.turn(2)
    assert light.read().count(b"\n") == 1
    replies = client.readUntilEnd(turns=100_000).split(b"\n")
    assert client.ended == "FIN"
    assert len(replies) == 4 and replies[3] == b""
    for reply in replies[:2]:
        strings = reply.split(b" ")
        assert len(strings) == 10000 and {len(s) for s in strings} == {1024}
    assert len(replies[2].split()) == 2
    assert protocol.stats.numbers == 20000 + 2 + 1


# A client is an address (issue 22).


def test_manyConnectionsOfOneAddressShareOneShareATurn(loopback: Loopback) -> None:
    flood = [loopback.connect() for _ in range(30)]
    for client in flood:
        client.send(HEAVY * 20)
    protocols = [p for p in loopback.protocols if isinstance(p, RandnumProtocol)]
    light = loopback.connect(source="127.0.0.2")
    server = protocols[0].server

    def floodNumbers() -> int:
        unsent = sum(p._unsentNumbers for p in protocols)
        return server.tcp.numbers + unsent

    for turn in range(60):
        before = floodNumbers()
        light.send(b"n=1\n")
        loopback.turn()
        # The light client's number comes at once, whatever the flood ...
        assert light.read().count(b"\n") == 1, turn
        # ... and the flood's 30 connections together do one budget, or
        # one request, a turn: about one connection's share, not 30.
        assert floodNumbers() - before - 1 <= 10_000, turn
    busiest = server.shares.busiest()
    assert busiest is not None and busiest[0] == "127.0.0.1" and busiest[1] >= 29


def test_aConnectionOfABusyAddressWaitsItsTurnButIsServed(loopback: Loopback) -> None:
    flood = [loopback.connect() for _ in range(5)]
    for client in flood:
        client.send(b"n=10000\n" * 10)
    loopback.turn(200)
    for client in flood:
        # Each connection of the address got every reply, in its turn.
        assert client.read(10**7).count(b"\n") == 10
