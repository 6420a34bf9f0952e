"""
L{randnum.jsonrpc.canonical}: RFC 8785 with floats, checked against the
RFC's own examples and by properties.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from randnum.jsonrpc.canonical import canonical, number
from randnum.signing import records

#: RFC 8785 Appendix B: IEEE 754 doubles (as hex) and their canonical text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]

#: Appendix B's rows that have no JSON form: NaN and the infinities.
APPENDIX_B_ERRORS = ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"]

# Any text UTF-8 carries: no lone surrogates.
TEXT = st.text(st.characters(codec="utf-8"))
# Member names that sort alike by code point and by UTF-16 code unit.
BMP_NAMES = st.text(st.characters(codec="utf-8", max_codepoint=0xFFFF))
DOUBLES = st.floats(allow_nan=False, allow_infinity=False)

JSON_WITH_FLOATS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | DOUBLES | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4)
    ),
    max_leaves=20,
)

FLOAT_FREE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-records.SAFE_INTEGER, records.SAFE_INTEGER)
    | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(BMP_NAMES, inner, max_size=4)
    ),
    max_leaves=20,
)


def double(bits: str) -> float:
    """
    The double with these IEEE 754 bits (hex).
    """
    value: float = struct.unpack(">d", bytes.fromhex(bits))[0]
    return value


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_numbersAreWrittenAsAppendixBWritesThem(bits: str, expected: str) -> None:
    assert canonical(double(bits)) == expected.encode("ascii")


@pytest.mark.parametrize("bits", APPENDIX_B_ERRORS)
def test_nanAndTheInfinitiesAreRefused(bits: str) -> None:
    with pytest.raises(ValueError):
        canonical({"x": [double(bits)]})


def test_theRfcsExampleIsCanonicalisedAsTheRfcSays() -> None:
    """
    RFC 8785 section 3.2.4: whitespace gone, members sorted, numbers and
    strings rewritten.
    """
    given = json.loads(
        r"""{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3,
                      0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"""
    )
    assert canonical(given) == (
        '{"literals":[null,true,false],'
        '"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode("utf-8")


def test_membersAreSortedByUtf16CodeUnits() -> None:
    """
    RFC 8785 section 3.2.3: an emoji (surrogates D83D DE00) sorts before
    U+FB33, although its code point is larger.
    """
    given = json.loads(
        r"""{"\u20ac": "Euro Sign", "\r": "Carriage Return",
             "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",
             "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
             "\u00f6": "Latin Small Letter O With Diaeresis"}"""
    )
    names = list(json.loads(canonical(given)))
    assert names == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_integersAreTheDoublesTheyBecome() -> None:
    assert canonical(2**53 + 1) == b"9007199254740992"
    assert canonical(10**21) == b"1e+21"
    assert canonical(-(10**23)) == b"-1e+23"
    assert canonical([1, -0.0, 1.0, 100]) == b"[1,0,1,100]"


def test_anIntegerBeyondTheLargestDoubleIsRefused() -> None:
    with pytest.raises(ValueError, match="beyond the largest double"):
        canonical([10**400])


def test_stringsAreEscapedAsJsonStringifyEscapesThem() -> None:
    """
    Only the quote, the backslash and the C0 controls are escaped, the
    usual ones by letter and the rest in lowercase hex; U+007F, U+2028 and
    non-ASCII stay as they are, in UTF-8.
    """
    given = '"\\\b\f\n\r\t\x00\x1f\x7f\u2028é\U0001f600/'
    assert canonical(given) == (
        '"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\u2028é\U0001f600/"'.encode()
    )


@pytest.mark.parametrize(
    "given", ["\ud800", ["a\udfffb"], {"\udc00": 1}, {"a": {"b": "\ud83d"}}]
)
def test_loneSurrogatesAreRefused(given: Any) -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        canonical(given)


@pytest.mark.parametrize("given", [b"bytes", {1, 2}, {1: "a"}, [object()]])
def test_whatIsNotJsonIsRefused(given: Any) -> None:
    with pytest.raises(TypeError):
        canonical(given)


@given(DOUBLES)
def test_aNumbersTextReadsBackAsTheSameDouble(value: float) -> None:
    # A whole number's text reads back as an int: a double again in a
    # client that reads JSON numbers as doubles.
    assert float(number(value)) == value
    assert float(json.loads(canonical(value))) == value


@given(JSON_WITH_FLOATS)
def test_canonicalFormIsAFixedPoint(value: Any) -> None:
    """
    The canonical form, read back as a client reads it, canonicalises to
    the same bytes: what a signature covers survives a round trip.
    """
    once = canonical(value)
    assert canonical(json.loads(once)) == once


@given(JSON_WITH_FLOATS)
def test_memberOrderAndSpacingDoNotMatter(value: Any) -> None:
    """
    Re-encoded with other spacing and members in reverse order, a value
    has the same canonical form.
    """

    def reverse(node: Any) -> Any:
        if isinstance(node, dict):
            return {name: reverse(node[name]) for name in reversed(list(node))}
        if isinstance(node, list):
            return [reverse(item) for item in node]
        return node

    other = json.loads(json.dumps(reverse(value), indent=3))
    assert canonical(other) == canonical(value)


@given(FLOAT_FREE)
def test_agreesWithTheRecordsCanonicalFormWithoutFloats(value: Any) -> None:
    assert canonical(value) == records.canonical(value)


@pytest.mark.live
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_numbersAgreeWithNodesJsonStringify() -> None:
    """
    A cross-check against an ECMAScript engine (the RFC vectors above are
    the test that always runs).
    """
    doubles = [double(bits) for bits, _ in APPENDIX_B]
    doubles += [1.5 * 10.0**exponent for exponent in range(-320, 308)]
    doubles += [2.0**exponent / 3 for exponent in range(-1070, 1020)]
    script = (
        "const xs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(xs.map(x => JSON.stringify(x))));"
    )
    done = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(doubles),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert [number(value) for value in doubles] == json.loads(done.stdout)
