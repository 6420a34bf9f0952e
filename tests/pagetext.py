"""
Reading a page served here: its embedded data, and fetching it in memory
as a browser asks for it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from httpmemory import MemoryWeb, parseResponse
from servers import Response

#: What a browser sends as C{Accept} for a page (Chromium's).
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
    "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)

_DATA = re.compile(
    rb'<script type="application/json" id="page-data">(.*?)</script>', re.S
)


def pageData(body: bytes) -> Any:
    """
    The JSON a page embeds (there is exactly one such element).
    """
    found = _DATA.findall(body)
    assert len(found) == 1
    return json.loads(found[0])


def get(
    web: MemoryWeb,
    path: str,
    accept: str | None = BROWSER_ACCEPT,
    method: str = "GET",
) -> Response:
    """
    One request for C{path} with C{Accept: accept} (none if L{None}), its
    store reads (if any) done as they are asked for.
    """
    connection = web.connect()
    header = "" if accept is None else f"Accept: {accept}\r\n"
    connection.send(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}"
        "Connection: close\r\n\r\n".encode("latin-1")
    )
    audit = web.server.audit
    pool = getattr(audit, "readPool", None)
    for _ in range(1000):
        connection.turn()
        if pool is not None:
            pool.runAll()
        if connection.closed:
            break
    else:
        raise AssertionError(f"no answer to {path}")
    connection.close()
    return parseResponse(connection.received, method)
