"""
C{GET /} for a browser: a page with links to the pages people use; the
JSON index for programs, as before.
"""

from __future__ import annotations

import json
from pathlib import Path

from httpmemory import MemoryWeb
from pagetext import get
from signers import signingServer

from randnum.web.pages.page import PAGE_HEADERS


def test_aBrowserAtTheRootGetsLinksToThePages(tmp_path: Path) -> None:
    server, _, _ = signingServer(tmp_path)
    response = get(MemoryWeb(server), "/")
    assert response.status == 200
    for name, value in PAGE_HEADERS.items():
        assert response.headers[name.decode()] == value.decode()
    assert response.headers["vary"] == "Accept"
    assert b'<a href="/verify">Verify a signed draw</a>' in response.body
    assert b'<li id="draw-item" >' in response.body
    assert b"randnumVerify" not in response.body


def test_withoutSigningThereIsNoDrawingToRun() -> None:
    response = get(MemoryWeb(), "/")
    assert b'<li id="draw-item" hidden>' in response.body
    assert b'href="/draw" class="online"' not in response.body


def test_programsGetTheIndexAsBefore() -> None:
    for accept in (None, "*/*", "application/json"):
        response = get(MemoryWeb(), "/", accept)
        assert response.headers["content-type"] == "application/json"
        assert json.loads(response.body)["service"] == "randnum"
