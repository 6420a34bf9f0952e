"""
Each client address's rate of signed draws.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from httpmemory import MemoryWeb
from loopback import TurnClock
from signers import ManualPool, makeStore
from twisted.python import usage

from randnum.config import Config
from randnum.generation.source import seededSource
from randnum.rates import AddressRates, RateLimited
from randnum.server import RandnumServer
from randnum.signing.keys import generateKey
from randnum.tap import Options


def test_aBucketHoldsTenSecondsOfItsRate() -> None:
    now = [0.0]
    rates = AddressRates(2, lambda: now[0])
    for _ in range(20):
        rates.take("192.0.2.7")
    with pytest.raises(RateLimited) as raised:
        rates.take("192.0.2.7")
    assert (raised.value.reason, raised.value.kind) == (
        "rate limited, retry in 1 s",
        "rate_limited",
    )
    rates.take("198.51.100.1")  # another client has its own
    now[0] = 0.5
    rates.take("192.0.2.7")  # refilled at 2 a second
    with pytest.raises(RateLimited):
        rates.take("192.0.2.7")
    now[0] = 1000.0
    for _ in range(20):  # never more than the burst
        rates.take("192.0.2.7")
    with pytest.raises(RateLimited):
        rates.take("192.0.2.7")


def test_retryAfterIsWhenEnoughHaveRefilled() -> None:
    rates = AddressRates(0.25, lambda: 0.0)  # a burst of 2.5
    rates.take("192.0.2.7", 2)
    with pytest.raises(RateLimited) as raised:
        rates.take("192.0.2.7")
    # Half a draw left: the other half comes in 2 s.
    assert raised.value.retryAfter == 2


def test_aCountOverTheBurstIsTakenFromAFullBucketAndPaidForByWaiting() -> None:
    now = [0.0]
    rates = AddressRates(0.1, lambda: now[0])  # a burst of 1
    rates.take("192.0.2.7", 5)  # never refused for good
    now[0] = 39.0  # 4 s of debt left, then 1 draw to refill
    with pytest.raises(RateLimited) as raised:
        rates.take("192.0.2.7")
    assert raised.value.retryAfter == 11
    now[0] = 50.0
    rates.take("192.0.2.7")


def test_aCountOverTheBurstNeedsAFullBucket() -> None:
    rates = AddressRates(0.1, lambda: 0.0)
    rates.take("192.0.2.7", 1)
    with pytest.raises(RateLimited):
        rates.take("192.0.2.7", 5)


def test_noRateIsNoLimit() -> None:
    rates = AddressRates(0, lambda: 0.0)
    for _ in range(10_000):
        rates.take("192.0.2.7")
    assert rates.buckets == {}


def test_quietClientsAreForgottenWhenThereAreMany(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("randnum.rates.KEPT_ADDRESSES", 3)
    now = [0.0]
    rates = AddressRates(1, lambda: now[0])
    for host in ("a", "b", "c"):
        rates.take(host)
    now[0] = 100.0  # a, b and c are quiet: their buckets have refilled
    rates.take("d")
    assert set(rates.buckets) == {"d"}


def signingWeb(tmp_path: Path, rate: float) -> tuple[MemoryWeb, ManualPool]:
    clock = TurnClock()
    store, pool = makeStore(tmp_path, clock)
    server = RandnumServer(
        source=seededSource(1),
        clock=clock,
        audit=store,
        config=Config(signedRate=rate),
    )
    return MemoryWeb(server), pool


def test_aClientOverItsRateIsToldWhenToRetryOnTcp(tmp_path: Path) -> None:
    web, pool = signingWeb(tmp_path, 0.1)  # a burst of one
    connection = web.connectTcp()
    connection.send(b"signed=true\nsigned=true\n")
    connection.turn(3)
    pool.runAll()
    assert connection.received.splitlines()[-1] == b"ERR rate limited, retry in 10 s"
    assert web.server.tcp.errorKinds["rate_limited"] == 1
    # Another address has its own rate.
    other = web.connectTcp("127.0.0.2")
    other.send(b"signed=true\n")
    other.turn(3)
    pool.runAll()
    assert other.received.startswith(b'{"')
    assert web.server.tcp.errorKinds["rate_limited"] == 1


def test_aClientOverItsRateGets429WithRetryAfter(tmp_path: Path) -> None:
    web, _ = signingWeb(tmp_path, 0.1)
    web.server.signedRates.take("127.0.0.1")  # its burst is spent
    response = web.fetch("/v1/random?signed=true")
    assert response.status == 429
    assert response.headers["retry-after"] == "10"
    assert response.json() == {"error": "rate limited, retry in 10 s"}
    assert web.server.http.errorKinds == {"rate_limited": 1}


def test_theRateIsAnOption(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    generateKey(key)
    signing = ["--signing-key", str(key), "--audit-db", str(tmp_path / "a.db")]
    options = Options(reactor=object())
    options.parseOptions([*signing, "--signed-rate", "2.5"])
    assert options.config.signedRate == 2.5
    options.signing.lock.close()  # type: ignore[union-attr]
    assert Config().signedRate == 100
    with pytest.raises(usage.UsageError) as raised:
        Options(reactor=object()).parseOptions([*signing, "--signed-rate", "-1"])
    assert str(raised.value) == (
        "--signed-rate must be a number a second (0 for no limit), not '-1'"
    )
