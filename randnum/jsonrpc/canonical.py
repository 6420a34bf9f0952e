# -*- test-case-name: tests.jsonrpc.test_canonical -*-
"""
RFC 8785 (JSON Canonicalization Scheme, JCS) for any JSON value, floats
included: the bytes randnum signs a RANDOM.ORG C{random} object over.

L{randnum.signing.records.canonical} covers only the float-free subset its
records keep to.  RANDOM.ORG's objects hold decimal fractions, Gaussians,
means and whatever a client puts in C{userData}, so this one writes numbers
as RFC 8785 says: as the IEEE 754 double they are, in the text ECMAScript's
C{Number.prototype.toString} gives it.  Any language's JCS library
reproduces the bytes.

This module needs only the standard library.
"""

from __future__ import annotations

import json
import math
from typing import Any

# ECMAScript writes a double without an exponent when its decimal exponent
# n (value = 0.d1d2... * 10**n) lies in -6 < n <= 21.
_LOWEST_PLAIN = -5
_HIGHEST_PLAIN = 21


def _digits(value: float) -> tuple[str, int]:
    """
    The shortest decimal digits that read back as C{value} (positive,
    finite), and the exponent n with C{value == 0.DIGITS * 10**n}.

    Python's C{repr} and ECMAScript choose the same digits: the fewest
    that round-trip, and of those the nearest to the double.
    """
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # value == int(whole + fraction) * 10**(exponent - len(fraction))
    scale = int(exponent or 0) - len(fraction)
    stripped = digits.rstrip("0")
    scale += len(digits) - len(stripped)
    return stripped, scale + len(stripped)


def number(value: float | int) -> str:
    """
    A JSON number as RFC 8785 writes it: the double it is (an integer
    beyond 2**53 becomes the nearest double), by ECMAScript's
    C{Number.prototype.toString}; C{-0} as C{0}.

    @raise ValueError: for NaN, an infinity, or an integer beyond the
        largest double.
    """
    if isinstance(value, int):
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"{value} is beyond the largest double") from None
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a JSON number")
    if value == 0:
        return "0"
    if value < 0:
        return "-" + number(-value)
    text = repr(value)
    if "e" not in text:
        # Python writes 1e-4 <= value < 1e16 in plain notation with the
        # same digits; only ".0" of a whole number differs.
        return text[:-2] if text.endswith(".0") else text
    digits, n = _digits(value)
    k = len(digits)
    if k <= n <= _HIGHEST_PLAIN:
        return digits + "0" * (n - k)
    if 0 < n <= _HIGHEST_PLAIN:
        return digits[:n] + "." + digits[n:]
    if _LOWEST_PLAIN <= n <= 0:
        return "0." + "0" * -n + digits
    exponent = f"{n - 1:+d}"
    if k == 1:
        return digits + "e" + exponent
    return digits[0] + "." + digits[1:] + "e" + exponent


def _utf16(name: str) -> bytes:
    """
    A member name's sort key: its UTF-16 code units (big-endian bytes sort
    as the units do).
    """
    return name.encode("utf-16-be", "surrogatepass")


#: JSON.stringify's escaping of a string (the C function behind
#: C{json.dumps(..., ensure_ascii=False)}).
_string: Any = json.encoder.encode_basestring

#: The integers every double holds exactly: written as they are.
_EXACT = 2**53


def _float(value: float) -> str:
    """
    L{number} for a float, by the short way wherever Python's C{repr} holds
    ECMAScript's text: plain notation (1e-4 <= |value| < 1e16, whole
    numbers aside), and exponents of 21 and more, or -7 and less, where
    both write one (ECMAScript without the exponent's leading zero).
    """
    text = repr(value)
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        power = int(exponent)
        if power >= _HIGHEST_PLAIN or power <= -7:
            return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"
        return number(value)
    if "n" in text:
        # nan or inf, which number refuses.
        return number(value)
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _text(value: Any) -> str:
    """
    C{value}'s canonical text.  Dispatched on the exact type first: a
    signed result holds thousands of numbers, and this is their path.
    """
    kind = type(value)
    if kind is str:
        return str(_string(value))
    if kind is float:
        return _float(value)
    if kind is int:
        return str(value) if -_EXACT <= value <= _EXACT else number(value)
    if kind is list or kind is tuple:
        return "[" + ",".join(map(_text, value)) + "]"
    if kind is dict:
        for name in value:
            if type(name) is not str:
                raise TypeError("object member names must be strings")
        members = sorted(value, key=_utf16)
        return (
            "{"
            + ",".join(_string(name) + ":" + _text(value[name]) for name in members)
            + "}"
        )
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _subclass(value)


def _subclass(value: Any) -> str:
    """
    The canonical text of an instance of a subclass of a JSON type.
    """
    if isinstance(value, str):
        return _text(str(value))
    if isinstance(value, float):
        return _text(float(value))
    if isinstance(value, int):
        return _text(int(value))
    if isinstance(value, (list, tuple)):
        return _text(list(value))
    if isinstance(value, dict):
        return _text(dict(value))
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def canonical(value: Any) -> bytes:
    """
    The RFC 8785 canonical form of a JSON value (what C{json.loads} gives:
    L{dict}, L{list}, L{str}, L{int}, L{float}, L{bool}, C{None}): members
    sorted by the UTF-16 code units of their names, no whitespace, strings
    escaped as ECMAScript's C{JSON.stringify} escapes them, numbers as
    L{number} writes them; UTF-8.

    @raise ValueError: for NaN, an infinity, an integer beyond the largest
        double, or a string holding a lone surrogate (which UTF-8 cannot
        carry).
    @raise TypeError: for anything that is not a JSON value.
    """
    try:
        return _text(value).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate") from None
