# -*- test-case-name: tests.jsonrpc.test_methods -*-
"""
RANDOM.ORG's generating methods (Release 4), basic and signed: each call's
parameters, checked by RANDOM.ORG's ranges and defaults, and costed before
anything is drawn (a L{Plan}); then its C{random.data}, drawn by randnum's
own generators (L{randnum.generation}) a piece of about one work budget at
a time, so that a large answer is made across reactor turns, as
C{/v1/random}'s are.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from randnum.generation.source import NumberSource
from randnum.generation.values import (
    CROWDED,
    Alphabet,
    decimals,
    gaussians,
    randomBytes,
    uuid4s,
)
from randnum.generation.values import strings as drawStrings
from randnum.jsonrpc.canonical import canonical
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
from randnum.jsonrpc.protocol import RpcError, methodNotFound
from randnum.limits import WORK_BUDGET
from randnum.query import MAX_SIGNED_REPLY

#: RANDOM.ORG's bounds: integers, and the most values of one call.
BOUND = 1_000_000_000
MOST_VALUES = 10_000
#: The bases integers may be written in.
BASES = (2, 8, 10, 16)
#: The most bits of all the blobs of one call.
MOST_BLOB_BITS = 1_048_576
#: What starting one more sequence costs, in bytes of an ordinary reply
#: (measured: 9 µs on a quiet machine, up to 25 µs under load, where
#: 100 µs are worth 2 KB).
SEQUENCE_COST = 1024
#: Decimal places randnum's decimals draw from one 64-bit range.
NARROW_PLACES = 18

#: The signed methods' extra parameters, and the most characters of their
#: JSON (RANDOM.ORG's limit for C{userData}).
SIGNED_EXTRAS = ("licenseData", "userData", "ticketId")
MOST_EXTRA = 1000

#: The most bytes of the values of one signed call: a signed result is one
#: record of the audit chain, made and signed at once, and held to
#: C{/v1/random}'s limit for a signed draw.
MOST_SIGNED_DATA = MAX_SIGNED_REPLY

#: Ticket methods, which randnum does not serve: they answer "method not
#: found".
TICKETS = ("createTickets", "revealTickets", "listTickets", "getTicket")

#: Pieces of C{random.data}'s JSON text, drawn from a source.
Pieces = Callable[[NumberSource], Iterator[bytes]]


@dataclass(frozen=True)
class Drawing:
    """
    What a generating method will draw, checked and costed: the bits it
    carries, how many values, what making them costs (in bytes of an
    ordinary reply, as L{randnum.query.Query.workSize}), its parameters
    with their defaults, and the pieces of its C{random.data}.
    """

    bitsUsed: int
    count: int
    workSize: int
    params: dict[str, Any]
    pieces: Pieces
    #: How many times its bytes making it costs (Gaussians, strings).
    scale: int = 1


@dataclass(frozen=True)
class Plan:
    """
    A generating call, checked and costed before anything is drawn.

    @ivar method: the method called (a basic or a signed one).
    @ivar apiKey: the key it was called with.
    @ivar drawing: what it draws.
    @ivar extras: a signed call's C{licenseData} and C{userData}.
    """

    method: str
    apiKey: str
    drawing: Drawing
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def signed(self) -> bool:
        """
        Whether the call is a signed method's.
        """
        return self.method in SIGNED


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


def _spans(n: int, workSize: int) -> Iterator[tuple[int, int]]:
    """
    C{n} values in runs of about one work budget: each run's start and
    length.
    """
    each = max(1, WORK_BUDGET * n // max(workSize, 1))
    for start in range(0, n, each):
        yield start, min(each, n - start)


def listed(parts: Iterator[bytes]) -> Iterator[bytes]:
    """
    Parts of an array's text (each one or more elements, separated by
    commas) as the pieces of one JSON array.
    """
    previous: bytes | None = None
    for part in parts:
        if previous is None:
            previous = b"[" + part
        else:
            yield previous
            previous = b"," + part
    yield (b"[" if previous is None else previous) + b"]"


def _quoted(values: list[bytes]) -> bytes:
    """
    ASCII values that need no escaping, as JSON strings.
    """
    return b'"' + b'","'.join(values) + b'"'


def _written(values: list[int], base: int) -> bytes:
    """
    Integers as C{random.data} holds them: numbers in base 10, strings in
    another base.
    """
    if base == 10:
        return b",".join(b"%d" % value for value in values)
    spec = {2: "b", 8: "o", 16: "x"}[base]
    return _quoted([format(value, spec).encode("ascii") for value in values])


def _width(low: int, high: int, base: int) -> int:
    """
    The most bytes one integer of C{low..high} takes in C{random.data}.
    """
    spec = {2: "b", 8: "o", 10: "d", 16: "x"}[base]
    quotes = 0 if base == 10 else 2
    return max(len(format(low, spec)), len(format(high, spec))) + quotes + 1


def _checkDomain(n: int, low: int, high: int, replacement: bool) -> None:
    if low > high:
        raise mustBeLess("min", "max")
    if not replacement and n > high - low + 1:
        raise domainTooSmall(n, high - low + 1)


def _integerParts(
    source: NumberSource, n: int, low: int, high: int, replacement: bool, base: int
) -> Iterator[bytes]:
    """
    C{n} integers of C{low..high}, written in C{base}, a work budget at a
    time.
    """
    sample = None if replacement else source.distinct(low, high, n)
    for start, count in _spans(n, n * _width(low, high, base)):
        if sample is None:
            yield _written(source.integers(low, high, count), base)
        else:
            yield _written(sample[start : start + count], base)


def generateIntegers(params: Params) -> Drawing:
    """
    C{n} integers in C{min..max}, with or without replacement, in C{base}.
    """
    n = params.integer("n", 1, MOST_VALUES)
    low = params.integer("min", -BOUND, BOUND)
    high = params.integer("max", -BOUND, BOUND)
    replacement = params.boolean("replacement", True)
    base = params.choice("base", BASES, 10)
    _noPregenerated(params)
    _checkDomain(n, low, high, replacement)
    filled = {"n": n, "min": low, "max": high, "replacement": replacement}
    return Drawing(
        _bits(n, high - low + 1),
        n,
        n * _width(low, high, base),
        {**filled, "base": base, "pregeneratedRandomization": None},
        lambda source: listed(_integerParts(source, n, low, high, replacement, base)),
    )


def _perSequence(
    params: Params, name: str, n: int, check: Callable[[str, Any], Any], default: Any
) -> tuple[list[Any], Any]:
    """
    C{name} for each of C{n} sequences (one value for all, or an array of
    C{n}, each checked), and the value as given, with its default.
    """
    value = params.raw(name, default)
    if isinstance(value, list):
        if len(value) != n:
            raise wrongLength(name, n, len(value))
        return [check(name, item) for item in value], value
    return [check(name, value)] * n, value


def _sequenceParts(
    source: NumberSource, specs: list[tuple[int, int, int, bool, int]]
) -> Iterator[bytes]:
    """
    Each sequence's array, several to a part up to about a work budget.
    """
    group: list[bytes] = []
    work = 0
    for length, low, high, replacement, base in specs:
        group.append(
            b"".join(
                listed(_integerParts(source, length, low, high, replacement, base))
            )
        )
        work += SEQUENCE_COST + length * _width(low, high, base)
        if work >= WORK_BUDGET:
            yield b",".join(group)
            group, work = [], 0
    if group:
        yield b",".join(group)


def generateIntegerSequences(params: Params) -> Drawing:
    """
    C{n} sequences of integers: uniform (each parameter one value) or
    multiform (any of them an array of C{n}, one for each sequence).
    """
    n = params.integer("n", 1, 1000)
    lengths, length = _perSequence(
        params,
        "length",
        n,
        lambda name, v: checkInteger(name, v, 1, MOST_VALUES),
        REQUIRED,
    )
    if sum(lengths) > MOST_VALUES:
        raise outOfRange("length", 1, MOST_VALUES // n)
    bound = lambda name, v: checkInteger(name, v, -BOUND, BOUND)  # noqa: E731
    lows, low = _perSequence(params, "min", n, bound, REQUIRED)
    highs, high = _perSequence(params, "max", n, bound, REQUIRED)
    replacements, replacement = _perSequence(
        params, "replacement", n, checkBoolean, True
    )
    bases, base = _perSequence(
        params, "base", n, lambda name, v: checkChoice(name, v, BASES), 10
    )
    _noPregenerated(params)
    specs = list(zip(lengths, lows, highs, replacements, bases, strict=True))
    for count, first, last, unique, _ in specs:
        _checkDomain(count, first, last, unique)
    filled = {"n": n, "length": length, "min": low, "max": high}
    return Drawing(
        sum(_bits(s[0], s[2] - s[1] + 1) for s in specs),
        sum(lengths),
        sum(SEQUENCE_COST + s[0] * _width(s[1], s[2], s[4]) for s in specs),
        {
            **filled,
            "replacement": replacement,
            "base": base,
            "pregeneratedRandomization": None,
        },
        lambda source: listed(_sequenceParts(source, specs)),
    )


def _wideFractions(
    source: NumberSource, places: int, n: int, seen: set[bytes] | None
) -> list[bytes]:
    """
    C{n} decimal fractions of more places than one 64-bit range holds: two
    of randnum's uniform integers side by side, none of them in C{seen}
    (when given: without replacement), which they join.
    """
    lowPlaces = places - NARROW_PLACES
    out: list[bytes] = []
    while len(out) < n:
        needed = n - len(out)
        highs = source.integers(0, 10**NARROW_PLACES - 1, needed)
        lows = source.integers(0, 10**lowPlaces - 1, needed)
        for high, low in zip(highs, lows, strict=True):
            text = b"0.%0*d%0*d" % (NARROW_PLACES, high, lowPlaces, low)
            if seen is not None:
                # A repeat is drawn again: the sample stays uniform (and
                # with 10**19 values, repeats are rare).
                if text in seen:
                    continue
                seen.add(text)
            out.append(text)
    return out


def _fractionBatches(
    source: NumberSource, n: int, places: int, unique: bool, perPart: int
) -> Iterator[list[bytes]]:
    """
    C{n} decimal fractions uniform over the multiples of C{10**-places} in
    [0, 1), written exactly, C{perPart} at a time: randnum's decimals, or
    for more places, L{_wideFractions}.  A sample without replacement is
    drawn a part at a time too.
    """
    if places > NARROW_PLACES:
        seen: set[bytes] | None = set() if unique else None
        for start in range(0, n, perPart):
            yield _wideFractions(source, places, min(perPart, n - start), seen)
        return
    if not unique:
        for start in range(0, n, perPart):
            yield decimals(source, places, min(perPart, n - start), False)
        return
    for values in source.distinctBatches(0, 10**places - 1, n, perPart):
        yield [b"0.%0*d" % (places, value) for value in values]


def _number(text: bytes) -> bytes:
    """
    A decimal fraction as a JSON number, without trailing zeros.
    """
    stripped = text.rstrip(b"0")
    return stripped + b"0" if stripped.endswith(b".") else stripped


def _fractionParts(
    source: NumberSource, n: int, places: int, unique: bool, perPart: int
) -> Iterator[bytes]:
    for texts in _fractionBatches(source, n, places, unique, perPart):
        yield b",".join(map(_number, texts))


def generateDecimalFractions(params: Params) -> Drawing:
    """
    C{n} decimal fractions in [0, 1) with C{decimalPlaces} places.
    """
    n = params.integer("n", 1, MOST_VALUES)
    places = params.integer("decimalPlaces", 1, 20)
    replacement = params.boolean("replacement", True)
    _noPregenerated(params)
    if not replacement and n > 10**places:
        raise domainTooSmall(n, 10**places)
    # A sample without replacement costs four times as much a value (a
    # partial shuffle, where values with replacement are drawn in bulk), and
    # more places than one 64-bit range holds twice (two draws a value).
    scale = 4 if not replacement else 2 if places > NARROW_PLACES else 1
    work = scale * n * (places + 3)
    perPart = max(1, WORK_BUDGET * n // work)
    return Drawing(
        _bits(n, 10**places),
        n,
        work,
        {
            "n": n,
            "decimalPlaces": places,
            "replacement": replacement,
            "pregeneratedRandomization": None,
        },
        lambda source: listed(
            _fractionParts(source, n, places, not replacement, perPart)
        ),
        scale,
    )


def generateGaussians(params: Params) -> Drawing:
    """
    C{n} values from a normal distribution, rounded to
    C{significantDigits}.
    """
    n = params.integer("n", 1, MOST_VALUES)
    mean = params.number("mean", -1_000_000, 1_000_000)
    sd = params.number("standardDeviation", -1_000_000, 1_000_000)
    digits = params.integer("significantDigits", 2, 20)
    _noPregenerated(params)
    # Four times its bytes, as on /v1/random: Box-Muller and the rounding.
    scale = 4
    work = scale * n * (digits + 24)

    def parts(source: NumberSource) -> Iterator[bytes]:
        for _, count in _spans(n, work):
            yield b",".join(gaussians(source, mean, sd, digits, count))

    return Drawing(
        _bits(n, 10**digits),
        n,
        work,
        {
            "n": n,
            "mean": params.raw("mean"),
            "standardDeviation": params.raw("standardDeviation"),
            "significantDigits": digits,
            "pregeneratedRandomization": None,
        },
        lambda source: listed(parts(source)),
        scale,
    )


def _distinct(characters: str) -> str:
    """
    C{characters} as a set (each once, in order): a character given twice
    is no likelier than the others.
    """
    return "".join(dict.fromkeys(characters))


def _plainAscii(characters: str) -> bool:
    """
    Whether C{characters} are ASCII that JSON writes as they are.
    """
    return all(" " <= c <= "~" and c not in '"\\' for c in characters)


def _stringParts(
    source: NumberSource,
    characters: str,
    length: int,
    n: int,
    unique: bool,
    perPart: int,
) -> Iterator[bytes]:
    """
    C{n} strings of C{length} of C{characters}, a work budget at a time.
    """
    if len(characters) == 1:
        for _, count in _spans(n, n * (length + 3)):
            yield (
                _quoted([characters.encode("ascii") * length] * count)
                if (_plainAscii(characters))
                else json.dumps([characters * length] * count)[1:-1].encode("utf-8")
            )
        return
    if _plainAscii(characters):
        alphabet = Alphabet(characters.encode("ascii"))
        for batch in drawStrings(source, alphabet, length, n, unique, perPart):
            yield _quoted(batch)
        return
    # Indices into the characters, drawn as randnum draws strings, then
    # spelled in them by one C call a string.
    indices = Alphabet(bytes(range(len(characters))))
    table = dict(enumerate(characters))
    for batch in drawStrings(source, indices, length, n, unique, perPart):
        spelled = [value.decode("latin-1").translate(table) for value in batch]
        yield json.dumps(spelled, ensure_ascii=False)[1:-1].encode("utf-8")


def generateStrings(params: Params) -> Drawing:
    """
    C{n} strings of C{length} characters drawn from C{characters}.
    """
    n = params.integer("n", 1, MOST_VALUES)
    length = params.integer("length", 1, 32)
    given = params.string("characters", 128)
    characters = _distinct(given)
    replacement = params.boolean("replacement", True)
    _noPregenerated(params)
    size = len(characters)
    if not replacement and n > size**length:
        raise domainTooSmall(n, size**length)
    each = length * max(len(c.encode("utf-8")) for c in characters) + 3
    scale = 1
    if not replacement and size**length < CROWDED * n:
        # Sampled by index and spelled out, as on /v1/random.
        scale = 8
    elif not _plainAscii(characters):
        scale = 2
    work = scale * n * each
    perPart = max(1, WORK_BUDGET * n // work)
    return Drawing(
        _bits(n * length, size),
        n,
        work,
        {
            "n": n,
            "length": length,
            "characters": given,
            "replacement": replacement,
            "pregeneratedRandomization": None,
        },
        lambda source: listed(
            _stringParts(source, characters, length, n, not replacement, perPart)
        ),
        scale,
    )


def generateUUIDs(params: Params) -> Drawing:
    """
    C{n} version 4 UUIDs.
    """
    n = params.integer("n", 1, 1000)
    _noPregenerated(params)

    def parts(source: NumberSource) -> Iterator[bytes]:
        for _, count in _spans(n, 39 * n):
            yield _quoted(uuid4s(source, count))

    return Drawing(
        122 * n,
        n,
        39 * n,
        {"n": n, "pregeneratedRandomization": None},
        lambda source: listed(parts(source)),
    )


def generateBlobs(params: Params) -> Drawing:
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
    octets = size // 8
    each = (2 * octets if encoding == "hex" else 4 * -(-octets // 3)) + 3

    def parts(source: NumberSource) -> Iterator[bytes]:
        for _, count in _spans(n, n * each):
            yield _quoted(randomBytes(source, octets, encoding, count))

    return Drawing(
        n * size,
        n,
        n * each,
        {"n": n, "size": size, "format": encoding, "pregeneratedRandomization": None},
        lambda source: listed(parts(source)),
    )


#: The generating methods, by their basic names, with their parameters'
#: names.
GENERATORS: dict[str, tuple[Callable[[Params], Drawing], tuple[str, ...]]] = {
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

#: The signed methods, each with the basic one it signs.
SIGNED = {"generateSigned" + name[len("generate") :]: name for name in GENERATORS}

#: Every method name RANDOM.ORG's Release 4 has (the metrics' labels).
METHODS = (*GENERATORS, *SIGNED, "getUsage", "verifySignature", "getResult", *TICKETS)


def _extra(params: Params, name: str) -> Any:
    """
    A signed call's C{licenseData} or C{userData}: any JSON, of at most
    L{MOST_EXTRA} characters.
    """
    value = params.raw(name, None)
    if value is None:
        return None
    try:
        # What its record keeps, and its signature covers.
        text = canonical(value)
    except (ValueError, TypeError, RecursionError):
        raise malformed(
            name, "it has no canonical JSON form (a lone surrogate, a huge number)"
        ) from None
    if len(text.decode("utf-8")) > MOST_EXTRA:
        raise malformed(name, f"it must be at most {MOST_EXTRA} characters as JSON")
    return value


def plan(method: str, values: dict[str, Any]) -> Plan:
    """
    Check a generating call and cost it, drawing nothing yet.

    @raise RpcError: for a method that does not generate (-32601), or
        parameters it refuses.
    """
    if method in TICKETS:
        raise methodNotFound(method, "randnum does not serve tickets")
    basic = SIGNED.get(method, method)
    if basic not in GENERATORS:
        raise methodNotFound(method)
    generate, names = GENERATORS[basic]
    extras = SIGNED_EXTRAS if method in SIGNED else ()
    params = Params(values, ("apiKey", *names, "pregeneratedRandomization", *extras))
    apiKey = params.string("apiKey", 128)
    drawing = generate(params)
    if not extras:
        return Plan(method, apiKey, drawing)
    if params.raw("ticketId", None) is not None:
        raise RpcError(420, "The ticket you specified does not exist", None)
    size = drawing.workSize // drawing.scale
    if size > MOST_SIGNED_DATA:
        n = drawing.params["n"]
        raise outOfRange("n", 1, max(1, n * MOST_SIGNED_DATA // size))
    return Plan(
        method,
        apiKey,
        drawing,
        {
            "licenseData": _extra(params, "licenseData"),
            "userData": _extra(params, "userData"),
        },
    )
