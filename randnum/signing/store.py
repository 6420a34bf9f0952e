# -*- test-case-name: tests.signing.test_store,tests.signing.test_signed_answers -*-
"""
The audit store: signed draws, chained, committed before anyone sees them.

One L{AuditStore} per server signs every signed draw with the server's key
(L{randnum.signing.keys.Signer}), links it to the one before (C{prev}), and commits
it to an SQLite database (write-ahead log, C{synchronous=FULL}) before the
record is handed back to be sent.  The database is written from one thread of
C{twisted.enterprise.adbapi} (and read back from another), never from the
reactor's; records signed while
a commit is under way are committed together by the next one (group
commit), so one C{fsync} serves many draws.

Serials are handed out, and records signed, on the reactor thread, in
order.  If a commit fails, none of its records (nor any signed after them)
is ever sent; the chain goes back to the last committed record, read again
from the database, and signed requests are refused (C{ERR audit store
unavailable}) until that has been done.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, Protocol

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from randnum.generation.source import NumberSource
from randnum.generation.values import UUID7Clock, batches
from randnum.query import TYPES, Query, QueryError
from randnum.signing.keys import Signer
from randnum.signing.records import (
    GENESIS,
    SAFE_INTEGER,
    RecordError,
    canonical,
    parseRecord,
    signedBytes,
    verifyRecord,
)

log = Logger(namespace="randnum")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS draws "
    "(serial INTEGER PRIMARY KEY, record TEXT NOT NULL)"
)
_INSERT = "INSERT INTO draws (serial, record) VALUES (?, ?)"
# Public drawings' entrant lists (randnum.signing.drawings), stored with
# their records, in the same transaction.
_DRAWINGS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS drawings "
    "(serial INTEGER PRIMARY KEY, drawing TEXT NOT NULL)"
)
_INSERT_DRAWING = "INSERT INTO drawings (serial, drawing) VALUES (?, ?)"
_TAIL = "SELECT serial, record FROM draws ORDER BY serial DESC LIMIT 1"
# The chain's tail, kept apart from the records: old records may be deleted
# (archived), all of them even, and the chain must still go on from its
# last serial rather than start again at 1.
_CHAIN_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS chain (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "serial INTEGER NOT NULL, digest TEXT NOT NULL, key TEXT NOT NULL)"
)
_CHAIN = "SELECT serial, digest, key FROM chain WHERE id = 1"
_SET_CHAIN = (
    "INSERT INTO chain (id, serial, digest, key) VALUES (1, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET serial = excluded.serial, "
    "digest = excluded.digest, key = excluded.key"
)

#: SQLite's page: what a commit writes to the log, and then the database,
#: is whole pages.
PAGE = 4096

#: Pages a commit may write besides its records' (the b-tree's, the
#: chain's row, the log's header).
COMMIT_PAGES = 4

#: A signed record's bytes besides its values (names, time, key, digests,
#: signature, and the request's data at most).
RECORD_OVERHEAD = 1024

#: Most bytes of records one page of L{AuditStore.page} holds (at least
#: one record): what one response may hold in memory, as for any reply
#: made at once (L{randnum.tcp.answering.STREAM_ABOVE}).
PAGE_BYTES = 256 * 1024

#: Largest the write-ahead log's file stays once emptied, in bytes.
WAL_LIMIT = 16 * 1024 * 1024

#: Most records one page may be asked to hold.
PAGE_RECORDS = 10000


class AuditStoreError(Exception):
    """
    An audit database that cannot be used; the message says why.
    """


class AuditUnavailable(Exception):
    """
    A record could not be committed: it must not be sent.
    """


class Pool(Protocol):
    """
    What the store needs of C{adbapi.ConnectionPool}: interactions run in
    its thread, each committed when it returns.
    """

    def runInteraction(
        self, interaction: Callable[..., Any], *args: Any
    ) -> Deferred[Any]:
        """
        Call C{interaction(cursor, *args)} in the pool's thread, commit, and
        fire with its result.
        """


class PublicKey(Protocol):
    """
    What a store tells about its key: C{/v1/key}'s id and PEM text.
    """

    @property
    def keyId(self) -> str:
        """
        The key's id (L{randnum.signing.records.keyId}).
        """

    @property
    def publicPem(self) -> str:
        """
        The public key, as PEM text.
        """


class SignedDraws(Protocol):
    """
    What a server needs of the store of its signed draws: an L{AuditStore},
    or in a worker of C{--workers}, the main process's store
    (L{randnum.workers.store.SharedAuditStore}).
    """

    @property
    def signer(self) -> PublicKey:
        """
        The key records are signed with.
        """

    @property
    def path(self) -> str:
        """
        The database file.
        """

    @property
    def full(self) -> bool:
        """
        Whether the store has reached its size limit (signed draws are
        refused).
        """

    @property
    def committed(self) -> int:
        """
        The last serial committed, as far as this process knows.
        """

    def draw(
        self,
        query: Query,
        source: NumberSource,
        uuid7: UUID7Clock,
        drawing: bytes | None = None,
    ) -> Deferred[bytes]:
        """
        Draw C{query}'s values and sign them into the next record: see
        L{AuditStore.draw}.
        """

    def issueRecord(
        self, request: dict[str, Any], values: list[Any]
    ) -> Deferred[bytes]:
        """
        Sign C{values}, drawn elsewhere, into the next record, for
        C{request}: see L{AuditStore.issueRecord}.
        """

    def record(self, serial: int) -> Deferred[bytes | None]:
        """
        The stored record C{serial}, or L{None}.
        """

    def page(self, after: int, limit: int) -> Deferred[list[bytes]]:
        """
        Stored records after C{after}: see L{readPage}.
        """

    def drawing(self, serial: int) -> Deferred[bytes | None]:
        """
        The public drawing stored with record C{serial}, or L{None}: see
        L{readDrawing}.
        """


def readDrawing(pool: Pool, serial: int) -> Deferred[bytes | None]:
    """
    The public drawing stored with record C{serial} (the JSON object
    L{randnum.signing.drawings.Drawing.stored} made), or L{None} if that
    record is no drawing's.
    """

    def read(cursor: Any) -> bytes | None:
        cursor.execute("SELECT drawing FROM drawings WHERE serial = ?", (serial,))
        row = cursor.fetchone()
        return None if row is None else row[0].encode("utf-8")

    return pool.runInteraction(read)


def readRecord(pool: Pool, serial: int) -> Deferred[bytes | None]:
    """
    The stored record C{serial}, as sent, or L{None} if there is none.
    """

    def read(cursor: Any) -> bytes | None:
        cursor.execute("SELECT record FROM draws WHERE serial = ?", (serial,))
        row = cursor.fetchone()
        return None if row is None else row[0].encode("utf-8")

    return pool.runInteraction(read)


def readPage(pool: Pool, after: int, limit: int) -> Deferred[list[bytes]]:
    """
    Up to C{limit} stored records with serials above C{after}, in order,
    and no more than about L{PAGE_BYTES} of them (at least one).
    """

    def read(cursor: Any) -> list[bytes]:
        cursor.execute(
            "SELECT record FROM draws WHERE serial > ? ORDER BY serial LIMIT ?",
            (after, limit),
        )
        records: list[bytes] = []
        size = 0
        for (text,) in iter(cursor.fetchone, None):
            records.append(text.encode("utf-8"))
            size += len(records[-1])
            if size >= PAGE_BYTES:
                break
        return records

    return pool.runInteraction(read)


def rfc3339(seconds: float) -> str:
    """
    A time as UTC RFC 3339 text with milliseconds: C{2026-11-25T12:00:00.123Z}.
    """
    whole, fraction = divmod(int(seconds * 1000), 1000)
    return _wholeSecond(whole) + f".{fraction:03d}Z"


@functools.lru_cache(maxsize=4)
def _wholeSecond(whole: int) -> str:
    # Signed draws come by the thousand a second: format each second once.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def _decimalText(value: float) -> str:
    """
    A parameter's decimal value as plain text (C{0.00001}, not C{1e-05}).
    """
    return format(Decimal(repr(value)), "f")


def exactRange(query: Query) -> bool:
    """
    Whether C{query}'s integers (its range and values) are written as JSON
    numbers in its record: when its whole range is within +-(2**53 - 1).
    Otherwise they are all strings.
    """
    return -SAFE_INTEGER <= query.min and query.max <= SAFE_INTEGER


def requestFields(query: Query) -> dict[str, Any]:
    """
    The C{request} of a record: the validated query, every default filled in.
    """
    fields: dict[str, Any] = {"type": query.type, "n": query.n}
    exact = exactRange(query)
    for name in TYPES[query.type]:
        value = getattr(query, name)
        if isinstance(value, float):
            value = _decimalText(value)
        elif name in ("min", "max") and not exact:
            value = str(value)
        fields[name] = value
    return fields


def drawValues(source: NumberSource, query: Query, uuid7: UUID7Clock) -> list[Any]:
    """
    Draw C{query}'s values for its record: integers as JSON numbers (as
    strings beyond +-(2**53 - 1), see L{exactRange}), every other type as
    the text it is sent as unsigned.
    """
    if query.type == "int":
        numbers = source.answer(query)
        return numbers if exactRange(query) else [str(n) for n in numbers]
    return [v.decode("ascii") for batch in batches(source, query, uuid7) for v in batch]


class _Batch:
    """
    Records waiting to be committed together, and who waits for each.
    """

    def __init__(self) -> None:
        self.rows: list[tuple[int, str]] = []
        #: Public drawings' entrant lists, stored with their records.
        self.drawings: list[tuple[int, str]] = []
        self.waiters: list[tuple[Deferred[bytes], bytes]] = []
        self.lastSerial = 0
        self.lastDigest = ""


class AuditStore:
    """
    The chain of signed draws of one server, and the database it lives in.

    @ivar signer: the server's L{Signer}.
    @ivar path: the database file.
    @ivar serial: the last serial handed out.
    @ivar committed: the last serial committed.
    @ivar available: whether signed draws can be made now.
    @ivar commits: transactions committed.
    @ivar failures: commits that failed (their records were never sent).
    """

    def __init__(
        self,
        path: str,
        signer: Signer,
        pool: Pool,
        clock: IReactorTime,
        tail: tuple[int, str] = (0, GENESIS),
        readPool: Pool | None = None,
    ) -> None:
        """
        @param pool: where records are committed (one thread).
        @param readPool: where records are read back, so that readers never
            delay a commit (the write-ahead log lets them read meanwhile);
            C{pool} if not given.
        """
        self.path = path
        self.signer = signer
        self.pool = pool
        self.readPool = pool if readPool is None else readPool
        #: This process's claim on the database (L{lockDatabase}), if any.
        self.lock: BinaryIO | None = None
        #: The most disk the database may take (0: no limit), and whether
        #: it does (then signed draws are refused).
        self.maxSize = 0
        self.full = False
        #: What the database takes on disk as last seen, and the bytes of
        #: records not yet committed.
        self._disk = 0
        self._pending = 0
        self.clock = clock
        self.serial, self.tail = tail
        self.committed, self._committedTail = tail
        self.available = True
        self.commits = 0
        self.failures = 0
        self._batch = _Batch()
        self._inFlight: _Batch | None = None
        self._flushCall: IDelayedCall | None = None
        self._resyncing = False
        #: Whether commits fail (logged once until one works again).
        self._failing = False

    # Signing.

    def draw(
        self,
        query: Query,
        source: NumberSource,
        uuid7: UUID7Clock,
        drawing: bytes | None = None,
    ) -> Deferred[bytes]:
        """
        Draw C{query}'s values from C{source} and L{issue} their record.

        @param drawing: a public drawing's entrant list
            (L{randnum.signing.drawings.Drawing.stored}), stored with the
            record in the same transaction.
        @raise QueryError: (C{audit store full}) if storing it could take
            the database past L{maxSize}.
        """
        extra = 0 if drawing is None else len(drawing)
        if not self.roomFor(query.replySize() + RECORD_OVERHEAD + extra):
            self.full = True
            self._logFull(self.size())
            raise QueryError("audit store full", "audit_full")
        values = drawValues(source, query, uuid7)
        return self._issue(requestFields(query), values, query.data, drawing)

    def issueRecord(
        self, request: dict[str, Any], values: list[Any]
    ) -> Deferred[bytes]:
        """
        Sign C{values}, drawn elsewhere (for a RANDOM.ORG signed call), into
        the next record, whose C{request} is C{request}: see L{issue}.

        @raise QueryError: (C{audit store full}) as L{draw}.
        @raise TypeError: if C{request} or C{values} hold what a record
            may not (L{randnum.signing.records.canonical}).
        """
        text = json.dumps([request, values])
        if '"time":' in text or '"signature":' in text:
            # Members the record itself has: its signature is put in before
            # the first "time" member (see _issue).
            raise TypeError("a record's request and values name no time or signature")
        # About its size (the record is checked as it is signed).
        size = len(text)
        if not self.roomFor(size + RECORD_OVERHEAD):
            self.full = True
            self._logFull(self.size())
            raise QueryError("audit store full", "audit_full")
        return self._issue(request, values, None)

    def roomFor(self, size: int) -> bool:
        """
        Whether a record of about C{size} bytes may be stored without the
        database, with its write-ahead log, ever taking more than
        L{maxSize} on disk: what it takes now, and twice the records waiting
        to be committed with this one (a record is written to the log, then
        into the database), a few pages more.
        """
        if not self.maxSize:
            return True
        waiting = self._pending + size
        return self._disk + 2 * waiting + COMMIT_PAGES * PAGE <= self.maxSize

    def issue(
        self, query: Query, values: list[Any], data: str | None
    ) -> Deferred[bytes]:
        """
        Sign the next record, for C{query} answered with C{values}.

        @return: a L{Deferred} that fires with the record's canonical JSON
            once it is committed, or fails with L{AuditUnavailable} if it
            cannot be (then it must not be sent, and it never is stored).
        """
        return self._issue(requestFields(query), values, data)

    def _issue(
        self,
        request: dict[str, Any],
        values: list[Any],
        data: str | None,
        drawing: bytes | None = None,
    ) -> Deferred[bytes]:
        if not self.available:
            self._resync()
            return fail(AuditUnavailable())
        serial = self.serial + 1
        record: dict[str, Any] = {
            "serial": serial,
            "time": rfc3339(self.clock.seconds()),
            "request": request,
            "values": values,
            "key": self.signer.keyId,
            "prev": self.tail,
        }
        if data is not None:
            record["data"] = data
        unsigned = signedBytes(record)
        signature = _base64(self.signer.sign(unsigned)).encode("ascii")
        # The canonical record is the unsigned one with "signature" in its
        # place among the sorted names, just before "time" (whose first
        # occurrence is the record's own: no other object has that name,
        # and no string holds an unescaped quote).
        line = unsigned.replace(
            b',"time":', b',"signature":"' + signature + b'","time":', 1
        )
        self.serial = serial
        self.tail = _sha256(line)
        batch = self._batch
        self._pending += len(line)
        batch.rows.append((serial, line.decode("utf-8")))
        if drawing is not None:
            self._pending += len(drawing)
            batch.drawings.append((serial, drawing.decode("utf-8")))
        batch.lastSerial, batch.lastDigest = serial, self.tail
        waiter: Deferred[bytes] = Deferred()
        batch.waiters.append((waiter, line))
        if self._flushCall is None and self._inFlight is None:
            # At the end of this turn: whatever else is signed in it joins.
            self._flushCall = self.clock.callLater(0, self._flush)
        return waiter

    def _flush(self) -> None:
        """
        Commit what is waiting, if no commit is under way.
        """
        self._flushCall = None
        if self._inFlight is not None or not self._batch.rows:
            return
        batch, self._batch = self._batch, _Batch()
        self._inFlight = batch
        tail = (batch.lastSerial, batch.lastDigest, self.signer.keyId)
        self.pool.runInteraction(
            _insert, batch.rows, tail, batch.drawings
        ).addCallbacks(
            self._committed,
            self._failed,
            callbackArgs=(batch,),
            errbackArgs=(batch,),
        )

    def checkSize(self) -> None:
        """
        See whether the database has reached L{maxSize}; log when that
        changes.
        """
        if not self.maxSize:
            return
        size = self._disk = self.size()
        self._pending = sum(len(row) for _, row in self._batch.rows) + sum(
            len(row) for _, row in self._batch.drawings
        )
        full = not self.roomFor(RECORD_OVERHEAD)
        if full != self.full:
            self.full = full
            if full:
                self._logFull(size)

    def _logFull(self, size: int) -> None:
        log.error(
            "randnum's audit store {path} is full ({size} bytes, the limit is "
            "{limit}): signed draws are refused; export and delete old records "
            "(see the docs on retention: signed-draws.md)",
            path=self.path,
            size=size,
            limit=self.maxSize,
        )

    def _committed(self, _: object, batch: _Batch) -> None:
        self._inFlight = None
        self.commits += 1
        self.checkSize()
        if self.maxSize and self._wal() > self.maxSize // 8:
            # The log is emptied into the database and cut back, so that it
            # does not take the disk the records need (the next commit
            # waits behind this in the one writer thread).
            self.pool.runInteraction(_checkpoint).addErrback(lambda _: None)
        if self._failing:
            self._failing = False
            log.info(
                "randnum's audit store {path} works again; the chain goes on "
                "from serial {serial}",
                path=self.path,
                serial=batch.rows[0][0],
            )
        self.committed, self._committedTail = batch.lastSerial, batch.lastDigest
        self._flush()
        for waiter, line in batch.waiters:
            waiter.callback(line)

    def _failed(self, failure: Failure, batch: _Batch) -> None:
        """
        A commit failed: nothing signed since the last commit may be sent.
        Go back to the chain as the database holds it.
        """
        self._inFlight = None
        self.failures += 1
        if not self._failing:
            # Once until a commit works again, however often it is tried.
            self._failing = True
            log.error(
                "randnum could not commit {count} signed draws to {path}: "
                "{error}; they were not sent, and signed draws are refused "
                "until a commit works again (it is retried with the next "
                "signed request)",
                count=len(batch.rows) + len(self._batch.rows),
                path=self.path,
                error=failure.getErrorMessage(),
            )
        waiting, self._batch = self._batch, _Batch()
        self.available = False
        self.serial, self.tail = self.committed, self._committedTail
        for each in (batch, waiting):
            for waiter, _ in each.waiters:
                waiter.errback(AuditUnavailable())
        self._resync()

    def _resync(self) -> None:
        """
        Read the chain's last record from the database again (a failed
        commit may yet have been written), and sign on from there.
        """
        if self._resyncing or self.available:
            return
        self._resyncing = True

        def done(tail: tuple[int, str]) -> None:
            self._resyncing = False
            if tail[0] < self.committed:
                log.error(
                    "randnum's audit store {path} lost records: it ends at "
                    "serial {serial}, but {committed} were committed",
                    path=self.path,
                    serial=tail[0],
                    committed=self.committed,
                )
                return
            self.serial, self.tail = tail
            self.committed, self._committedTail = tail
            self.available = True

        def failed(failure: Failure) -> None:
            self._resyncing = False

        self.pool.runInteraction(_readTail).addCallbacks(done, failed)

    # Reading.

    def record(self, serial: int) -> Deferred[bytes | None]:
        """
        The stored record C{serial}, as sent, or L{None} if there is none.
        """
        return readRecord(self.readPool, serial)

    def page(self, after: int, limit: int) -> Deferred[list[bytes]]:
        """
        Stored records after C{after}: see L{readPage}.
        """
        return readPage(self.readPool, after, limit)

    def drawing(self, serial: int) -> Deferred[bytes | None]:
        """
        The public drawing stored with record C{serial}, or L{None}.
        """
        return readDrawing(self.readPool, serial)

    def _wal(self) -> int:
        try:
            return os.stat(self.path + "-wal").st_size
        except OSError:
            return 0

    def size(self) -> int:
        """
        The bytes the database takes on disk (with its write-ahead log).
        """
        total = 0
        for name in (self.path, self.path + "-wal"):
            try:
                total += os.stat(name).st_size
            except OSError:
                pass
        return total


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _insert(
    cursor: Any,
    rows: list[tuple[int, str]],
    tail: tuple[int, str, str],
    drawings: Sequence[tuple[int, str]] = (),
) -> None:
    cursor.executemany(_INSERT, rows)
    if drawings:
        cursor.executemany(_INSERT_DRAWING, drawings)
    cursor.execute(_SET_CHAIN, tail)


def _checkpoint(cursor: Any) -> None:
    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _readTail(cursor: Any) -> tuple[int, str]:
    cursor.execute(_TAIL)
    last = cursor.fetchone()
    cursor.execute(_CHAIN)
    chain = cursor.fetchone()
    if chain is not None and (last is None or chain[0] >= last[0]):
        return chain[0], chain[1]
    if last is None:
        return 0, GENESIS
    return last[0], _sha256(last[1].encode("utf-8"))


def _configure(connection: sqlite3.Connection) -> None:
    """
    Every connection: durable commits, and patience with a busy database.
    """
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=5000")
    # The write-ahead log is emptied into the database as it goes; this
    # keeps its file from staying at its largest size ever.
    connection.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")


class FileClaimed(Exception):
    """
    Another process holds the claim on a file (L{claim}).
    """


def claim(path: str) -> BinaryIO:
    """
    Claim the file at C{path} for this process: a lock on C{path}.lock,
    held while the returned file is open (it dies with the process).

    @raise FileClaimed: if another process holds it.
    @raise OSError: if the lock file cannot be opened.
    """
    lock = open(f"{path}.lock", "ab")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise FileClaimed(path) from None
    return lock


def lockDatabase(path: str) -> BinaryIO:
    """
    Claim the audit database at C{path} for this process: two processes
    signing into one database would each hand out the same serials.  The
    claim is a lock on C{path}.lock, held while the returned file is open
    (it dies with the process).

    @raise AuditStoreError: if another process holds it.
    """
    try:
        return claim(path)
    except FileClaimed:
        raise AuditStoreError(
            f"the audit database {path} is in use by another randnum process; "
            "each process needs an audit database of its own"
        ) from None
    except OSError as error:
        raise AuditStoreError(
            f"cannot open the audit database's lock file {path}.lock: {error.strerror}"
        ) from None


def openTail(path: str, signer: Signer) -> tuple[int, str]:
    """
    Open (or create) the audit database at C{path}, check that it can be
    written and that its last record is intact and signed by C{signer}'s
    key, and return the chain's tail: the last serial and its digest.

    Done once, at start-up, before serving.

    @raise AuditStoreError: saying what is wrong.
    """
    try:
        connection = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as error:
        raise AuditStoreError(
            f"cannot open the audit database {path}: {error}"
        ) from None
    try:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise AuditStoreError(
                f"the audit database {path} cannot use a write-ahead log "
                f"(journal mode {mode})"
            )
        _configure(connection)
        connection.execute(_SCHEMA)
        connection.execute(_CHAIN_SCHEMA)
        connection.execute(_DRAWINGS_SCHEMA)
        # A write transaction now, so that a read-only database is found at
        # start-up rather than at the first signed draw.
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        # Checked before anything is read, so that damage is told as such
        # rather than as whatever reading a damaged page raises.
        try:
            found = [line for (line,) in connection.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as error:
            # Pages so damaged that the check itself cannot read them.
            found = [str(error)]
        if found != ["ok"]:
            raise AuditStoreError(
                f"the audit database {path} is damaged "
                f"({'; '.join(found[:3])}): {_RECOVER}"
            )
        row = connection.execute(_TAIL).fetchone()
        chain = connection.execute(_CHAIN).fetchone()
        tail = (0, GENESIS) if row is None else _checkLast(path, signer, row)
        _checkLinks(path, connection.execute(_ALL))
    except sqlite3.Error as error:
        raise AuditStoreError(f"the audit database {path}: {error}") from None
    finally:
        connection.close()
    if chain is not None:
        serial, digest, key = chain
        _checkKey(path, signer, key)
        if serial > tail[0] and row is not None:
            # Old records are archived and deleted from the oldest on: the
            # newest are never missing.
            raise AuditStoreError(
                f"the audit database {path} has lost records: its chain ends "
                f"at serial {serial}, but its last record is serial {tail[0]} "
                f"(serials {tail[0] + 1} to {serial} are missing): {_RECOVER}"
            )
        if serial > tail[0]:
            # Every record was archived and deleted: go on after them.
            tail = (serial, digest)
        elif serial == tail[0] and digest != tail[1]:
            raise AuditStoreError(
                f"the audit database {path} is damaged: its last record is not "
                f"the one its chain ends with (serial {serial})"
            )
    return tail


_ALL = "SELECT serial, record FROM draws ORDER BY serial"

#: A stored record's link to the one before it.  In canonical JSON every
#: quote inside a string is escaped, so this is the record's own "prev".
_PREV = re.compile(r'"prev":"([0-9a-f]{64})"')


def _checkLinks(path: str, rows: Iterable[tuple[int, str]]) -> None:
    """
    Check that the stored records follow one another: consecutive serials,
    each record's C{prev} the digest of the one before.  (Old records may
    have been archived and deleted: the first need not be serial 1.)
    Digests only, no signatures: about 2.5 s for a million records (measured
    on a loaded 2-core machine).

    @raise AuditStoreError: naming the first record that does not follow.
    """
    previous: tuple[int, str] | None = None
    try:
        for serial, text in rows:
            if previous is not None:
                link = _PREV.search(text)
                if serial != previous[0] + 1 or not link or link[1] != previous[1]:
                    raise AuditStoreError(
                        f"the audit database {path} is damaged: its record "
                        f"{serial} does not follow its record {previous[0]}: "
                        f"{_RECOVER}"
                    )
            previous = serial, _sha256(text.encode("utf-8"))
    except sqlite3.Error:
        after = "the first" if previous is None else f"serial {previous[0]}"
        raise AuditStoreError(
            f"the audit database {path} is damaged: the record after {after} "
            f"cannot be read: {_RECOVER}"
        ) from None


#: What to do about a damaged audit database.
_RECOVER = (
    "restore it from a backup or the archive (randnum export), or start a new "
    "audit database (--audit-db)"
)


def _checkKey(path: str, signer: Signer, key: str) -> None:
    if key != signer.keyId:
        raise AuditStoreError(
            f"the audit database {path} holds a chain signed with key "
            f"{key}, not with this key ({signer.keyId}); a new "
            "key needs a new audit database"
        )


def _checkLast(path: str, signer: Signer, row: tuple[int, str]) -> tuple[int, str]:
    """
    The tail that the last stored record makes, once checked.
    """
    serial, text = row
    try:
        record = parseRecord(text)
        if canonical(record).decode("utf-8") != text:
            raise RecordError(serial, "not stored in canonical form")
        if record["serial"] != serial:
            raise RecordError(serial, f"stored as serial {serial}")
        _checkKey(path, signer, record["key"])
        verifyRecord(record, {signer.keyId: signer.publicKey})
    except RecordError as error:
        raise AuditStoreError(
            f"the audit database {path} is damaged: its last record, {error}"
        ) from None
    return serial, _sha256(text.encode("utf-8"))


def openStore(
    path: str, signer: Signer, reactor: Any, tail: tuple[int, str] | None = None
) -> AuditStore:
    """
    The L{AuditStore} for the database at C{path}, using one C{adbapi}
    thread on C{reactor}.

    @param tail: the chain's tail, if L{openTail} has just read it.
    @raise AuditStoreError: if the database cannot be used.
    """
    from twisted.enterprise import adbapi

    if tail is None:
        tail = openTail(path, signer)
    pools = [
        adbapi.ConnectionPool(
            "sqlite3",
            path,
            check_same_thread=False,
            cp_min=1,
            cp_max=1,
            cp_openfun=_configure,
            cp_reactor=reactor,
            cp_noisy=False,
        )
        for _ in ("writer", "reader")
    ]
    return AuditStore(path, signer, pools[0], reactor, tail, readPool=pools[1])


@dataclass(frozen=True)
class Signing:
    """
    What signing needs, opened and checked before anything is served: the
    signing key, the claim on the audit database (L{lockDatabase}) and the
    chain's tail (L{openTail}).
    """

    signer: Signer
    lock: BinaryIO
    tail: tuple[int, str]


def openSigning(keyPath: str, databasePath: str) -> Signing:
    """
    Load the key at C{keyPath}, claim the audit database at
    C{databasePath} and read its tail.

    @raise randnum.signing.keys.KeyFileError: if the key cannot be used.
    @raise AuditStoreError: if the database cannot be.
    """
    signer = Signer.fromFile(keyPath)
    lock = lockDatabase(databasePath)
    try:
        tail = openTail(databasePath, signer)
    except AuditStoreError:
        lock.close()
        raise
    return Signing(signer, lock, tail)
