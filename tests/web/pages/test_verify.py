"""
C{GET /verify} in memory: the page, with the server's key when it signs.
"""

from __future__ import annotations

from pathlib import Path

from httpmemory import MemoryWeb
from pagetext import get, pageData
from signers import signingServer

from randnum.web.pages.page import PAGE_HEADERS


def test_theVerifyPage(tmp_path: Path) -> None:
    server, _, _ = signingServer(tmp_path)
    assert server.audit is not None
    for accept in (None, "application/json", "text/html"):
        response = get(MemoryWeb(server), "/verify", accept)
        assert response.status == 200
        for name, value in PAGE_HEADERS.items():
            assert response.headers[name.decode()] == value.decode()
        assert pageData(response.body) == {
            "publicKey": server.audit.signer.publicPem,
            "keyId": server.audit.signer.keyId,
        }
        for label in ('<label for="record">', '<label for="key">'):
            assert label.encode() in response.body
        assert b'id="verdict"' in response.body


def test_withoutSigningThereIsNoKeyToFillIn() -> None:
    response = get(MemoryWeb(), "/verify")
    assert response.status == 200
    assert pageData(response.body) == {"publicKey": None, "keyId": None}


def test_nothingBelowIt() -> None:
    web = MemoryWeb()
    for path in ("/verify/", "/verify/x"):
        response = get(web, path)
        assert response.status == 404
        assert response.headers["content-type"] == "text/html; charset=utf-8"
    head = get(web, "/verify", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert int(head.headers["content-length"]) > 1000
    assert get(web, "/verify", method="DELETE").status == 405


def test_theNavigationLinksToDrawingsOnlyWhereTheyRun(tmp_path: Path) -> None:
    link = b'<a href="/draw" class="online">Public drawing</a>'
    server, _, _ = signingServer(tmp_path)
    signing = MemoryWeb(server)
    for path in ("/verify", "/draw", "/draws/1", "/verify/x"):
        assert link in get(signing, path).body, path
    # A server that does not sign cannot run a drawing: no link to one.
    plain = MemoryWeb()
    for path in ("/verify", "/draw", "/draws/1"):
        body = get(plain, path).body
        assert b'<nav aria-label="randnum pages">' in body
        assert b'href="/draw"' not in body, path
