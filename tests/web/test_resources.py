"""
The tree of pages, in memory: methods, unknown paths, C{/healthz}, C{/} and
C{/metrics}, whose counts are the traffic of both faces.
"""

from __future__ import annotations

import pytest
from httpmemory import MemoryWeb
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.defer import Deferred, fail

from randnum.stats import Totals

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def web() -> MemoryWeb:
    """
    A server with both faces, in memory.
    """
    return MemoryWeb()


def test_otherMethodsAre405(web: MemoryWeb) -> None:
    for method in ("POST", "PUT", "DELETE"):
        response = web.fetch("/v1/random", method)
        assert response.status == 405
        assert response.headers["allow"] == "GET, HEAD"
        assert response.json() == {"error": f"method {method} not allowed"}


@pytest.mark.parametrize(
    "path",
    ["/nope", "/v1", "/v1/", "/v2/random", "/healthz/x", "/healthz/", "/v1/random/"],
)
def test_unknownPathsAreJson404(web: MemoryWeb, path: str) -> None:
    response = web.fetch(path)
    assert response.status == 404
    assert response.json() == {"error": "not found"}


def test_optionsStarIsAnsweredByTwistedWeb(web: MemoryWeb) -> None:
    # "OPTIONS *" asks about the server, not a resource: twisted.web's
    # empty 200, as RFC 9110 describes.  Every resource refuses OPTIONS.
    connection = web.connect()
    connection.send(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
    connection.turn(2)
    assert connection.received.startswith(b"HTTP/1.1 200 OK\r\n")
    connection.close()
    assert web.fetch("/healthz", "OPTIONS").status == 405


def test_healthAndIndex(web: MemoryWeb) -> None:
    health = web.fetch("/healthz")
    assert (health.status, health.body) == (200, b"ok\n")
    index = web.fetch("/").json()
    assert isinstance(index, dict)
    assert index["paths"] == [
        "/v1/random",
        "/v1/bytes",
        "/v1/draws",
        "/v1/key",
        "/v1/drawings",
        "/healthz",
        "/metrics",
    ]
    assert index["pages"] == ["/verify", "/draws/SERIAL", "/draw"]


def metrics(web: MemoryWeb) -> Samples:
    response = web.fetch("/metrics")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert int(response.headers["content-length"]) == len(response.body)
    samples = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metricsCountRealTraffic() -> None:
    web = MemoryWeb(maxConnectionsPerHost=2)
    # TCP clients come from 127.0.0.2, so that the per-address limit they
    # meet leaves HTTP (from 127.0.0.1) alone.
    tcp = web.connectTcp("127.0.0.2")
    tcp.send(b"Example request")
    tcp.turnUntil(lambda: tcp.received.isdigit())
    tcp.send(b"\nn=5\nn=0\nn=1 n=2\n")
    tcp.turnUntil(lambda: tcp.received.count(b"\n") >= 4)
    # A second connection is admitted, a third refused.
    second = web.connectTcp("127.0.0.2")
    third = web.connectTcp("127.0.0.2")
    third.turnUntil(lambda: third.received == b"ERR busy\n")
    third.close()
    second.send(b"\n")
    second.turnUntil(lambda: second.received.strip().isdigit())
    web.fetch("/v1/random?n=4")
    web.fetch("/v1/random?n=2&format=text")
    web.fetch("/v1/random?n=0")
    samples = metrics(web)

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
    tcp.close()
    second.close()


def test_metricsThatCannotBeGatheredAre503(web: MemoryWeb) -> None:
    def unanswered() -> Deferred[Totals]:
        return fail(RuntimeError("the main process did not answer"))

    web.server.wholeServer = unanswered
    response = web.fetch("/metrics")
    assert response.status == 503
    assert int(response.headers["content-length"]) == len(response.body)
    assert response.json() == {
        "error": "metrics unavailable: the main process did not answer"
    }
    head = web.fetch("/metrics", "HEAD")
    assert (head.status, head.body) == (503, b"")
