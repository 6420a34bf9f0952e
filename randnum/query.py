"""
The request model shared by every face of randnum.

A request, whichever way it arrives (a line on a TCP connection, an HTTP
query string), becomes a L{Query} through L{parseParameters}, which is the
one place where parameters are validated.  Invalid requests raise
L{QueryError} with a short reason meant for the client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: Smallest and largest value a range may include: signed 64-bit.
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

#: Most numbers one request may ask for.
MAX_COUNT = 10000

#: Parameter names a request may use.
KEYS = ("n", "min", "max", "unique")

# An optional sign, any number of leading zeros, then at most 20 digits:
# enough for any 64-bit value, and a bound on the work int() does for a
# hostile 400-digit value.  Only ASCII digits: not what int() also takes
# ("4_2", " 42 ", Arabic-Indic digits).
_INTEGER = re.compile(r"([+-]?)0*([0-9]{1,20})")
_BOOLEANS = {"true": True, "false": False}

# key=value tokens: a name, "=", anything without whitespace.
_KEY_VALUE = re.compile(rb"([A-Za-z_][A-Za-z0-9_-]*)=(\S*)")


class QueryError(ValueError):
    """
    A request that cannot be answered.

    @ivar reason: a short, human-readable explanation for the client.
    @ivar kind: what is wrong, as one of a fixed set of labels (for
        metrics, where the reason, which may quote the client, would not do).
    """

    #: Every L{kind}.
    KINDS = (
        "unknown_parameter",
        "repeated_parameter",
        "empty_value",
        "not_an_integer",
        "not_a_number",
        "not_a_boolean",
        "out_of_range",
        "min_exceeds_max",
        "bad_count",
        "too_few_values",
        "bad_format",
    )

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class Query:
    """
    What a client asked for: C{n} numbers in C{min..max} inclusive, distinct
    when C{unique}.

    Instances made by L{Query.checked} or the parsers are always valid.
    """

    min: int = 1
    max: int = 10000
    n: int = 1
    unique: bool = False

    @property
    def span(self) -> int:
        """
        How many values the range holds.
        """
        return self.max - self.min + 1

    def checked(self) -> Query:
        """
        Return this query if it is valid.

        @raise QueryError: if it is not, with the first problem found.
        """
        for name, value in (("min", self.min), ("max", self.max)):
            if not INT64_MIN <= value <= INT64_MAX:
                raise QueryError(
                    f"{name} must be a signed 64-bit integer", "out_of_range"
                )
        if self.min > self.max:
            raise QueryError("min must not exceed max", "min_exceeds_max")
        if not 1 <= self.n <= MAX_COUNT:
            raise QueryError(f"n must be between 1 and {MAX_COUNT}", "bad_count")
        if self.unique and self.n > self.span:
            raise QueryError(
                f"unique needs n <= {self.span}, the count of values in "
                f"{self.min}..{self.max}",
                "too_few_values",
            )
        return self


def _shown(text: str) -> str:
    """
    Quote client-supplied text for an error reason, cut to a sane length.
    """
    return repr(text if len(text) <= 32 else text[:32] + "...")


def parseInteger(name: str, value: str) -> int:
    """
    A decimal integer: an optional sign and ASCII digits, nothing else.

    @raise QueryError: for anything else, or more than 20 significant digits.
    """
    match = _INTEGER.fullmatch(value)
    if match is None:
        raise QueryError(f"{name} must be an integer", "not_an_integer")
    return int(match.group(1) + match.group(2))


_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20}")


def parseDecimal(name: str, value: str) -> float:
    """
    A non-negative decimal number (such as C{10}, C{0.5}, C{.25}): ASCII
    digits and at most one point, nothing else (no sign, exponent, C{inf},
    C{nan}, underscores or spaces).

    @raise QueryError: for anything else.
    """
    if not _DECIMAL.fullmatch(value):
        raise QueryError(f"{name} must be a decimal number", "not_a_number")
    return float(value)


def _boolean(name: str, value: str) -> bool:
    try:
        return _BOOLEANS[value]
    except KeyError:
        raise QueryError(f"{name} must be true or false", "not_a_boolean") from None


def parseParameters(pairs: Iterable[tuple[str, str]], defaults: Query) -> Query:
    """
    Build a valid L{Query} from C{(name, value)} pairs; names not given
    take their value from C{defaults}.

    @raise QueryError: for an unknown, repeated or empty parameter, a value
        of the wrong form, or a query that L{Query.checked} rejects.
    """
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name not in KEYS:
            raise QueryError(f"unknown parameter {_shown(name)}", "unknown_parameter")
        if name in seen:
            raise QueryError(f"repeated parameter {name}", "repeated_parameter")
        if not value:
            raise QueryError(f"empty value for {name}", "empty_value")
        seen[name] = value
    return Query(
        min=parseInteger("min", seen["min"]) if "min" in seen else defaults.min,
        max=parseInteger("max", seen["max"]) if "max" in seen else defaults.max,
        n=parseInteger("n", seen["n"]) if "n" in seen else defaults.n,
        unique=_boolean("unique", seen["unique"])
        if "unique" in seen
        else defaults.unique,
    ).checked()


def parseLine(line: bytes, defaults: Query) -> Query:
    """
    Interpret one request line (without its line ending).

    A line made only of whitespace-separated C{key=value} tokens is a
    parameter request.  Any other line, including an empty one, asks for
    C{defaults}.

    @raise QueryError: if a parameter request is invalid.
    """
    if b"=" not in line:
        return defaults
    tokens = line.split()
    matches = [_KEY_VALUE.fullmatch(token) for token in tokens]
    if not tokens or None in matches:
        return defaults
    return parseParameters(
        (
            (match.group(1).decode("ascii"), match.group(2).decode("latin-1"))
            for match in matches
            if match is not None
        ),
        defaults,
    )
