"""
One HTTP connection within the server's limits: heads that cannot be read
are answered at once.
"""

from __future__ import annotations

import pytest
from httpmemory import MemoryWeb, parseResponse

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
