"""
RANDOM.ORG's signed methods on a signing server, in memory: each signed
call is one record of randnum's audit chain, and its C{random} object is
signed with the same key; C{verifySignature} and C{getResult} read them
back.
"""

from __future__ import annotations

import json
import random as shuffling
from pathlib import Path
from typing import Any

import pytest
from rpcmemory import KEY, SignedWeb

from randnum.jsonrpc.signed import hashedApiKey
from randnum.signing.records import verifyDraw
from randnum.web.channel import REQUEST_COST


@pytest.fixture
def web(tmp_path: Path) -> SignedWeb:
    return SignedWeb(tmp_path)


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("generateSignedIntegers", {"n": 6, "min": 1, "max": 49, "replacement": False}),
    ("generateSignedIntegers", {"n": 3, "min": 0, "max": 255, "base": 16}),
    (
        "generateSignedIntegerSequences",
        {"n": 2, "length": [2, 3], "min": 1, "max": [6, 10**9]},
    ),
    ("generateSignedDecimalFractions", {"n": 4, "decimalPlaces": 20}),
    (
        "generateSignedGaussians",
        {"n": 4, "mean": 0.5, "standardDeviation": 1e-3, "significantDigits": 20},
    ),
    ("generateSignedStrings", {"n": 3, "length": 8, "characters": 'αβγ"\\x'}),
    ("generateSignedUUIDs", {"n": 2}),
    ("generateSignedBlobs", {"n": 2, "size": 64, "format": "hex"}),
]


def _roundTrip(value: Any) -> Any:
    """
    C{value} as a client sends it back: parsed, members shuffled, indented.
    """

    def shuffled(item: Any) -> Any:
        if isinstance(item, dict):
            keys = list(item)
            shuffling.Random(1).shuffle(keys)
            return {key: shuffled(item[key]) for key in keys}
        if isinstance(item, list):
            return [shuffled(element) for element in item]
        return item

    return json.loads(json.dumps(shuffled(json.loads(json.dumps(value))), indent=2))


@pytest.mark.parametrize(("method", "params"), CALLS)
def test_aSignedResultVerifiesAfterAClientsRoundTrip(
    web: SignedWeb, method: str, params: dict[str, Any]
) -> None:
    result = web.result(method, **params, userData={"draw": "raffle", "odds": 0.25})
    random, signature = result["random"], result["signature"]
    assert random["method"] == method
    assert random["hashedApiKey"] == hashedApiKey(KEY)
    assert random["userData"] == {"draw": "raffle", "odds": 0.25}
    assert random["serialNumber"] == 1
    assert result["advisoryDelay"] == 0
    sent = _roundTrip(random)
    assert web.result("verifySignature", random=sent, signature=signature) == {
        "authenticity": True,
        "advisoryDelay": 0,
    }


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["data"].__setitem__(0, r["data"][1]),
        lambda r: r.__setitem__("serialNumber", 2),
        lambda r: r.__setitem__("userData", None),
        lambda r: r.__setitem__("completionTime", "2001-01-01 00:00:00Z"),
        lambda r: r.__setitem__("max", 50),
    ],
)
def test_aChangedResultDoesNotVerify(web: SignedWeb, change: Any) -> None:
    result = web.result(
        "generateSignedIntegers", n=5, min=1, max=49, replacement=False, userData=1
    )
    random = result["random"]
    change(random)
    verdict = web.result(
        "verifySignature", random=random, signature=result["signature"]
    )
    assert verdict["authenticity"] is False


def test_aRecordSignatureIsNoResultSignature(web: SignedWeb) -> None:
    # The same key signs records: a record presented as a result is not one.
    web.result("generateSignedIntegers", n=1, min=1, max=6)
    record = json.loads(web.get("/v1/draws/1").body)
    signature = record.pop("signature")
    verdict = web.result("verifySignature", random=record, signature=signature)
    assert verdict["authenticity"] is False


def test_eachSignedResultIsARecordOfTheChain(web: SignedWeb, tmp_path: Path) -> None:
    first = web.result("generateSignedIntegers", n=3, min=1, max=6)
    second = web.result("generateSignedDecimalFractions", n=2, decimalPlaces=20)
    assert [first["random"]["serialNumber"], second["random"]["serialNumber"]] == [
        1,
        2,
    ]
    records = [json.loads(web.get(f"/v1/draws/{n}").body) for n in (1, 2)]
    assert records[0]["values"] == first["random"]["data"]
    assert records[1]["request"]["type"] == "random.org"
    assert records[1]["request"]["method"] == "generateSignedDecimalFractions"
    # Decimals are kept exactly, as their text.
    assert [float(v) for v in records[1]["values"]] == second["random"]["data"]
    assert web.server.audit is not None
    for record in records:
        verifyDraw(record, web.server.audit.signer.publicPem)


