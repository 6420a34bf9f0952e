"""
C{GET /draw} and a drawing's C{/draws/SERIAL} page, in memory: the form,
the page without signing, and the drawing embedded as data, never as HTML.
"""

from __future__ import annotations

from pathlib import Path

from httpmemory import MemoryWeb
from pagetext import get, pageData
from signers import signingServer
from twisted.internet.task import Clock

from randnum.signing.drawings import MAX_ENTRANTS, MAX_TITLE, Drawing
from randnum.signing.store import AuditStore
from randnum.web.pages.page import PAGE_HEADERS

#: Names that would run script, load an image or end the data's element if
#: they ever became HTML.
HOSTILE = (
    "<script>window.pwned = 1</script>",
    '<img src=x onerror="window.pwned = 2">',
    "</script><script>window.pwned = 3</script>",
    "Ada & <b>Grace</b>",
)


def signedWeb(tmp_path: Path) -> MemoryWeb:
    server, _, _ = signingServer(tmp_path)
    return MemoryWeb(server)


def runDrawing(web: MemoryWeb, drawing: Drawing, winners: int) -> int:
    """
    A drawing signed and stored; its serial.
    """
    audit = web.server.audit
    assert isinstance(audit, AuditStore) and isinstance(audit.clock, Clock)
    lines: list[bytes] = []
    web.server.signedDraw(drawing.query(winners), None, drawing.stored()).addCallback(
        lines.append
    )
    audit.clock.advance(0)
    audit.pool.runAll()  # type: ignore[attr-defined]
    assert len(lines) == 1
    return audit.committed


def test_theForm(tmp_path: Path) -> None:
    web = signedWeb(tmp_path)
    response = get(web, "/draw")
    assert response.status == 200
    for name, value in PAGE_HEADERS.items():
        assert response.headers[name.decode()] == value.decode()
    for element in (b'id="drawing-form"', b'id="entrants"', b'id="winners"'):
        assert element in response.body
    data = pageData(response.body)
    assert data["limits"]["maxEntrants"] == MAX_ENTRANTS
    assert data["limits"]["maxTitle"] == MAX_TITLE
    # The title's limit is said, and counted by the script: no maxlength,
    # which would cut a pasted title short without a word.
    assert b"maxlength" not in response.body
    assert b'id="max-title"' in response.body and b'id="title-count"' in response.body


def test_withoutSigningThePageSaysSo() -> None:
    response = get(MemoryWeb(), "/draw")
    assert response.status == 404
    text = response.body.decode()
    assert "does not sign draws" in text
    assert "--signing-key" in text and "public-drawings" in text
    assert 'id="drawing-form"' not in text


def test_otherPathsAndMethods(tmp_path: Path) -> None:
    web = signedWeb(tmp_path)
    assert get(web, "/draw/x").status == 404
    assert get(web, "/draw", method="HEAD").status == 200


def test_theDrawingIsEmbeddedAsDataNeverAsHTML(tmp_path: Path) -> None:
    web = signedWeb(tmp_path)
    drawing = Drawing(("Alan", *HOSTILE), "<script>alert(1)</script> raffle")
    serial = runDrawing(web, drawing, 2)
    response = get(web, f"/draws/{serial}")
    assert response.status == 200
    data = pageData(response.body)
    assert data["drawing"] == {
        "entrants": list(drawing.entrants),
        "title": drawing.title,
    }
    assert data["record"]["data"] == drawing.data
    # No name reaches the page as markup: the only "<script" elements are
    # the page's own three (its data, the verifier, the page's script).
    body = response.body.decode()
    assert body.count("<script") == 3
    assert "<img" not in body
    for name in HOSTILE:
        assert name not in body


def test_aRecordThatIsNoDrawingHasNone(tmp_path: Path) -> None:
    web = signedWeb(tmp_path)
    assert get(web, "/v1/random?signed=true", accept=None).status == 200
    serial = runDrawing(web, Drawing(("a", "b")), 1)
    assert pageData(get(web, f"/draws/{serial - 1}").body)["drawing"] is None
    assert pageData(get(web, f"/draws/{serial}").body)["drawing"] == {
        "entrants": ["a", "b"]
    }
