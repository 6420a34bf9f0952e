"""
C{/v1/drawings}, in memory: a public drawing POSTed, signed, stored with
its entrants, and read back; every refusal a JSON 4xx, whatever the body.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from httpmemory import MemoryWeb, parseResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import Response
from signers import ManualPool, signingServer

from randnum.rates import AddressRates
from randnum.signing.drawings import MAX_BODY
from randnum.signing.records import canonical, parseRecord, verifyRecord
from randnum.signing.store import AuditStore


def post(
    web: MemoryWeb,
    body: bytes,
    contentType: str = "application/json",
    host: str = "127.0.0.1",
    path: str = "/v1/drawings",
    method: str = "POST",
) -> Response:
    """
    One request with a body, answered (the audit store committing as the
    server asks).
    """
    connection = web.connect(host)
    connection.send(
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Type: {contentType}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    pool = getattr(web.server.audit, "pool", None)

    def answered() -> bool:
        if isinstance(pool, ManualPool):
            pool.runAll()
        return connection.closed

    connection.turnUntil(answered)
    connection.close()
    return parseResponse(connection.received, method)


def fetch(web: MemoryWeb, path: str) -> Response:
    return post(web, b"", path=path, method="GET")


@pytest.fixture
def web(tmp_path: Path) -> MemoryWeb:
    server, _, _ = signingServer(tmp_path)
    return MemoryWeb(server)


def drawingBody(**members: Any) -> bytes:
    return json.dumps(members).encode()


def test_aDrawingIsSignedStoredAndReadBack(web: MemoryWeb) -> None:
    names = ["Ada", "<script>alert(1)</script>", "Grace", "Zoë", "Alan"]
    response = post(web, drawingBody(entrants=names, winners=3, title="Raffle"))
    assert response.status == 200, response.body
    answer = response.json()
    assert isinstance(answer, dict)
    serial = answer["serial"]
    assert answer["permalink"] == f"/draws/{serial}"
    assert answer["entrants"] == names
    assert answer["title"] == "Raffle"
    record = answer["record"]
    audit = web.server.audit
    assert isinstance(audit, AuditStore)
    verifyRecord(record, {audit.signer.keyId: audit.signer.publicKey})
    digest = hashlib.sha256(canonical(names)).hexdigest()
    assert record["data"] == f"drawing entrants=5 sha256={digest}; Raffle"
    assert record["request"] == {
        "type": "int",
        "n": 3,
        "min": 1,
        "max": 5,
        "unique": True,
    }
    assert answer["winners"] == [
        {"index": i, "entrant": names[i - 1]} for i in record["values"]
    ]
    # The record is the stored one, byte for byte.
    stored = fetch(web, f"/v1/draws/{serial}")
    assert parseRecord(stored.body) == record
    assert canonical(record) + b"\n" == stored.body
    again = fetch(web, f"/v1/drawings/{serial}")
    assert (again.status, again.json()) == (200, answer)


def test_entrantsAsText(web: MemoryWeb) -> None:
    response = post(web, drawingBody(entrantsText=" a \n\nb\r\nc\n", winners=3))
    answer = response.json()
    assert isinstance(answer, dict)
    assert (answer["entrants"], answer["title"]) == (["a", "b", "c"], None)
    assert sorted(w["index"] for w in answer["winners"]) == [1, 2, 3]


def test_aRecordThatIsNoDrawing(web: MemoryWeb) -> None:
    post(web, drawingBody(entrants=["a"], winners=1))
    assert fetch(web, "/v1/random?signed=true").status == 200
    response = fetch(web, "/v1/drawings/2")
    assert (response.status, response.json()) == (
        404,
        {"error": "no drawing with serial 2"},
    )
    assert fetch(web, "/v1/drawings/99").status == 404
    assert fetch(web, "/v1/drawings/x").status == 400
    assert fetch(web, "/v1/drawings/1/2").status == 404


@pytest.mark.parametrize(
    "body, contentType, status, reason",
    [
        (b'{"entrants": ["a"], "winners": 2}', "application/json", 400,
         "winners must be between 1 and 1, the number of entrants"),
        (b'{"entrantsText": "a\\u0000", "winners": 1}', "application/json", 400,
         "line 1 holds a control or invisible character (U+0000)"),
        (b"entrants=a", "application/x-www-form-urlencoded", 415,
         "a drawing is POSTed as JSON (application/json)"),
    ],
)  # fmt: skip
def test_refusals(
    web: MemoryWeb, body: bytes, contentType: str, status: int, reason: str
) -> None:
    response = post(web, body, contentType)
    assert (response.status, response.json()) == (status, {"error": reason})


def test_methods(web: MemoryWeb) -> None:
    response = fetch(web, "/v1/drawings")
    assert response.status == 405
    assert response.headers["allow"] == "POST"
    response = post(web, b"{}", path="/v1/drawings/1")
    assert response.status in (405, 413)


def test_tooLargeABody(web: MemoryWeb) -> None:
    response = post(web, b" " * (MAX_BODY + 1))
    assert response.status == 413


def test_withoutSigning() -> None:
    web = MemoryWeb()
    for response in (
        post(web, drawingBody(entrants=["a"], winners=1)),
        fetch(web, "/v1/drawings/1"),
    ):
        assert (response.status, response.json()) == (
            404,
            {"error": "signing is not enabled"},
        )


def test_theSignedDrawRateIsCharged(web: MemoryWeb) -> None:
    server = web.server
    # One signed draw in 100 s per address (a burst of one).
    server.signedRates = AddressRates(0.01, lambda: server.clock.seconds())
    body = drawingBody(entrants=["a", "b"], winners=1)
    assert post(web, body, host="10.0.0.1").status == 200
    limited = post(web, body, host="10.0.0.1")
    assert limited.status == 429
    assert limited.headers["retry-after"] == "100"
    assert limited.json() == {"error": "rate limited, retry in 100 s"}
    assert post(web, body, host="10.0.0.2").status == 200


def test_aLargeDrawingCostsSignedDrawsByItsSize(web: MemoryWeb) -> None:
    server = web.server
    # A bucket of 5 signed draws, refilled at one in 2 s.
    server.signedRates = AddressRates(0.5, lambda: server.clock.seconds())
    # About 200 KiB stored: four draws' worth.
    names = [f"{i:04d}" + "x" * 196 for i in range(1000)]
    large = drawingBody(entrants=names, winners=1)
    assert post(web, large, host="10.0.0.1").status == 200
    small = drawingBody(entrants=["a", "b"], winners=1)
    assert post(web, small, host="10.0.0.1").status == 200
    limited = post(web, small, host="10.0.0.1")
    assert limited.status == 429
    assert limited.headers["retry-after"] == "2"


def test_signedDrawsMayNotPassForDrawings(web: MemoryWeb) -> None:
    data = "drawing entrants=2 sha256=" + "0" * 64
    response = fetch(web, f"/v1/random?signed=true&data={data.replace(' ', '%20')}")
    assert response.status == 400
    assert response.json() == {
        "error": "data of the form 'drawing entrants=N sha256=...' is kept for "
        "public drawings (POST /v1/drawings)"
    }
    # Other data about drawings is anyone's.
    ok = fetch(web, "/v1/random?signed=true&data=drawing%20of%20the%20raffle")
    assert ok.status == 200


def test_aFullStoreIs503(web: MemoryWeb) -> None:
    audit = web.server.audit
    assert isinstance(audit, AuditStore)
    audit.maxSize = 1
    response = post(web, drawingBody(entrants=["a"], winners=1))
    assert (response.status, response.json()) == (503, {"error": "audit store full"})


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.dictionaries(
            st.sampled_from(["entrants", "entrantsText", "winners", "title", "x"]),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers(-3, 12)
                | st.floats(allow_nan=False)
                | st.text(max_size=30),
                lambda inner: st.lists(inner, max_size=6),
                max_leaves=12,
            ),
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_noBodyGetsATraceback(web: MemoryWeb, body: bytes) -> None:
    response = post(web, body)
    if response.status == 200:
        answer = response.json()
        assert isinstance(answer, dict) and answer["winners"]
        return
    assert response.status in (400, 429)
    error = response.json()
    assert isinstance(error, dict) and set(error) == {"error"}
