# -*- test-case-name: tests.jsonrpc.test_signed -*-
"""
RANDOM.ORG's signed methods, the parts without I/O: a signed call as one
randnum record, the C{random} object rebuilt from that record, and its
signature.

A call such as C{generateSignedIntegers} is kept as one record of randnum's
chain (L{randnum.signing.records}) whose C{request} has C{type}
C{"random.org"} and holds what RANDOM.ORG's C{random} object repeats: the
method, the hashed API key, the method's parameters, the license and the
client's C{licenseData} and C{userData}.  Records hold no floats, so a
float parameter is kept as its RFC 8785 number text, decimal fractions and
Gaussians as their exact decimal text, and C{licenseData} and C{userData}
as their RFC 8785 text.  L{randomObject} turns the record back into the
C{random} object, the same one every time, and randnum signs that object
with its Ed25519 key over its RFC 8785 form (L{canonical}): a client may
send it back with its members in any order and any spacing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from randnum.jsonrpc.canonical import canonical, number

#: A randnum record's C{request.type} for a RANDOM.ORG signed call.
RECORD_TYPE = "random.org"

#: Each signed method's own parameters, in RANDOM.ORG's order: the order
#: they take in the C{random} object, between C{hashedApiKey} and C{data}.
PARAMETERS: dict[str, tuple[str, ...]] = {
    "generateSignedIntegers": (
        "n",
        "min",
        "max",
        "replacement",
        "base",
        "pregeneratedRandomization",
    ),
    "generateSignedIntegerSequences": (
        "n",
        "length",
        "min",
        "max",
        "replacement",
        "base",
        "pregeneratedRandomization",
    ),
    "generateSignedDecimalFractions": (
        "n",
        "decimalPlaces",
        "replacement",
        "pregeneratedRandomization",
    ),
    "generateSignedGaussians": (
        "n",
        "mean",
        "standardDeviation",
        "significantDigits",
        "pregeneratedRandomization",
    ),
    "generateSignedStrings": (
        "n",
        "length",
        "characters",
        "replacement",
        "pregeneratedRandomization",
    ),
    "generateSignedUUIDs": ("n", "pregeneratedRandomization"),
    "generateSignedBlobs": ("n", "size", "format", "pregeneratedRandomization"),
}

#: The parameters that are numbers with fractions: kept as text in a
#: record, floats again in the C{random} object.
FLOAT_PARAMETERS = frozenset({"mean", "standardDeviation"})

#: The methods whose values are decimal numbers, kept as exact text.
DECIMAL_METHODS = frozenset(
    {"generateSignedDecimalFractions", "generateSignedGaussians"}
)

#: randnum's C{license} object, in the place of RANDOM.ORG's.
LICENSE: dict[str, Any] = {
    "type": "randnum",
    "text": (
        "Values drawn by a self-hosted randnum server and signed with its "
        "Ed25519 key, not by RANDOM.ORG."
    ),
    "infoUrl": None,
}

_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z")


def hashedApiKey(apiKey: str) -> str:
    """
    An API key as RANDOM.ORG's C{random} object names it: the base64 of the
    SHA-512 of its UTF-8.
    """
    return base64.b64encode(hashlib.sha512(apiKey.encode("utf-8")).digest()).decode(
        "ascii"
    )


def _parameters(method: str) -> tuple[str, ...]:
    """
    C{method}'s parameters.

    @raise ValueError: if it is not a signed method.
    """
    try:
        return PARAMETERS[method]
    except KeyError:
        raise ValueError(f"{method!r} is not a signed method") from None


def _withoutFloats(value: Any) -> Any:
    """
    C{value} with every float in it written as its RFC 8785 number text.
    """
    kind = type(value)
    if kind is int or kind is str:
        # Nearly every value of a result: thousands of them.
        return value
    if isinstance(value, float):
        return number(value)
    if isinstance(value, (list, tuple)):
        return [_withoutFloats(item) for item in value]
    if isinstance(value, Mapping):
        return {name: _withoutFloats(item) for name, item in value.items()}
    return value


def _jsonText(value: Any) -> str | None:
    """
    Any JSON value as its RFC 8785 text; C{None} (JSON null) as C{None}.
    """
    return None if value is None else canonical(value).decode("utf-8")


def recordRequest(
    method: str,
    params: Mapping[str, Any],
    apiKey: str,
    licenseData: Any,
    userData: Any,
) -> dict[str, Any]:
    """
    The C{request} of the randnum record of a signed call: what its
    C{random} object repeats, without floats.

    @param method: the signed method, one of L{PARAMETERS}.
    @param params: its parameters, checked and with their defaults filled
        in (every name of C{PARAMETERS[method]}).
    @param apiKey: the client's API key (only its hash is kept).
    @param licenseData: the client's C{licenseData}, any JSON value.
    @param userData: the client's C{userData}, any JSON value.
    @raise ValueError: if C{method} is not a signed method, or
        C{licenseData} or C{userData} has no RFC 8785 form (NaN, a lone
        surrogate).
    """
    request: dict[str, Any] = {
        "type": RECORD_TYPE,
        "method": method,
        "hashedApiKey": hashedApiKey(apiKey),
    }
    for name in _parameters(method):
        request[name] = _withoutFloats(params[name])
    request["license"] = dict(LICENSE)
    request["licenseData"] = _jsonText(licenseData)
    request["userData"] = _jsonText(userData)
    request["ticketData"] = None
    return request


def _decimalText(value: Any) -> str:
    """
    A decimal fraction or Gaussian as text: as drawn (text or ASCII bytes),
    or, given a float, its RFC 8785 number text.
    """
    if isinstance(value, bytes):
        return value.decode("ascii")
    if isinstance(value, float):
        return number(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"{type(value).__name__} is not a decimal's text")


def recordValues(method: str, data: list[Any]) -> list[Any]:
    """
    A signed call's C{random.data} as its record's C{values}: decimal
    fractions and Gaussians as their exact decimal text, everything else
    (integers, integers written in another base, strings, UUIDs, blobs,
    and sequences of these) as it is.

    @raise ValueError: if C{method} is not a signed method.
    """
    _parameters(method)
    if method in DECIMAL_METHODS:
        return [_decimalText(value) for value in data]
    return [_withoutFloats(value) for value in data]


def completionTime(time: str) -> str:
    """
    A record's RFC 3339 time as RANDOM.ORG writes a C{completionTime}:
    C{2026-11-25T12:00:00.123Z} is C{2026-11-25 12:00:00Z}.

    @raise ValueError: if C{time} is not a record's time.
    """
    match = _TIME.fullmatch(time)
    if match is None:
        raise ValueError(f"{time!r} is not a record's time")
    return f"{match.group(1)} {match.group(2)}Z"


def _parameter(name: str, value: Any) -> Any:
    """
    A parameter as the C{random} object has it.
    """
    if name in FLOAT_PARAMETERS and value is not None:
        return float(value)
    return value


def randomObject(record: Mapping[str, Any]) -> dict[str, Any]:
    """
    RANDOM.ORG's C{random} object for a randnum record of a signed call,
    members in RANDOM.ORG's order; the same object for the same record.

    @raise ValueError: if the record is not one of a RANDOM.ORG call.
    """
    request = record["request"]
    if not isinstance(request, Mapping) or request.get("type") != RECORD_TYPE:
        raise ValueError(f"record {record.get('serial')} is not a RANDOM.ORG call")
    method = request["method"]
    random: dict[str, Any] = {
        "method": method,
        "hashedApiKey": request["hashedApiKey"],
    }
    for name in _parameters(method):
        random[name] = _parameter(name, request[name])
    values = record["values"]
    random["data"] = (
        [float(value) for value in values]
        if method in DECIMAL_METHODS
        else list(values)
    )
    random["license"] = dict(request["license"])
    for name in ("licenseData", "userData"):
        text = request[name]
        random[name] = None if text is None else json.loads(text)
    random["ticketData"] = request["ticketData"]
    random["completionTime"] = completionTime(record["time"])
    random["serialNumber"] = record["serial"]
    return random


def signRandom(random: Mapping[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """
    The signature of a C{random} object: C{sign} (an Ed25519 private key's,
    such as L{randnum.signing.keys.Signer.sign}) over its RFC 8785 form,
    in base64.
    """
    return base64.b64encode(sign(canonical(dict(random)))).decode("ascii")


def authentic(random: Any, signature: Any, publicKey: Ed25519PublicKey) -> bool:
    """
    Whether C{signature} (base64 text) is C{publicKey}'s signature of the
    C{random} object, whatever its members' order and spacing were on the
    way.  Anything else, junk included, is simply not authentic.
    """
    if not isinstance(random, dict) or not isinstance(signature, str):
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
        publicKey.verify(raw, canonical(random))
    except (InvalidSignature, binascii.Error, ValueError, TypeError, RecursionError):
        return False
    return True


#: A record's time, for checking what a record would make.
GENESIS_TIME = "1970-01-01T00:00:00.000Z"


def _plain(value: Any) -> bool:
    """
    Whether C{value} is what a record's parameter or value may be here: a
    string, an integer, a boolean, null, or an array of those.
    """
    if value is None or type(value) in (str, int, bool):
        return True
    return type(value) is list and all(
        item is None or type(item) in (str, int, bool) for item in value
    )


def isRecordOf(request: Any, values: Any) -> bool:
    """
    Whether C{request} and C{values} are what L{recordRequest} and
    L{recordValues} make of a signed call: the only records a worker may
    have the main process sign.
    """
    if not isinstance(request, dict) or not isinstance(values, list):
        return False
    method = request.get("method")
    if request.get("type") != RECORD_TYPE or method not in PARAMETERS:
        return False
    names = {"type", "method", "hashedApiKey", *PARAMETERS[method]}
    names |= {"license", "licenseData", "userData", "ticketData"}
    if set(request) != names or request["license"] != LICENSE:
        return False
    if request["ticketData"] is not None or not isinstance(
        request["hashedApiKey"], str
    ):
        return False
    if not all(_plain(request[name]) for name in PARAMETERS[method]):
        return False
    if not all(
        request[name] is None or isinstance(request[name], str)
        for name in ("licenseData", "userData")
    ):
        return False
    if not all(_plain(value) for value in values):
        return False
    try:
        randomObject(
            {"request": request, "values": values, "time": GENESIS_TIME, "serial": 1}
        )
    except (ValueError, TypeError, KeyError):
        return False
    return True
