"""
The site: in memory, every response uncacheable and HTTP connections
admitted within the limits the TCP face shares; with a real C{twistd
randnum}, the C{--http} wiring.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from httpmemory import MemoryWeb
from servers import Server, fetch

LOCAL = "tcp:0:interface=127.0.0.1"


def test_noResponseMayBeCached() -> None:
    web = MemoryWeb()
    for path, method in [
        ("/", "GET"),
        ("/metrics", "GET"),
        ("/healthz", "HEAD"),
        ("/v1/random", "GET"),
        ("/v1/random?n=0", "GET"),
        ("/nope", "GET"),
        ("/v1/random", "DELETE"),
    ]:
        response = web.fetch(path, method)
        assert response.headers["cache-control"] == "no-store", (path, method)


def test_httpConnectionsShareTheConnectionLimit() -> None:
    web = MemoryWeb(maxConnections=1)
    tcp = web.connectTcp()
    tcp.send(b"\n")
    tcp.turnUntil(lambda: tcp.received.strip().isdigit())
    busy = web.fetch("/v1/random")
    assert busy.status == 503
    assert busy.headers["retry-after"] == "1"
    assert busy.json() == {"error": "busy"}
    # Capacity returns when the TCP client leaves.
    tcp.close()
    assert web.fetch("/healthz").status == 200
    assert web.server.http.refused == 1
    assert web.server.connections.total == 0


@pytest.mark.live
def test_twistdServesHttpWhenAsked(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL, "--http", LOCAL, listeners=2)
    port = server.ports[1]
    response = fetch(port, "/v1/random?n=5&min=1&max=6")
    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert isinstance(body, dict) and len(body["numbers"]) == 5
    assert fetch(port, "/healthz").body == b"ok\n"
    assert "Traceback" not in server.logText()


@pytest.mark.live
def test_noHttpUnlessAsked(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL)
    assert "HTTP listening" not in server.logText()
