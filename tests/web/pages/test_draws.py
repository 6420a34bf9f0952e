"""
C{/draws/SERIAL} in memory: a page for a browser, the JSON of
C{/v1/draws/SERIAL} (byte for byte, status for status) for anyone else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from httpmemory import MemoryWeb
from pagetext import get, pageData
from signers import drawn, signingServer

from randnum.query import INT64_MAX, Query
from randnum.signing.records import GENESIS
from randnum.signing.store import AuditStore
from randnum.web.answers import MISS_COST
from randnum.web.channel import REQUEST_COST
from randnum.web.pages.draws import DrawPage
from randnum.web.pages.page import PAGE_HEADERS


def signedWeb(tmp_path: Path, count: int = 3) -> tuple[MemoryWeb, AuditStore]:
    server, _, _ = signingServer(tmp_path)
    assert isinstance(server.audit, AuditStore)
    drawn(server.audit, count)
    return MemoryWeb(server), server.audit


def assertPage(response: object, status: int) -> None:
    assert getattr(response, "status") == status  # noqa: B009
    headers = getattr(response, "headers")  # noqa: B009
    for name, value in PAGE_HEADERS.items():
        assert headers[name.decode()] == value.decode()


def test_aBrowserGetsThePage(tmp_path: Path) -> None:
    web, store = signedWeb(tmp_path)
    response = get(web, "/draws/2")
    assertPage(response, 200)
    assert response.headers["vary"] == "Accept"
    data = pageData(response.body)
    records = [json.loads(get(web, f"/v1/draws/{n}").body) for n in (1, 2)]
    assert data == {
        "record": records[1],
        "previous": records[0],
        "previousSerial": 1,
        "nextSerial": 3,
        "publicKey": store.signer.publicPem,
        "keyId": store.signer.keyId,
        "drawing": None,
    }


def test_theEndsOfTheChain(tmp_path: Path) -> None:
    web, _ = signedWeb(tmp_path)
    first = pageData(get(web, "/draws/1").body)
    assert (first["previous"], first["previousSerial"], first["nextSerial"]) == (
        None,
        None,
        2,
    )
    assert first["record"]["prev"] == GENESIS
    last = pageData(get(web, "/draws/3").body)
    assert (last["previousSerial"], last["nextSerial"]) == (2, None)


@pytest.mark.parametrize(
    "path", ["/draws/2", "/draws/9", "/draws/x", "/draws", "/draws/1/2", "/draws/0"]
)
@pytest.mark.parametrize(
    "accept", [None, "*/*", "application/json", "application/json, text/html"]
)
def test_otherClientsGetTheJSONAsBefore(
    tmp_path: Path, path: str, accept: str | None
) -> None:
    web, _ = signedWeb(tmp_path)
    ours = get(web, path, accept)
    api = get(web, "/v1" + path, accept)
    assert (ours.status, ours.body) == (api.status, api.body)
    assert ours.headers["content-type"] == api.headers["content-type"]
    assert ours.headers["vary"] == "Accept"


def test_theJSONAsBefore(tmp_path: Path) -> None:
    web, _ = signedWeb(tmp_path)
    response = get(web, "/draws/2", None)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body)["serial"] == 2


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/draws/9", 404, b"There is no draw with serial 9."),
        ("/draws/0", 404, b"There is no draw with serial 0."),
        (
            "/draws/x",
            400,
            "\u201cx\u201d is not a serial: the serial of a draw is a "
            "whole number, as in /draws/12.".encode(),
        ),
        (
            "/draws/99999999999999999999",
            404,
            b"There is no draw with serial 99999999999999999999.",
        ),
        ("/draws", 404, b"There is no page here."),
        ("/draws/", 404, b"There is no page here."),
        ("/draws/1/2", 404, b"There is no page here."),
    ],
)
def test_noSuchDrawIsAPage(
    tmp_path: Path, path: str, status: int, words: bytes
) -> None:
    web, _ = signedWeb(tmp_path)
    response = get(web, path)
    assertPage(response, status)
    assert words in response.body
    assert b"page-data" in response.body


def test_aPageThatOnlySaysSomethingCarriesNoVerifier(tmp_path: Path) -> None:
    web, _ = signedWeb(tmp_path)
    response = get(web, "/draws/9")
    assertPage(response, 404)
    assert b"randnumVerify" not in response.body
    assert b"Every check on this page" not in response.body
    assert len(response.body) < 20_000
    page = get(web, "/draws/1")
    assert b"randnumVerify" in page.body


def test_withoutSigning() -> None:
    web = MemoryWeb()
    response = get(web, "/draws/1")
    assertPage(response, 404)
    assert b"Signing is not enabled" in response.body
    assert b'href="/draw"' not in response.body
    # Nor on any page of a server that does not sign.
    for path in ("/verify/", "/verify/x", "/draw/x"):
        assert b'href="/draw"' not in get(web, path).body, path
    assert get(web, "/draws/1", "application/json").json() == {
        "error": "signing is not enabled"
    }


def test_otherMethods(tmp_path: Path) -> None:
    web, _ = signedWeb(tmp_path)
    response = get(web, "/draws/1", method="POST")
    assertPage(response, 405)
    assert response.headers["allow"] == "GET, HEAD"
    api = get(web, "/draws/1", None, method="POST")
    assert (api.status, api.json()) == (405, {"error": "method POST not allowed"})


def test_head(tmp_path: Path) -> None:
    web, _ = signedWeb(tmp_path)
    response = get(web, "/draws/2", method="HEAD")
    assertPage(response, 200)
    assert response.body == b""


def test_anUnreadableStore(tmp_path: Path) -> None:
    web, store = signedWeb(tmp_path)
    store.pool.breakNext = 3  # type: ignore[attr-defined]
    response = get(web, "/draws/2")
    assertPage(response, 503)
    assert b"unavailable just now" in response.body


def test_dataThatLooksLikeMarkupStaysText(tmp_path: Path) -> None:
    server, _, _ = signingServer(tmp_path)
    assert isinstance(server.audit, AuditStore)
    hostile = "</script><script>alert(1)</script><!--"
    lines: list[bytes] = []
    server.audit.issue(Query(signed=True), [1], hostile).addCallback(lines.append)
    server.clock.advance(0)  # type: ignore[attr-defined]
    server.audit.pool.runAll()  # type: ignore[attr-defined]
    web = MemoryWeb(server)
    response = get(web, "/draws/1")
    assert response.status == 200
    assert b"<script>alert(1)" not in response.body
    assert b"</script><script>" not in response.body
    assert pageData(response.body)["record"]["data"] == hostile


def drawPage(web: MemoryWeb) -> DrawPage:
    page = web.site.resource.children[b"draws"]
    assert isinstance(page, DrawPage)
    return page


def test_theLargestSerialIsNotFound(tmp_path: Path) -> None:
    # No record can follow it: its page asks for none (serial + 1 would
    # overflow SQLite's integer, a 503), and says 404 as the JSON does.
    web, _ = signedWeb(tmp_path)
    path = f"/draws/{INT64_MAX}"
    response = get(web, path)
    assertPage(response, 404)
    assert f"There is no draw with serial {INT64_MAX}.".encode() in response.body
    assert get(web, path, "application/json").status == 404
    assert get(web, f"/draws/{INT64_MAX + 1}").status == 404


def test_aPageIsMadeOnceAndServedAsTheSameBytes(tmp_path: Path) -> None:
    web, _ = signedWeb(tmp_path)
    answers = drawPage(web).answers
    first = get(web, "/draws/2")
    second = get(web, "/draws/2")
    assert first.body == second.body
    assert answers.get(("page", 2, True)) == first.body
    assert (answers.misses, len(answers)) == (1, 1)
    assert first.headers["content-length"] == str(len(first.body))


def test_theLinkToTheNextDrawAppearsOnceThereIsOne(tmp_path: Path) -> None:
    web, store = signedWeb(tmp_path)
    assert pageData(get(web, "/draws/3").body)["nextSerial"] is None
    assert pageData(get(web, "/draws/3").body)["nextSerial"] is None
    drawn(store, 1)
    assert pageData(get(web, "/draws/3").body)["nextSerial"] == 4
    answers = drawPage(web).answers
    assert answers.get(("page", 3, True)) is not None


def test_aPageIsChargedToItsReader(tmp_path: Path) -> None:
    web, _ = signedWeb(tmp_path)
    shares = web.server.shares
    spend = shares.spend
    charges: list[int] = []

    def recording(key: str, cost: int) -> None:
        charges.append(cost)
        spend(key, cost)

    shares.spend = recording  # type: ignore[method-assign]
    made = get(web, "/draws/2")  # read and made: charged when written
    # The page's making is charged before it is made (its size unknown
    # yet: a turn's work), then its writing.
    assert len(made.body) < MISS_COST
    assert charges == [REQUEST_COST, MISS_COST, len(made.body)]
    charges.clear()
    again = get(web, "/draws/2")  # found made: charged with the request
    assert charges == [REQUEST_COST + len(again.body)]
    charges.clear()
    verify = get(web, "/verify")  # made at once: charged with the request
    assert charges == [REQUEST_COST + len(verify.body)]
