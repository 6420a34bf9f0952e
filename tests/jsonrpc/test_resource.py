# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
L{randnum.jsonrpc.resource}: RANDOM.ORG's JSON-RPC API over HTTP, with
C{--json-rpc}, in memory: the HTTP rules, the envelope's errors, each basic
method's result, and the metrics.
"""

from __future__ import annotations

import io
import json
import uuid

import pytest
from httpmemory import parseResponse
from rpcmemory import KEY, error, post, result, rpcWeb
from twisted.internet.testing import MemoryReactorClock
from twisted.python.usage import UsageError

from randnum.jsonrpc.allowances import OPEN_BITS_LEFT, OPEN_REQUESTS_LEFT
from randnum.jsonrpc.resource import MAX_BODY
from randnum.tap import Options


def test_aCallIsAnsweredWithRandomOrgsResultShape() -> None:
    answer = result(rpcWeb(), "generateIntegers", n=5, min=1, max=6)
    assert set(answer) == {
        "random",
        "bitsUsed",
        "bitsLeft",
        "requestsLeft",
        "advisoryDelay",
    }
    assert set(answer["random"]) == {"data", "completionTime"}
    data = answer["random"]["data"]
    assert len(data) == 5 and all(1 <= v <= 6 for v in data)
    assert all(type(v) is int for v in data)
    # The test clock starts at the epoch.
    assert answer["random"]["completionTime"] == "1970-01-01 00:00:00Z"
    assert answer["bitsUsed"] == 13  # ceil(5 * log2(6))
    assert answer["bitsLeft"] == OPEN_BITS_LEFT
    assert answer["requestsLeft"] == OPEN_REQUESTS_LEFT
    assert answer["advisoryDelay"] == 0


def test_releaseTwosPathAnswersToo() -> None:
    web = rpcWeb()
    body = {"jsonrpc": "2.0", "method": "generateUUIDs", "id": 1}
    body["params"] = {"apiKey": KEY, "n": 2}
    response = post(web, json.dumps(body).encode(), path="/json-rpc/2/invoke")
    assert response.status == 200
    data = json.loads(response.body)["result"]["random"]["data"]
    assert [uuid.UUID(v).version for v in data] == [4, 4]


def test_nullMeansAbsent() -> None:
    """
    As rdoclient sends every optional parameter.
    """
    answer = result(
        rpcWeb(),
        "generateIntegers",
        n=3,
        min=0,
        max=1,
        replacement=None,
        base=None,
        pregeneratedRandomization=None,
    )
    assert len(answer["random"]["data"]) == 3


@pytest.mark.parametrize(
    ("base", "digits"), [(2, "01"), (8, "01234567"), (16, "0123456789abcdef")]
)
def test_anotherBaseGivesStrings(base: int, digits: str) -> None:
    data = result(rpcWeb(), "generateIntegers", n=50, min=0, max=255, base=base)
    values = data["random"]["data"]
    assert all(isinstance(v, str) and set(v) <= set(digits) for v in values)
    assert all(0 <= int(v, base) <= 255 for v in values)


def test_sequencesUniformAndMultiform() -> None:
    web = rpcWeb()
    uniform = result(web, "generateIntegerSequences", n=3, length=4, min=1, max=9)
    assert [len(s) for s in uniform["random"]["data"]] == [4, 4, 4]
    multiform = result(
        web,
        "generateIntegerSequences",
        n=2,
        length=[2, 5],
        min=[0, 10],
        max=[1, 14],
        replacement=[True, False],
        base=[10, 16],
    )
    first, second = multiform["random"]["data"]
    assert len(first) == 2 and set(first) <= {0, 1}
    assert sorted(int(v, 16) for v in second) == [10, 11, 12, 13, 14]


def test_decimalFractionsAreExactJsonNumbers() -> None:
    web = rpcWeb()
    response = post(
        web,
        json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "generateDecimalFractions",
                "params": {"apiKey": KEY, "n": 20, "decimalPlaces": 20},
                "id": 7,
            }
        ).encode(),
    )
    text = response.body.decode()
    data = json.loads(text, parse_float=str)["result"]["random"]["data"]
    assert len(data) == 20
    for value in data:
        assert value.startswith("0.") and len(value) <= 22
        assert not value.endswith("0") or value == "0.0"
    assert len(set(data)) == 20


def test_gaussiansHaveTheirSignificantDigits() -> None:
    data = result(
        rpcWeb(),
        "generateGaussians",
        n=10,
        mean=0,
        standardDeviation=1,
        significantDigits=3,
    )["random"]["data"]
    assert len(data) == 10
    assert all(isinstance(v, (int, float)) and v == float(f"{v:.3g}") for v in data)


def test_stringsComeFromTheCharactersGiven() -> None:
    data = result(rpcWeb(), "generateStrings", n=30, length=4, characters="aé€😀")[
        "random"
    ]["data"]
    assert all(len(s) == 4 and set(s) <= set("aé€😀") for s in data)


def test_stringsWithoutReplacementAreDistinct() -> None:
    # All 16 strings of two characters from four.
    data = result(
        rpcWeb(),
        "generateStrings",
        n=16,
        length=2,
        characters="abcd",
        replacement=False,
    )["random"]["data"]
    assert sorted(data) == sorted(a + b for a in "abcd" for b in "abcd")


@pytest.mark.parametrize(("form", "length"), [("base64", 12), ("hex", 16)])
def test_blobsAreSizedInBits(form: str, length: int) -> None:
    data = result(rpcWeb(), "generateBlobs", n=3, size=64, format=form)
    assert [len(v) for v in data["random"]["data"]] == [length] * 3
    assert data["bitsUsed"] == 192


def test_getUsageInOpenMode() -> None:
    assert result(rpcWeb(), "getUsage") == {
        "status": "running",
        "creationTime": "1970-01-01 00:00:00Z",
        "bitsLeft": OPEN_BITS_LEFT,
        "requestsLeft": OPEN_REQUESTS_LEFT,
        "totalBits": 0,
        "totalRequests": 0,
        # rdoclient waits a second before its next call without it.
        "advisoryDelay": 0,
    }


def test_outOfRangeIsRandomOrgs202() -> None:
    assert error(rpcWeb(), "generateIntegers", n=100000, min=0, max=10) == {
        "code": 202,
        "message": "Parameter 'n' is out of range; allowable values are [1,10000]",
        "data": ["n", 1, 10000],
    }


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        # The official JavaScript client's tests' triggers.
        (
            "generateIntegerSequences",
            {"n": 3, "length": [3, 4, 5, 6], "min": 0, "max": 9},
            203,
        ),
        ("generateIntegerSequences", {"n": 4, "length": [1], "min": 0, "max": 9}, 204),
        ("generateIntegers", {"n": 10, "min": 10, "max": 0}, 300),
        ("generateIntegers", {"n": 20, "min": 0, "max": 9, "replacement": False}, 301),
        ("generateIntegers", {"n": "10", "min": 0, "max": 9}, 200),
        ("generateIntegers", {"n": True, "min": 0, "max": 9}, 200),
        ("generateIntegers", {"n": 1, "min": 0, "max": 9, "base": 3}, 200),
        ("generateBlobs", {"n": 1, "size": 12}, 200),
        ("generateBlobs", {"n": 2, "size": 1048576}, 202),
        (
            "generateStrings",
            {"n": 2, "length": 1, "characters": "a", "replacement": False},
            301,
        ),
        (
            "generateDecimalFractions",
            {"n": 11, "decimalPlaces": 1, "replacement": False},
            301,
        ),
        ("generateStrings", {"n": 2, "length": 1, "chars": "ab"}, -32602),
        ("generateIntegers", {"n": 1, "min": 0}, -32602),
        ("generateSignedIntegers", {"n": 1, "min": 0, "max": 1}, -32601),
        ("verifySignature", {}, -32601),
        ("createTickets", {"n": 1}, -32601),
        ("fooBar", {}, -32601),
    ],
)
def test_refusalsUseRandomOrgsCodes(
    method: str, params: dict[str, object], code: int
) -> None:
    assert error(rpcWeb(), method, **params)["code"] == code


def test_pregeneratedRandomizationIsRefusedPlainly() -> None:
    refused = error(
        rpcWeb(),
        "generateIntegers",
        n=1,
        min=0,
        max=9,
        pregeneratedRandomization={"date": "2020-01-01"},
    )
    assert refused == {
        "code": 200,
        "message": "Parameter 'pregeneratedRandomization' is malformed: randnum "
        "draws fresh values and cannot replay pregenerated ones; send null",
        "data": ["pregeneratedRandomization"],
    }


def test_aKeyIsRequiredAndAnyWellFormedOneIsAccepted() -> None:
    web = rpcWeb()
    assert error(web, "getUsage", apiKey=None)["code"] == -32602
    assert error(web, "getUsage", apiKey=42)["code"] == 200
    assert result(web, "getUsage", apiKey="anything")["status"] == "running"


@pytest.mark.parametrize(
    ("body", "code", "id"),
    [
        (b"{not json", -32700, None),
        (b"", -32700, None),
        (b"[1, 2]", -32600, None),
        (b'{"method": "getUsage", "id": 3}', -32600, 3),
        (b'{"jsonrpc": "1.0", "method": "getUsage", "id": "x"}', -32600, "x"),
        (b'{"jsonrpc": "2.0", "method": 5, "id": 4}', -32600, 4),
        (
            b'{"jsonrpc": "2.0", "method": "getUsage", "params": [1], "id": 5}',
            -32602,
            5,
        ),
    ],
)
def test_envelopeErrorsAreErrorObjectsIn200(body: bytes, code: int, id: object) -> None:
    response = post(rpcWeb(), body)
    assert response.status == 200
    document = json.loads(response.body)
    assert document["error"]["code"] == code
    assert document["id"] == id


def test_aNotificationGetsNoContent() -> None:
    body = b'{"jsonrpc": "2.0", "method": "getUsage", "params": {"apiKey": "k"}}'
    response = post(rpcWeb(), body)
    assert (response.status, response.body) == (204, b"")


def test_onlyPostIsAnswered() -> None:
    web = rpcWeb()
    response = web.fetch("/json-rpc/4/invoke")
    assert response.status == 405
    assert response.headers["allow"] == "POST"
    assert json.loads(response.body) == {
        "error": "method GET not allowed: JSON-RPC calls are POSTed"
    }


@pytest.mark.parametrize(
    "contentType",
    ["text/plain", "application/json-rpc", "application/x-www-form-urlencoded"],
)
def test_onlyJsonIsAccepted(contentType: str) -> None:
    response = post(rpcWeb(), b"{}", contentType=contentType)
    assert response.status == 415
    assert json.loads(response.body) == {
        "error": "a JSON-RPC call's Content-Type is application/json"
    }


def test_aCharsetIsFine() -> None:
    body = json.dumps(
        {"jsonrpc": "2.0", "method": "getUsage", "params": {"apiKey": KEY}, "id": 1}
    ).encode()
    response = post(rpcWeb(), body, contentType="application/json; charset=utf-8")
    assert response.status == 200


def test_aBodyOverTheCapIsRefused() -> None:
    web = rpcWeb()
    connection = web.connect()
    connection.send(
        b"POST /json-rpc/4/invoke HTTP/1.1\r\nHost: x\r\nContent-Type: "
        b"application/json\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1)
    )
    connection.turnUntil(lambda: connection.closed)
    response = parseResponse(connection.received)
    assert response.status == 413
    assert json.loads(response.body) == {
        "error": f"request body too large: at most {MAX_BODY} bytes here"
    }


def test_aVerifySignatureSizedBodyIsRead() -> None:
    """
    About what a signed result of 10,000 integers takes.
    """
    padding = "x" * 60_000
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "verifySignature",
            "params": {"random": {"data": padding}, "signature": "s"},
            "id": 1,
        }
    ).encode()
    response = post(rpcWeb(), body)
    assert response.status == 200
    assert json.loads(response.body)["error"]["code"] == -32601


def test_withoutTheOptionThereIsNoEndpoint() -> None:
    web = rpcWeb(jsonRpc=False)
    assert post(web, b"{}").status == 404
    assert web.fetch("/json-rpc/4/invoke").status == 404


def test_callsAreCountedByMethodAndOutcome() -> None:
    web = rpcWeb()
    result(web, "generateIntegers", n=2, min=1, max=6)
    error(web, "generateIntegers", n=0, min=1, max=6)
    error(web, "noSuchMethod")
    post(web, b"{}", contentType="text/plain")
    metrics = web.fetch("/metrics").body.decode()
    for line in (
        'randnum_jsonrpc_requests_total{method="generateIntegers",outcome="ok"} 1.0',
        'randnum_jsonrpc_requests_total{method="generateIntegers",outcome="202"} 1.0',
        'randnum_jsonrpc_requests_total{method="unknown",outcome="-32601"} 1.0',
        'randnum_jsonrpc_requests_total{method="unknown",outcome="http_415"} 1.0',
    ):
        assert line in metrics


def test_aCallIsChargedToItsClientsShare() -> None:
    web = rpcWeb()
    shares = web.server.shares
    spent: list[int] = []
    original = shares.spend

    def spend(key: str, cost: int) -> None:
        spent.append(cost)
        original(key, cost)

    shares.spend = spend  # type: ignore[method-assign]
    small = result(web, "generateIntegers", n=1, min=1, max=6)
    large = result(web, "generateIntegers", n=10000, min=1, max=6)
    assert small and large
    assert spent[1] - spent[0] > 10000
    # A long call costs its length to read, whatever it is answered.
    refused = error(web, "generateIntegers", n=1, min=1, max=6, padding="x" * 60000)
    assert refused["code"] == -32602
    assert spent[2] > 60000 + 2048


def test_theOptionTurnsItOn() -> None:
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(["--http", "8080", "--json-rpc"])
    assert options.config.jsonRpc


def test_jsonRpcNeedsTheHttpFace() -> None:
    options = Options(reactor=MemoryReactorClock())
    with pytest.raises(UsageError) as refused:
        options.parseOptions(["--json-rpc"])
    assert str(refused.value) == (
        "--json-rpc is served on the HTTP face: it needs --http PORT"
    )


def test_callCountsAddUpAcrossWorkers() -> None:
    """
    With C{--workers}, each worker's counts reach the metrics as rows.
    """
    from randnum.stats import emptyFaces
    from randnum.workers.messages import addRows, countRows

    worker = emptyFaces()
    worker["http"].jsonRpcCalls["getUsage ok"] += 2  # type: ignore[attr-defined]
    whole = emptyFaces()
    addRows(whole, countRows(worker))
    addRows(whole, countRows(worker))
    assert whole["http"].jsonRpcCalls == {"getUsage ok": 4}  # type: ignore[attr-defined]


def test_anIdNoJsonCanEchoIsAnInvalidRequest() -> None:
    """
    An id of 1e999 reads as infinity: refused, and the answer is JSON
    (no C{Infinity}).
    """
    body = b'{"jsonrpc":"2.0","method":"getUsage","params":{"apiKey":"k"},"id":1e999}'
    response = post(rpcWeb(), body)

    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    document = json.loads(response.body, parse_constant=refuse)
    assert document["id"] is None
    assert document["error"]["code"] == -32600


def test_aLargeBodyIsKeptInMemoryNotInAFile() -> None:
    """
    twisted.web would give a body of 100,000 bytes or more a temporary
    file: a descriptor a connection, which a client holding many could run
    out.
    """
    web = rpcWeb()
    connection = web.connect()
    connection.send(
        b"POST /json-rpc/4/invoke HTTP/1.1\r\nHost: x\r\nContent-Type: "
        b"application/json\r\nContent-Length: %d\r\n\r\n" % MAX_BODY
    )
    request = connection.protocol.requests[-1]  # type: ignore[attr-defined]
    assert isinstance(request.content, io.BytesIO)


def test_aLargeAnswerIsSentAPieceATurnWhileOthersAreAnswered() -> None:
    # The attack run's finding: a call was answered whole, so 10,000
    # strings of 32 held every other client for 26-43 ms.  Now it is made
    # a work budget a turn, and another address's request is answered
    # before it is done.
    web = rpcWeb()
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "generateStrings",
            "params": {
                "apiKey": KEY,
                "n": 10000,
                "length": 32,
                "characters": "abcdefghijklmnopqrstuvwxyz",
            },
            "id": 1,
        }
    ).encode()
    large = web.connect("10.0.0.1")
    large.send(
        b"POST /json-rpc/4/invoke HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % len(body)
        + body
    )
    other = web.connect("10.0.0.2")
    other.send(b"GET /v1/random HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    other.turnUntil(lambda: other.closed)
    assert b" 200 " in other.received.split(b"\r\n", 1)[0]
    assert not large.closed
    large.turnUntil(lambda: large.closed)
    response = parseResponse(large.received, "POST")
    assert response.status == 200
    data = json.loads(response.body)["result"]["random"]["data"]
    assert len(data) == 10000 and all(len(value) == 32 for value in data)


def test_aLargeAnswerGivesUpWhenTheClientLeaves() -> None:
    web = rpcWeb()
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "generateStrings",
            "params": {"apiKey": KEY, "n": 10000, "length": 32, "characters": "ab"},
            "id": 1,
        }
    ).encode()
    connection = web.connect()
    connection.send(
        b"POST /json-rpc/4/invoke HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % len(body)
        + body
    )
    connection.turn(2)
    sent = len(connection.received)
    assert sent
    connection.close()
    connection.turn(5)
    assert len(connection.received) == sent
    assert not web.server.http.numbers


@pytest.mark.parametrize(
    ("jsonRpc", "path", "says"),
    [
        (True, "/json-rpc/invoke", "JSON-RPC calls go to /json-rpc/4/invoke"),
        (True, "/json-rpc/4/invoke/", "JSON-RPC calls go to /json-rpc/4/invoke"),
        (False, "/json-rpc/4/invoke", "start the server with --json-rpc"),
    ],
)
def test_aCallSentWhereNoneIsServedIsToldWhere(
    jsonRpc: bool, path: str, says: str
) -> None:
    # It was a 405 "method POST not allowed", and rdoclient failed reading
    # it: it reads a JSON-RPC error object whatever the status.
    response = post(rpcWeb(jsonRpc), b'{"jsonrpc":"2.0"}', path=path)
    assert response.status == 404
    error = json.loads(response.body)["error"]
    assert error["code"] == -32601
    assert says in error["message"]
