"""
Telling a port that is not randnum's from the first bytes it answers.
"""

from __future__ import annotations

import pytest

from randnum.client.wrongport import (
    SpeaksHTTP,
    SpeaksTLS,
    WrongPort,
    recognize,
    shownAddress,
)


@pytest.mark.parametrize(
    "start", [b"4", b"4 1 6\n", b"ERR n must be", b'{"serial":1', b"SSH-2.0"]
)
def test_randnumsRepliesAreTold(start: bytes) -> None:
    assert recognize(start, "here") is True


@pytest.mark.parametrize("start", [b"", b"H", b"HTTP/1", b"\x15"])
def test_aPrefixOfAnotherProtocolWaitsForMore(start: bytes) -> None:
    assert recognize(start, "here") is False


@pytest.mark.parametrize(
    ("start", "kind"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n", SpeaksHTTP),
        (b"HTTP/1.0 400", SpeaksHTTP),
        (b"\x15\x03\x03\x00\x02\x02\x46", SpeaksTLS),
    ],
)
def test_anotherProtocolIsNamed(start: bytes, kind: type[WrongPort]) -> None:
    with pytest.raises(kind) as raised:
        recognize(start, "[::1]:8080")
    assert isinstance(raised.value, ConnectionError)
    assert raised.value.where == "[::1]:8080"
    assert str(raised.value).startswith("[::1]:8080 speaks ")


def test_shownAddressBracketsIpv6() -> None:
    assert shownAddress("::1", 5000) == "[::1]:5000"
    assert shownAddress("127.0.0.1", 5000) == "127.0.0.1:5000"
