# Twisted's reactors and Clock are not fully annotated.
# mypy: disallow-untyped-calls=False
"""
The HTTP face and TLS connections under hostile clients, on production's
path (real loopback sockets, a private reactor) with a deterministic clock.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from loopback import Client, Loopback, TurnClock
from twisted.internet import ssl

from randnum.limits import WORK_BUDGET, Limits
from randnum.metrics import metricsRegistry
from randnum.server import RandnumServer
from randnum.tcp.protocol import Framing, RandnumFactory
from randnum.web.channel import REQUESTS_PER_TURN, RandnumChannel
from randnum.web.site import webSite

HEAVY = (
    b"GET /v1/random?n=10000&min=-9223372036854775808&max=9223372036854775807"
    b"&format=text HTTP/1.1\r\nHost: x\r\n\r\n"
)
HEAVY_RESPONSE = 10000 * 21 + 300


def httpServer(clock: TurnClock, **limits: object) -> tuple[Loopback, RandnumServer]:
    server = RandnumServer(clock=clock, limits=Limits(**limits))  # type: ignore[arg-type]
    return Loopback(webSite(server, metricsRegistry(server)), clock), server


def responses(client: Client) -> list[bytes]:
    """
    The status lines received so far.
    """
    return re.findall(rb"HTTP/1\.1 \d{3} [^\r]*", client.received)


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"POST /v1/random HTTP/1.1\r\nContent-Length: 10737418240\r\n", 405),
        (b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", 405),
        (b"GET /v1/random HTTP/1.1\r\nContent-Length: 5\r\n", 413),
        (b"GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", 413),
    ],
)
def test_requestBodiesAreRefusedUnread(head: bytes, status: int) -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock)
    client = loopback.connect()
    client.send(head + b"Host: x\r\n\r\n")
    loopback.turn(3)
    client.readUntilEnd()
    assert client.ended == "FIN"
    assert responses(client) == [b"HTTP/1.1 %d " % status + _phrase(status)]
    assert b"connection: close" in client.received.lower()
    assert b'{"error":' in client.received
    channel = loopback.protocols[0]
    assert isinstance(channel, RandnumChannel)
    # No body was ever read, nor stored.
    assert getattr(channel.requests[0], "content", None) is None
    assert server.http.bodiesRefused == 1
    assert server.connections.total == 0
    loopback.close()


def _phrase(status: int) -> bytes:
    return {405: b"Method Not Allowed", 413: b"Request Entity Too Large"}[status]


def test_bodylessRequestsAreServedAsBefore() -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock)
    client = loopback.connect()
    client.send(b"GET /healthz HTTP/1.1\r\nContent-Length: 0\r\nHost: x\r\n\r\n")
    loopback.turn(3)
    client.read()
    assert responses(client) == [b"HTTP/1.1 200 OK"]
    assert server.http.bodiesRefused == 0
    loopback.close()


def test_tricklingARequestHeadCannotHoldAConnection() -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock, idleTimeout=5)
    client = loopback.connect()
    client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    loopback.turn(3)
    assert responses(client) == []  # not read yet
    client.read()
    assert responses(client) == [b"HTTP/1.1 200 OK"]
    clock.advance(3)
    started = clock.seconds()
    for second in range(20):
        client.send(b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaa"[second : second + 1])
        loopback.turn(2)
        client.read()
        if client.ended:
            break
        clock.advance(1)
    # Five seconds from the head's first byte, whatever keeps trickling.
    assert client.ended == "FIN"
    assert clock.seconds() - started == 5
    assert server.http.idleTimeouts == 1
    assert server.connections.total == 0
    loopback.close()


def test_pipelinedHeavyRequestsNeverReadCostOnlyTheirConnection() -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock)
    heavy = loopback.connect()
    heavy.send(HEAVY * 200)
    light = loopback.connect(source="127.0.0.2")  # another client
    channel = loopback.protocols[0]
    assert isinstance(channel, RandnumChannel)
    for turn in range(150):
        light.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        loopback.turn(2)
        light.read()
        assert len(responses(light)) == turn + 1
        transport = channel.transport
        held = (
            len(transport.dataBuffer) - transport.offset + transport._tempDataLen  # type: ignore[union-attr]
        )
        assert held <= WORK_BUDGET + 2 * HEAVY_RESPONSE
    # Its responses filled the kernel's buffers; the rest wait, unmade.
    assert server.http.requests < 200
    assert channel._heldRequest is not None
    loopback.close()


def test_requestsPipelinedBehindUnreadResponsesAreNotReadEither() -> None:
    # twisted.web's HTTPChannel reads on into memory, without end, while a
    # response waits for the client (it pauses reading only while the
    # client reads): a client pipelining cheap requests and never reading
    # would cost gigabytes.
    clock = TurnClock()
    loopback, _ = httpServer(clock)
    client = loopback.connect(small=True)
    channel = loopback.protocols[0]
    assert isinstance(channel, RandnumChannel)
    requests = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2000
    for _ in range(300):
        try:
            client.sock.send(requests)
        except BlockingIOError:
            pass
        loopback.turn()
        buffered = sum(map(len, channel._dataBuffer))
        assert buffered <= channel._optimisticEagerReadSize + len(requests)
    # Reading stopped: the kernel's buffers filled, and the client cannot
    # send any more.
    assert channel.transport not in loopback.readers()
    with pytest.raises(BlockingIOError):
        client.sock.send(requests)
    # Once it reads, it is served again.
    for _ in range(200):
        client.read()
        loopback.turn()
    assert len(responses(client)) > 1000
    assert client.ended is None
    loopback.close()


def test_stalledHttpReaderIsAbortedAndSlowOneServed() -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock, idleTimeout=10)
    stalled, slow = loopback.connect(), loopback.connect()
    stalled.send(HEAVY * 60)
    slow.send(HEAVY * 60)
    loopback.turn(50)
    for _ in range(40):
        clock.advance(5)
        slow.read(1 << 20)
        loopback.turn(5)
        stalled.read(0)
    slow.readUntilEnd(turns=200)
    assert stalled.ended is None  # it never read, so it cannot know yet
    stalled.read()
    assert stalled.ended == "RST"
    # The slow reader got everything, then was closed normally once idle.
    assert len(responses(slow)) == 60
    assert slow.ended == "FIN"
    assert server.http.idleTimeouts == 2
    loopback.close()


def test_headCountsNoNumbers() -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock)
    client = loopback.connect()
    client.send(b"HEAD /v1/random?n=5 HTTP/1.1\r\nHost: x\r\n\r\n")
    client.send(b"GET /v1/random?n=3 HTTP/1.1\r\nHost: x\r\n\r\n")
    loopback.turn(4)
    client.read()
    assert responses(client) == [b"HTTP/1.1 200 OK"] * 2
    assert (server.http.requests, server.http.numbers) == (2, 3)
    loopback.close()


# TLS: handshakes that never complete.


def test_silentTlsClientsAreClosedAdmittedOrRefused(
    certificate: tuple[Path, Path],
) -> None:
    key, cert = certificate
    context = ssl.DefaultOpenSSLContextFactory(str(key), str(cert))
    clock = TurnClock()
    server = RandnumServer(
        clock=clock, limits=Limits(idleTimeout=3, maxConnectionsPerHost=1)
    )
    loopback = Loopback(
        RandnumFactory(framing=Framing.LINE, server=server),
        clock,
        listen=lambda reactor, factory: reactor.listenSSL(
            0, factory, context, interface="127.0.0.1"
        ),
    )
    clients = [loopback.connect() for _ in range(5)]
    assert (server.connections.total, server.tcp.refused) == (1, 4)
    loopback.turn(5)
    for _ in range(7):
        clock.advance(1)
        loopback.turn(3)
    for client in clients:
        client.readUntilEnd(turns=10)
        # Aborted: a close cannot complete without a handshake.
        assert client.ended == "RST"
    assert server.connections.total == 0
    assert loopback.readers() == []
    loopback.close()


def test_refusedPlainClientGetsBusyAndAFin() -> None:
    clock = TurnClock()
    server = RandnumServer(clock=clock, limits=Limits(maxConnections=1))
    loopback = Loopback(RandnumFactory(server=server), clock)
    loopback.connect()
    refused = loopback.connect()
    refused.readUntilEnd(turns=20)
    assert (refused.received, refused.ended) == (b"ERR busy\n", "FIN")
    loopback.close()


def test_cheapPipelinedRequestsAreAnsweredSixteenPerTurn() -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock)
    client = loopback.connect()
    client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 200)
    answered: list[int] = []
    while server.http.requests < 200 and len(answered) < 100:
        before = server.http.requests
        loopback.turn()
        answered.append(server.http.requests - before)
        client.read()
    assert max(answered) <= REQUESTS_PER_TURN
    client.readUntilEnd(turns=20)
    assert len(responses(client)) == 200
    loopback.close()


def test_transferEncodingIdentityAloneIsNoBody() -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock)
    client = loopback.connect()
    client.send(
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n"
    )
    loopback.turn(4)
    client.read()
    assert responses(client) == [b"HTTP/1.1 200 OK"]
    assert server.http.bodiesRefused == 0
    loopback.close()


def test_numbersInResponsesDiscardedByAnAbortAreNotCounted() -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock, idleTimeout=10)
    stalled = loopback.connect()
    stalled.send(HEAVY * 60)
    loopback.turn(50)
    rendered = server.http.requests * 10000
    clock.advance(10)
    loopback.turn(3)
    stalled.read()
    assert stalled.ended == "RST"
    assert server.http.numbers < rendered
    loopback.close()


# A client is an address (issue 22).


def test_manyConnectionsOfOneAddressShareOneShareATurn() -> None:
    clock = TurnClock()
    loopback, server = httpServer(clock)
    flood = [loopback.connect() for _ in range(30)]
    for client in flood:
        client.send(HEAVY * 20)
    light = loopback.connect(source="127.0.0.2")
    for turn in range(60):
        before = server.http.requests
        light.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        loopback.turn(2)
        light.read()
        # The light client's answer comes at once, whatever the flood ...
        assert len(responses(light)) == turn + 1
        # ... and the flood's 30 connections together answer a heavy request
        # a turn at most, not 30 (the light one's share is a half).
        assert server.http.requests - before - 1 <= 2, turn
    assert server.shares.busiest() is not None
    loopback.close()


def test_eachConnectionOfABusyAddressIsAnsweredInItsTurn() -> None:
    clock = TurnClock()
    loopback, _ = httpServer(clock)
    flood = [loopback.connect() for _ in range(5)]
    for client in flood:
        client.send(b"GET /v1/random?n=10000 HTTP/1.1\r\nHost: x\r\n\r\n" * 4)
    for _ in range(200):
        loopback.turn()
        for client in flood:
            client.read()
    assert [len(responses(client)) for client in flood] == [4] * 5
    loopback.close()
