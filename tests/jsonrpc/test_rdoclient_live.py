"""
RANDOM.ORG's official Python client, C{rdoclient}, against a live signing
C{twistd randnum --http ... --json-rpc --api-keys FILE}: pointed at it as a
user would, by replacing the HTTP call of its module (its URL is
hard-coded).
"""

from __future__ import annotations

import datetime
import itertools
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import rdoclient  # type: ignore[import-untyped]
import rdoclient.rdoclient  # type: ignore[import-untyped]
import requests
from servers import BIN, Server, startServer, stopServer

pytestmark = pytest.mark.live

#: Keys the server knows: one for each test's fresh client, one with an
#: allowance of two requests a day, and one stopped.
KEYS = [str(uuid.uuid4()) for _ in range(40)]
TIGHT = "tight-" + str(uuid.uuid4())
STOPPED = "stopped-" + str(uuid.uuid4())
_fresh = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """
    One live signing server with C{--json-rpc} and API keys, for every
    test here.
    """
    tmp = tmp_path_factory.mktemp("rdoclient")
    subprocess.run([str(BIN / "randnum"), "keygen", str(tmp / "key.pem")], check=True)
    lines = [f"{key} user{i}" for i, key in enumerate(KEYS)]
    lines += [f"{TIGHT} tight requests=2", f"{STOPPED} gone stopped"]
    (tmp / "keys").write_text("\n".join(lines) + "\n")
    running = startServer(
        tmp,
        "--port",
        "tcp:0:interface=127.0.0.1",
        "--http",
        "tcp:0:interface=127.0.0.1",
        "--json-rpc",
        "--signing-key",
        str(tmp / "key.pem"),
        "--audit-db",
        str(tmp / "audit.db"),
        "--api-keys",
        str(tmp / "keys"),
        listeners=2,
    )
    yield running
    stopServer(running)


@pytest.fixture
def route(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    rdoclient's requests go to the live server.
    """
    url = f"http://127.0.0.1:{server.ports[1]}/json-rpc/4/invoke"
    post = requests.post
    monkeypatch.setattr(
        rdoclient.rdoclient.requests,
        "post",
        lambda _url, *args, **kwargs: post(url, *args, **kwargs),
    )


def clientOf(key: str) -> Any:
    """
    rdoclient's client for C{key}, sending inline (rdoclient keeps one
    instance per key, with its back-off state).
    """
    return rdoclient.RandomOrgClient(key, serialized=False)


@pytest.fixture
def client(route: None) -> Any:
    """
    A client of a fresh key.
    """
    return clientOf(KEYS[next(_fresh)])


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


def test_signedIntegersVerifyThenNotOnceChanged(client: Any) -> None:
    signed = client.generate_signed_integers(6, 1, 49, replacement=False)
    assert len(set(signed["data"])) == 6
    assert signed["random"]["serialNumber"] >= 1
    assert client.verify_signature(signed["random"], signed["signature"]) is True
    signed["random"]["data"][0] = 50
    assert client.verify_signature(signed["random"], signed["signature"]) is False


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("generate_signed_integer_sequences", (2, [2, 3], 0, [9, 99])),
        ("generate_signed_decimal_fractions", (3, 20)),
        ("generate_signed_gaussians", (3, 0.5, 0.001, 20)),
        ("generate_signed_strings", (3, 6, "\u03b1\u03b2\u03b3def")),
        ("generate_signed_UUIDs", (2,)),
        ("generate_signed_blobs", (2, 64)),
    ],
)
def test_everySignedMethodVerifies(client: Any, method: str, args: Any) -> None:
    signed = getattr(client, method)(*args, user_data={"draw": 7})
    assert signed["random"]["userData"] == {"draw": 7}
    assert client.verify_signature(signed["random"], signed["signature"]) is True


def test_getResultGivesTheSignedResultBack(client: Any, server: Server) -> None:
    signed = client.generate_signed_strings(2, 5, "abc")
    again = client.get_result(signed["random"]["serialNumber"])
    assert again["data"] == signed["data"]
    assert again["signature"] == signed["signature"]
    # The same draw is a record of the chain, at /v1/draws/SERIAL.
    record = requests.get(
        f"http://127.0.0.1:{server.ports[1]}/v1/draws/"
        f"{signed['random']['serialNumber']}",
        timeout=10,
    ).json()
    assert record["values"] == signed["data"]


def test_anUnknownKeyDoesNotExist(route: None) -> None:
    with pytest.raises(rdoclient.RandomOrgKeyNonExistentError):
        clientOf("no-such-" + str(uuid.uuid4())).generate_integers(1, 1, 6)


def test_aStoppedKeyIsNotRunning(route: None) -> None:
    with pytest.raises(rdoclient.RandomOrgKeyNotRunningError):
        clientOf(STOPPED).generate_integers(1, 1, 6)


class _MidMonth(datetime.datetime):
    """
    rdoclient's clock, mid-month: its back-off after a 402 sets the day to
    tomorrow's number, which fails on a month's last day.
    """

    @classmethod
    def utcnow(cls) -> Any:
        return datetime.datetime(2026, 12, 3, 12, 0, 0)


def test_theDailyRequestAllowanceRunsOut(
    route: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rdoclient.rdoclient, "datetime", _MidMonth)
    tight = clientOf(TIGHT)
    tight.generate_integers(1, 1, 6)
    assert tight.get_requests_left() == 1
    tight.generate_integers(1, 1, 6)
    with pytest.raises(rdoclient.RandomOrgInsufficientRequestsError):
        tight.generate_integers(1, 1, 6)
