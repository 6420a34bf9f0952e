"""
C{/v1/bytes}, in memory: exactly the bytes asked for, with their length,
and the reason for a bad request.  (What crosses a real socket, a slow or
stopped reader's memory among it, is in C{tests/tcp/test_byte_stream.py}.)
"""

from __future__ import annotations

from collections import Counter

import pytest
from httpmemory import MemoryWeb
from uniformity import chiSquareOk


def test_exactlyTheBytesAskedFor() -> None:
    web = MemoryWeb()
    for length in (1, 65535, 65536, 65537, 1_000_000):
        response = web.fetch(f"/v1/bytes?length={length}")
        assert response.status == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert int(response.headers["content-length"]) == length == len(response.body)
    body = web.fetch("/v1/bytes?length=1000000").body
    assert chiSquareOk(Counter(body), 256, len(body))
    assert web.server.http.streamedBytes == 1 + 65535 + 65536 + 65537 + 2_000_000
    head = web.fetch(f"/v1/bytes?length={1 << 40}", "HEAD")
    assert (head.status, head.body) == (200, b"")
    assert int(head.headers["content-length"]) == 1 << 40


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "length is required"),
        ("?length=0", "length must be between 1 and 281474976710656"),
        ("?length=1&length=2", "repeated parameter length"),
        ("?length=x", "length must be an integer"),
    ],
)
def test_badStreamRequestsSayWhy(query: str, reason: str) -> None:
    web = MemoryWeb()
    response = web.fetch(f"/v1/bytes{query}")
    assert response.status == 400
    assert response.json() == {"error": reason}
    head = web.fetch(f"/v1/bytes{query}", "HEAD")
    assert (head.status, head.body) == (400, b"")
    assert int(head.headers["content-length"]) == len(response.body)
