"""
C{/v1/drawings}, in memory: a public drawing POSTed, signed, stored with
its entrants, and read back; every refusal a JSON 4xx, whatever the body.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from httpmemory import MemoryWeb, parseResponse, responseComplete
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from loopback import Loopback, TurnClock
from servers import Response
from signers import ManualPool, makeStore, signingServer

from randnum.generation.source import seededSource
from randnum.limits import Limits
from randnum.metrics import metricsRegistry
from randnum.rates import AddressRates
from randnum.server import RandnumServer
from randnum.signing.drawings import MAX_BODY, Drawing, parseRequest
from randnum.signing.records import canonical, parseRecord, verifyRecord
from randnum.signing.store import AuditStore
from randnum.web.answering import ANSWER_PIECE
from randnum.web.answers import MISS_COST, AnswerCache
from randnum.web.channel import REQUEST_COST, RandnumChannel
from randnum.web.drawings import DrawingsResource, drawingAnswer
from randnum.web.site import webSite


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


def test_aClientOverItsRateCostsNoParse(
    web: MemoryWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = web.server
    server.signedRates = AddressRates(0.01, lambda: server.clock.seconds())
    body = drawingBody(entrants=["a", "b"], winners=1)
    assert post(web, body, host="10.0.0.1").status == 200
    parsed: list[bytes] = []

    def counted(body: bytes) -> Any:
        parsed.append(body)
        return parseRequest(body)

    monkeypatch.setattr("randnum.web.drawings.parseRequest", counted)
    limited = post(web, body, host="10.0.0.1")
    assert (limited.status, parsed) == (429, [])
    assert post(web, body, host="10.0.0.2").status == 200
    assert parsed == [body]


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


# Reading a drawing back: made once, charged to its reader, written while
# the reader reads (issue 26, M2).


def bigDrawing(web: MemoryWeb, entrants: int = 3000) -> tuple[int, bytes]:
    """
    POST a drawing whose answer is well over one piece; its serial and
    its answer.
    """
    names = [f"{i:05d}" + "x" * 55 for i in range(entrants)]
    response = post(web, drawingBody(entrants=names, winners=3, title="Big"))
    assert response.status == 200
    assert len(response.body) > 2 * ANSWER_PIECE
    answer = response.json()
    assert isinstance(answer, dict)
    return answer["serial"], response.body


def answerCache(web: MemoryWeb) -> AnswerCache:
    """
    The cache of the site's drawings.
    """
    resource = web.site.resource.children[b"v1"].children[b"drawings"]
    assert isinstance(resource, DrawingsResource)
    return resource.answers


def spending(web: MemoryWeb) -> list[tuple[str, int]]:
    """
    Every charge to a client's share from now on, as it is made.
    """
    shares = web.server.shares
    spend = shares.spend
    charges: list[tuple[str, int]] = []

    def recording(key: str, cost: int) -> None:
        charges.append((key, cost))
        spend(key, cost)

    shares.spend = recording  # type: ignore[method-assign]
    return charges


def test_aDrawingIsReadOnceAndServedAsTheSameBytes(web: MemoryWeb) -> None:
    serial, posted = bigDrawing(web)
    answers = answerCache(web)
    first = fetch(web, f"/v1/drawings/{serial}")
    second = fetch(web, f"/v1/drawings/{serial}")
    assert first.body == second.body == posted
    assert first.headers["content-length"] == str(len(posted))
    assert (answers.misses, answers.hits, len(answers)) == (1, 1, 1)
    assert answers.get(("drawing", serial)) == posted
    # A serial that is no drawing is asked of the store each time (one
    # stored later is found), and kept nowhere.
    assert fetch(web, "/v1/drawings/99").status == 404
    assert fetch(web, "/v1/drawings/99").status == 404
    assert (answers.misses, len(answers)) == (3, 1)


def test_readingADrawingBackIsChargedToItsReader(web: MemoryWeb) -> None:
    serial, posted = bigDrawing(web)
    for making in (True, False):  # read from the store, then found made
        charges = spending(web)
        fetch(web, f"/v1/drawings/{serial}")
        # The request (and, to make the answer, a turn's work before it is
        # made, the rest once made), then each piece of the answer as it
        # is written.
        if making:
            assert charges[0] == ("127.0.0.1", REQUEST_COST + MISS_COST)
            assert charges[1] == ("127.0.0.1", len(posted) - MISS_COST)
            charges = charges[1:]
        else:
            assert charges[0] == ("127.0.0.1", REQUEST_COST)
        pieces = [cost for _, cost in charges[1:]]
        assert sum(pieces) == len(posted)
        assert max(pieces) == ANSWER_PIECE
        assert {key for key, _ in charges} == {"127.0.0.1"}


def test_aSmallAnswerIsChargedWhole(web: MemoryWeb) -> None:
    post(web, drawingBody(entrants=["a", "b"], winners=1))
    posted = fetch(web, "/v1/drawings/1").body
    assert len(posted) < ANSWER_PIECE
    for _ in range(2):  # found made now: charged with the request
        charges = spending(web)
        fetch(web, "/v1/drawings/1")
        assert charges == [("127.0.0.1", REQUEST_COST + len(posted))]
    charges = spending(web)
    fetch(web, "/v1/drawings/99")  # read, later: charged when written
    # (Looking for it is charged as making an answer, before it is read.)
    assert charges[0] == ("127.0.0.1", REQUEST_COST + MISS_COST)
    assert charges[1][1] == len(b'{"error":"no drawing with serial 99"}\n')


def turnServer(tmp_path: Path, **limits: Any) -> tuple[RandnumServer, ManualPool]:
    """
    A signing server whose clock runs one reactor turn at a time.
    """
    clock = TurnClock()
    clock.advance(1_764_000_000)
    store, pool = makeStore(tmp_path, clock)
    server = RandnumServer(
        source=seededSource(1), clock=clock, audit=store, limits=Limits(**limits)
    )
    return server, pool


def test_aLargeAnswerIsWrittenAPieceATurn(tmp_path: Path) -> None:
    server, _ = turnServer(tmp_path)
    web = MemoryWeb(server)
    serial, posted = bigDrawing(web)
    fetch(web, f"/v1/drawings/{serial}")  # made and kept
    connection = web.connect()
    connection.send(f"GET /v1/drawings/{serial} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    sizes = []
    while not responseComplete(connection.received):
        connection.turn()
        sizes.append(len(connection.received))
        assert len(sizes) < 100
    growth = [after - before for before, after in itertools.pairwise(sizes)]
    assert max(growth) <= ANSWER_PIECE
    assert len([g for g in growth if g]) >= len(posted) // ANSWER_PIECE
    assert parseResponse(connection.received).body == posted


def test_headSaysTheLength(web: MemoryWeb) -> None:
    serial, posted = bigDrawing(web)
    for _ in range(2):  # read from the store, then found made
        response = post(web, b"", path=f"/v1/drawings/{serial}", method="HEAD")
        assert response.status == 200
        assert response.headers["content-length"] == str(len(posted))
        assert response.body == b""


def test_aReaderThatNeverReadsHoldsAPieceNotTheAnswers(tmp_path: Path) -> None:
    server, pool = turnServer(tmp_path, idleTimeout=30)
    clock = server.clock
    assert isinstance(clock, TurnClock)
    serial, posted = bigDrawing(MemoryWeb(server))
    site = webSite(server, metricsRegistry(server))
    loopback = Loopback(site, clock)
    resource = site.resource.children[b"v1"].children[b"drawings"]
    assert isinstance(resource, DrawingsResource)
    request = f"GET /v1/drawings/{serial} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    stalled = loopback.connect(small=True)
    asked: list[object] = []
    answer = resource.answers.answer

    def counted(key: Any, make: Any, *rest: Any) -> Any:
        asked.append(key)
        return answer(key, make, *rest)

    resource.answers.answer = counted  # type: ignore[method-assign,assignment]
    stalled.send(request * 20)
    reader = loopback.connect("127.0.0.2")
    reader.send(request)
    channel = loopback.protocols[0]
    assert isinstance(channel, RandnumChannel)
    transport: Any = channel.transport
    for _ in range(300):
        loopback.turn()
        pool.runAll()
        reader.read()
        held = len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        # Not the whole answer (three pieces), let alone twenty.
        assert held <= 2 * ANSWER_PIECE
    assert parseResponse(reader.received).body == posted
    # Its first answer is not all written, and the others wait unasked.
    assert len(asked) == 2
    # A client that reads nothing for the idle timeout is let go.
    clock.advance(31)
    loopback.turn(3)
    stalled.read()
    assert stalled.ended == "RST"
    loopback.close()


@pytest.mark.parametrize("path", ["/v1/drawings", "/v1/random?signed=true"])
def test_429SaysTooManyRequests(web: MemoryWeb, path: str) -> None:
    server = web.server
    server.signedRates = AddressRates(0.01, lambda: server.clock.seconds())
    server.signedRates.take("127.0.0.1")  # its burst is spent
    connection = web.connect()
    body = drawingBody(entrants=["a"], winners=1)
    method = "POST" if path == "/v1/drawings" else "GET"
    connection.send(
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) if method == 'POST' else 0}\r\n\r\n".encode()
        + (body if method == "POST" else b"")
    )
    connection.turnUntilAnswered()
    assert connection.received.startswith(b"HTTP/1.1 429 Too Many Requests\r\n")


# One address's misses are made one at a time (issue 26, attack finding):
# fifty connections cycling through more drawings than the cache holds
# once had each of their answers made back to back in one turn.


def test_oneAddressReadsOneDrawingAtATime(tmp_path: Path) -> None:
    server, pool = turnServer(tmp_path)
    clock = server.clock
    assert isinstance(clock, TurnClock)
    web = MemoryWeb(server)
    bodies: dict[int, bytes] = {}
    for n in range(4):
        response = post(web, drawingBody(entrants=[f"e{n}", "f"], winners=1))
        answer = response.json()
        assert isinstance(answer, dict)
        bodies[answer["serial"]] = response.body
    loopback = Loopback(webSite(server, metricsRegistry(server)), clock)
    readers = {}
    for serial in bodies:
        readers[serial] = loopback.connect()
        readers[serial].send(
            f"GET /v1/drawings/{serial} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
    other = loopback.connect("127.0.0.2")
    first = next(iter(bodies))
    other.send(f"GET /v1/drawings/{first} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    reads = []
    for _ in range(100):
        loopback.turn()
        reads.append(len(pool.pending))
        if pool.pending:
            pool.runNext()
        for reader in [*readers.values(), other]:
            reader.read()
    # 127.0.0.1 reads one drawing at a time; 127.0.0.2 waits for the one
    # it asks for, being read for 127.0.0.1 already.
    assert max(reads) == 1
    for serial, reader in readers.items():
        assert parseResponse(reader.received).body == bodies[serial]
    assert parseResponse(other.received).body == bodies[first]
    loopback.close()


def encodedAfresh(record: bytes, stored: bytes) -> bytes:
    """
    A drawing's answer as it was first made: every member encoded afresh
    with C{json.dumps}.
    """
    drawing = Drawing.fromStored(stored)
    parsed = json.loads(record)
    serial = parsed["serial"]
    head = json.dumps(
        {"serial": serial, "permalink": f"/draws/{serial}"},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    tail = json.dumps(
        {
            "title": drawing.title,
            "entrants": list(drawing.entrants),
            "winners": drawing.winners(parsed["values"]),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    text = head[:-1] + ',"record":' + record.decode("utf-8") + "," + tail[1:]
    return text.encode("utf-8") + b"\n"


#: Names that are hard to cut out of a canonical list: quotes, escapes,
#: and what looks like the list's own structure.
_tricky = st.lists(
    st.sampled_from(['"', "\\", ",", "]", '","', '],"title":', "\t", "é", "😀", "a"]),
    max_size=6,
).map("".join)


@given(
    entrants=st.lists(st.one_of(_tricky, st.text(max_size=8)), min_size=1, max_size=12),
    title=st.one_of(st.none(), _tricky),
    data=st.data(),
)
@settings(max_examples=300)
def test_anAnswerIsAsEncodedAfresh(
    entrants: list[str], title: str | None, data: st.DataObject
) -> None:
    # Names with surrogates have no UTF-8, and are refused before storing.
    assume(all(not 0xD800 <= ord(c) <= 0xDFFF for c in "".join(entrants)))
    drawing = Drawing(tuple(entrants), title)
    values = data.draw(st.permutations(range(1, len(entrants) + 1)))
    record = canonical(
        {
            "serial": 12,
            "values": values[: data.draw(st.integers(1, len(values)))],
            "data": drawing.data,
        }
    )
    stored = drawing.stored()
    assert drawingAnswer(record, stored) == encodedAfresh(record, stored)


def test_theLargestAnswerIsAsEncodedAfresh() -> None:
    names = [f"{i:05d}" + "x" * 44 for i in range(10_000)]
    drawing = Drawing(tuple(names), "T" * 150)
    values = list(range(10_000, 0, -1))
    record = canonical({"serial": 3, "values": values, "data": drawing.data})
    stored = drawing.stored()
    assert drawingAnswer(record, stored) == encodedAfresh(record, stored)
