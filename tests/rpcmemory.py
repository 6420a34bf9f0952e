# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
A seeded server with C{--json-rpc}, in memory, and calls to it as
RANDOM.ORG's clients make them.
"""

from __future__ import annotations

import json
from typing import Any

from httpmemory import MemoryWeb, parseResponse
from loopback import TurnClock
from servers import Response

from randnum.config import Config
from randnum.generation.source import seededSource
from randnum.server import RandnumServer

#: A key, in RANDOM.ORG's form: any well-formed one is accepted (open mode).
KEY = "00000000-0000-0000-0000-000000000000"


def rpcWeb(jsonRpc: bool = True) -> MemoryWeb:
    """
    Both faces of a seeded server, in memory, with C{--json-rpc} or not.
    """
    server = RandnumServer(
        config=Config(jsonRpc=jsonRpc), source=seededSource(1), clock=TurnClock()
    )
    return MemoryWeb(server)


def post(
    web: MemoryWeb,
    body: bytes,
    path: str = "/json-rpc/4/invoke",
    contentType: str = "application/json",
    method: str = "POST",
) -> Response:
    """
    The response to C{body}, POSTed as rdoclient does, on a connection of
    its own.
    """
    connection = web.connect()
    connection.send(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: {contentType}\r\nContent-Length: {len(body)}\r\n\r\n".encode(
            "latin-1"
        )
        + body
    )
    connection.turnUntil(lambda: connection.closed)
    connection.close()
    return parseResponse(connection.received, method)


def call(web: MemoryWeb, method: str, id: Any = "c1", **params: Any) -> Any:
    """
    The decoded response to calling C{method} with C{params} (the key
    added unless given), checked to be a 200 that echoes C{id}.
    """
    params.setdefault("apiKey", KEY)
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": id})
    response = post(web, body.encode())
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    document = json.loads(response.body)
    assert document["jsonrpc"] == "2.0"
    assert document["id"] == id
    return document


def result(web: MemoryWeb, method: str, **params: Any) -> Any:
    """
    The result of a call that succeeds.
    """
    document = call(web, method, **params)
    assert "error" not in document, document
    return document["result"]


def error(web: MemoryWeb, method: str, **params: Any) -> Any:
    """
    The error object of a call that fails.
    """
    document = call(web, method, **params)
    assert "result" not in document, document
    return document["error"]
