"""
L{randnum.jsonrpc.signed}: a signed call as a randnum record, the C{random}
object rebuilt from it, and its signature through a client's round trip.
"""

from __future__ import annotations

import base64
import json
import random as pseudo
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from signers import newSigner

from randnum.jsonrpc.canonical import canonical
from randnum.jsonrpc.signed import (
    LICENSE,
    PARAMETERS,
    authentic,
    completionTime,
    hashedApiKey,
    randomObject,
    recordRequest,
    recordValues,
    signRandom,
)
from randnum.signing import records
from randnum.signing.keys import Signer

API_KEY = "55ea5fe3-ab48-47f1-a0ed-952648e1a8c2"

#: A call of each signed method: its parameters, defaults filled in, and
#: its data as the methods draw it (decimals and Gaussians as exact text).
CALLS: dict[str, tuple[dict[str, Any], list[Any]]] = {
    "generateSignedIntegers": (
        {
            "n": 3,
            "min": 0,
            "max": 255,
            "replacement": True,
            "base": 10,
            "pregeneratedRandomization": None,
        },
        [108, 225, 0],
    ),
    "generateSignedIntegerSequences": (
        {
            "n": 2,
            "length": [2, 3],
            "min": [0, -5],
            "max": [9, 5],
            "replacement": [True, False],
            "base": [16, 10],
            "pregeneratedRandomization": None,
        },
        [["a", "3"], [-5, 0, 4]],
    ),
    "generateSignedDecimalFractions": (
        {
            "n": 3,
            "decimalPlaces": 20,
            "replacement": True,
            "pregeneratedRandomization": None,
        },
        ["0.12345678901234567891", "0.00000000000000000001", "0.99999999999999999999"],
    ),
    "generateSignedGaussians": (
        {
            "n": 3,
            "mean": 0.1,
            "standardDeviation": 1e-6,
            "significantDigits": 20,
            "pregeneratedRandomization": None,
        },
        ["0.10000012345678901235", "-0.000000012345678901234567891", "123456.7"],
    ),
    "generateSignedStrings": (
        {
            "n": 2,
            "length": 5,
            "characters": "abcdé\U0001f600",
            "replacement": True,
            "pregeneratedRandomization": None,
        },
        ["abcdé", "\U0001f600aaaa"],
    ),
    "generateSignedUUIDs": (
        {"n": 1, "pregeneratedRandomization": None},
        ["47849fd4-b790-492e-8b93-d601e83e6f10"],
    ),
    "generateSignedBlobs": (
        {"n": 1, "size": 16, "format": "hex", "pregeneratedRandomization": None},
        ["b3f0"],
    ),
}

LICENSE_DATA = {"maxPayout": {"currency": "USD", "amount": 0.0}}
USER_DATA = {"raffle": 12, "odds": 0.333, "who": ["ann", None, True]}


def makeRecord(
    signer: Signer,
    method: str,
    userData: Any = USER_DATA,
    licenseData: Any = LICENSE_DATA,
    serial: int = 7,
) -> dict[str, Any]:
    """
    A signed randnum record of a call of C{method} (from L{CALLS}).
    """
    params, data = CALLS[method]
    record: dict[str, Any] = {
        "serial": serial,
        "time": "2026-11-25T12:00:00.123Z",
        "request": recordRequest(method, params, API_KEY, licenseData, userData),
        "values": recordValues(method, data),
        "key": signer.keyId,
        "prev": records.GENESIS,
    }
    record["signature"] = base64.b64encode(
        signer.sign(records.signedBytes(record))
    ).decode("ascii")
    return record


def shuffled(value: Any, chance: pseudo.Random) -> Any:
    """
    C{value} with every object's members in a random order.
    """
    if isinstance(value, dict):
        names = list(value)
        chance.shuffle(names)
        return {name: shuffled(value[name], chance) for name in names}
    if isinstance(value, list):
        return [shuffled(item, chance) for item in value]
    return value


