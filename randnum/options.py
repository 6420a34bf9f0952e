"""
Checks of command-line values (and of the environment variables that stand
in for some), shared by C{twistd randnum} (L{randnum.tap}) and the
C{randnum} command (L{randnum.cli}): each returns the value or raises
L{usage.UsageError} with a message naming the option.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TypeVar

from twisted.python import usage

from randnum.query import QueryError, parseDecimal, parseInteger

#: An integer or a decimal number.
Number = TypeVar("Number", int, float)


def endpointDescription(value: str) -> str:
    """
    A bare port number means TCP on all interfaces; anything else is a
    Twisted endpoint description.
    """
    return f"tcp:{value}" if re.fullmatch(r"[0-9]+", value) else value


def integerOption(name: str, value: str) -> int:
    """
    The integer C{--name value}, in the wire protocol's integer grammar
    (not all that C{int()} accepts).
    """
    try:
        return parseInteger(name, value)
    except QueryError:
        raise usage.UsageError(f"--{name} must be an integer, not {value!r}") from None


def countOption(name: str, value: str, smallest: int) -> int:
    """
    The integer C{--name value}, at least C{smallest}.
    """
    number = integerOption(name, value)
    if number < smallest:
        raise usage.UsageError(f"--{name} must be at least {smallest}, not {value!r}")
    return number


#: A size: digits, then an optional binary suffix.
SIZE = re.compile(r"([0-9]{1,15})([KMGT]?)i?B?", re.IGNORECASE)


def sizeOption(name: str, value: str) -> int:
    """
    A size in bytes, with an optional binary suffix: C{500M}, C{2GiB}.
    """
    match = SIZE.fullmatch(value.strip())
    if match is None:
        raise usage.UsageError(
            f"--{name} must be a size in bytes, such as 900M or 2G, not {value!r}"
        )
    power = " KMGT".index(match.group(2).upper() or " ")
    return int(match.group(1)) << (10 * power)


def _nonNegative(name: str, value: str, what: str) -> float:
    """
    A finite decimal number, 0 or more; else a usage error saying it must
    be C{what}.
    """
    try:
        number = parseDecimal(name, value)
    except QueryError:
        number = math.nan
    if not (0 <= number < math.inf):
        raise usage.UsageError(f"--{name} must be {what}, not {value!r}")
    return number


def secondsOption(name: str, value: str) -> float:
    """
    A number of seconds, 0 or more, finite.
    """
    return _nonNegative(name, value, "a number of seconds (0 or more)")


def rateOption(name: str, value: str) -> float:
    """
    A rate a second, 0 (no limit) or more, finite.
    """
    return _nonNegative(name, value, "a number a second (0 for no limit)")


def optionalIntegerOption(name: str, value: str | None) -> int | None:
    """
    As L{integerOption}, for an option that may be left out: L{None} stays
    L{None}.
    """
    return None if value is None else integerOption(name, value)


def positiveOption(
    name: str, value: str, parse: Callable[[str, str], Number] = parseInteger
) -> Number:
    """
    C{--name value}, more than 0: an integer, or with C{parse=parseDecimal}
    a decimal number (such as C{0.5}).
    """
    try:
        number = parse(name, value)
    except QueryError:
        number = None
    if number is None or number <= 0:
        raise usage.UsageError(f"--{name} must be a positive number, not {value!r}")
    return number


def positiveNumberOption(name: str, value: str) -> float:
    """
    The decimal number C{--name value} (such as C{0.5}), more than 0.
    """
    return positiveOption(name, value, parseDecimal)


def hostOption(origin: str, value: str) -> str:
    """
    A host to connect to: a name, an IPv4 address, or an IPv6 address, bare
    or in brackets (which are taken off).

    @param origin: where the value came from, as the message names it: an
        option (C{--host}) or an environment variable (C{RANDNUM_HOST}).
    """
    host = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    name, colon, port = host.rpartition(":")
    bracketed = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:([0-9]+)", value)
    if bracketed is not None:
        # An IPv6 address in brackets, then a port: [::1]:5000.
        name, colon, port = bracketed.group(1), ":", bracketed.group(2)
    if colon and port.isdigit() and name and (":" not in name or bracketed):
        # A name or IPv4 address with a port after it (an IPv6 address
        # has colons of its own, unless it is in brackets).
        where = "--port" if origin.startswith("--") else "RANDNUM_PORT"
        raise usage.UsageError(
            f"{origin} is the host alone: put the port in {where} "
            f"({origin} {name} {where} {port})"
        )
    if not host or any(c in host for c in "[]/ \t"):
        raise usage.UsageError(
            f"{origin} must be a host name or address, not {value!r}"
        )
    return host


def portOption(origin: str, value: str) -> int:
    """
    A TCP port number to connect to, 1 to 65535.

    @param origin: where the value came from, as the message names it: an
        option (C{--port}) or an environment variable (C{RANDNUM_PORT}).
    """
    try:
        port = parseInteger("port", value)
    except QueryError:
        port = 0
    if not 1 <= port <= 65535:
        raise usage.UsageError(
            f"{origin} must be a port number (1-65535), not {value!r}"
        )
    return port
