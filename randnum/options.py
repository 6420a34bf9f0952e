"""
Checks of command-line values, shared by C{twistd randnum} (L{randnum.tap})
and the C{randnum} command (L{randnum.cli}): each returns the value or
raises L{usage.UsageError} with a message naming the option.
"""

from __future__ import annotations

import math
import re

from twisted.python import usage

from randnum.query import QueryError, parseDecimal, parseInteger


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


def secondsOption(name: str, value: str) -> float:
    """
    A number of seconds, 0 or more, finite.
    """
    try:
        seconds = parseDecimal(name, value)
    except QueryError:
        seconds = math.nan
    if not (0 <= seconds < math.inf):
        raise usage.UsageError(
            f"--{name} must be a number of seconds (0 or more), not {value!r}"
        )
    return seconds
