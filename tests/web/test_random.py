"""
C{/v1/random}, in memory: the shared validator, numbers as JSON and text,
every other type of value, errors, and HEAD.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from httpmemory import MemoryWeb, parseResponse
from hypothesis import given
from hypothesis import strategies as st
from signers import signingServer
from twisted.logger import LogEvent, formatEvent

from randnum.generation.source import seededSource
from randnum.query import Query, QueryError, parseLine
from randnum.server import RandnumServer
from randnum.web.random import RandomResource


@pytest.fixture
def web() -> MemoryWeb:
    """
    A server with both faces, in memory.
    """
    return MemoryWeb()


# The shared validator.

values = st.one_of(
    st.integers(-(2**64), 2**64).map(str),
    st.sampled_from(["", "true", "false", "maybe", "1e400", "x"]),
)
pairs = st.lists(
    st.tuples(
        st.sampled_from(["n", "min", "max", "unique", "count", "type", "places"]),
        values | st.sampled_from(["int", "decimal", "uuid", "3"]),
    ),
    max_size=5,
)


@given(pairs)
def test_httpAndTcpAcceptTheSameQueries(parameters: list[tuple[str, str]]) -> None:
    """
    A query string and a request line with the same parameters give the
    same query, or the same error.
    """
    defaults = Query()
    args: dict[bytes, list[bytes]] = {}
    for name, value in parameters:
        args.setdefault(name.encode(), []).append(value.encode())
    # A query string groups repeated names; the request line must list the
    # same parameters in the same grouped order.
    line = " ".join(
        f"{name.decode()}={value.decode()}"
        for name, items in args.items()
        for value in items
    ).encode()
    resource = RandomResource(RandnumServer(source=seededSource(1)))
    outcomes: list[Query | str] = []
    for parse in (resource.parse, lambda _: ("", parseLine(line, defaults))):
        try:
            outcomes.append(parse(args)[1])
        except QueryError as error:
            outcomes.append(error.reason)
    assert outcomes[0] == outcomes[1]


def test_formatIsValidatedAndNotPassedOn() -> None:
    resource = RandomResource(RandnumServer(source=seededSource(1)))
    assert resource.parse({b"format": [b"text"], b"n": [b"2"]}) == (
        "text",
        Query(n=2),
    )
    for bad in ({b"format": [b"xml"]}, {b"format": [b"json", b"text"]}):
        with pytest.raises(QueryError):
            resource.parse(bad)


# Numbers.


def test_randomAsJson(web: MemoryWeb) -> None:
    response = web.fetch("/v1/random?n=5&min=1&max=6")
    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert isinstance(body, dict)
    assert body["min"] == 1 and body["max"] == 6
    assert len(body["numbers"]) == 5
    assert all(1 <= n <= 6 for n in body["numbers"])


def test_defaultsAndUnique(web: MemoryWeb) -> None:
    body = web.fetch("/v1/random").json()
    assert isinstance(body, dict)
    assert (body["min"], body["max"], len(body["numbers"])) == (1, 10000, 1)
    unique = web.fetch("/v1/random?n=10&min=1&max=10&unique=true").json()
    assert isinstance(unique, dict)
    assert sorted(unique["numbers"]) == list(range(1, 11))


def test_randomAsText(web: MemoryWeb) -> None:
    response = web.fetch("/v1/random?n=3&min=-2&max=2&format=text")
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    lines = response.body.decode().splitlines()
    assert len(lines) == 3 and all(-2 <= int(line) <= 2 for line in lines)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("n=0", "n must be between 1 and 10000"),
        ("min=1e400", "min must be an integer"),
        ("min=9&max=1", "min must not exceed max"),
        ("unique=maybe", "unique must be true or false"),
        ("n=1&n=2", "repeated parameter n"),
        ("n=", "empty value for n"),
        ("count=5", "unknown parameter 'count'"),
        ("n=7&max=6&unique=true", "unique needs n <= 6, the count of values in 1..6"),
        ("format=xml", "format must be json or text (or, for bytes, hex or base64)"),
    ],
)
def test_invalidQueryIs400WithTheSameReasonAsTcp(
    web: MemoryWeb, query: str, reason: str
) -> None:
    response = web.fetch(f"/v1/random?{query}")
    assert response.status == 400
    assert response.json() == {"error": reason}


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("n=6&max=6&unique", "empty value for unique"),
        ("n", "empty value for n"),
        ("n=3&bogus", "unknown parameter 'bogus'"),
        ("n=3;unique", "empty value for unique"),
        ("n=3&uni%71ue", "empty value for unique"),
        ("unique&unique=true", "repeated parameter unique"),
    ],
)
def test_aNameWithoutAValueIsRefusedAsAnEmptyValue(
    web: MemoryWeb, query: str, reason: str
) -> None:
    """
    A parameter named without C{=}, which twisted.web leaves out of
    C{request.args}, is refused as C{?unique=} is, not ignored.
    """
    response = web.fetch(f"/v1/random?{query}")
    assert response.status == 400
    assert response.json() == {"error": reason}


def test_emptyItemsOfAQueryStringAreNothing(web: MemoryWeb) -> None:
    """
    Empty items between separators name nothing, as in twisted.web.
    """
    body = web.fetch("/v1/random?n=2&&min=1&max=1&").json()
    assert body == {"numbers": [1, 1], "min": 1, "max": 1}


def test_aStreamLengthWithoutAValueIsAnEmptyValue(web: MemoryWeb) -> None:
    response = web.fetch("/v1/bytes?length")
    assert response.status == 400
    assert response.json() == {"error": "empty value for length"}


def test_headHasTheHeadersOfGetAndDrawsNothing(
    web: MemoryWeb, logged: list[LogEvent]
) -> None:
    response = web.fetch("/v1/random?n=3", "HEAD")
    assert response.status == 200
    assert response.body == b""
    assert response.headers["content-type"] == "application/json"
    # A random body has no length until it is drawn; nothing is drawn.
    assert response.headers["content-length"] is None
    bad = web.fetch("/v1/random?n=0", "HEAD")
    assert (bad.status, bad.body) == (400, b"")
    # The costliest request, a thousand times: no numbers are made.
    expensive = "/v1/random?type=string&length=4&chars=digits&n=10000&unique=true"
    connection = web.connect()
    connection.send(f"HEAD {expensive} HTTP/1.1\r\nHost: x\r\n\r\n".encode() * 1000)
    connection.turnUntil(lambda: connection.received.count(b"HTTP/1.1 200") == 1000)
    assert web.server.http.numbers == 0
    assert web.server.http.requests == 1002
    connection.close()
    # twisted.web has no body to throw away ("I think I'll eat it").
    assert not [e for e in logged if "eat it" in (formatEvent(e) or "")]


def test_plusInAQueryIsASpace(web: MemoryWeb) -> None:
    # As in any URL query: '+' means ' ', so a sign must be written %2B.
    assert web.fetch("/v1/random?n=+5").json() == {"error": "n must be an integer"}
    body = web.fetch("/v1/random?n=%2B5&min=1&max=1").json()
    assert body == {"numbers": [1] * 5, "min": 1, "max": 1}


# Every type of value.


def test_typedValuesAsJsonStringsOrTextLines(web: MemoryWeb) -> None:
    body = web.fetch("/v1/random?type=uuid&n=3&version=7").json()
    assert isinstance(body, dict) and body["type"] == "uuid"
    assert len(body["values"]) == 3 and body["values"] == sorted(body["values"])
    body = web.fetch("/v1/random?type=decimal&places=3&n=2").json()
    assert isinstance(body, dict)
    assert all(len(v) == 5 and v.startswith("0.") for v in body["values"])
    # A literal alphabet with characters JSON escapes.
    body = web.fetch("/v1/random?type=string&chars=:%22%5C&length=4&n=5").json()
    assert isinstance(body, dict)
    assert all(set(v) <= {'"', "\\"} and len(v) == 4 for v in body["values"])
    # format: the response (json, text) and the bytes' encoding (hex, base64).
    response = web.fetch("/v1/random?type=bytes&length=3&n=2&format=base64&format=text")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    lines = response.body.decode().splitlines()
    assert len(lines) == 2 and all(len(line) == 4 for line in lines)
    response = web.fetch("/v1/random?type=uuid&places=2")
    assert response.status == 400
    assert response.json() == {"error": "places does not apply to type uuid"}


# Signed draws: answered once stored.


def test_aSignedDrawIsSentOnceStored(tmp_path: Path) -> None:
    server, pool, _ = signingServer(tmp_path)
    web = MemoryWeb(server)
    connection = web.connect()
    connection.send(b"GET /v1/random?signed=true&n=2 HTTP/1.1\r\nHost: x\r\n\r\n")
    connection.turn(3)
    assert connection.received == b""  # not stored yet
    pool.runAll()
    connection.turnUntil(lambda: b"HTTP/1.1 200" in connection.received)
    record = parseResponse(connection.received).json()
    assert isinstance(record, dict)
    assert (record["serial"], len(record["values"])) == (1, 2)
    assert server.http.numbers == 2
    connection.close()


def test_aSignedDrawForAClientThatLeftIsNotSent(tmp_path: Path) -> None:
    server, pool, _ = signingServer(tmp_path)
    web = MemoryWeb(server)
    connection = web.connect()
    connection.send(b"GET /v1/random?signed=true&n=2 HTTP/1.1\r\nHost: x\r\n\r\n")
    connection.turn(3)
    connection.close()
    pool.runAll()
    connection.turn(3)
    assert connection.received == b""
    assert server.http.numbers == 0  # never sent, never counted


def test_aSignedDrawTheStoreCannotKeepIs503(tmp_path: Path) -> None:
    server, pool, _ = signingServer(tmp_path)
    web = MemoryWeb(server)
    for leaves in (False, True):
        connection = web.connect()
        connection.send(b"GET /v1/random?signed=true HTTP/1.1\r\nHost: x\r\n\r\n")
        connection.turn(3)
        if leaves:
            connection.close()
        pool.breakNext = len(pool.pending)
        pool.runAll()
        connection.turn(3)
        if leaves:
            assert connection.received == b""
        else:
            assert connection.received.startswith(b"HTTP/1.1 503 ")
            connection.close()
    # Counted whether or not the client was still there.
    assert server.http.errorKinds["audit_unavailable"] == 2
