"""
randnum's request and reply lines, as the clients write and read them.
"""

from __future__ import annotations

import decimal
import uuid
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from randnum.client import protocol
from randnum.client.lines import (
    RandnumError,
    UnexpectedReply,
    dataToken,
    parseReply,
    parseSigned,
    parseTexts,
    parseValues,
    requestLine,
    valuesLine,
)
from randnum.query import dataText


def test_requestLineSendsOnlyWhatIsGiven() -> None:
    assert requestLine() == b"n=1\r\n"
    assert requestLine(3, 1, 6, True) == b"n=3 min=1 max=6 unique=true\n"
    assert requestLine(2, max=9) == b"n=2 max=9\n"


def test_everyRequestLineFillsATlsRecordHeader() -> None:
    """
    A TLS server waits for 5 bytes before it refuses a plain connection: a
    short line ends in CRLF, so that the client learns at once.
    """
    assert requestLine(9) == b"n=9\r\n"
    assert requestLine(10) == b"n=10\n"
    assert all(len(requestLine(n)) >= 5 for n in range(1, 100))


def test_parseReply() -> None:
    assert parseReply(b"4 -1 6") == [4, -1, 6]
    assert parseReply(b"7\r") == [7]
    with pytest.raises(RandnumError) as refused:
        parseReply(b"ERR min must not exceed max")
    assert refused.value.reason == "min must not exceed max"
    assert not isinstance(refused.value, UnexpectedReply)
    with pytest.raises(UnexpectedReply):
        parseReply(b"HTTP/1.1 400 Bad Request")
    with pytest.raises(UnexpectedReply):
        parseReply(b"")


def test_valuesLineLeavesOutWhatIsNotGiven() -> None:
    assert valuesLine("string", 2, length=8, chars=None) == (
        b"type=string n=2 length=8\n"
    )
    assert valuesLine("int", unique=True, signed=False) == (
        b"type=int n=1 unique=true signed=false\n"
    )


def test_valuesLineWritesFloatsPlainly() -> None:
    # The server takes no exponent.
    assert valuesLine("gaussian", mean=1e-7, sd=2.5) == (
        b"type=gaussian n=1 mean=0.0000001 sd=2.5\n"
    )


@pytest.mark.parametrize("value", ["a b", "", "x\n", "\u00e9"])
def test_valuesLineRefusesWhatWouldBreakTheLine(value: str) -> None:
    with pytest.raises(ValueError, match="chars must be ASCII, no spaces"):
        valuesLine("string", chars=value)


def test_dataIsOneToken() -> None:
    assert valuesLine("int", signed=True, data="raffle 12%") == (
        b"type=int n=1 signed=true data=raffle%2012%25\n"
    )
    assert dataToken("r\u00e4tsel\tx") == "r\u00e4tsel%09x"
    with pytest.raises(ValueError, match="data must not be empty"):
        dataToken("")


@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=50))
def test_dataTokensRoundTrip(text: str) -> None:
    # As the server reads a data token back.
    token = dataToken(text)
    assert token.split() == [token]
    assert dataText(unquote_to_bytes(token.encode("utf-8"))) == text


def test_parseValuesOfEachType() -> None:
    assert parseValues(b"0.5 1.25", "decimal") == [
        decimal.Decimal("0.5"),
        decimal.Decimal("1.25"),
    ]
    assert parseValues(b"-1.5", "gaussian") == [-1.5]
    assert parseValues(b"ab", "string") == ["ab"]
    identity = uuid.uuid4()
    assert parseValues(str(identity).encode(), "uuid") == [identity]
    assert parseValues(b"00ff", "bytes") == [b"\x00\xff"]
    assert parseValues(b"AP8=", "bytes", "base64") == [b"\x00\xff"]
    assert parseValues(b"5\r", "int") == [5]


@pytest.mark.parametrize(
    ("line", "type"),
    [(b"x", "decimal"), (b"zz", "bytes"), (b"1", "nonsense"), (b"\xff", "string")],
)
def test_parseValuesRefusesWhatIsNotSuchValues(line: bytes, type: str) -> None:
    with pytest.raises(UnexpectedReply, match="it answered"):
        parseValues(line, type)


def test_parseValuesRaisesTheServersReason() -> None:
    with pytest.raises(RandnumError, match="length must be"):
        parseValues(b"ERR length must be between 1 and 1024", "string")


def test_parseSigned() -> None:
    with pytest.raises(UnexpectedReply, match="it answered '5'"):
        parseSigned(b"5")
    with pytest.raises(RandnumError, match="signing is not enabled"):
        parseSigned(b"ERR signing is not enabled")


def test_parseTextsKeepsTheServersWriting() -> None:
    assert parseTexts(b"1.50 2.00\r") == ["1.50", "2.00"]
    with pytest.raises(RandnumError):
        parseTexts(b"ERR no")


def test_theNamesStayImportableFromTheProtocolModule() -> None:
    for name in protocol.__all__:
        assert getattr(protocol, name) is not None
    assert protocol.valuesLine is valuesLine
    assert protocol.RandnumError is RandnumError
