# -*- test-case-name: tests.jsonrpc.test_allowances -*-
"""
The daily allowances of RANDOM.ORG's JSON-RPC face: what each API key may
still ask for today (a UTC day), and what it has asked for in all.

Two kinds, one interface (L{Allowances}):

  - L{OpenAllowances}, without C{--api-keys}: open mode.  Any key is
    accepted, nothing is counted, and every key has the same large
    allowance left.
  - L{KeyedAllowances}, with C{--api-keys}: only the keys of the file
    (L{randnum.jsonrpc.keys}), each counted per UTC day.  Counts are kept
    in memory and written behind to SQLite (the audit database's table
    C{api_usage}, or C{--api-usage-db}), so a restart does not reset
    them.  The reactor's thread never touches the database after start:
    the changes of a turn are written together, in one transaction, by
    one C{adbapi} thread.

Keys are stored hashed (base64 SHA-512, RANDOM.ORG's C{hashedApiKey}),
never as they are.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from randnum.jsonrpc.keys import RUNNING, STOPPED, ApiKey
from randnum.jsonrpc.protocol import RpcError
from randnum.jsonrpc.signed import hashedApiKey
from randnum.signing.store import FileClaimed, Pool, claim

log = Logger(namespace="randnum")

#: What open mode reports as left of a key's daily allowances, whatever is
#: drawn (and what a key without a limit reports): as much as a Java
#: client's 32-bit integers hold comfortably.
OPEN_BITS_LEFT = 1_000_000_000
OPEN_REQUESTS_LEFT = 1_000_000_000

#: RANDOM.ORG's errors about keys and allowances.
KEY_DOES_NOT_EXIST = 400
KEY_NOT_RUNNING = 401
REQUESTS_EXCEEDED = 402
BITS_EXCEEDED = 403

#: JSON-RPC's code for a failure of the server's own.
INTERNAL_ERROR = -32603

#: Seconds in a UTC day.
DAY = 86400


@dataclass(frozen=True)
class Usage:
    """
    A key's figures, as C{getUsage} reports them (and a result's
    C{requestsLeft} and C{bitsLeft}).

    @ivar status: C{"running"} or C{"stopped"}.
    @ivar creationTime: when the key was first seen (seconds since the
        epoch).
    @ivar requestsLeft: requests it may still make today.
    @ivar bitsLeft: bits it may still draw today.
    @ivar totalRequests: requests it has made since it was created.
    @ivar totalBits: bits it has drawn since it was created.
    """

    status: str
    creationTime: float
    requestsLeft: int
    bitsLeft: int
    totalRequests: int
    totalBits: int


def keyDoesNotExist() -> RpcError:
    """
    400: a key not in C{--api-keys}.
    """
    return RpcError(KEY_DOES_NOT_EXIST, "The API key you specified does not exist")


def keyNotRunning() -> RpcError:
    """
    401: a key marked stopped.
    """
    return RpcError(KEY_NOT_RUNNING, "The API key you specified is not running")


def requestsExceeded(apiKey: str, left: int) -> RpcError:
    """
    402: the key has made its requests for today.  C{data[1]} is the
    requests left (what the official JavaScript client reads).
    """
    return RpcError(
        REQUESTS_EXCEEDED,
        "The API key you specified has exceeded its daily request allowance",
        [apiKey, left],
    )


def bitsExceeded(apiKey: str, left: int) -> RpcError:
    """
    403: the call would draw more bits than the key has left today.
    C{data[1]} is the bits left.
    """
    return RpcError(
        BITS_EXCEEDED,
        "The API key you specified has exceeded its daily bit allowance",
        [apiKey, left],
    )


def allowancesUnavailable() -> RpcError:
    """
    -32603: the allowance could not be checked (a worker's main process
    did not answer in time).
    """
    return RpcError(
        INTERNAL_ERROR, "Internal error: the API key's allowance could not be checked"
    )


def refusal(code: int, apiKey: str, left: int) -> RpcError:
    """
    The L{RpcError} of C{code}, one of those above, made again (as a
    worker does from its main process's answer).
    """
    if code == KEY_DOES_NOT_EXIST:
        return keyDoesNotExist()
    if code == KEY_NOT_RUNNING:
        return keyNotRunning()
    if code == REQUESTS_EXCEEDED:
        return requestsExceeded(apiKey, left)
    if code == BITS_EXCEEDED:
        return bitsExceeded(apiKey, left)
    return allowancesUnavailable()


class Allowances(Protocol):
    """
    What the JSON-RPC face asks of API keys' allowances.

    Both methods fail with an L{RpcError} of RANDOM.ORG's: 400 (no such
    key), 401 (stopped), and for L{take} 402 (no requests left today) or
    403 (not enough bits left today), whose C{data[1]} is what is left.
    """

    def take(self, apiKey: str, bits: int) -> Deferred[Usage]:
        """
        Charge C{apiKey} one request and C{bits} bits for today (UTC), and
        give its figures after that.  A call that would exceed an
        allowance is refused whole, and charges nothing.
        """

    def usage(self, apiKey: str) -> Deferred[Usage]:
        """
        C{apiKey}'s figures now (C{getUsage}), charging nothing.
        """


class OpenAllowances:
    """
    Open mode (no C{--api-keys}): every key is accepted and running since
    the server started, nothing is counted, and the same large allowance
    is always left.
    """

    def __init__(self, creationTime: float) -> None:
        """
        @param creationTime: when the server started: every key's
            C{creationTime}.
        """
        self.figures = Usage(
            RUNNING, creationTime, OPEN_REQUESTS_LEFT, OPEN_BITS_LEFT, 0, 0
        )

    def take(self, apiKey: str, bits: int) -> Deferred[Usage]:
        """
        Charge nothing.
        """
        return succeed(self.figures)

    def usage(self, apiKey: str) -> Deferred[Usage]:
        """
        The open figures.
        """
        return succeed(self.figures)


@dataclass
class Count:
    """
    One key's counts: today's, and since it was first seen.

    @ivar day: the UTC day C{requests} and C{bits} are of (C{YYYY-MM-DD}).
    """

    created: float
    day: str
    requests: int = 0
    bits: int = 0
    totalRequests: int = 0
    totalBits: int = 0


def utcDay(seconds: float) -> str:
    """
    The UTC day of a time: C{YYYY-MM-DD}.
    """
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


#: The table of counts: one row a key (by its hash), today's counts only.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS api_usage (hashed TEXT PRIMARY KEY, "
    "created REAL NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL, "
    "bits INTEGER NOT NULL, totalRequests INTEGER NOT NULL, "
    "totalBits INTEGER NOT NULL)"
)
_SELECT = (
    "SELECT hashed, created, day, requests, bits, totalRequests, totalBits "
    "FROM api_usage"
)
_UPSERT = (
    "INSERT INTO api_usage (hashed, created, day, requests, bits, "
    "totalRequests, totalBits) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (hashed) DO UPDATE SET day = excluded.day, "
    "requests = excluded.requests, bits = excluded.bits, "
    "totalRequests = excluded.totalRequests, totalBits = excluded.totalBits"
)

#: A row of C{api_usage}.
Row = tuple[str, float, str, int, int, int, int]


class UsageDatabaseError(Exception):
    """
    A database of counts that cannot be used; the message says why.
    """


def readCounts(path: str) -> dict[str, Count]:
    """
    Open (or create) the table of counts in the SQLite database at
    C{path} and read it: each key's L{Count}, by hashed key.  Blocking:
    done once, at start-up.

    @raise UsageDatabaseError: saying what is wrong.
    """
    try:
        connection = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as error:
        raise UsageDatabaseError(f"cannot open {path}: {error}") from None
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA busy_timeout=5000")
        connection.execute(_SCHEMA)
        # A write transaction now, so that a read-only database is found
        # at start-up rather than at the first write.
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return {
            row[0]: Count(row[1], row[2], row[3], row[4], row[5], row[6])
            for row in connection.execute(_SELECT)
        }
    except sqlite3.Error as error:
        raise UsageDatabaseError(f"cannot use {path}: {error}") from None
    finally:
        connection.close()


def lockUsage(path: str) -> BinaryIO:
    """
    Claim the database of counts at C{path} for this process, as
    L{randnum.signing.store.lockDatabase} claims an audit database: two
    processes counting into one file would each overwrite the other's
    counts.

    @raise UsageDatabaseError: if another process holds it.
    """
    try:
        return claim(path)
    except FileClaimed:
        raise UsageDatabaseError(
            f"{path} is in use by another randnum process; each needs its own"
        ) from None
    except OSError as error:
        raise UsageDatabaseError(
            f"cannot open the lock file {path}.lock: {error.strerror}"
        ) from None


def _upsert(cursor: Any, rows: list[Row]) -> None:
    cursor.executemany(_UPSERT, rows)


class KeyedAllowances:
    """
    The keys of C{--api-keys}, each with its daily allowances, counted per
    UTC day by C{clock} and written behind to a database of counts.

    @ivar keys: the keys, by key.
    @ivar pool: where counts are written (one thread).
    @ivar writes: transactions written.
    @ivar failures: writes that failed (their counts are written again
        with the next).
    """

    def __init__(
        self,
        keys: dict[str, ApiKey],
        pool: Pool,
        clock: IReactorTime,
        counts: dict[str, Count] | None = None,
    ) -> None:
        """
        @param counts: the counts stored (L{readCounts}), by hashed key.
        """
        self.keys = keys
        self.pool = pool
        self.clock = clock
        self.writes = 0
        self.failures = 0
        stored = counts or {}
        now = clock.seconds()
        self._hashed = {key: hashedApiKey(key) for key in keys}
        self._counts: dict[str, Count] = {}
        self._dirty: set[str] = set()
        for key, hashed in self._hashed.items():
            if hashed in stored:
                self._counts[key] = stored[hashed]
            else:
                # First seen now: its creation time is kept from here on.
                self._counts[key] = Count(now, utcDay(now))
                self._dirty.add(key)
        self._writing = False
        self._writeCall: IDelayedCall | None = None
        self._failing = False
        self._closing: list[Deferred[None]] = []
        #: What else closes with these allowances (their database's lock,
        #: their own pool), if anything.
        self.closers: list[Any] = []
        if self._dirty:
            self._schedule()

    def take(self, apiKey: str, bits: int) -> Deferred[Usage]:
        """
        See L{Allowances.take}.
        """
        if bits < 0:
            raise ValueError(f"a call draws 0 or more bits, not {bits}")
        try:
            key, count = self._today(apiKey)
        except RpcError as error:
            return fail(error)
        if not key.running:
            return fail(keyNotRunning())
        if key.requests is not None and count.requests >= key.requests:
            return fail(requestsExceeded(apiKey, 0))
        if key.bits is not None and count.bits + bits > key.bits:
            return fail(bitsExceeded(apiKey, key.bits - count.bits))
        count.requests += 1
        count.bits += bits
        count.totalRequests += 1
        count.totalBits += bits
        self._dirty.add(apiKey)
        self._schedule()
        return succeed(self._figures(key, count))

    def usage(self, apiKey: str) -> Deferred[Usage]:
        """
        See L{Allowances.usage}.
        """
        try:
            key, count = self._today(apiKey)
        except RpcError as error:
            return fail(error)
        return succeed(self._figures(key, count))

    def _today(self, apiKey: str) -> tuple[ApiKey, Count]:
        """
        C{apiKey} and its counts, today's: a new UTC day starts at none.

        @raise RpcError: 400 if there is no such key.
        """
        key = self.keys.get(apiKey)
        if key is None:
            raise keyDoesNotExist()
        count = self._counts[apiKey]
        today = utcDay(self.clock.seconds())
        if count.day != today:
            count.day, count.requests, count.bits = today, 0, 0
        return key, count

    @staticmethod
    def _figures(key: ApiKey, count: Count) -> Usage:
        return Usage(
            RUNNING if key.running else STOPPED,
            count.created,
            OPEN_REQUESTS_LEFT
            if key.requests is None
            else key.requests - count.requests,
            OPEN_BITS_LEFT if key.bits is None else key.bits - count.bits,
            count.totalRequests,
            count.totalBits,
        )

    # Writing behind.

    def _schedule(self) -> None:
        if self._writeCall is None and not self._writing:
            # At the end of this turn: whatever else is counted in it joins.
            self._writeCall = self.clock.callLater(0, self._write)

    def _write(self) -> None:
        self._writeCall = None
        if self._writing:
            return
        if not self._dirty:
            self._closed()
            return
        dirty, self._dirty = self._dirty, set()
        rows: list[Row] = []
        for key in sorted(dirty):
            count = self._counts[key]
            rows.append(
                (
                    self._hashed[key],
                    count.created,
                    count.day,
                    count.requests,
                    count.bits,
                    count.totalRequests,
                    count.totalBits,
                )
            )
        self._writing = True
        self.pool.runInteraction(_upsert, rows).addCallbacks(
            self._written, self._failed, errbackArgs=(dirty,)
        )

    def _written(self, _: object) -> None:
        self._writing = False
        self.writes += 1
        if self._failing:
            self._failing = False
            log.info("randnum writes API key counts again")
        self._next()

    def _failed(self, failure: Failure, dirty: set[str]) -> None:
        self._writing = False
        self.failures += 1
        # The counts in memory stand: they are written with the next write.
        self._dirty |= dirty
        if not self._failing:
            self._failing = True
            log.error(
                "randnum could not write API key counts: {error}; they are "
                "kept in memory and written again with the next change",
                error=failure.getErrorMessage(),
            )
        if self._closing:
            # Stopping: one more try, then give up rather than wait.
            self._closing, waiting = [], self._closing
            for waiter in waiting:
                waiter.callback(None)
            return
        self._next()

    def _next(self) -> None:
        if self._dirty and not self._failing:
            self._schedule()
        elif not self._dirty:
            self._closed()

    def _closed(self) -> None:
        if self._dirty or self._writing or self._writeCall is not None:
            return
        waiting, self._closing = self._closing, []
        for waiter in waiting:
            waiter.callback(None)

    def close(self) -> Deferred[None]:
        """
        Write every count not yet written: a clean stop loses none.  It
        fires once they are written (or a last try failed, which is
        logged).
        """
        waiter: Deferred[None] = Deferred()
        self._closing.append(waiter)
        if self._writeCall is not None:
            self._writeCall.cancel()
            self._writeCall = None
        if not self._writing:
            self._write()
        return waiter.addCallback(self._release)

    def _release(self, _: object) -> None:
        closers, self.closers = self.closers, []
        for closer in closers:
            closer.close()


def openKeyedAllowances(
    keys: dict[str, ApiKey], path: str, reactor: Any, pool: Pool | None = None
) -> KeyedAllowances:
    """
    The L{KeyedAllowances} of C{keys}, counted in the database at C{path}:
    its counts read now (blocking, at start-up), then written by C{pool}
    (the audit store's writer, when they live in the audit database), or
    by a new C{adbapi} pool of one thread on a database this process
    claims (L{lockUsage}).

    @raise UsageDatabaseError: if the database cannot be used.
    """
    from twisted.enterprise import adbapi

    closers: list[Any] = []
    if pool is None:
        closers.append(lockUsage(path))
    try:
        counts = readCounts(path)
    except UsageDatabaseError:
        for closer in closers:
            closer.close()
        raise
    if pool is None:
        own = adbapi.ConnectionPool(
            "sqlite3",
            path,
            check_same_thread=False,
            cp_min=1,
            cp_max=1,
            cp_openfun=_configure,
            cp_reactor=reactor,
            cp_noisy=False,
        )
        closers.insert(0, own)
        pool = own
    allowances = KeyedAllowances(keys, pool, reactor, counts)
    allowances.closers = closers
    return allowances


def _configure(connection: sqlite3.Connection) -> None:
    """
    Every connection to a database of counts: durable commits, patience
    with a busy database.
    """
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=5000")
