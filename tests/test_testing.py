# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
randnum.testing: the doubles users test their own code with, and the docs'
"Testing your code" example (docs/embedding-and-testing.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import connectProtocol

import randnum
from randnum.client.protocol import RandnumClientProtocol
from randnum.testing import FakeBlockingClient, InMemoryServer, fakeConnect

PAGE = Path(__file__).resolve().parent.parent / "docs" / "embedding-and-testing.md"


def fired(deferred: Deferred[Any]) -> Any:
    results: list[Any] = []
    deferred.addBoth(results.append)
    assert results, "the Deferred has not fired"
    return results[0]


def test_inMemoryServerAnswersTheTwistedClient() -> None:
    server = InMemoryServer(seed=42)
    client = server.connect()
    dice = client.request(n=3, min=1, max=6)
    refused = client.request(n=0)
    assert not dice.called
    server.flush()
    numbers = fired(dice)
    assert len(numbers) == 3 and all(1 <= n <= 6 for n in numbers)
    error = fired(refused).value
    assert isinstance(error, randnum.RandnumError)
    assert error.reason == "n must be between 1 and 10000"


def test_sameSeedSameNumbers() -> None:
    def draw(seed: int) -> list[int]:
        server = InMemoryServer(seed=seed)
        client = server.connect()
        result = client.request(n=20)
        server.flush()
        numbers: list[int] = fired(result)
        return numbers

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)
    # And the same as the blocking double with that seed.
    with fakeConnect(seed=7) as client:
        assert client.get(n=20) == draw(7)


def test_endpointForCodeThatConnectsItself() -> None:
    server = InMemoryServer(seed=1, low=5, high=5)
    connecting = connectProtocol(server.endpoint(), RandnumClientProtocol())
    client = fired(connecting)
    result = client.request(n=2)
    server.flush()
    assert fired(result) == [5, 5]


def test_fakeBlockingClientBehavesLikeTheRealOne() -> None:
    with FakeBlockingClient(seed=3, low=1, high=1) as client:
        assert client.get(n=3) == [1, 1, 1]
        assert client.get(n=2, min=9, max=9) == [9, 9]
        with pytest.raises(randnum.RandnumError) as raised:
            client.get(n=7, min=1, max=6, unique=True)
        assert raised.value.reason.startswith("unique needs n <= 6")
    with pytest.raises(ConnectionError):
        client.get()


def test_fakeConnectReplacesConnect(monkeypatch: pytest.MonkeyPatch) -> None:
    def codeUnderTest() -> list[int]:
        with randnum.connect("randnum.example", 5000, timeout=1) as client:
            return client.get(n=6, min=1, max=49, unique=True)

    monkeypatch.setattr(randnum, "connect", fakeConnect)
    lottery = codeUnderTest()
    assert len(set(lottery)) == 6


def test_docsTestingExampleRuns() -> None:
    text = PAGE.read_text()
    section = text[text.index("## Testing your code") :]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert blocks, "the docs' 'Testing your code' section has no example"
    for block in blocks[:2]:
        namespace: dict[str, Any] = {}
        exec(compile(block, PAGE.name, "exec"), namespace)
        for name, value in namespace.items():
            if name.startswith("test_") and callable(value):
                value()
