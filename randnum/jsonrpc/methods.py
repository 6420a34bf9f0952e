# -*- test-case-name: tests.jsonrpc.test_methods -*-
"""
RANDOM.ORG's basic methods (Release 4): each call's parameters, checked by
RANDOM.ORG's ranges and defaults, and its result, with values drawn by
randnum's own generators (L{randnum.generation}).

Served in open mode: there are no API keys yet, so any well-formed
C{apiKey} is accepted, and every result reports the same large allowance
left (L{OPEN_BITS_LEFT}, L{OPEN_REQUESTS_LEFT}).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from randnum.generation.source import NumberSource
from randnum.generation.values import Alphabet, decimals, gaussians, randomBytes, uuid4s
from randnum.generation.values import strings as drawStrings
from randnum.jsonrpc.params import (
    REQUIRED,
    Params,
    checkBoolean,
    checkChoice,
    checkInteger,
    domainTooSmall,
    malformed,
    mustBeLess,
    outOfRange,
    wrongLength,
)
from randnum.jsonrpc.protocol import Raw, methodNotFound

#: What open mode reports as left of a key's daily allowances, whatever is
#: drawn: as much as a Java client's 32-bit integers hold comfortably.
OPEN_BITS_LEFT = 1_000_000_000
OPEN_REQUESTS_LEFT = 1_000_000_000

#: RANDOM.ORG's bounds: integers, and the most values of one call.
BOUND = 1_000_000_000
MOST_VALUES = 10_000
#: The bases integers may be written in.
BASES = (2, 8, 10, 16)
#: The most bits of all the blobs of one call.
MOST_BLOB_BITS = 1_048_576
#: Decimal places randnum's decimals draw from one 64-bit range.
NARROW_PLACES = 18

#: RANDOM.ORG's other methods, which randnum does not serve yet: they
#: answer "method not found".
NOT_SERVED = (
    "generateSignedIntegers",
    "generateSignedIntegerSequences",
    "generateSignedDecimalFractions",
    "generateSignedGaussians",
    "generateSignedStrings",
    "generateSignedUUIDs",
    "generateSignedBlobs",
    "verifySignature",
    "getResult",
    "createTickets",
    "revealTickets",
    "listTickets",
    "getTicket",
)


@dataclass(frozen=True)
class Drawn:
    """
    What a generating method drew: C{random.data}, the bits it carries, and
    how many values.
    """

    data: Any
    bitsUsed: int
    count: int


@dataclass(frozen=True)
class Context:
    """
    What a call is answered with: the values' source, the time now, and
    when the server started (a key's creation time, in open mode).
    """

    source: NumberSource
    now: float
    started: float


def timestamp(seconds: float) -> str:
    """
    RANDOM.ORG's way of writing a time: C{YYYY-MM-DD HH:MM:SSZ}, in UTC.
    """
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(seconds))


def _bits(count: int, choices: int) -> int:
    """
    The bits of C{count} values each uniform over C{choices}.
    """
    return math.ceil(count * math.log2(choices)) if choices > 1 else 0


def _noPregenerated(params: Params) -> None:
    """
    Refuse C{pregeneratedRandomization} other than C{null}: randnum draws
    fresh values, and cannot replay a date's or an id's.
    """
    if params.raw("pregeneratedRandomization", None) is not None:
        raise malformed(
            "pregeneratedRandomization",
            "randnum draws fresh values and cannot replay pregenerated ones; send null",
        )


def _written(values: list[int], base: int) -> list[Any]:
    """
    Integers as C{random.data} holds them: numbers in base 10, strings in
    another base.
    """
    if base == 10:
        return values
    spec = {2: "b", 8: "o", 16: "x"}[base]
    return [format(value, spec) for value in values]


def _integers(
    source: NumberSource, n: int, low: int, high: int, replacement: bool
) -> list[int]:
    if low > high:
        raise mustBeLess("min", "max")
    if not replacement and n > high - low + 1:
        raise domainTooSmall(n, high - low + 1)
    if replacement:
        return source.integers(low, high, n)
    return source.distinct(low, high, n)


def generateIntegers(source: NumberSource, params: Params) -> Drawn:
    """
    C{n} integers in C{min..max}, with or without replacement, in C{base}.
    """
    n = params.integer("n", 1, MOST_VALUES)
    low = params.integer("min", -BOUND, BOUND)
    high = params.integer("max", -BOUND, BOUND)
    replacement = params.boolean("replacement", True)
    base = params.choice("base", BASES, 10)
    _noPregenerated(params)
    values = _integers(source, n, low, high, replacement)
    return Drawn(_written(values, base), _bits(n, high - low + 1), n)


def _perSequence(
    params: Params, name: str, n: int, check: Callable[[str, Any], Any], default: Any
) -> list[Any]:
    """
    C{name} for each of C{n} sequences: one value for all, or an array of
    C{n}, each checked.
    """
    value = params.raw(name, default)
    if isinstance(value, list):
        if len(value) != n:
            raise wrongLength(name, n, len(value))
        return [check(name, item) for item in value]
    return [check(name, value)] * n


def generateIntegerSequences(source: NumberSource, params: Params) -> Drawn:
    """
    C{n} sequences of integers: uniform (each parameter one value) or
    multiform (any of them an array of C{n}, one for each sequence).
    """
    n = params.integer("n", 1, 1000)
    lengths = _perSequence(
        params,
        "length",
        n,
        lambda name, v: checkInteger(name, v, 1, MOST_VALUES),
        REQUIRED,
    )
    if sum(lengths) > MOST_VALUES:
        raise outOfRange("length", 1, MOST_VALUES // n)
    bound = lambda name, v: checkInteger(name, v, -BOUND, BOUND)  # noqa: E731
    lows = _perSequence(params, "min", n, bound, REQUIRED)
    highs = _perSequence(params, "max", n, bound, REQUIRED)
    replacements = _perSequence(params, "replacement", n, checkBoolean, True)
    bases = _perSequence(
        params, "base", n, lambda name, v: checkChoice(name, v, BASES), 10
    )
    _noPregenerated(params)
    data = []
    bits = 0
    for length, low, high, replacement, base in zip(
        lengths, lows, highs, replacements, bases, strict=True
    ):
        values = _integers(source, length, low, high, replacement)
        data.append(_written(values, base))
        bits += _bits(length, high - low + 1)
    return Drawn(data, bits, sum(lengths))


def _fractions(source: NumberSource, places: int, n: int, unique: bool) -> list[bytes]:
    """
    C{n} decimal fractions uniform over the multiples of C{10**-places} in
    [0, 1), written exactly: randnum's decimals, or, for more places than
    one 64-bit range holds, two of its uniform integers side by side.
    """
    if places <= NARROW_PLACES:
        return decimals(source, places, n, unique)
    lowPlaces = places - NARROW_PLACES
    out: list[bytes] = []
    seen: set[bytes] = set()
    while len(out) < n:
        needed = n - len(out)
        highs = source.integers(0, 10**NARROW_PLACES - 1, needed)
        lows = source.integers(0, 10**lowPlaces - 1, needed)
        for high, low in zip(highs, lows, strict=True):
            text = b"0.%0*d%0*d" % (NARROW_PLACES, high, lowPlaces, low)
            # A repeat, without replacement, is drawn again: the sample
            # stays uniform (and with 10**19 values, repeats are rare).
            if unique and text in seen:
                continue
            seen.add(text)
            out.append(text)
    return out


def _number(text: bytes) -> bytes:
    """
    A decimal fraction as a JSON number, without trailing zeros.
    """
    stripped = text.rstrip(b"0")
    return stripped + b"0" if stripped.endswith(b".") else stripped


def generateDecimalFractions(source: NumberSource, params: Params) -> Drawn:
    """
    C{n} decimal fractions in [0, 1) with C{decimalPlaces} places.
    """
    n = params.integer("n", 1, MOST_VALUES)
    places = params.integer("decimalPlaces", 1, 20)
    replacement = params.boolean("replacement", True)
    _noPregenerated(params)
    if not replacement and n > 10**places:
        raise domainTooSmall(n, 10**places)
    texts = _fractions(source, places, n, not replacement)
    data = Raw(b"[" + b",".join(map(_number, texts)) + b"]")
    return Drawn(data, _bits(n, 10**places), n)


def generateGaussians(source: NumberSource, params: Params) -> Drawn:
    """
    C{n} values from a normal distribution, rounded to
    C{significantDigits}.
    """
    n = params.integer("n", 1, MOST_VALUES)
    mean = params.number("mean", -1_000_000, 1_000_000)
    sd = params.number("standardDeviation", -1_000_000, 1_000_000)
    digits = params.integer("significantDigits", 2, 20)
    _noPregenerated(params)
    texts = gaussians(source, mean, sd, digits, n)
    data = Raw(b"[" + b",".join(texts) + b"]")
    return Drawn(data, _bits(n, 10**digits), n)


def _distinct(characters: str) -> str:
    """
    C{characters} as a set (each once, in order): a character given twice
    is no likelier than the others.
    """
    return "".join(dict.fromkeys(characters))


def generateStrings(source: NumberSource, params: Params) -> Drawn:
    """
    C{n} strings of C{length} characters drawn from C{characters}.
    """
    n = params.integer("n", 1, MOST_VALUES)
    length = params.integer("length", 1, 32)
    characters = _distinct(params.string("characters", 128))
    replacement = params.boolean("replacement", True)
    _noPregenerated(params)
    size = len(characters)
    if not replacement and n > size**length:
        raise domainTooSmall(n, size**length)
    if size == 1:
        data = [characters * length] * n
    else:
        # Indices into the characters, drawn as randnum draws strings.
        indices = Alphabet(bytes(range(size)))
        data = [
            "".join([characters[i] for i in value])
            for batch in drawStrings(source, indices, length, n, not replacement, n)
            for value in batch
        ]
    return Drawn(data, _bits(n * length, size), n)


def generateUUIDs(source: NumberSource, params: Params) -> Drawn:
    """
    C{n} version 4 UUIDs.
    """
    n = params.integer("n", 1, 1000)
    _noPregenerated(params)
    data = [value.decode("ascii") for value in uuid4s(source, n)]
    return Drawn(data, 122 * n, n)


def generateBlobs(source: NumberSource, params: Params) -> Drawn:
    """
    C{n} blobs of C{size} bits (a multiple of 8), in base64 or hex.
    """
    n = params.integer("n", 1, 100)
    size = params.integer("size", 1, MOST_BLOB_BITS)
    if size % 8:
        raise malformed("size", "it is in bits, and must be divisible by 8")
    if n * size > MOST_BLOB_BITS:
        raise outOfRange("size", 8, MOST_BLOB_BITS // n // 8 * 8)
    encoding = params.choice("format", ("base64", "hex"), "base64")
    _noPregenerated(params)
    data = [
        value.decode("ascii") for value in randomBytes(source, size // 8, encoding, n)
    ]
    return Drawn(data, n * size, n)


#: The generating methods, with their parameters' names.
GENERATORS: dict[str, tuple[Callable[[NumberSource, Params], Drawn], tuple[str, ...]]]
GENERATORS = {
    "generateIntegers": (
        generateIntegers,
        ("n", "min", "max", "replacement", "base"),
    ),
    "generateIntegerSequences": (
        generateIntegerSequences,
        ("n", "length", "min", "max", "replacement", "base"),
    ),
    "generateDecimalFractions": (
        generateDecimalFractions,
        ("n", "decimalPlaces", "replacement"),
    ),
    "generateGaussians": (
        generateGaussians,
        ("n", "mean", "standardDeviation", "significantDigits"),
    ),
    "generateStrings": (
        generateStrings,
        ("n", "length", "characters", "replacement"),
    ),
    "generateUUIDs": (generateUUIDs, ("n",)),
    "generateBlobs": (generateBlobs, ("n", "size", "format")),
}

#: Every method name RANDOM.ORG's Release 4 has (the metrics' labels).
METHODS = (*GENERATORS, "getUsage", *NOT_SERVED)


def usage(context: Context) -> dict[str, Any]:
    """
    C{getUsage}'s result in open mode: the key is running since the server
    started, has the open allowance left, and nothing is counted per key.
    """
    return {
        "status": "running",
        "creationTime": timestamp(context.started),
        "bitsLeft": OPEN_BITS_LEFT,
        "requestsLeft": OPEN_REQUESTS_LEFT,
        "totalBits": 0,
        "totalRequests": 0,
    }


def answer(method: str, values: dict[str, Any], context: Context) -> tuple[Any, int]:
    """
    The result of calling C{method} with C{values}, and how many values it
    drew.

    @raise RpcError: for a method not served, or parameters it refuses.
    """
    if method == "getUsage":
        Params(values, ("apiKey",)).string("apiKey", 128)
        return usage(context), 0
    if method in NOT_SERVED:
        raise methodNotFound(
            method, "randnum does not serve signed methods or tickets yet"
        )
    if method not in GENERATORS:
        raise methodNotFound(method)
    generate, names = GENERATORS[method]
    params = Params(values, ("apiKey", *names, "pregeneratedRandomization"))
    params.string("apiKey", 128)
    drawn = generate(context.source, params)
    result = {
        "random": {"data": drawn.data, "completionTime": timestamp(context.now)},
        "bitsUsed": drawn.bitsUsed,
        "bitsLeft": OPEN_BITS_LEFT,
        "requestsLeft": OPEN_REQUESTS_LEFT,
        "advisoryDelay": 0,
    }
    return result, drawn.count
