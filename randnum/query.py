# -*- test-case-name: tests.test_query -*-
"""
The request model shared by every face of randnum.

A request, whichever way it arrives (a line on a TCP connection, an HTTP
query string), becomes a L{Query} through L{parseParameters}, which is the
one place where parameters are validated.  Invalid requests raise
L{QueryError} with a short reason meant for the client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from urllib.parse import unquote_to_bytes

#: Smallest and largest value a range may include: signed 64-bit.
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

#: Most numbers one request may ask for.
MAX_COUNT = 10000

#: Largest reply one request may ask for, in bytes.
MAX_REPLY = 16 * 1024 * 1024

#: The types of value a request may ask for (C{type=}), and the parameters
#: each takes besides C{n} and C{type}.
TYPES: dict[str, tuple[str, ...]] = {
    "int": ("min", "max", "unique"),
    "decimal": ("places", "unique"),
    "gaussian": ("mean", "sd", "digits"),
    "string": ("length", "chars", "unique"),
    "uuid": ("version",),
    "bytes": ("length", "format"),
}

#: Parameters every type takes.
COMMON = ("n", "type", "signed", "data")

#: Parameter names a request may use.
KEYS = (*COMMON, *dict.fromkeys(k for keys in TYPES.values() for k in keys))

#: Largest reply a signed request may ask for, in bytes: its record is
#: signed, stored and sent in one piece, so it is kept to one turn's work
#: (10,000 numbers of up to five digits).
MAX_SIGNED_REPLY = 64 * 1024

#: Most characters of a signed request's C{data}.
MAX_DATA = 256

#: Default C{length} by type.
DEFAULT_LENGTH = {"string": 16, "bytes": 32}

#: The named character sets of C{type=string}.
CHARACTER_SETS = {
    "alnum": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "alpha": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "lower": "abcdefghijklmnopqrstuvwxyz",
    "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "digits": "0123456789",
    "hex": "0123456789abcdef",
}

# An optional sign, any number of leading zeros, then at most 20 digits:
# enough for any 64-bit value, and a bound on the work int() does for a
# hostile 400-digit value.  Only ASCII digits: not what int() also takes
# ("4_2", " 42 ", Arabic-Indic digits).
_INTEGER = re.compile(r"([+-]?)0*([0-9]{1,20})")
_BOOLEANS = {"true": True, "false": False}

# key=value tokens: a name, "=", anything without whitespace.
_KEY_VALUE = re.compile(rb"([A-Za-z_][A-Za-z0-9_-]*)=(\S*)")

# An "=" with spaces on either side ("n = 3", "n =3", "n= 3").
_SPACED_EQUALS = re.compile(rb"[ \t]*=[ \t]*")

#: The longest repaired request an error reason shows whole.
_SHOWN_REPAIR = 64


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
        "bad_type",
        "not_for_type",
        "bad_alphabet",
        "reply_too_large",
        "missing_parameter",
        "bad_data",
        "signing_disabled",
        "audit_unavailable",
        "audit_full",
    )

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class Query:
    """
    What a client asked for: C{n} values of one C{type}.  For integers (the
    default type), values in C{min..max} inclusive, distinct when
    C{unique}; the other fields are the other types' parameters (see
    L{TYPES}).

    Instances made by L{Query.checked} or the parsers are always valid.
    """

    min: int = 1
    max: int = 10000
    n: int = 1
    unique: bool = False
    type: str = "int"
    places: int = 6
    mean: float = 0.0
    sd: float = 1.0
    digits: int = 10
    length: int = 16
    chars: str = "alnum"
    version: int = 4
    format: str = "hex"
    signed: bool = False
    data: str | None = None

    @property
    def span(self) -> int:
        """
        How many values the range holds.
        """
        return self.max - self.min + 1

    @property
    def alphabet(self) -> str:
        """
        The characters of a string request: a named set, or the literal
        characters after C{:}.
        """
        return CHARACTER_SETS.get(self.chars) or self.chars[1:]

    @property
    def choices(self) -> int:
        """
        How many distinct values one value of this request can take (for
        C{unique}).
        """
        if self.type == "decimal":
            return int(10**self.places)
        if self.type == "string":
            return int(len(self.alphabet) ** self.length)
        return self.span

    def replySize(self) -> int:
        """
        An upper bound on the bytes of the reply on TCP (values, spaces and
        the newline).
        """
        if self.type == "int":
            return self.n * (max(len(b"%d" % self.min), len(b"%d" % self.max)) + 1)
        each = {
            "decimal": self.places + 2,
            # Plain notation: up to 10 digits before the point (|mean| and
            # sd up to 1e9), or up to 20 zeros after it (sd down to 1e-20).
            "gaussian": self.digits + 24,
            "string": self.length,
            "uuid": 36,
            "bytes": 2 * self.length
            if self.format == "hex"
            else 4 * -(-self.length // 3),
        }[self.type]
        return self.n * (each + 1)

    def workSize(self) -> int:
        """
        What answering costs, counted in bytes of an ordinary reply: the
        reply's size, or a multiple of it where each byte costs more to make
        (measured: Gaussians, four times; unique strings from a crowded
        space, sampled by index and spelled out a character at a time,
        eight times).
        """
        size = self.replySize()
        if self.type == "string" and self.unique and self.choices < 16 * self.n:
            return 8 * size
        if self.type == "gaussian":
            return 4 * size
        return size

    def checked(self) -> Query:
        """
        Return this query if it is valid.

        @raise QueryError: if it is not, with the first problem found.
        """
        if self.type not in TYPES:
            raise QueryError(f"type must be one of {', '.join(TYPES)}", "bad_type")
        for name, value in (("min", self.min), ("max", self.max)):
            if not INT64_MIN <= value <= INT64_MAX:
                raise QueryError(
                    f"{name} must be a signed 64-bit integer", "out_of_range"
                )
        if self.min > self.max:
            raise QueryError("min must not exceed max", "min_exceeds_max")
        if not 1 <= self.n <= MAX_COUNT:
            raise QueryError(f"n must be between 1 and {MAX_COUNT}", "bad_count")
        if self.type == "gaussian" and not self.sd > 0:
            raise QueryError("sd must be greater than 0", "out_of_range")
        for name, low, high in _BOUNDS[self.type]:
            if not low <= getattr(self, name) <= high:
                raise QueryError(
                    f"{name} must be between {low:.0f} and {high:.0f}", "out_of_range"
                )
        if self.type == "string":
            _checkAlphabet(self.chars)
        if self.type == "uuid" and self.version not in (4, 7):
            raise QueryError("version must be 4 or 7", "out_of_range")
        if self.type == "bytes" and self.format not in ("hex", "base64"):
            raise QueryError("format must be hex or base64", "bad_format")
        if self.unique and self.n > self.choices:
            if self.type == "int":
                raise QueryError(
                    f"unique needs n <= {self.span}, the count of values in "
                    f"{self.min}..{self.max}",
                    "too_few_values",
                )
            raise QueryError(
                f"unique needs n <= {self.choices}, the count of possible values",
                "too_few_values",
            )
        if self.replySize() > MAX_REPLY:
            raise QueryError("reply too large", "reply_too_large")
        if self.signed and self.replySize() > MAX_SIGNED_REPLY:
            raise QueryError(
                f"reply too large for a signed draw (at most {MAX_SIGNED_REPLY} "
                "bytes of values)",
                "reply_too_large",
            )
        if self.data is not None:
            _checkData(self.data)
            if not self.signed:
                raise QueryError("data needs signed=true", "bad_data")
        return self


# Each type's bounded parameters: name, smallest, largest.
_BOUNDS: dict[str, tuple[tuple[str, float, float], ...]] = {
    "int": (),
    "decimal": (("places", 1, 15),),
    "gaussian": (("mean", -1e9, 1e9), ("sd", 0, 1e9), ("digits", 2, 17)),
    "string": (("length", 1, 1024),),
    "uuid": (),
    "bytes": (("length", 1, 65536),),
}


def _checkAlphabet(chars: str) -> None:
    """
    A string request's C{chars}: a named set, or C{:} and 2 to 94
    printable ASCII characters (no whitespace), none repeated.
    """
    if chars in CHARACTER_SETS:
        return
    if not chars.startswith(":"):
        raise QueryError(
            f"chars must be one of {', '.join(CHARACTER_SETS)}, or ':' and the "
            "characters",
            "bad_alphabet",
        )
    literal = chars[1:]
    if not 2 <= len(literal) <= 94 or not all("!" <= c <= "~" for c in literal):
        raise QueryError(
            "chars must list 2 to 94 printable ASCII characters after ':'",
            "bad_alphabet",
        )
    if len(set(literal)) != len(literal):
        raise QueryError("chars must not repeat a character", "bad_alphabet")


def _checkData(data: str) -> None:
    """
    A signed request's C{data}: 1 to L{MAX_DATA} printable characters.
    """
    if len(data) > MAX_DATA:
        raise QueryError(f"data must be at most {MAX_DATA} characters", "bad_data")
    if not data.isprintable():
        raise QueryError("data must be printable characters", "bad_data")


def dataText(raw: bytes) -> str:
    """
    The text of a C{data} value from its bytes (on TCP, after undoing its
    percent-encoding; on HTTP, after the URL's).

    @raise QueryError: if they are not UTF-8.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise QueryError("data must be UTF-8 text", "bad_data") from None


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


_SIGNED_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})")


