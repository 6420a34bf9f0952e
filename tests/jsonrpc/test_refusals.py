"""
Whatever a client sends, a call is answered with a result or a clean
RANDOM.ORG error: never a 500, never an internal error, never a hung
connection (the review's probes, and properties over any parameters).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from httpmemory import parseResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rpcmemory import KEY, SignedWeb, post, rpcWeb

from randnum.jsonrpc.methods import METHODS

#: Any JSON value, small.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)

NAMES = st.sampled_from(
    [
        "n",
        "min",
        "max",
        "replacement",
        "base",
        "length",
        "decimalPlaces",
        "mean",
        "standardDeviation",
        "significantDigits",
        "characters",
        "size",
        "format",
        "userData",
        "licenseData",
        "serialNumber",
        "random",
        "signature",
    ]
)


def _raw(web: SignedWeb, body: bytes) -> tuple[int, bytes]:
    connection = web.web.connect()
    connection.send(
        b"POST /json-rpc/4/invoke HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % len(body)
        + body
    )

    def done() -> bool:
        web.pool.runAll()
        return bool(connection.closed)

    connection.turnUntil(done)
    connection.close()
    response = parseResponse(connection.received, "POST")
    return response.status, response.body


def _answered(status: int, body: bytes) -> Any:
    assert status == 200, body
    document = json.loads(body)
    if "error" in document:
        assert document["error"]["code"] != -32603, document
    return document


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    method=st.sampled_from(METHODS),
    params=st.dictionaries(NAMES, JSON, max_size=6),
    withKey=st.booleans(),
)
def test_anyParametersGetAResultOrACleanError(
    tmp_path_factory: Any, method: str, params: dict[str, Any], withKey: bool
) -> None:
    web = SignedWeb(tmp_path_factory.mktemp("any"))
    if withKey:
        params["apiKey"] = KEY
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
    _answered(*_raw(web, json.dumps(body).encode()))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(random=JSON, signature=JSON)
def test_anyObjectIsNotAuthentic(
    tmp_path_factory: Any, random: Any, signature: Any
) -> None:
    web = SignedWeb(tmp_path_factory.mktemp("verify"))
    body = {
        "jsonrpc": "2.0",
        "method": "verifySignature",
        "params": {"random": random, "signature": signature},
        "id": 1,
    }
    document = _answered(*_raw(web, json.dumps(body).encode()))
    # A missing (null) one is refused as such.
    assert "error" in document or document["result"]["authenticity"] is False


def test_anUnhashableMethodIsNotAuthentic(tmp_path: Path) -> None:
    web = SignedWeb(tmp_path)
    verdict = web.result("verifySignature", random={"method": []}, signature="AAAA")
    assert verdict["authenticity"] is False


def test_loneSurrogatesAreMalformedParameters(tmp_path: Path) -> None:
    web = SignedWeb(tmp_path)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("generateSignedIntegers", {"n": 1, "min": 1, "max": 6, "userData": "\ud800"}),
        ("generateStrings", {"n": 1, "length": 1, "characters": "\ud800ab"}),
        ("generateSignedUUIDs", {"n": 1, "apiKey": "\ud800"}),
    ]
    for method, params in calls:
        assert web.error(method, **params)["code"] == 200


def test_userDataBeyondADoubleIsMalformed(tmp_path: Path) -> None:
    web = SignedWeb(tmp_path)
    refused = web.error("generateSignedIntegers", n=1, min=1, max=6, userData=10**400)
    assert refused["code"] == 200
    assert web.server.audit is not None and web.server.audit.committed == 0


def test_aMeanBeyondADoubleIsOutOfRange(tmp_path: Path) -> None:
    web = SignedWeb(tmp_path)
    body = (
        b'{"jsonrpc":"2.0","method":"generateGaussians","id":1,"params":'
        b'{"apiKey":"k","n":1,"mean":1' + b"0" * 400 + b',"standardDeviation":1,'
        b'"significantDigits":5}}'
    )
    assert _answered(*_raw(web, body))["error"]["code"] == 202


def test_aStreamedAnswerWithALoneSurrogateIdFinishes() -> None:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "generateStrings",
            "params": {"apiKey": KEY, "n": 10000, "length": 32, "characters": "ab"},
            "id": "\ud800",
        }
    ).encode()
    response = post(rpcWeb(), body)
    assert response.status == 200
    document = json.loads(response.body)
    assert document["id"] == "\ud800"
    assert len(document["result"]["random"]["data"]) == 10000
