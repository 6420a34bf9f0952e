# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
L{randnum.web.pollen}: the pollen protocol at C{/pollen}, with C{--pollen},
as pollinate speaks it; in memory.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse

import pytest
from httpmemory import MemoryWeb, parseResponse
from loopback import TurnClock
from twisted.internet.testing import MemoryReactorClock
from twisted.python.usage import UsageError

from randnum.config import Config
from randnum.generation.source import seededSource
from randnum.server import RandnumServer
from randnum.tap import Options
from randnum.web.pollen import ENTROPY, MAX_BODY, pollenAnswer

#: pollinate's challenge: the hex SHA-512 of 64 random bytes.
CHALLENGE = hashlib.sha512(b"x" * 64).hexdigest().encode()


def pollenWeb(pollen: bool = True, **limits: object) -> MemoryWeb:
    """
    Both faces of a seeded server, in memory, with C{--pollen} or not.
    """
    server = RandnumServer(
        config=Config(pollen=pollen), source=seededSource(1), clock=TurnClock()
    )
    return MemoryWeb(server)


def post(web: MemoryWeb, body: bytes, path: str = "/pollen", extra: str = "") -> bytes:
    """
    What the server writes back to pollinate's request (curl --data): a
    form POST of C{body}, on a connection of its own, once it has closed.
    """
    connection = web.connect()
    connection.send(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1 "
        "pollinate/4.33\r\nAccept: */*\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
        + body
    )
    connection.turnUntil(lambda: connection.closed)
    connection.close()
    return connection.received


def test_theAnswerIsTheChallengesHashThenItsHashWithFreshBytes() -> None:
    """
    As the reference server answers (its test's vector for the first line).
    """
    answer = pollenAnswer(b"pork chop sandwiches", b"\x01" * ENTROPY)
    first, second, end = answer.split(b"\n")
    assert first == (
        b"a75751ccd71ba00d7b6c3b74cc0c02373f3f26c14dfe47afd580b0d87bf9fd8ce"
        b"bc73ea29b1cae15586e0d118922342ea7e94d0cb73a0f918d7d8c7ec065e873"
    )
    expected = hashlib.sha512(b"pork chop sandwiches" + b"\x01" * ENTROPY)
    assert (second, end) == (expected.hexdigest().encode(), b"")


def test_pollinatesRequestIsAnsweredWithTheServersFreshBytes() -> None:
    web = pollenWeb()
    response = parseResponse(post(web, b"challenge=" + CHALLENGE))
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    randomBytes = seededSource(1).randomBytes(ENTROPY)
    assert response.body == pollenAnswer(CHALLENGE, randomBytes)
    # What pollinate checks: the first line is the SHA-512 of its challenge.
    firstLine = response.body.split(b"\n")[0]
    assert firstLine == hashlib.sha512(CHALLENGE).hexdigest().encode()


def test_eachAnswerHasFreshBytes() -> None:
    web = pollenWeb()
    answers = {post(web, b"challenge=" + CHALLENGE).split(b"\r\n\r\n")[1] for _ in "ab"}
    assert len(answers) == 2


def test_theChallengeMayBeAQueryArgument() -> None:
    web = pollenWeb()
    query = urllib.parse.quote("pork chop sandwiches")
    response = web.fetch(f"/pollen?challenge={query}")
    assert response.status == 200
    assert response.body.startswith(b"a75751ccd71ba00d")


@pytest.mark.parametrize(
    ("body", "path"),
    [(b"", "/pollen"), (b"other=1", "/pollen"), (b"challenge=", "/pollen")],
)
def test_aRequestWithoutAChallengeIsRefusedInJson(body: bytes, path: str) -> None:
    response = parseResponse(post(pollenWeb(), body, path))
    assert response.status == 400
    assert json.loads(response.body) == {
        "error": "challenge is required: this is the pollen protocol, as pollinate "
        "speaks it (pollinate -s URL)"
    }


