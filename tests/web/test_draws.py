"""
C{/v1/draws} and C{/v1/key}, in memory: the audit store's records as they
were sent, written only once read and only to a client still there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from httpmemory import MemoryWeb, parseResponse
from signers import drawn, signingServer

from randnum.signing.store import AuditStore


@pytest.mark.parametrize("path", ["/v1/key", "/v1/draws", "/v1/draws/1"])
def test_withoutSigningThereIsNothingHere(path: str) -> None:
    response = MemoryWeb().fetch(path)
    assert response.status == 404
    assert response.json() == {"error": "signing is not enabled"}


def signedWeb(tmp_path: Path) -> tuple[MemoryWeb, AuditStore, list[bytes]]:
    server, _, _ = signingServer(tmp_path)
    assert isinstance(server.audit, AuditStore)
    lines = drawn(server.audit, 3)
    return MemoryWeb(server), server.audit, lines


def test_theKey(tmp_path: Path) -> None:
    web, store, _ = signedWeb(tmp_path)
    body = web.fetch("/v1/key").json()
    assert body == {
        "key": store.signer.keyId,
        "publicKey": store.signer.publicPem,
        # The chain's head: the serial of its last committed record.
        "head": {"serial": 3},
    }
    assert store.committed == 3


def test_recordsAsTheyWereSent(tmp_path: Path) -> None:
    web, store, lines = signedWeb(tmp_path)
    pool = store.pool
    for path, content, body in [
        ("/v1/draws/2", "application/json", lines[1] + b"\n"),
        (
            "/v1/draws?after=1&limit=5",
            "application/x-ndjson",
            b"".join(line + b"\n" for line in lines[1:]),
        ),
    ]:
        connection = web.connect()
        connection.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        connection.turn(2)
        assert connection.received == b""  # read from the store first
        pool.runAll()  # type: ignore[attr-defined]
        connection.turnUntilAnswered()
        response = parseResponse(connection.received)
        assert (response.status, response.body) == (200, body)
        assert response.headers["content-type"] == content
        connection.close()


def test_aRecordForAClientThatLeftIsNotSent(tmp_path: Path) -> None:
    web, store, _ = signedWeb(tmp_path)
    connection = web.connect()
    connection.send(b"GET /v1/draws/2 HTTP/1.1\r\nHost: x\r\n\r\n")
    connection.turn(2)
    connection.close()
    store.pool.runAll()  # type: ignore[attr-defined]
    connection.turn(2)
    assert connection.received == b""


def test_anUnreadableStoreIs503(tmp_path: Path) -> None:
    web, store, _ = signedWeb(tmp_path)
    pool = store.pool
    connection = web.connect()
    connection.send(b"GET /v1/draws HTTP/1.1\r\nHost: x\r\n\r\n")
    connection.turn(2)
    pool.breakNext = 1  # type: ignore[attr-defined]
    pool.runAll()  # type: ignore[attr-defined]
    connection.turnUntilAnswered()
    response = parseResponse(connection.received)
    assert response.status == 503
    assert response.json() == {"error": "audit store unavailable"}
    connection.close()


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/v1/draws/x", 400, "serial must be an integer"),
        ("/v1/draws/1/2", 404, "not found"),
        ("/v1/draws?limit=0", 400, "limit must be between 1 and 10000"),
        ("/v1/draws?what=1", 400, "unknown parameter 'what' (after and limit are)"),
    ],
)
def test_badDrawRequestsSayWhy(
    tmp_path: Path, path: str, status: int, reason: str
) -> None:
    web, _, _ = signedWeb(tmp_path)
    response = web.fetch(path)
    assert (response.status, response.json()) == (status, {"error": reason})
