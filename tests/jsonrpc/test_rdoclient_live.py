"""
RANDOM.ORG's official Python client, C{rdoclient}, against a live
C{twistd randnum --http ... --json-rpc}: pointed at it as a user would,
by replacing the HTTP call of its module (its URL is hard-coded).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import rdoclient  # type: ignore[import-untyped]
import rdoclient.rdoclient  # type: ignore[import-untyped]
import requests
from servers import Server, startServer, stopServer

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """
    One live server with C{--json-rpc}, for every test here.
    """
    running = startServer(
        tmp_path_factory.mktemp("rdoclient"),
        "--port",
        "tcp:0:interface=127.0.0.1",
        "--http",
        "tcp:0:interface=127.0.0.1",
        "--json-rpc",
        listeners=2,
    )
    yield running
    stopServer(running)


@pytest.fixture
def client(server: Server, monkeypatch: pytest.MonkeyPatch) -> Any:
    """
    A client (of a fresh key: rdoclient keeps one instance per key) whose
    requests go to the live server.
    """
    url = f"http://127.0.0.1:{server.ports[1]}/json-rpc/4/invoke"
    post = requests.post
    monkeypatch.setattr(
        rdoclient.rdoclient.requests,
        "post",
        lambda _url, *args, **kwargs: post(url, *args, **kwargs),
    )
    return rdoclient.RandomOrgClient(str(uuid.uuid4()), serialized=False)


def test_integers(client: Any) -> None:
    values = client.generate_integers(10, 1, 6)
    assert len(values) == 10 and all(1 <= v <= 6 for v in values)
    assert sorted(client.generate_integers(6, 1, 6, replacement=False)) == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert all(set(v) <= set("01") for v in client.generate_integers(5, 0, 7, base=2))


def test_integerSequences(client: Any) -> None:
    uniform = client.generate_integer_sequences(3, 4, 0, 9)
    assert [len(s) for s in uniform] == [4, 4, 4]
    multiform = client.generate_integer_sequences(2, [1, 3], [0, 5], [0, 7])
    assert multiform[0] == [0] and all(5 <= v <= 7 for v in multiform[1])


def test_decimalFractionsAndGaussians(client: Any) -> None:
    fractions = client.generate_decimal_fractions(5, 8)
    assert len(fractions) == 5 and all(0 <= v < 1 for v in fractions)
    gaussians = client.generate_gaussians(5, 10, 2, 6)
    assert len(gaussians) == 5 and all(isinstance(v, float) for v in gaussians)


def test_stringsUuidsAndBlobs(client: Any) -> None:
    strings = client.generate_strings(4, 8, "abcdef")
    assert all(len(s) == 8 and set(s) <= set("abcdef") for s in strings)
    uuids = client.generate_UUIDs(3)
    assert all(isinstance(u, uuid.UUID) and u.version == 4 for u in uuids)
    blobs = client.generate_blobs(2, 128, format="hex")
    assert [len(b) for b in blobs] == [32, 32]


def test_usage(client: Any) -> None:
    assert client.get_requests_left() > 0
    assert client.get_bits_left() > 0


def test_outOfRangeIsAValueError(client: Any) -> None:
    with pytest.raises(ValueError) as refused:
        client.generate_integers(100000, 0, 10)
    assert str(refused.value) == (
        "Error 202: Parameter 'n' is out of range; allowable values are [1,10000]"
    )


def test_signedMethodsAreNotFoundYet(client: Any) -> None:
    with pytest.raises(RuntimeError) as refused:
        client.generate_signed_integers(1, 0, 9)
    assert str(refused.value).startswith("Error -32601: Method not found")
