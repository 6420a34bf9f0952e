# -*- test-case-name: tests.generation.test_values -*-
"""
Random values of every type a request can ask for, besides integers:
decimals, Gaussians, strings, UUIDs and bytes.

Every generator draws from a L{NumberSource}'s bytes (the OS CSPRNG, or a
seeded PRNG for reproducible runs) and renders ASCII bytes, ready to send.
None uses a plain modulo: characters are drawn by rejection sampling, as
integers are, and decimals are uniform integers in disguise.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterator

from randnum.generation.source import NumberSource, words
from randnum.query import Query

#: Unique strings are drawn as a sample of indices when fewer than this
#: many times C{n} strings are possible (see L{strings}).
CROWDED = 16

_TWO_PI = 2 * math.pi
_UNIT = 2.0**-53


def decimals(source: NumberSource, places: int, n: int, unique: bool) -> list[bytes]:
    """
    C{n} decimals uniform over C{0, 10**-places, ..., 1 - 10**-places},
    written exactly: C{0.} and C{places} digits.
    """
    top = 10**places - 1
    draw = source.distinct if unique else source.integers
    return [b"0.%0*d" % (places, value) for value in draw(0, top, n)]


def gaussians(
    source: NumberSource, mean: float, sd: float, digits: int, n: int
) -> list[bytes]:
    """
    C{n} normally distributed values (Box-Muller on 53-bit uniforms), in
    plain decimal notation rounded to C{digits} significant digits.
    """
    drawn = words(source.randomBytes, 8, n + (n & 1))
    log, sqrt, cos, sin = math.log, math.sqrt, math.cos, math.sin
    out: list[bytes] = []
    for i in range(0, len(drawn), 2):
        # u1 in (0, 1], so that its logarithm is finite; u2 in [0, 1).
        radius = sqrt(-2.0 * log(((drawn[i] >> 11) + 1) * _UNIT))
        angle = _TWO_PI * ((drawn[i + 1] >> 11) * _UNIT)
        out.append(plain(mean + sd * radius * cos(angle), digits))
        out.append(plain(mean + sd * radius * sin(angle), digits))
    del out[n:]
    return out


def plain(value: float, digits: int) -> bytes:
    """
    C{value} rounded to C{digits} significant digits, without an exponent.
    """
    text = f"{value:.{digits}g}"
    if "e" not in text:
        return text.encode("ascii")
    # Very large or very small: spell out the zeros (by moving the point,
    # which is several times faster than a Decimal).
    mantissa, _, exponent = text.partition("e")
    sign = "-" if mantissa[0] == "-" else ""
    whole, _, fraction = mantissa.lstrip("-").partition(".")
    figures = whole + fraction
    point = int(exponent) + len(whole)
    # "g" writes an exponent only below 1e-4, where the point comes before
    # every figure, or from 10 ** digits on, where it comes after them all.
    if point <= 0:
        text = "0." + "0" * -point + figures
    else:
        text = figures + "0" * (point - len(figures))
    return (sign + text).encode("ascii")


class Alphabet:
    """
    A set of characters to draw strings from, uniformly and independently:
    a random byte is kept only below the largest multiple of the set's size
    that fits in a byte, so that every character is equally likely.
    """

    def __init__(self, characters: bytes) -> None:
        size = len(characters)
        if not 2 <= size <= 256:
            raise ValueError("an alphabet needs 2 to 256 characters")
        self.characters = characters
        self.limit = 256 - 256 % size
        # Bytes at or over the limit are deleted, so their entries are
        # never used.
        self.table = bytes(characters[byte % size] for byte in range(256))
        self.rejected = bytes(range(self.limit, 256))

    def draw(self, randomBytes: Callable[[int], bytes], count: int) -> bytes:
        """
        C{count} independent uniform characters.
        """
        out = bytearray()
        while len(out) < count:
            needed = count - len(out)
            raw = randomBytes(needed * 256 // self.limit + needed // 32 + 8)
            # One C call maps the kept bytes and drops the rejected ones.
            out += raw.translate(self.table, self.rejected)
        del out[count:]
        return bytes(out)


def strings(
    source: NumberSource,
    alphabet: Alphabet,
    length: int,
    n: int,
    unique: bool,
    perBatch: int,
) -> Iterator[list[bytes]]:
    """
    C{n} strings of C{length} characters from C{alphabet}, in batches of
    at most C{perBatch} (distinct across batches when C{unique}: a repeat is
    dropped and drawn again, which keeps the sample uniform).
    """
    size = len(alphabet.characters)
    choices = size**length
    if unique and choices < CROWDED * n:
        # Most of the possible strings are asked for: drawing strings and
        # dropping repeats would take ever more draws towards the end (a
        # coupon collector).  Sample their indices without replacement
        # instead, and spell each index in the alphabet.
        characters = alphabet.characters
        for indices in source.distinctBatches(0, choices - 1, n, perBatch):
            batch = []
            for index in indices:
                spelled = bytearray(length)
                for position in range(length - 1, -1, -1):
                    index, digit = divmod(index, size)
                    spelled[position] = characters[digit]
                batch.append(bytes(spelled))
            yield batch
        return
    seen: set[bytes] = set()
    left = n
    while left:
        count = min(left, perBatch)
        drawn = alphabet.draw(source.randomBytes, count * length)
        batch = [drawn[i : i + length] for i in range(0, count * length, length)]
        if unique:
            fresh = []
            for value in batch:
                if value not in seen:
                    seen.add(value)
                    fresh.append(value)
            batch = fresh
        if batch:
            left -= len(batch)
            yield batch


def _uuidText(value: int) -> bytes:
    text = b"%032x" % value
    return b"-".join((text[:8], text[8:12], text[12:16], text[16:20], text[20:]))


def uuid4s(source: NumberSource, n: int) -> list[bytes]:
    """
    C{n} version 4 UUIDs: 122 random bits, the version and variant set.
    """
    raw = source.randomBytes(16 * n)
    mask = ~((0xF << 76) | (0x3 << 62))
    bits = (0x4 << 76) | (0x2 << 62)
    return [
        _uuidText((int.from_bytes(raw[i : i + 16], "big") & mask) | bits)
        for i in range(0, 16 * n, 16)
    ]


class UUID7Clock:
    """
    Version 7 UUIDs (RFC 9562): the Unix time in milliseconds, then a
    12-bit counter in C{rand_a} (the RFC's method 1, section 6.2) and 62
    random bits.  The counter starts at a random value below 2048 in each
    new millisecond and counts up, and the timestamp moves on by one when it
    overflows, so every UUID made here is greater than the one before, even
    when the clock stands still or steps back.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self.lastMillis = -1
        self.counter = 0

    def make(self, source: NumberSource, n: int) -> list[bytes]:
        """
        C{n} version 7 UUIDs, each greater than the last.
        """
        raw = words(source.randomBytes, 8, 2 * n)
        out: list[bytes] = []
        millis = max(int(self.now() * 1000), self.lastMillis)
        counter = self.counter
        for i in range(n):
            if millis != self.lastMillis:
                counter = raw[2 * i] & 0x7FF
                self.lastMillis = millis
            else:
                counter += 1
                if counter > 0xFFF:
                    millis += 1
                    self.lastMillis = millis
                    counter = raw[2 * i] & 0x7FF
            low = raw[2 * i + 1] & ((1 << 62) - 1)
            out.append(
                _uuidText(
                    (millis << 80) | (0x7 << 76) | (counter << 64) | (0x2 << 62) | low
                )
            )
        self.counter = counter
        return out


def randomBytes(
    source: NumberSource, length: int, encoding: str, n: int
) -> list[bytes]:
    """
    C{n} values of C{length} random bytes, each in hex or base64.
    """
    raw = source.randomBytes(length * n)
    pieces = [raw[i : i + length] for i in range(0, length * n, length)]
    if encoding == "base64":
        return [base64.b64encode(piece) for piece in pieces]
    return [piece.hex().encode("ascii") for piece in pieces]


def batches(
    source: NumberSource, query: Query, uuid7: UUID7Clock, size: int = 64 * 1024
) -> Iterator[list[bytes]]:
    """
    The values that answer C{query} (of any type but integers, which the
    source renders itself), rendered, in batches of about C{size} bytes: a
    large reply is made a batch at a time, as it is sent.
    """
    perBatch = max(1, size // (query.replySize() // query.n))
    kind = query.type
    if kind == "string":
        yield from strings(
            source,
            Alphabet(query.alphabet.encode("ascii")),
            query.length,
            query.n,
            query.unique,
            perBatch,
        )
        return
    if query.unique:
        # One sample without replacement, rendered a batch at a time.
        drawn = decimals(source, query.places, query.n, unique=True)
        for start in range(0, query.n, perBatch):
            yield drawn[start : start + perBatch]
        return
    for start in range(0, query.n, perBatch):
        count = min(perBatch, query.n - start)
        if kind == "decimal":
            yield decimals(source, query.places, count, unique=False)
        elif kind == "gaussian":
            yield gaussians(source, query.mean, query.sd, query.digits, count)
        elif kind == "uuid":
            yield (
                uuid4s(source, count)
                if query.version == 4
                else uuid7.make(source, count)
            )
        else:
            yield randomBytes(source, query.length, query.format, count)