def clientRoundTrip(random: dict[str, Any], seed: int = 0) -> Any:
    """
    The C{random} object as a client sends it back to C{verifySignature}:
    members reordered, re-indented, parsed again.
    """
    text = json.dumps(shuffled(random, pseudo.Random(seed)), indent=2)
    return json.loads(text)


@pytest.fixture
def signer() -> Signer:
    return newSigner()


def test_hashedApiKeyIsRandomOrgs() -> None:
    """
    The value in a real RANDOM.ORG response for this key.
    """
    assert hashedApiKey(API_KEY) == (
        "FG+7TLaIoH+9IUeE8vc0ln2AL2EoPmGfd63M/40XPWSd8uJ/3cnpVBQnNhppoKiYeF"
        "Cwy5PaS1A/jmdUPfRWzQ=="
    )


def test_everySignedMethodHasItsParametersEndingInPregeneratedRandomization() -> None:
    assert set(PARAMETERS) == set(CALLS)
    assert PARAMETERS["generateSignedIntegers"] == (
        "n",
        "min",
        "max",
        "replacement",
        "base",
        "pregeneratedRandomization",
    )
    for names in PARAMETERS.values():
        assert names[0] == "n"
        assert names[-1] == "pregeneratedRandomization"


def test_theLicenseIsRandnumsOwn() -> None:
    assert list(LICENSE) == ["type", "text", "infoUrl"]
    assert LICENSE["type"] == "randnum"
    assert "RANDOM.ORG" in LICENSE["text"]
    assert LICENSE["infoUrl"] is None


@pytest.mark.parametrize("method", sorted(CALLS))
def test_aSignedCallIsAValidRecord(signer: Signer, method: str) -> None:
    """
    The record has no floats and no unsafe integers, and verifies as any
    randnum record does.
    """
    record = makeRecord(signer, method)
    records.canonical(record)
    records.verifyDraw(json.dumps(record), signer.publicKey)
    assert record["request"]["type"] == "random.org"
    assert record["request"]["ticketData"] is None


def test_floatsInTheRecordAreTheirNumberText() -> None:
    params, data = CALLS["generateSignedGaussians"]
    request = recordRequest(
        "generateSignedGaussians", params, API_KEY, {"amount": 0.0}, [1e21, 2**60]
    )
    assert request["mean"] == "0.1"
    assert request["standardDeviation"] == "0.000001"
    assert request["licenseData"] == '{"amount":0}'
    assert request["userData"] == "[1e+21,1152921504606847000]"
    assert recordValues("generateSignedGaussians", data) == data
    assert recordValues("generateSignedGaussians", [b"0.5", 1e-7]) == ["0.5", "1e-7"]


def test_anAbsentLicenseOrUserDataIsNull() -> None:
    params, _ = CALLS["generateSignedUUIDs"]
    request = recordRequest("generateSignedUUIDs", params, API_KEY, None, None)
    assert request["licenseData"] is None
    assert request["userData"] is None


def test_theRandomObjectIsRandomOrgsInItsOrder(signer: Signer) -> None:
    """
    Members in RANDOM.ORG's order, as in its own responses.
    """
    record = makeRecord(signer, "generateSignedIntegers", None, None, serial=2)
    assert randomObject(record) == {
        "method": "generateSignedIntegers",
        "hashedApiKey": hashedApiKey(API_KEY),
        "n": 3,
        "min": 0,
        "max": 255,
        "replacement": True,
        "base": 10,
        "pregeneratedRandomization": None,
        "data": [108, 225, 0],
        "license": LICENSE,
        "licenseData": None,
        "userData": None,
        "ticketData": None,
        "completionTime": "2026-11-25 12:00:00Z",
        "serialNumber": 2,
    }
    for method in CALLS:
        names = list(randomObject(makeRecord(signer, method)))
        assert names == [
            "method",
            "hashedApiKey",
            *PARAMETERS[method],
            "data",
            "license",
            "licenseData",
            "userData",
            "ticketData",
            "completionTime",
            "serialNumber",
        ]


