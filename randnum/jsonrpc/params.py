# -*- test-case-name: tests.jsonrpc.test_params -*-
"""
Reading a call's named parameters by RANDOM.ORG's rules, and its errors
for parameters out of its ranges: the 200 series for one parameter
(C{data} names it, then the allowed range), the 300 series for two that
contradict each other.

An explicit C{null} for an optional parameter means that it is absent:
RANDOM.ORG's official Python client sends every parameter, as C{null} when
it is not set.
"""

from __future__ import annotations

import math
from typing import Any

from randnum.jsonrpc.protocol import RpcError, invalidParams

#: RANDOM.ORG's codes: a parameter not of its type, out of its range, an
#: array longer or shorter than C{n}; one parameter more than another, too
#: few values in the domain for a draw without replacement.
MALFORMED = 200
OUT_OF_RANGE = 202
TOO_LONG = 203
TOO_SHORT = 204
MUST_BE_LESS = 300
DOMAIN_TOO_SMALL = 301

#: What stands for "no default": the parameter is required.
REQUIRED: Any = object()


def malformed(name: str, reason: str) -> RpcError:
    """
    200: C{name}'s value is not of the kind it must be.
    """
    return RpcError(MALFORMED, f"Parameter '{name}' is malformed: {reason}", [name])


def outOfRange(name: str, low: int, high: int) -> RpcError:
    """
    202: C{name} is outside C{low..high}, in RANDOM.ORG's words.
    """
    return RpcError(
        OUT_OF_RANGE,
        f"Parameter '{name}' is out of range; allowable values are [{low},{high}]",
        [name, low, high],
    )


def wrongLength(name: str, n: int, length: int) -> RpcError:
    """
    203 or 204: the array C{name} has C{length} elements, not C{n} (one for
    each sequence).
    """
    code, how = (TOO_LONG, "long") if length > n else (TOO_SHORT, "short")
    return RpcError(
        code,
        f"Parameter '{name}' is too {how}: it must have {n} elements, one for "
        "each sequence",
        [name, n],
    )


def mustBeLess(low: str, high: str) -> RpcError:
    """
    300: C{low} is more than C{high}.
    """
    return RpcError(
        MUST_BE_LESS,
        f"Parameter '{low}' must be less than or equal to parameter '{high}'",
        [low, high],
    )


def domainTooSmall(n: int, domain: int) -> RpcError:
    """
    301: C{n} distinct values asked of a domain of only C{domain}.
    """
    return RpcError(
        DOMAIN_TOO_SMALL,
        f"You requested {n} values without replacement but the domain you "
        f"specified contains only {domain}",
        [n, domain],
    )


class Params:
    """
    A call's named parameters, read one at a time by name and checked.

    @ivar values: the parameters, as the call gave them.
    """

    def __init__(self, values: dict[str, Any], names: tuple[str, ...]) -> None:
        """
        @param names: the method's parameters; any other is refused
            (-32602, as RANDOM.ORG refuses C{chars} for C{characters}).
        """
        for name in values:
            if name not in names:
                raise invalidParams(f"unknown parameter '{name}'")
        self.values = values

    def _get(self, name: str, default: Any) -> Any:
        value = self.values.get(name)
        if value is None:
            if default is REQUIRED:
                raise invalidParams(f"missing parameter '{name}'")
            return default
        return value

    def integer(self, name: str, low: int, high: int, default: Any = REQUIRED) -> int:
        """
        The integer C{name}, in C{low..high}.
        """
        return checkInteger(name, self._get(name, default), low, high)

    def number(self, name: str, low: int, high: int) -> float:
        """
        The (required) number C{name}, in C{low..high}.
        """
        value = self._get(name, REQUIRED)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise malformed(name, "it must be a number")
        # An integer is compared as it is: one of 400 digits has no float.
        if not low <= value <= high or not math.isfinite(value):
            raise outOfRange(name, low, high)
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        """
        The boolean C{name}.
        """
        return checkBoolean(name, self._get(name, default))

    def string(self, name: str, longest: int) -> str:
        """
        The (required) string C{name}, of 1 to C{longest} characters.
        """
        value = self._get(name, REQUIRED)
        if not isinstance(value, str):
            raise malformed(name, "it must be a string")
        if not 1 <= len(value) <= longest:
            raise malformed(name, f"it must have 1 to {longest} characters")
        if not _wellFormed(value):
            raise malformed(name, "it must be Unicode text (it holds a lone surrogate)")
        return value

    def choice(self, name: str, choices: tuple[Any, ...], default: Any) -> Any:
        """
        C{name}, one of C{choices}.
        """
        return checkChoice(name, self._get(name, default), choices)

    def raw(self, name: str, default: Any = REQUIRED) -> Any:
        """
        C{name} as given (or C{default} when absent), for a parameter that
        may be a value or an array of them.
        """
        return self._get(name, default)


def _wellFormed(text: str) -> bool:
    """
    Whether C{text} is Unicode text, which UTF-8 can carry: JSON's C{\\ud800}
    escape reads as a lone surrogate, which it cannot.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def checkInteger(name: str, value: Any, low: int, high: int) -> int:
    """
    C{value}, given for C{name}, if it is an integer in C{low..high}.
    """
    # JSON's true is no number, though Python's bool is an int.
    if isinstance(value, bool) or not isinstance(value, int):
        raise malformed(name, "it must be an integer")
    if not low <= value <= high:
        raise outOfRange(name, low, high)
    return value


def checkBoolean(name: str, value: Any) -> bool:
    """
    C{value}, given for C{name}, if it is true or false.
    """
    if not isinstance(value, bool):
        raise malformed(name, "it must be true or false")
    return value


def checkChoice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """
    C{value}, given for C{name}, if it is one of C{choices}.
    """
    if isinstance(value, bool) or value not in choices:
        spelled = ", ".join(map(str, choices[:-1])) + f" or {choices[-1]}"
        raise malformed(name, f"it must be {spelled}")
    return value
