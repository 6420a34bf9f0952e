"""
Plain requests (a whole C{GET /v1/random} head for integers, in one read)
are answered without twisted.web's request path, as twisted.web answers
them; every other request is read by twisted.web, within the limits.
"""

from __future__ import annotations

import re

import pytest
from httpmemory import Connection, MemoryWeb, parseResponse
from loopback import Loopback, TurnClock

from randnum.limits import Limits
from randnum.metrics import metricsRegistry
from randnum.server import RandnumServer
from randnum.web.channel import PLAIN_REQUEST_COST
from randnum.web.site import RandnumSite, webSite

#: A plain request for C{query}.
PLAIN = (
    b"GET /v1/random%s HTTP/1.1\r\nHost: x\r\nUser-Agent: t/1 (a b)\r\n"
    b"X-Empty:\r\nX-Spaces: \t a \t\r\n\r\n"
)


def plainAnswers(site: RandnumSite) -> list[bytes]:
    """
    Count the requests answered without twisted.web's request path: the
    query strings of those L{RandomResource.plainAnswer} answered, from
    now on.
    """
    random = site.plainRandom
    assert random is not None
    answered: list[bytes] = []
    answer = random.plainAnswer

    def counted(query: bytes) -> tuple[bytes, bytes, int, int] | None:
        result = answer(query)
        if result is not None:
            answered.append(query)
        return result

    random.plainAnswer = counted  # type: ignore[method-assign]
    return answered


def dated(response: bytes) -> bytes:
    """
    C{response} without its date (the second may change in between).
    """
    return re.sub(rb"Date: [^\r]*", b"Date: -", response)


@pytest.mark.parametrize(
    "query",
    [
        b"?n=3&min=7&max=7",
        b"?n=2&min=-5&max=-5&format=text",
        b"?max=1&min=1",
        b"?n=4&min=1&max=4&unique=true",
    ],
)
def test_aPlainRequestIsAnsweredAsTwistedWebAnswersIt(query: bytes) -> None:
    plain, read = MemoryWeb(), MemoryWeb()
    answered = plainAnswers(plain.site)
    head = PLAIN % query
    fast = plain.connect()
    fast.send(head)
    fast.turn()
    # The same head in two pieces is read line by line by twisted.web.
    slow = read.connect()
    slow.send(head[:20])
    slow.send(head[20:])
    slow.turn()
    assert answered == [query[1:]]
    if b"unique" in query:
        body = parseResponse(fast.received).json()
        assert isinstance(body, dict)
        assert sorted(body["numbers"]) == [1, 2, 3, 4]
        assert (
            dated(fast.received).split(b"\r\n\r\n")[0]
            == (dated(slow.received).split(b"\r\n\r\n")[0])
        )
    else:
        assert dated(fast.received) == dated(slow.received)
    for name in ("requests", "numbers", "textRequests"):
        assert getattr(plain.server.http, name) == getattr(read.server.http, name)
    assert not fast.closed


def test_aPlainRequestStartsTheIdleTimeoutAfresh() -> None:
    web = MemoryWeb(idleTimeout=10)
    connection = web.connect()
    web.clock.advance(9)
    connection.send(PLAIN % b"?n=1")
    connection.turn()
    web.clock.advance(9)
    assert not connection.closed
    web.clock.advance(1.5)
    assert connection.closed
    assert web.server.http.idleTimeouts == 1


@pytest.mark.parametrize(
    "head",
    [
        b"HEAD /v1/random?n=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.0\r\nHost: x\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.1\r\nconnection: keep-alive\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.1\r\nX : a\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.1\r\nX: \xff\r\n\r\n",
        b"GET /v1/random?n=1 HTTP/1.1\r\n\r\nGET /v1/random?n=1 HTTP/1.1\r\n\r\n",
        b"GET /v1/random?n=0 HTTP/1.1\r\n\r\n",
        b"GET /v1/random?n=1#x HTTP/1.1\r\n\r\n",
        b"GET /v1/random?type=uuid HTTP/1.1\r\n\r\n",
        b"GET /v1/random?n=1&signed=true HTTP/1.1\r\n\r\n",
        b"GET /v1/random/ HTTP/1.1\r\n\r\n",
        b"GET /v1/%72andom HTTP/1.1\r\n\r\n",
        b"GET http://x/v1/random HTTP/1.1\r\n\r\n",
        b"get /v1/random HTTP/1.1\r\n\r\n",
    ],
)
def test_otherRequestsAreReadByTwistedWeb(head: bytes) -> None:
    web = MemoryWeb()
    answered = plainAnswers(web.site)
    connection = web.connect()
    connection.send(head)
    connection.turn(3)
    assert answered == []
    assert re.match(rb"HTTP/1\.[01] \d{3} ", connection.received)


