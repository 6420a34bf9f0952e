"""
Room for large request bodies: a few at a time per address, a bound in
all; a place is given back when its response is finished or its
connection lost.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from httpmemory import Connection, MemoryWeb, parseResponse
from signers import signingServer

from randnum.web.bodies import LARGE_BODY, LARGE_BODY_SECONDS, BodyRoom

#: A drawing just over the size that takes a place.
NAMES = [f"{i:05d}" + "x" * 40 for i in range(LARGE_BODY // 40)]
BODY = json.dumps({"entrants": NAMES, "winners": 1}).encode()


def test_aPlacePerAddressAndInAll() -> None:
    room = BodyRoom(perAddress=2, total=3)
    assert room.take("a") is None and room.take("a") is None
    assert room.take("a") == "address"
    assert room.take("b") is None
    assert room.take("c") == "server"
    room.give("a")
    assert room.take("c") is None
    assert (room.total, dict(room.taken)) == (3, {"a": 1, "b": 1, "c": 1})


@pytest.fixture
def web(tmp_path: Path) -> MemoryWeb:
    server, _, _ = signingServer(tmp_path)
    return MemoryWeb(server)


def _head(length: int) -> bytes:
    return (
        b"POST /v1/drawings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


def _started(web: MemoryWeb, host: str = "10.0.0.1") -> Connection:
    # A large body's head, and half its body: its place is taken.
    connection = web.connect(host)
    connection.send(_head(len(BODY)) + BODY[: len(BODY) // 2])
    return connection


def test_anAddressWithAllItsPlacesIsToldToComeBack(web: MemoryWeb) -> None:
    assert len(BODY) > LARGE_BODY
    room = web.site.bodyRoom
    waiting = [_started(web) for _ in range(room.perAddress)]
    refused = web.connect("10.0.0.1")
    refused.send(_head(len(BODY)))
    response = parseResponse(refused.received)
    assert response.status == 429
    assert response.headers["retry-after"] == "1"
    assert response.json() == {
        "error": "too many large requests from this address at once: at most 4; "
        "retry when one is answered"
    }
    assert refused.closed
    # Another address has its own places; a small body needs none.
    other = _started(web, "10.0.0.2")
    small = web.connect("10.0.0.1")
    small.send(_head(10) + b'{"a": 1} \n')
    small.turnUntil(lambda: bool(small.received))
    assert parseResponse(small.received).status == 400
    # An answer finished, or a connection lost, gives its place back.
    waiting[0].send(BODY[len(BODY) // 2 :])
    pool = getattr(web.server.audit, "pool")  # noqa: B009

    def answered() -> bool:
        pool.runAll()  # the store commits as the server asks
        return bool(waiting[0].received)

    waiting[0].turnUntil(answered)
    assert parseResponse(waiting[0].received).status == 200
    waiting[1].close()
    assert room.taken["10.0.0.1"] == room.perAddress - 2
    for connection in (*waiting[2:], other):
        connection.close()
    assert (room.total, dict(room.taken)) == (0, {})


def test_aServerWithAllItsPlacesTakenIsBusy(web: MemoryWeb) -> None:
    room = web.site.bodyRoom
    room.limit = 2
    started = [_started(web, f"10.0.1.{i}") for i in range(2)]
    refused = web.connect("10.0.1.9")
    refused.send(_head(len(BODY)))
    response = parseResponse(refused.received)
    assert (response.status, response.json()) == (
        503,
        {"error": "busy: too many large requests at once"},
    )
    for connection in started:
        connection.close()
    assert room.total == 0


def test_aLargeBodyMustComeSoon(web: MemoryWeb) -> None:
    # Trickled, it would hold its place for the whole idle timeout.
    room = web.site.bodyRoom
    connection = _started(web)
    assert room.total == 1
    web.clock.advance(LARGE_BODY_SECONDS - 0.5)
    connection.send(BODY[len(BODY) // 2 : len(BODY) // 2 + 10])
    assert not connection.closed
    web.clock.advance(1)
    assert connection.closed
    connection.close()
    assert room.total == 0
