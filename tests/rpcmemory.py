# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
A seeded server with C{--json-rpc}, in memory, and calls to it as
RANDOM.ORG's clients make them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from httpmemory import MemoryWeb, parseResponse
from loopback import TurnClock
from servers import Response
from signers import signingServer

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


class SignedWeb:
    """
    A signing server with C{--json-rpc}, in memory, whose audit store
    commits whenever the test lets turns pass.
    """

    def __init__(self, tmp: Path) -> None:
        server, self.pool, clock = signingServer(tmp)
        self.server = RandnumServer(
            config=Config(jsonRpc=True),
            source=server.source,
            clock=clock,
            audit=server.audit,
        )
        self.web = MemoryWeb(self.server)

    def post(self, body: bytes, path: str = "/json-rpc/4/invoke") -> Any:
        connection = self.web.connect()
        connection.send(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

        def done() -> bool:
            self.pool.runAll()
            return connection.closed

        connection.turnUntil(done)
        connection.close()
        response = parseResponse(connection.received, "POST")
        assert response.status == 200
        return json.loads(response.body)

    def call(self, method: str, **params: Any) -> Any:
        if method != "verifySignature":
            params.setdefault("apiKey", KEY)
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 7}
        document = self.post(json.dumps(body).encode())
        assert document["id"] == 7
        return document

    def result(self, method: str, **params: Any) -> Any:
        document = self.call(method, **params)
        assert "error" not in document, document
        return document["result"]

    def error(self, method: str, **params: Any) -> Any:
        document = self.call(method, **params)
        assert "result" not in document, document
        return document["error"]

    def get(self, path: str) -> Any:
        connection = self.web.connect()
        connection.send(
            f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )

        def done() -> bool:
            self.pool.runAll()
            return connection.closed

        connection.turnUntil(done)
        return parseResponse(connection.received)