def test_getResultGivesTheSameSignedResult(web: SignedWeb) -> None:
    made = web.result("generateSignedStrings", n=2, length=4, characters="ab")
    again = web.result("getResult", serialNumber=made["random"]["serialNumber"])
    assert again["random"] == made["random"]
    assert again["signature"] == made["signature"]


def test_getResultOnlyForTheKeyThatMadeIt(web: SignedWeb) -> None:
    web.result("generateSignedUUIDs", n=1)
    refused = web.error("getResult", serialNumber=1, apiKey="another key")
    assert refused["code"] == -32602
    assert web.error("getResult", serialNumber=9)["code"] == -32602


def test_aTicketIsOneThatDoesNotExist(web: SignedWeb) -> None:
    refused = web.error("generateSignedIntegers", n=1, min=1, max=6, ticketId="abc")
    assert refused["code"] == 420


def test_aSignedResultIsHeldToASignedDrawsSize(web: SignedWeb) -> None:
    refused = web.error("generateSignedIntegers", n=10000, min=-(10**9), max=10**9)
    assert refused["code"] == 202
    name, low, high = refused["data"]
    assert (name, low) == ("n", 1) and 1000 < high < 10000
    assert "result" in web.call(
        "generateSignedIntegers", n=high, min=-(10**9), max=10**9
    )


def test_userDataIsHeldToRandomOrgsLimit(web: SignedWeb) -> None:
    refused = web.error(
        "generateSignedIntegers", n=1, min=1, max=6, userData="x" * 1000
    )
    assert refused["code"] == 200


def test_withoutSigningSignedMethodsAreNotFound() -> None:
    from rpcmemory import error, rpcWeb

    web = rpcWeb()
    for method, params in [*CALLS[:1], ("getResult", {"serialNumber": 1})]:
        assert error(web, method, **params)["code"] == -32601
    verify = error(web, "verifySignature", apiKey=None, random={}, signature="")
    assert verify["code"] == -32601


def _spending(web: SignedWeb) -> list[int]:
    shares = web.server.shares
    spent: list[int] = []
    original = shares.spend

    def spend(key: str, cost: int) -> None:
        spent.append(cost)
        original(key, cost)

    shares.spend = spend  # type: ignore[method-assign]
    return spent


def test_aSignedCallCostsFiveBasicOnes(web: SignedWeb) -> None:
    # Its values are read back, signed into a record, and its object is
    # rebuilt, made canonical and signed again once the record is stored.
    spent = _spending(web)
    web.result("generateIntegers", n=2000, min=1, max=10**9)
    web.result("generateSignedIntegers", n=2000, min=1, max=10**9)
    basic, signed = spent[0], spent[1]
    assert signed - basic > 3 * 2000 * 10


def test_checkingASignatureIsChargedByItsTime(web: SignedWeb) -> None:
    # Its cost is the object the client sends, known only once it is
    # checked: a large one full of floats took 31 ms in the attack run.
    spent = _spending(web)
    junk = {"method": "generateSignedDecimalFractions", "data": [0.5] * 5000}
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "verifySignature",
            "params": {"random": junk, "signature": "AAAA"},
            "id": 7,
        }
    ).encode()
    assert web.post(body)["result"]["authenticity"] is False
    assert spent[0] > REQUEST_COST + len(body)


def test_getResultWithAnUnknownKeyIsThatKeysError(web: SignedWeb) -> None:
    from twisted.internet.defer import Deferred, fail

    from randnum.jsonrpc.allowances import OpenAllowances, Usage, keyDoesNotExist

    class OneKey(OpenAllowances):
        def usage(self, apiKey: str) -> Deferred[Usage]:
            if apiKey != KEY:
                return fail(keyDoesNotExist())
            return super().usage(apiKey)

    web.server.allowances = OneKey(0)
    web.result("generateSignedUUIDs", n=1)
    assert web.error("getResult", serialNumber=1, apiKey="nosuch")["code"] == 400