def test_aPlainRequestAfterAnotherOneInPiecesIsPlain() -> None:
    web = MemoryWeb()
    answered = plainAnswers(web.site)
    connection = web.connect()
    head = PLAIN % b"?n=1"
    connection.send(head[:10])
    connection.send(head[10:])
    connection.turn()
    connection.send(head)
    connection.turn()
    assert answered == [b"n=1"]
    assert connection.received.count(b"HTTP/1.1 200 OK") == 2


def test_plainRequestsOverTheirClientsShareWaitForIt() -> None:
    web = MemoryWeb()
    answered = plainAnswers(web.site)
    connections = [web.connect() for _ in range(100)]
    for connection in connections:
        connection.send(PLAIN % b"?n=1")
    # Those over the address's share of the turn wait for its next share.
    assert 0 < len(answered) < 100
    assert web.server.shares.waiting
    # Each waiting connection's request at one of the address's next shares.
    for _ in range(200):
        if all(c.received.startswith(b"HTTP/1.1 200 OK") for c in connections):
            break
        web.clock.advance(0)
    assert all(c.received.startswith(b"HTTP/1.1 200 OK") for c in connections)


def test_aOneAddressFloodOfPlainRequestsTakesItsShareOfATurn() -> None:
    # 200 connections of one address, each sending a plain request as soon
    # as its last is answered, and another address's request each turn.
    # The other address is answered at once, and in no turn does the flood
    # have more answered than its share of the turn allows (one request
    # over it, as deficit round robin lets it): what a plain request is
    # charged bounds the flood's part of each turn, which the other
    # address waits for.
    web = MemoryWeb()
    shares = web.server.shares
    flood = [web.connect() for _ in range(200)]
    victim = web.connect("127.0.0.2")
    request = PLAIN % b"?n=1"

    def answers(connections: list[Connection]) -> int:
        return sum(c.received.count(b"HTTP/1.1 200 OK") for c in connections)

    sent = [0] * len(flood)
    perTurn = []
    for _ in range(30):
        share = shares.share
        before = answers(flood)
        for index, connection in enumerate(flood):
            if sent[index] == answers([connection]):
                connection.send(request)
                sent[index] += 1
        answered = answers([victim])
        victim.send(request)
        assert answers([victim]) == answered + 1
        victim.turn()
        perTurn.append(answers(flood) - before)
        # Each costs more than PLAIN_REQUEST_COST (its values too).
        assert perTurn[-1] <= share // PLAIN_REQUEST_COST + 1
    assert perTurn[0] > 1
    assert min(perTurn) >= 1


def test_plainRequestsNeverReadStopBeingRead() -> None:
    # A client sending one plain request at a time, never reading: once the
    # kernel's buffers are full nothing more is read, and it is aborted at
    # the idle timeout.
    clock = TurnClock()
    server = RandnumServer(clock=clock, limits=Limits(idleTimeout=10))
    site = webSite(server, metricsRegistry(server))
    answered = plainAnswers(site)
    loopback = Loopback(site, clock)
    stalled = loopback.connect()
    heavy = PLAIN % b"?n=1000&format=text&min=0&max=1000000000000"
    for _ in range(400):
        try:
            stalled.sock.send(heavy)
        except BlockingIOError:
            pass
        loopback.turn()
    requests = server.http.requests
    # (Those that came together, pipelined, were read by twisted.web.)
    assert 0 < len(answered) <= requests < 400
    for _ in range(30):
        clock.advance(1)
        loopback.turn()
        stalled.read(0)
    assert server.http.requests == requests
    stalled.read()
    assert stalled.ended == "RST"
    assert server.http.idleTimeouts == 1
    loopback.close()