def test_numbersComeBackAsNumbers(signer: Signer) -> None:
    """
    Decimal fractions, Gaussians and the float parameters are floats again,
    integers stay integers, and the client's data is as it sent it.
    """
    gaussians = randomObject(makeRecord(signer, "generateSignedGaussians"))
    assert gaussians["mean"] == 0.1
    assert gaussians["standardDeviation"] == 1e-6
    assert type(gaussians["significantDigits"]) is int
    texts = CALLS["generateSignedGaussians"][1]
    assert gaussians["data"] == [float(text) for text in texts]
    assert gaussians["licenseData"] == LICENSE_DATA
    assert gaussians["userData"] == USER_DATA
    fractions = randomObject(makeRecord(signer, "generateSignedDecimalFractions"))
    assert fractions["data"] == [0.12345678901234568, 1e-20, 1.0]
    assert all(type(value) is float for value in fractions["data"])


def test_completionTimeIsRandomOrgsTimestamp() -> None:
    assert completionTime("2026-11-25T12:00:00.123Z") == "2026-11-25 12:00:00Z"
    assert completionTime("2026-01-02T03:04:05Z") == "2026-01-02 03:04:05Z"
    with pytest.raises(ValueError):
        completionTime("2026-11-25 12:00:00Z")


def test_onlyARandomOrgRecordHasARandomObject(signer: Signer) -> None:
    record = makeRecord(signer, "generateSignedIntegers")
    record["request"] = {"type": "int", "n": 1, "min": 1, "max": 6, "unique": False}
    with pytest.raises(ValueError, match=r"not a RANDOM\.ORG call"):
        randomObject(record)


def test_anUnknownMethodIsRefused() -> None:
    with pytest.raises(ValueError, match="not a signed method"):
        recordRequest("generateIntegers", {}, API_KEY, None, None)
    with pytest.raises(ValueError, match="not a signed method"):
        recordValues("generateSignedFoo", [])


def test_userDataWithoutACanonicalFormIsRefused() -> None:
    params, _ = CALLS["generateSignedUUIDs"]
    for bad in (float("nan"), ["\ud800"]):
        with pytest.raises(ValueError):
            recordRequest("generateSignedUUIDs", params, API_KEY, None, bad)


@pytest.mark.parametrize("method", sorted(CALLS))
def test_theSameRecordGivesTheSameObject(signer: Signer, method: str) -> None:
    """
    Rebuilt from the record as stored (its JSON text), the object and its
    canonical form are the same: a signature made once holds for ever.
    """
    record = makeRecord(signer, method)
    stored = records.parseRecord(json.dumps(record))
    assert randomObject(stored) == randomObject(record)
    assert canonical(randomObject(stored)) == canonical(randomObject(record))


@pytest.mark.parametrize("method", sorted(CALLS))
def test_aSignatureSurvivesTheClientsRoundTrip(signer: Signer, method: str) -> None:
    random = randomObject(makeRecord(signer, method))
    signature = signRandom(random, signer.sign)
    assert authentic(random, signature, signer.publicKey)
    for seed in range(3):
        assert authentic(clientRoundTrip(random, seed), signature, signer.publicKey)


@pytest.mark.parametrize(
    "method", ["generateSignedDecimalFractions", "generateSignedGaussians"]
)
def test_exactDecimalTextVerifies(signer: Signer, method: str) -> None:
    """
    A response may carry the values' exact text (twenty places, more than
    a double holds): sent back as it came, or as a client that reads
    floats writes it again, the object is still authentic.
    """
    random = randomObject(makeRecord(signer, method))
    signature = signRandom(random, signer.sign)
    exact = "[" + ",".join(CALLS[method][1]) + "]"
    text = json.dumps({**random, "data": "DATA"}).replace('"DATA"', exact)
    assert exact in text
    assert authentic(json.loads(text), signature, signer.publicKey)
    assert authentic(clientRoundTrip(json.loads(text)), signature, signer.publicKey)