def _signedDecimal(name: str, value: str) -> float:
    if not _SIGNED_DECIMAL.fullmatch(value):
        raise QueryError(f"{name} must be a decimal number", "not_a_number")
    return float(value)


def _text(name: str, value: str) -> str:
    return value


# How each parameter's text becomes its value.
_PARSERS: dict[str, Callable[[str, str], object]] = {
    "min": parseInteger,
    "max": parseInteger,
    "n": parseInteger,
    "unique": _boolean,
    "type": _text,
    "places": parseInteger,
    "mean": _signedDecimal,
    "sd": _signedDecimal,
    "digits": parseInteger,
    "length": parseInteger,
    "chars": _text,
    "version": parseInteger,
    "format": _text,
    "signed": _boolean,
    "data": _text,
}


def parseParameters(pairs: Iterable[tuple[str, str]], defaults: Query) -> Query:
    """
    Build a valid L{Query} from C{(name, value)} pairs; names not given
    take their value from C{defaults} (for integers) or from the type's
    defaults.

    @raise QueryError: for an unknown, repeated or empty parameter, one
        that does not apply to the type asked for, a value of the wrong
        form, or a query that L{Query.checked} rejects.
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
    kind = seen.get("type", "int")
    if kind not in TYPES:
        raise QueryError(f"type must be one of {', '.join(TYPES)}", "bad_type")
    applicable = TYPES[kind]
    values: dict[str, object] = {}
    for name, value in seen.items():
        if name not in applicable and name not in COMMON:
            raise QueryError(f"{name} does not apply to type {kind}", "not_for_type")
        values[name] = _PARSERS[name](name, value)
    if kind == "int":
        base = defaults
    else:
        base = Query(n=defaults.n, type=kind, length=DEFAULT_LENGTH.get(kind, 16))
    return replace(base, **values).checked()  # type: ignore[arg-type]


#: The longest raw byte stream one request may ask for: 256 TiB.
MAX_STREAM = 1 << 48


def parseStreamLength(pairs: Iterable[tuple[str, str]]) -> int:
    """
    The C{length} of a raw byte stream request (C{/v1/bytes}), its only
    parameter: 1 to L{MAX_STREAM} bytes.

    @raise QueryError: for another, repeated or missing parameter, or a
        length of the wrong form or out of range.
    """
    lengths: list[int] = []
    for name, value in pairs:
        if name != "length":
            raise QueryError(f"unknown parameter {_shown(name)}", "unknown_parameter")
        if lengths:
            raise QueryError("repeated parameter length", "repeated_parameter")
        if not value:
            raise QueryError("empty value for length", "empty_value")
        lengths.append(parseInteger("length", value))
    if not lengths:
        raise QueryError("length is required", "missing_parameter")
    if not 1 <= lengths[0] <= MAX_STREAM:
        raise QueryError(f"length must be between 1 and {MAX_STREAM}", "out_of_range")
    return lengths[0]


def parseLine(line: bytes, defaults: Query) -> Query:
    """
    Interpret one request line (without its line ending).

    A line made only of whitespace-separated C{key=value} tokens is a
    parameter request.  Any other line, including an empty one, asks for
    C{defaults}.  A C{data} value is percent-encoded UTF-8 (C{%20} for a
    space), as in a URL; other values are taken as they are.

    @raise QueryError: if a parameter request is invalid.
    """
    if b"=" not in line:
        return defaults
    tokens = line.split()
    matches = [_KEY_VALUE.fullmatch(token) for token in tokens]
    if not tokens or None in matches:
        _refuseNearParameters(line, len(tokens))
        if any(token[:6].lower() == b"signed" for token in tokens):
            # Not a parameter request, so it would get an unsigned number:
            # say so rather than let a signed draw go unsigned unnoticed
            # ("signed =true", "signed:true", an unencoded space in data).
            raise QueryError(
                "a signed request must be only key=value tokens "
                "(percent-encode spaces in data as %20)",
                "bad_format",
            )
        return defaults
    try:
        return parseParameters(
            (
                (
                    match.group(1).decode("ascii"),
                    match.group(2).decode("latin-1")
                    if match.group(1) != b"data"
                    else dataText(unquote_to_bytes(match.group(2))),
                )
                for match in matches
                if match is not None
            ),
            defaults,
        )
    except QueryError:
        _refuseOtherSeparators(line)
        raise


def _refuseNearParameters(line: bytes, words: int) -> None:
    """
    Refuse a line that would be a parameter request but for spaces around
    its C{=} signs, or a parameter named without its value, rather than
    answer it as free text with one number in the default range: a
    newcomer's C{n = 3} means C{n=3}, and C{n=3 unique} means
    C{n=3 unique=true}.  Only names randnum knows count, so free text such
    as C{a = b} is still free text.

    @param words: how many whitespace-separated words C{line} has.
    @raise QueryError: naming the request it meant.
    """
    if words > 3 * len(KEYS):
        # More words than "key = value" for every parameter: free text,
        # and not worth a second pass over a long line.
        return
    tokens = [
        # "n =" (nothing after the sign) names n without its value.
        token[:-1] if token.endswith(b"=") and _isName(token[:-1]) else token
        for token in _SPACED_EQUALS.sub(b"=", line).split()
    ]
    if not tokens or not all(_isParameter(token) or _isName(token) for token in tokens):
        return
    bare = [token.decode("ascii") for token in tokens if _isName(token)]
    if not bare:
        raise QueryError(f"no spaces around =: {_fix(tokens)}", "bad_format")
    name = bare[0]
    if name not in _SUGGESTED:
        raise QueryError(f"{name} needs a value ({name}=VALUE)", "empty_value")
    named = name.encode("ascii")
    # A value may be any bytes: compare, never decode, the other tokens.
    value = _SUGGESTED[name].encode("ascii")
    fixed = [token + b"=" + value if token == named else token for token in tokens]
    raise QueryError(f"{name} needs a value: {_fix(fixed)}", "empty_value")


#: A value to suggest for a parameter named without one.
_SUGGESTED = {"unique": "true", "signed": "true", "n": "3"}


def _fix(tokens: list[bytes]) -> str:
    """
    The request C{tokens} make, to show in an error reason, if it is short
    printable ASCII; else C{key=value}.
    """
    shown = b" ".join(tokens)
    if (
        len(shown) <= _SHOWN_REPAIR
        and shown.isascii()
        and shown.decode("ascii").isprintable()
    ):
        return shown.decode("ascii")
    return "key=value"


def _isParameter(token: bytes) -> bool:
    """
    Whether C{token} is C{key=value} with a key randnum knows.
    """
    match = _KEY_VALUE.fullmatch(token)
    return match is not None and match.group(1).decode("ascii") in KEYS


def _isName(token: bytes) -> bool:
    """
    Whether C{token} is the name of a parameter randnum knows, alone.
    """
    return token.isascii() and token.decode("ascii") in KEYS


# A "&" or "," then a parameter's name and "=": an HTTP query string's
# separator ("n=3&max=6"), or a list's ("n=3,max=6").
_OTHER_SEPARATOR = re.compile(
    rb"[&,](?=(?:" + b"|".join(k.encode("ascii") for k in KEYS) + rb")=)"
)


def _refuseOtherSeparators(line: bytes) -> None:
    """
    Refuse an invalid request whose parameters are separated by C{&} or
    C{,} (as in a URL's query string) rather than by spaces, naming the
    request with spaces: its first value would otherwise be refused with a
    reason that hides the mistake (C{n must be an integer}).  Only an
    invalid request is looked at, so a valid value holding C{&n=} (such as
    a string's C{chars}) is still taken as it is.

    @raise QueryError: if C{line} has such separators.
    """
    if _OTHER_SEPARATOR.search(line) is None:
        return
    fixed = _OTHER_SEPARATOR.sub(b" ", line).split()
    raise QueryError(f"separate parameters with spaces: {_fix(fixed)}", "bad_format")
