"""
L{randnum.web.streaming}, in memory: a large body is made and sent a piece a
turn, whole; it stops when the client leaves, and gives up on a client that
stops reading.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from httpmemory import LAST_CHUNK, MemoryWeb

from randnum.web.channel import RandnumChannel

HUGE = "/v1/random?type=string&length=1024&n=10000"


def test_aHugeBodyIsStreamedWhole() -> None:
    web = MemoryWeb()
    response = web.fetch(HUGE)
    assert response.status == 200
    assert response.headers["transfer-encoding"] == "chunked"
    body = response.json()
    assert isinstance(body, dict) and len(body["values"]) == 10000
    assert {len(v) for v in body["values"]} == {1024}
    assert web.server.http.numbers == 10000
    head = web.fetch(HUGE, "HEAD")
    assert (head.status, head.body) == (200, b"")
    assert head.headers["content-type"] == "application/json"


def test_aBodyIsMadeAPieceATurn() -> None:
    web = MemoryWeb()
    connection = web.connect()
    connection.send(f"GET {HUGE} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    sizes = []
    for _ in range(5):
        connection.turn()
        sizes.append(len(connection.received))
    # Growing a piece at a time, never all at once.
    assert sizes == sorted(set(sizes)) and sizes[-1] < 10000 * 1024
    connection.close()


def test_aClientThatLeavesGetsNothingMore() -> None:
    web = MemoryWeb()
    connection = web.connect()
    connection.send(f"GET {HUGE} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    connection.turn(3)
    sent = len(connection.received)
    connection.close()
    connection.turn(10)
    assert len(connection.received) == sent
    # The numbers in a body never finished are not counted as sent.
    assert web.server.http.numbers == 0


def test_aClientThatStopsReadingIsLetGo() -> None:
    web = MemoryWeb(idleTimeout=5)
    connection = web.connect()
    channel = connection.protocol
    assert isinstance(channel, RandnumChannel)
    connection.send(f"GET {HUGE} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    connection.turn(2)
    # The transport is full: twisted.web pauses the body.
    request = channel.requests[0]
    request.producer.pauseProducing()
    written = len(connection.received)
    web.clock.advance(4.9)
    assert len(connection.received) == written and not connection.closed
    # In memory no kernel shows any reading: at the timeout, it is let go.
    web.clock.advance(0.1)
    assert connection.transport.disconnecting
    assert web.server.http.idleTimeouts == 1
    connection.close()


def test_aClientThatCatchesUpGoesOn() -> None:
    web = MemoryWeb(idleTimeout=5)
    connection = web.connect()
    channel = connection.protocol
    assert isinstance(channel, RandnumChannel)
    connection.send(f"GET {HUGE} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    connection.turn(2)
    producer = channel.requests[0].producer
    producer.pauseProducing()
    web.clock.advance(4)
    producer.resumeProducing()
    web.clock.advance(4)
    assert not connection.closed
    connection.turnUntilEnds(LAST_CHUNK)
    assert web.server.http.idleTimeouts == 0
    connection.close()


def test_aBodyThatFailsToBeMadeAbortsItsConnection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not a hung response that twisted.web's idle timeout, set aside while
    # a body is written, would never end.
    def failing(*args: object) -> Iterator[bytes]:
        yield b'{"values":['
        raise RuntimeError("a bug")

    monkeypatch.setattr("randnum.web.random.bodyPieces", failing)
    web = MemoryWeb()
    connection = web.connect()
    connection.send(f"GET {HUGE} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    connection.turn(5)
    assert b'{"values":[' in connection.received
    assert connection.transport.disconnecting or connection.transport.disconnected
    assert LAST_CHUNK not in connection.received
    assert web.server.http.numbers == 0