def _set(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(random: dict[str, Any]) -> None:
        random[name] = value

    return change


def _setValue(random: dict[str, Any]) -> None:
    random["data"][1] += 0.000001


def _setLicenseText(random: dict[str, Any]) -> None:
    random["license"]["text"] = "Random values licensed for anything"


def _setUserData(random: dict[str, Any]) -> None:
    random["userData"]["raffle"] = 13


TAMPERING = {
    "a value": _setValue,
    "a parameter": _set("standardDeviation", 2e-6),
    "the method": _set("method", "generateSignedDecimalFractions"),
    "userData": _setUserData,
    "licenseData": _set("licenseData", None),
    "the license": _setLicenseText,
    "the serial number": _set("serialNumber", 8),
    "the completion time": _set("completionTime", "2026-11-25 12:00:01Z"),
    "an added member": _set("bitsUsed", 1),
}


@pytest.mark.parametrize("change", TAMPERING.values(), ids=list(TAMPERING))
def test_anyChangeIsNotAuthentic(
    signer: Signer, change: Callable[[dict[str, Any]], None]
) -> None:
    random = randomObject(makeRecord(signer, "generateSignedGaussians"))
    signature = signRandom(random, signer.sign)
    changed = clientRoundTrip(random)
    change(changed)
    assert not authentic(changed, signature, signer.publicKey)


def test_anotherKeysSignatureIsNotAuthentic(signer: Signer) -> None:
    random = randomObject(makeRecord(signer, "generateSignedIntegers"))
    signature = signRandom(random, signer.sign)
    assert not authentic(random, signature, newSigner().publicKey)
    assert not authentic(random, signRandom(random, newSigner().sign), signer.publicKey)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("random", "signature"),
    [
        (None, "AAAA"),
        ([], "AAAA"),
        ("random", "AAAA"),
        ({"a": 1}, None),
        ({"a": 1}, 12),
        ({"a": 1}, "not base64!"),
        ({"a": 1}, "é"),
        ({"a": 1}, "AAAA"),
        ({"a": 1}, base64.b64encode(bytes(64)).decode()),
        ({"a": float("nan")}, base64.b64encode(bytes(64)).decode()),
        ({"a": float("inf")}, base64.b64encode(bytes(64)).decode()),
        ({"a": "\udc00"}, base64.b64encode(bytes(64)).decode()),
        ({1: "a"}, base64.b64encode(bytes(64)).decode()),
        ({"a": 10**400}, base64.b64encode(bytes(64)).decode()),
        ({"a": _nested(100_000)}, base64.b64encode(bytes(64)).decode()),
    ],
)
def test_junkIsNotAuthentic(signer: Signer, random: Any, signature: Any) -> None:
    assert authentic(random, signature, signer.publicKey) is False


#: One key for the property test (a fixture is not reset between examples).
SIGNER = newSigner()

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8")),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8")), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(JSON_VALUES, st.integers(0, 2**32))
def test_anyUserDataIsSignedAndVerified(userData: Any, seed: int) -> None:
    """
    Whatever JSON a client gives as C{userData}, the record holds it, the
    object returns it (as RFC 8785 reads it), and its signature survives
    the round trip.
    """
    signer = SIGNER
    record = makeRecord(signer, "generateSignedDecimalFractions", userData=userData)
    records.canonical(record)
    random = randomObject(records.parseRecord(json.dumps(record)))
    assert canonical(random["userData"]) == canonical(userData)
    signature = signRandom(random, signer.sign)
    assert authentic(clientRoundTrip(random, seed), signature, signer.publicKey)
    random["userData"] = [random["userData"]]
    assert not authentic(random, signature, signer.publicKey)
