"""
One HTTP connection within the server's limits: heads that cannot be read
are answered at once.
"""

from __future__ import annotations

import pytest
from httpmemory import MemoryWeb, parseResponse
from loopback import Loopback, TurnClock
from rpcmemory import KEY, rpcWeb

from randnum.generation.source import seededSource
from randnum.metrics import metricsRegistry
from randnum.server import RandnumServer
from randnum.web.site import webSite

#: Each unreadable head, and its answer.
HEADS = [
    (b"GET /healthz HTTP/1.1\nHost: x\n\n", 400, "malformed request head"),
    (bytes(range(256)) * 8, 400, "malformed request head"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\n\r\n", 400, "malformed request head"),
    (b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n", 414, "request line too long"),
    (
        b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
        431,
        "header line too long",
    ),
    (
        b"GET / HTTP/1.1\r\n"
        + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 1000) for i in range(20))
        + b"\r\n",
        431,
        "request head too large",
    ),
]


@pytest.mark.parametrize(("head", "status", "reason"), HEADS)
def test_aHeadThatCannotBeReadIsAnsweredAtOnce(
    head: bytes, status: int, reason: str
) -> None:
    web = MemoryWeb()
    connection = web.connect()
    connection.send(head)
    connection.turn()
    # No waiting for the head deadline: the answer, then the end.
    response = parseResponse(connection.received)
    assert response.status == status
    assert response.json() == {"error": reason}
    assert response.headers["connection"] == "close"
    assert connection.closed
    assert web.server.http.errorKinds == {"bad_head": 1}


def test_aCarriageReturnAndItsLineFeedMayComeInTwoReads() -> None:
    web = MemoryWeb()
    connection = web.connect()
    connection.send(b"GET /healthz HTTP/1.1\r")
    connection.send(b"\nHost: x\r\n\r")
    connection.send(b"\n")
    connection.turn()
    assert parseResponse(connection.received).status == 200


#: A JSON-RPC call whose body holds bare line feeds, as pretty JSON does.
_PRETTY_CALL = (
    b'{\n  "jsonrpc": "2.0",\n  "method": "getUsage",\n'
    b'  "params": {"apiKey": "' + KEY.encode() + b'"},\n  "id": 1\n}\n'
)


def _postHead(body: bytes) -> bytes:
    return (
        b"POST /json-rpc/4/invoke HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )


@pytest.mark.parametrize(
    "reads",
    [
        [_postHead(_PRETTY_CALL) + _PRETTY_CALL],
        # The blank line cut between reads, the body right after it.
        [_postHead(_PRETTY_CALL)[:-1], b"\n" + _PRETTY_CALL],
        [_postHead(_PRETTY_CALL)[:-3], b"\n\r\n" + _PRETTY_CALL],
    ],
)
def test_aBodyReadWithItsHeadIsNotJudgedAsHead(reads: list[bytes]) -> None:
    web = rpcWeb()
    connection = web.connect()
    for data in reads:
        connection.send(data)
    connection.turnUntil(lambda: bool(connection.received))
    response = parseResponse(connection.received)
    assert response.status == 200
    answer = response.json()
    assert isinstance(answer, dict)
    assert answer["result"]["status"] == "running"
    assert not connection.closed


def test_aBareLineFeedInTheNextHeadIsStillRefused() -> None:
    web = rpcWeb()
    connection = web.connect()
    connection.send(_postHead(_PRETTY_CALL) + _PRETTY_CALL)
    connection.turnUntil(lambda: bool(connection.received))
    connection.send(b"GET /healthz HTTP/1.1\nHost: x\n\n")
    connection.turnUntil(lambda: connection.closed)
    assert b'{"error":"malformed request head"}' in connection.received


@pytest.mark.parametrize(
    "bad", [b"X: a\x01b\r\n", b"Host: x\nX: y\r\n", b"X: a\rb\r\n"]
)
def test_aBadHeadPipelinedInTheSameReadIsRefused(bad: bytes) -> None:
    web = MemoryWeb()
    connection = web.connect()
    connection.send(
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /healthz HTTP/1.1\r\n" + bad + b"\r\n"
    )
    connection.turnUntil(lambda: connection.closed)
    assert connection.received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert connection.received.endswith(b'{"error":"malformed request head"}\n')


def test_aRefusedBodyInALaterReadIsNotRead() -> None:
    web = MemoryWeb()
    connection = web.connect()
    connection.send(b"POST /v1/random HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
    connection.send(b"hello")  # as TLS may hand it over after the close began
    assert parseResponse(connection.received).status == 405


def _loopbackWeb() -> Loopback:
    clock = TurnClock()
    server = RandnumServer(source=seededSource(1), clock=clock)
    return Loopback(webSite(server, metricsRegistry(server)), clock)


@pytest.mark.parametrize("count", [1, 3, 40])
def test_aHalfClosedClientGetsEveryResponseThenAFin(count: int) -> None:
    # As `printf 'GET ...' | nc -N` does: the requests, then the end of
    # input, often read together with them.
    net = _loopbackWeb()
    try:
        client = net.connect()
        client.send(b"GET /v1/random?n=2 HTTP/1.1\r\nHost: x\r\n\r\n" * count)
        client.shutdown()
        received = client.readUntilEnd()
        assert received.count(b"HTTP/1.1 200 OK\r\n") == count
        assert received.endswith(b"}\n")
        assert client.ended == "FIN"
    finally:
        net.close()


def test_aRequestCutShortByTheEndOfInputIsNotWaitedFor() -> None:
    net = _loopbackWeb()
    try:
        client = net.connect()
        client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTT")
        client.shutdown()
        received = client.readUntilEnd(turns=200)
        assert received.count(b"HTTP/1.1 200 OK\r\n") == 1
        assert client.ended == "FIN"
    finally:
        net.close()
