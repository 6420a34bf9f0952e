"""
The HTTP/JSON face and its metrics: the shared validator in memory, and a
real C{twistd randnum --http} over loopback.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from servers import Server, fetch

from randnum.generation.source import seededSource
from randnum.query import Query, QueryError, parseLine
from randnum.server import RandnumServer
from randnum.web.random import RandomResource

LOCAL = "tcp:0:interface=127.0.0.1"


@pytest.fixture
def web(serve: Callable[..., Server]) -> Server:
    """
    A server with a TCP port first and an HTTP port second.
    """
    return serve("--port", LOCAL, "--http", LOCAL, listeners=2)


def httpPort(server: Server) -> int:
    return server.ports[1]


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


# Over loopback.


def test_randomAsJson(web: Server) -> None:
    response = fetch(httpPort(web), "/v1/random?n=5&min=1&max=6")
    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert isinstance(body, dict)
    assert body["min"] == 1 and body["max"] == 6
    assert len(body["numbers"]) == 5
    assert all(1 <= n <= 6 for n in body["numbers"])


def test_defaultsAndUnique(web: Server) -> None:
    body = fetch(httpPort(web), "/v1/random").json()
    assert isinstance(body, dict)
    assert (body["min"], body["max"], len(body["numbers"])) == (1, 10000, 1)
    unique = fetch(httpPort(web), "/v1/random?n=10&min=1&max=10&unique=true").json()
    assert isinstance(unique, dict)
    assert sorted(unique["numbers"]) == list(range(1, 11))


def test_randomAsText(web: Server) -> None:
    response = fetch(httpPort(web), "/v1/random?n=3&min=-2&max=2&format=text")
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
    web: Server, query: str, reason: str
) -> None:
    response = fetch(httpPort(web), f"/v1/random?{query}")
    assert response.status == 400
    assert response.json() == {"error": reason}


def test_otherMethodsAre405(web: Server) -> None:
    for method in ("POST", "PUT", "DELETE"):
        response = fetch(httpPort(web), "/v1/random", method)
        assert response.status == 405
        assert response.headers["allow"] == "GET, HEAD"
        assert response.json() == {"error": f"method {method} not allowed"}


def test_headHasTheHeadersOfGetAndDrawsNothing(web: Server) -> None:
    response = fetch(httpPort(web), "/v1/random?n=3", "HEAD")
    assert response.status == 200
    assert response.body == b""
    assert response.headers["content-type"] == "application/json"
    # A random body has no length until it is drawn; nothing is drawn.
    assert response.headers["content-length"] is None
    bad = fetch(httpPort(web), "/v1/random?n=0", "HEAD")
    assert (bad.status, bad.body) == (400, b"")
    port = httpPort(web)
    # The costliest request, a thousand times: no numbers are made.
    expensive = "/v1/random?type=string&length=4&chars=digits&n=10000&unique=true"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"HEAD {expensive} HTTP/1.1\r\nHost: x\r\n\r\n".encode() * 1000)
        received = b""
        while received.count(b"HTTP/1.1 200") < 1000:
            chunk = sock.recv(1 << 16)
            assert chunk
            received += chunk
    counts = metrics(port)
    assert counts[("randnum_numbers_total", (("face", "http"),))] == 0
    assert "eat it" not in web.logText()


@pytest.mark.parametrize(
    "path",
    ["/nope", "/v1", "/v1/", "/v2/random", "/healthz/x", "/healthz/", "/v1/random/"],
)
def test_unknownPathsAreJson404(web: Server, path: str) -> None:
    response = fetch(httpPort(web), path)
    assert response.status == 404
    assert response.json() == {"error": "not found"}


def test_noResponseMayBeCached(web: Server) -> None:
    for path, method in [
        ("/", "GET"),
        ("/metrics", "GET"),
        ("/healthz", "HEAD"),
        ("/v1/random", "GET"),
        ("/v1/random?n=0", "GET"),
        ("/nope", "GET"),
        ("/v1/random", "DELETE"),
    ]:
        response = fetch(httpPort(web), path, method)
        assert response.headers["cache-control"] == "no-store", (path, method)


def test_plusInAQueryIsASpace(web: Server) -> None:
    # As in any URL query: '+' means ' ', so a sign must be written %2B.
    assert fetch(httpPort(web), "/v1/random?n=+5").json() == {
        "error": "n must be an integer"
    }
    body = fetch(httpPort(web), "/v1/random?n=%2B5&min=1&max=1").json()
    assert body == {"numbers": [1] * 5, "min": 1, "max": 1}


def test_optionsStarIsAnsweredByTwistedWeb(web: Server) -> None:
    # "OPTIONS *" asks about the server, not a resource: twisted.web's
    # empty 200, as RFC 9110 describes.  Every resource refuses OPTIONS.
    with socket.create_connection(("127.0.0.1", httpPort(web)), timeout=5) as sock:
        sock.sendall(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")
    assert fetch(httpPort(web), "/healthz", "OPTIONS").status == 405


def test_healthAndIndex(web: Server) -> None:
    health = fetch(httpPort(web), "/healthz")
    assert (health.status, health.body) == (200, b"ok\n")
    index = fetch(httpPort(web), "/").json()
    assert isinstance(index, dict)
    assert index["paths"] == [
        "/v1/random",
        "/v1/bytes",
        "/v1/draws",
        "/v1/key",
        "/healthz",
        "/metrics",
    ]


def test_noHttpUnlessAsked(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL)
    assert "HTTP listening" not in server.logText()


def metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = fetch(port, "/metrics")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def tcpClient(port: int, source: str) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(5)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def test_metricsCountRealTraffic(serve: Callable[..., Server]) -> None:
    server = serve(
        *("--port", LOCAL, "--http", LOCAL, "--max-connections-per-ip", "2"),
        listeners=2,
    )
    tcp, http = server.ports
    # TCP clients come from 127.0.0.2, so that the per-address limit they
    # meet leaves HTTP (from 127.0.0.1) alone.
    with tcpClient(tcp, "127.0.0.2") as sock:
        sock.sendall(b"Example request")
        assert sock.recv(64).isdigit()
        sock.sendall(b"\nn=5\nn=0\nn=1 n=2\n")
        data = b""
        while data.count(b"\n") < 4:
            data += sock.recv(65536)
        # A second connection is admitted, a third refused.
        with tcpClient(tcp, "127.0.0.2") as second:
            with tcpClient(tcp, "127.0.0.2") as third:
                assert third.recv(64) == b"ERR busy\n"
            second.sendall(b"\n")
            assert second.recv(64).strip().isdigit()
            fetch(http, "/v1/random?n=4")
            fetch(http, "/v1/random?n=2&format=text")
            fetch(http, "/v1/random?n=0")
            samples = metrics(http)

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    # TCP: one raw request, then 4 lines and 1 line, on two connections.
    assert value("randnum_requests_total", face="tcp", framing="raw") == 1
    assert value("randnum_requests_total", face="tcp", framing="line") == 5
    assert value("randnum_numbers_total", face="tcp") == 1 + 1 + 5 + 1
    assert value("randnum_errors_total", face="tcp", reason="bad_count") == 1
    assert value("randnum_errors_total", face="tcp", reason="repeated_parameter") == 1
    assert value("randnum_connections_total", face="tcp") == 2
    assert value("randnum_rejected_connections_total", face="tcp", reason="busy") == 1
    assert value("randnum_open_connections", face="tcp") == 2
    # HTTP.
    assert value("randnum_requests_total", face="http", framing="json") == 2
    assert value("randnum_requests_total", face="http", framing="text") == 1
    assert value("randnum_numbers_total", face="http") == 6
    assert value("randnum_errors_total", face="http", reason="bad_count") == 1
    # Three requests' connections have closed; the scrape's is open.
    assert value("randnum_connections_total", face="http") == 4
    assert value("randnum_open_connections", face="http") == 1
    # The process's own metrics come along.
    assert value("process_open_fds") > 0


def test_httpConnectionsShareTheConnectionLimit(serve: Callable[..., Server]) -> None:
    server = serve(
        *("--port", LOCAL, "--http", LOCAL, "--max-connections", "1"), listeners=2
    )
    tcp, http = server.ports
    with tcpClient(tcp, "127.0.0.1") as sock:
        sock.sendall(b"\n")
        assert sock.recv(64).strip().isdigit()
        busy = fetch(http, "/v1/random")
        assert busy.status == 503
        assert busy.headers["retry-after"] == "1"
        assert busy.json() == {"error": "busy"}
    # Capacity returns when the TCP client leaves.
    deadline = time.monotonic() + 10
    refused = 1
    while (response := fetch(http, "/healthz")).status == 503:
        # The server may not have seen the TCP client leave yet.
        refused += 1
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert response.status == 200
    samples = metrics(http)
    key = ("randnum_rejected_connections_total", (("face", "http"), ("reason", "busy")))
    assert samples[key] == refused


# Every type of value.


def test_typedValuesAsJsonStringsOrTextLines(web: Server) -> None:
    port = httpPort(web)
    body = fetch(port, "/v1/random?type=uuid&n=3&version=7").json()
    assert isinstance(body, dict) and body["type"] == "uuid"
    assert len(body["values"]) == 3 and body["values"] == sorted(body["values"])
    body = fetch(port, "/v1/random?type=decimal&places=3&n=2").json()
    assert isinstance(body, dict)
    assert all(len(v) == 5 and v.startswith("0.") for v in body["values"])
    # A literal alphabet with characters JSON escapes.
    body = fetch(port, "/v1/random?type=string&chars=:%22%5C&length=4&n=5").json()
    assert isinstance(body, dict)
    assert all(set(v) <= {'"', "\\"} and len(v) == 4 for v in body["values"])
    # format: the response (json, text) and the bytes' encoding (hex, base64).
    response = fetch(
        port, "/v1/random?type=bytes&length=3&n=2&format=base64&format=text"
    )
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    lines = response.body.decode().splitlines()
    assert len(lines) == 2 and all(len(line) == 4 for line in lines)
    response = fetch(port, "/v1/random?type=uuid&places=2")
    assert response.status == 400
    assert response.json() == {"error": "places does not apply to type uuid"}


def test_aHugeBodyIsStreamedWhole(web: Server) -> None:
    port = httpPort(web)
    response = fetch(port, "/v1/random?type=string&length=1024&n=10000")
    assert response.status == 200
    body = response.json()
    assert isinstance(body, dict) and len(body["values"]) == 10000
    assert {len(v) for v in body["values"]} == {1024}
    head = fetch(port, "/v1/random?type=string&length=1024&n=10000", "HEAD")
    assert (head.status, head.body) == (200, b"")
    assert head.headers["content-type"] == "application/json"
    assert "Traceback" not in web.logText()
