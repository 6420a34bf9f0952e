"""
L{randnum.jsonrpc.allowances}: API keys' daily allowances, counted per UTC
day and kept across a restart.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from signers import ManualPool, makeStore
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from randnum.jsonrpc.allowances import (
    OPEN_BITS_LEFT,
    OPEN_REQUESTS_LEFT,
    KeyedAllowances,
    OpenAllowances,
    Usage,
    UsageDatabaseError,
    lockUsage,
    openKeyedAllowances,
    readCounts,
)
from randnum.jsonrpc.keys import ApiKey
from randnum.jsonrpc.protocol import RpcError
from randnum.jsonrpc.signed import hashedApiKey
from randnum.signing.store import openTail

#: 2026-12-03 23:59:00 UTC: a minute before midnight.
BEFORE_MIDNIGHT = calendar.timegm((2026, 12, 3, 23, 59, 0))

KEYS = {
    "limited": ApiKey("limited", "alice", requests=3, bits=100),
    "free": ApiKey("free", "bob", requests=None, bits=None),
    "halted": ApiKey("halted", "carol", requests=5, bits=5, running=False),
}


def fired(deferred: Deferred[Any]) -> Any:
    """
    What C{deferred} has fired with: a result, or the L{RpcError} it
    failed with.
    """
    results: list[Any] = []
    deferred.addBoth(results.append)
    assert results, "not fired"
    if isinstance(results[0], Failure):
        return results[0].trap(RpcError) and results[0].value
    return results[0]


class Counting:
    """
    L{KeyedAllowances} on a clock and a database the test runs by hand.
    """

    def __init__(self, tmp: Path, keys: dict[str, ApiKey] = KEYS) -> None:
        self.path = str(tmp / "usage.db")
        self.clock = MemoryReactorClock()
        self.clock.advance(BEFORE_MIDNIGHT)
        self.keys = keys
        self.allowances = self.start()

    def start(self) -> KeyedAllowances:
        self.pool = ManualPool(self.path)
        return KeyedAllowances(self.keys, self.pool, self.clock, readCounts(self.path))

    def write(self) -> None:
        """
        End the turn, and let the database thread write.
        """
        self.clock.advance(0)
        self.pool.runAll()

    def restart(self) -> KeyedAllowances:
        closing = self.allowances.close()
        self.pool.runAll()
        assert fired(closing) is None
        self.allowances = self.start()
        return self.allowances


def test_takingChargesOneRequestAndTheBits(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    usage = fired(counting.allowances.take("limited", 40))
    assert usage == Usage("running", BEFORE_MIDNIGHT, 2, 60, 1, 40)
    usage = fired(counting.allowances.take("limited", 0))
    assert usage == Usage("running", BEFORE_MIDNIGHT, 1, 60, 2, 40)
    assert fired(counting.allowances.usage("limited")) == usage


def test_aKeyWithoutLimitsReportsTheOpenAllowanceAndItsTotals(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    fired(counting.allowances.take("free", 10**9))
    usage = fired(counting.allowances.take("free", 7))
    assert usage == Usage(
        "running", BEFORE_MIDNIGHT, OPEN_REQUESTS_LEFT, OPEN_BITS_LEFT, 2, 10**9 + 7
    )


def test_anUnknownKeyIs400(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    for asked in (
        counting.allowances.take("nobody", 1),
        counting.allowances.usage("nobody"),
    ):
        error = fired(asked)
        assert (error.code, error.message, error.data) == (
            400,
            "The API key you specified does not exist",
            None,
        )


def test_aStoppedKeyIs401ButReportsItsUsage(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    error = fired(counting.allowances.take("halted", 1))
    assert (error.code, error.message, error.data) == (
        401,
        "The API key you specified is not running",
        None,
    )
    assert fired(counting.allowances.usage("halted")) == Usage(
        "stopped", BEFORE_MIDNIGHT, 5, 5, 0, 0
    )


def test_noRequestsLeftIs402WithWhatIsLeftAtIndexOne(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    for _ in range(3):
        fired(counting.allowances.take("limited", 1))
    error = fired(counting.allowances.take("limited", 1))
    assert error.code == 402
    assert error.message == (
        "The API key you specified has exceeded its daily request allowance"
    )
    assert error.data[1] == 0
    # Refused whole: nothing was charged.
    assert fired(counting.allowances.usage("limited")) == Usage(
        "running", BEFORE_MIDNIGHT, 0, 97, 3, 3
    )


def test_tooFewBitsLeftIs403AndChargesNothing(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    fired(counting.allowances.take("limited", 90))
    error = fired(counting.allowances.take("limited", 11))
    assert error.code == 403
    assert error.message == (
        "The API key you specified has exceeded its daily bit allowance"
    )
    assert error.data[1] == 10
    assert fired(counting.allowances.usage("limited")) == Usage(
        "running", BEFORE_MIDNIGHT, 2, 10, 1, 90
    )
    # Exactly what is left is still allowed.
    assert fired(counting.allowances.take("limited", 10)).bitsLeft == 0


def test_aNewUtcDayStartsWithTheWholeAllowance(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    for _ in range(3):
        fired(counting.allowances.take("limited", 30))
    assert fired(counting.allowances.take("limited", 1)).code == 402
    counting.clock.advance(59)
    assert fired(counting.allowances.take("limited", 1)).code == 402
    counting.clock.advance(1)  # Midnight, UTC.
    usage = fired(counting.allowances.take("limited", 1))
    assert (usage.requestsLeft, usage.bitsLeft) == (2, 99)
    # The totals go on across days.
    assert (usage.totalRequests, usage.totalBits) == (4, 91)


def test_countsSurviveARestart(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    fired(counting.allowances.take("limited", 30))
    fired(counting.allowances.take("free", 5))
    counting.clock.advance(10)
    allowances = counting.restart()
    assert fired(allowances.usage("limited")) == Usage(
        "running", BEFORE_MIDNIGHT, 2, 70, 1, 30
    )
    assert fired(allowances.usage("free")).totalBits == 5
    # The next day, after another restart: today's counts start afresh,
    # the totals and the creation time stay.
    counting.clock.advance(3600)
    allowances = counting.restart()
    assert fired(allowances.usage("limited")) == Usage(
        "running", BEFORE_MIDNIGHT, 3, 100, 1, 30
    )


def test_theChangesOfATurnAreWrittenInOneTransaction(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    counting.write()  # The keys' creation times.
    for _ in range(3):
        fired(counting.allowances.take("limited", 1))
    fired(counting.allowances.take("free", 1))
    assert not counting.pool.pending
    counting.clock.advance(0)
    assert len(counting.pool.pending) == 1
    # Counted while that is written: the next write, once it is done.
    fired(counting.allowances.take("free", 1))
    counting.clock.advance(0)
    assert len(counting.pool.pending) == 1
    counting.pool.runNext()
    counting.clock.advance(0)
    assert len(counting.pool.pending) == 1
    counting.pool.runNext()
    assert counting.allowances.writes == 3
    stored = readCounts(counting.path)
    assert stored[hashedApiKey("free")].totalRequests == 2


def test_keysAreStoredOnlyHashed(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    fired(counting.allowances.take("limited", 1))
    counting.write()
    data = Path(counting.path).read_bytes() + Path(counting.path + "-wal").read_bytes()
    assert b"limited" not in data
    expected = base64.b64encode(hashlib.sha512(b"limited").digest()).decode()
    assert hashedApiKey("limited") == expected
    assert set(readCounts(counting.path)) == {hashedApiKey(k) for k in KEYS}


def test_theHashIsRandomOrgsHashedApiKey() -> None:
    # The key and hashedApiKey of a real signed result (research-24 1.4).
    assert hashedApiKey("55ea5fe3-ab48-47f1-a0ed-952648e1a8c2").startswith("FG+7TLaIoH")


def test_aFailedWriteIsWrittenAgainWithTheNext(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    counting.write()
    fired(counting.allowances.take("limited", 1))
    counting.pool.breakNext = 1
    counting.write()
    assert counting.allowances.failures == 1
    assert readCounts(counting.path)[hashedApiKey("limited")].requests == 0
    fired(counting.allowances.take("free", 1))
    counting.write()
    stored = readCounts(counting.path)
    assert stored[hashedApiKey("limited")].requests == 1
    assert stored[hashedApiKey("free")].requests == 1


def test_closingWritesWhatIsWaitingAndThenFires(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    fired(counting.allowances.take("limited", 1))
    closed: list[object] = []
    counting.allowances.close().addCallback(closed.append)
    assert not closed
    counting.pool.runAll()
    assert closed == [None]
    assert readCounts(counting.path)[hashedApiKey("limited")].requests == 1


def test_closingWhileAWriteIsUnderWayWaitsForItAndTheRest(tmp_path: Path) -> None:
    counting = Counting(tmp_path)
    counting.clock.advance(0)  # The creation times' write is under way.
    fired(counting.allowances.take("limited", 1))
    closed: list[object] = []
    counting.allowances.close().addCallback(closed.append)
    counting.pool.runNext()
    assert not closed
    counting.clock.advance(0)
    counting.pool.runAll()
    assert closed == [None]
    assert readCounts(counting.path)[hashedApiKey("limited")].requests == 1


def test_aNegativeCostIsABug(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Counting(tmp_path).allowances.take("free", -1)


def test_openModeAcceptsAnyKeyAndCountsNothing() -> None:
    allowances = OpenAllowances(1234.5)
    usage = Usage("running", 1234.5, OPEN_REQUESTS_LEFT, OPEN_BITS_LEFT, 0, 0)
    assert fired(allowances.take("anything at all", 10**6)) == usage
    assert fired(allowances.usage("another")) == usage


def test_theAuditDatabaseHoldsTheCountsBesideAnIntactChain(tmp_path: Path) -> None:
    """
    Counts kept in the audit database (written by the audit store's own
    writer) leave its chain as L{openTail} checks it.
    """
    clock = Clock()
    clock.advance(BEFORE_MIDNIGHT)
    store, pool = makeStore(tmp_path, clock)
    from signers import drawn

    drawn(store, 3)
    allowances = KeyedAllowances(KEYS, pool, clock, readCounts(store.path))
    fired(allowances.take("limited", 5))
    clock.advance(0)
    pool.runAll()
    drawn(store, 2)
    assert openTail(store.path, store.signer)[0] == 5
    assert readCounts(store.path)[hashedApiKey("limited")].bits == 5


def test_openingOnADatabaseOfItsOwnClaimsIt(tmp_path: Path) -> None:
    path = str(tmp_path / "usage.db")
    reactor = MemoryReactorClock()
    allowances = openKeyedAllowances(KEYS, path, reactor)
    with pytest.raises(UsageDatabaseError) as raised:
        lockUsage(path)
    assert str(raised.value) == (
        f"{path} is in use by another randnum process; each needs its own"
    )
    assert allowances.closers
    allowances._release(None)
    lockUsage(path).close()


def test_aDatabaseThatIsNotOneIsSaidToBeSo(tmp_path: Path) -> None:
    bad = tmp_path / "usage.db"
    bad.write_bytes(b"not a database at all, " * 100)
    with pytest.raises(UsageDatabaseError) as raised:
        readCounts(str(bad))
    assert str(raised.value).startswith(f"cannot use {bad}: ")
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(str(bad)).execute("SELECT 1 FROM sqlite_master").fetchall()