def test_aBodyOverTheCapIsRefusedWithoutBeingRead() -> None:
    web = pollenWeb()
    connection = web.connect()
    connection.send(
        b"POST /pollen HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
        % (MAX_BODY + 1)
    )
    connection.turnUntil(lambda: connection.closed)
    response = parseResponse(connection.received)
    assert response.status == 413
    assert json.loads(response.body) == {
        "error": f"request body too large: at most {MAX_BODY} bytes here"
    }


def test_aChunkedBodyNeedsItsLength() -> None:
    web = pollenWeb()
    connection = web.connect()
    connection.send(
        b"POST /pollen HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    connection.turnUntil(lambda: connection.closed)
    response = parseResponse(connection.received)
    assert response.status == 411
    assert json.loads(response.body) == {
        "error": "a request body needs a Content-Length"
    }


def test_aBodyMustComeWithinTheDeadlineOfItsHeadsFirstByte() -> None:
    """
    A body, like a head, must be complete within the idle timeout of the
    request's first byte: trickling it (each byte would reset the idle
    timeout) holds the connection no longer.
    """
    web = pollenWeb()
    connection = web.connect()
    connection.send(b"POST /pollen HTTP/1.1\r\nHost: x\r\nContent-Length: 138\r\n\r\n")
    timeout = web.server.limits.idleTimeout
    assert timeout is not None
    web.clock.advance(timeout / 2)
    for _ in range(int(timeout / 2) - 1):
        connection.send(b"c")  # a byte a second
        web.clock.advance(1)
    assert not connection.closed
    web.clock.advance(1)
    assert connection.closed


def test_aKeepAliveConnectionAfterABodyHasItsDeadlineAfresh() -> None:
    """
    Once a request with a body is complete, the next request's head has
    the whole idle timeout again.
    """
    web = pollenWeb()
    connection = web.connect()
    body = b"challenge=abc"
    connection.send(
        b"POST /pollen HTTP/1.1\r\nHost: x\r\nContent-Type: "
        b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    connection.turnUntil(lambda: b"\r\n\r\n" in connection.received)
    timeout = web.server.limits.idleTimeout
    assert timeout is not None
    web.clock.advance(timeout - 1)
    connection.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    connection.turnUntil(lambda: connection.received.endswith(b"ok\n"))
    assert not connection.closed


def test_otherPathsAndMethodsStillRefuseBodies() -> None:
    web = pollenWeb()
    refused = parseResponse(post(web, b"challenge=x", "/v1/random"))
    assert refused.status == 405
    put = web.fetch("/pollen", method="PUT")
    assert put.status == 405
    assert put.headers["allow"] == "GET, HEAD, POST"


def test_withoutPollenThereIsNoPollen() -> None:
    web = pollenWeb(pollen=False)
    assert parseResponse(post(web, b"challenge=" + CHALLENGE)).status == 405
    assert web.fetch(f"/pollen?challenge={CHALLENGE.decode()}").status == 404


def test_theOptionTurnsItOn() -> None:
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(["--http", "8080", "--pollen"])
    assert options.config.pollen


def test_pollenNeedsTheHttpFace() -> None:
    options = Options(reactor=MemoryReactorClock())
    with pytest.raises(UsageError) as refused:
        options.parseOptions(["--pollen"])
    assert str(refused.value) == (
        "--pollen is served on the HTTP face: it needs --http PORT"
    )


def test_aBodyThatIsNotAFormHoldsNoChallenge() -> None:
    """
    Only a urlencoded form's fields are read from a body (as curl --data
    sends it); nothing else is taken for one.
    """
    response = parseResponse(
        post(pollenWeb(), b"challenge=abc", extra="X-Note: text\r\n")
    )
    assert response.status == 200
    other = pollenWeb()
    connection = other.connect()
    body = b"challenge=abc"
    connection.send(
        b"POST /pollen HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    connection.turnUntil(lambda: connection.closed)
    assert parseResponse(connection.received).status == 400
