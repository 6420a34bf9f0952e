"""
The audit store: records committed before they are handed out, committed
in groups, and never handed out when they could not be committed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from signers import ManualPool, drawn, makeStore, newSigner
from twisted.enterprise.adbapi import ConnectionPool
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogEvent, formatEvent
from twisted.python.failure import Failure

from randnum.generation.source import seededSource
from randnum.generation.values import UUID7Clock
from randnum.query import Query, QueryError
from randnum.signing.keys import Signer, generateKey
from randnum.signing.records import GENESIS, canonical, digest, verifyChains, verifyDraw
from randnum.signing.store import (
    COMMIT_PAGES,
    PAGE,
    PAGE_BYTES,
    RECORD_OVERHEAD,
    WAL_LIMIT,
    AuditStoreError,
    AuditUnavailable,
    _configure,
    drawValues,
    exactRange,
    lockDatabase,
    openSigning,
    openStore,
    openTail,
    readPage,
    requestFields,
    rfc3339,
)


def stored(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as connection:
        return list(connection.execute("SELECT serial, record FROM draws ORDER BY 1"))


def test_aRecordIsHandedOutOnlyOnceCommitted(tmp_path: Path) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    got: list[bytes] = []
    store.issue(Query(signed=True), [7], None).addCallback(got.append)
    clock.advance(0)
    assert got == [] and stored(tmp_path / "audit.db") == []
    pool.runNext()
    assert len(got) == 1
    assert stored(tmp_path / "audit.db") == [(1, got[0].decode())]
    assert store.committed == 1


def test_recordsSignedDuringACommitShareTheNext(tmp_path: Path) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    got: list[bytes] = []
    query = Query(signed=True)
    for value in range(3):
        store.issue(query, [value], None).addCallback(got.append)
    clock.advance(0)
    # One transaction for the turn's three records; while it runs, five more.
    for value in range(5):
        store.issue(query, [value], None).addCallback(got.append)
    clock.advance(0)
    assert len(pool.pending) == 1
    pool.runNext()
    assert len(got) == 3
    assert len(pool.pending) == 1  # the next group started at once
    pool.runNext()
    assert len(got) == 8
    assert pool.sizes == [3, 5]
    assert store.commits == 2
    assert [json.loads(line)["serial"] for line in got] == list(range(1, 9))


def test_theChainLinksAcrossCommits(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    lines = drawn(store, 2) + drawn(store, 2)
    records = [json.loads(line) for line in lines]
    report = verifyChains(
        records, {store.signer.keyId: store.signer.publicKey}, complete=True
    )
    assert report.chains == {store.signer.keyId: (1, 4)}


def test_aFailedCommitHandsNothingOutAndTheChainGoesOn(tmp_path: Path) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    kept = drawn(store, 2)
    results: list[bytes | Failure] = []
    query = Query(signed=True)
    store.issue(query, [1], None).addBoth(results.append)
    clock.advance(0)
    # Signed while the failing commit runs: built on records never stored.
    store.issue(query, [2], None).addBoth(results.append)
    pool.breakNext = 1
    pool.runNext()
    assert len(results) == 2
    assert all(isinstance(r, Failure) and r.check(AuditUnavailable) for r in results)
    assert store.failures == 1 and not store.available
    # Until the store has read its chain again, signing is refused.
    refused: list[object] = []
    store.issue(query, [3], None).addErrback(refused.append)
    assert len(refused) == 1
    pool.runAll()  # the re-read
    assert store.available
    after = drawn(store, 1)
    record = json.loads(after[0])
    assert record["serial"] == 3
    assert record["prev"] == digest(json.loads(kept[-1]))
    assert [serial for serial, _ in stored(tmp_path / "audit.db")] == [1, 2, 3]


def test_failingCommitsAreLoggedOnceUntilOneWorks(
    tmp_path: Path, logged: list[LogEvent]
) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    for _ in range(3):  # a full disk: every try fails
        store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
        clock.advance(0)
        pool.breakNext = 1
        pool.runAll()
    said = [formatEvent(event) for event in logged]
    assert sum("could not commit" in line for line in said) == 1
    assert not any("works again;" in line for line in said)
    assert store.failures == 3
    drawn(store, 1)
    said = [formatEvent(event) for event in logged]
    assert sum("works again;" in line for line in said) == 1
    assert "from serial 1" in said[-1]


def test_aCommitThatFailedButWroteIsReadBack(tmp_path: Path) -> None:
    # The commit raised, yet the rows are there (the error came after the
    # write): the chain must go on from what the database holds, or the
    # next insert would collide with them.
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    drawn(store, 1)
    store.issue(Query(signed=True), [5], None).addErrback(lambda _: None)
    clock.advance(0)
    interaction, args, done = pool.pending.popleft()
    cursor = pool.connection.cursor()
    interaction(cursor, *args)
    pool.connection.commit()
    done.errback(sqlite3.OperationalError("disk I/O error"))
    pool.runAll()
    record = json.loads(drawn(store, 1)[0])
    assert record["serial"] == 3
    assert record["prev"] == digest(json.loads(stored(tmp_path / "audit.db")[1][1]))


def test_readingRecordsBackAsSent(tmp_path: Path) -> None:
    store, pool = makeStore(tmp_path, Clock())
    lines = drawn(store, 5)
    found: list[object] = []
    store.record(3).addCallback(found.append)
    store.record(6).addCallback(found.append)
    store.page(1, 2).addCallback(found.append)
    store.page(0, 100).addCallback(found.append)
    pool.runAll()
    assert found == [lines[2], None, lines[1:3], lines]


def test_readersNeverWaitForACommit(tmp_path: Path) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    lines = drawn(store, 1)
    readers = ManualPool(store.path)
    store.readPool = readers
    store.issue(Query(signed=True), [2], None)
    clock.advance(0)
    found: list[object] = []
    store.record(1).addCallback(found.append)
    assert len(pool.pending) == 1 and len(readers.pending) == 1
    readers.runAll()  # while the commit is still under way
    assert found == [lines[0]]


def test_aPageStopsAfterAQuarterMebibyte(tmp_path: Path) -> None:
    store, pool = makeStore(tmp_path, Clock())
    query = Query(signed=True, n=10000)
    drawn(store, 1)
    big = [store.issue(query, list(range(1, 10001)), None) for _ in range(30)]
    store.clock.advance(0)  # type: ignore[attr-defined]
    pool.runAll()
    assert all(d.called for d in big)
    pages: list[list[bytes]] = []
    store.page(0, 100).addCallback(pages.append)
    pool.runAll()
    size = sum(len(r) for r in pages[0])
    assert PAGE_BYTES <= size < PAGE_BYTES + 60_000
    assert len(pages[0]) < 31


def test_theRecordedRequestHasEveryDefault() -> None:
    assert requestFields(Query(signed=True)) == {
        "type": "int",
        "n": 1,
        "min": 1,
        "max": 10000,
        "unique": False,
    }
    assert requestFields(Query(type="gaussian", mean=0.00001, sd=2.5)) == {
        "type": "gaussian",
        "n": 1,
        "mean": "0.00001",
        "sd": "2.5",
        "digits": 10,
    }
    assert requestFields(Query(type="string", length=8, chars=":AB")) == {
        "type": "string",
        "n": 1,
        "length": 8,
        "chars": ":AB",
        "unique": False,
    }


def test_integersBeyondTwoToThe53AreStrings() -> None:
    wide = Query(min=0, max=2**53)
    assert not exactRange(wide) and exactRange(Query(min=-(2**53) + 1, max=2**53 - 1))
    assert requestFields(wide)["min"] == "0"
    assert requestFields(wide)["max"] == str(2**53)


def test_timesAreRfc3339WithMilliseconds() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339(1764072000.1239) == "2025-11-25T12:00:00.123Z"


# Opening the store at start-up.


def test_aNewStoreStartsTheChain(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    assert openTail(str(path), newSigner()) == (0, GENESIS)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_anExistingStoreGoesOnFromItsLastRecord(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    lines = drawn(store, 3)
    serial, tail = openTail(store.path, store.signer)
    assert (serial, tail) == (3, digest(json.loads(lines[-1])))


@pytest.mark.parametrize("kept", [0, 1, 2])
def test_archivedRecordsDoNotRestartTheChain(tmp_path: Path, kept: int) -> None:
    # Old records deleted (after archiving them), even every one of them:
    # the chain goes on from its last serial, never from 1 again.
    store, _ = makeStore(tmp_path, Clock())
    lines = drawn(store, 3)
    with sqlite3.connect(store.path) as connection:
        connection.execute("DELETE FROM draws WHERE serial <= ?", (3 - kept,))
    assert openTail(store.path, store.signer) == (3, digest(json.loads(lines[-1])))
    again, _ = makeStore(tmp_path, Clock(), signer=store.signer)
    record = json.loads(drawn(again, 1)[0])
    assert record["serial"] == 4 and record["prev"] == digest(json.loads(lines[-1]))
    with pytest.raises(AuditStoreError, match="signed with key"):
        openTail(store.path, newSigner())


def test_aStoreSignedWithAnotherKeyIsRefused(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    drawn(store, 1)
    with pytest.raises(AuditStoreError, match=r"signed with key .* a new key needs"):
        openTail(store.path, newSigner())


def test_aDamagedLastRecordIsRefused(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    (line,) = drawn(store, 1)
    with sqlite3.connect(store.path) as connection:
        connection.execute(
            "UPDATE draws SET record = ?",
            (line.decode().replace('"values":[1]', '"values":[2]'),),
        )
    with pytest.raises(AuditStoreError, match=r"damaged.*bad signature"):
        openTail(store.path, store.signer)


@pytest.mark.parametrize(
    "content", [b"this is not a database" * 100, b"SQLite format 3\0" + b"\xff" * 4000]
)
def test_aCorruptFileIsRefused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "audit.db"
    path.write_bytes(content)
    with pytest.raises(AuditStoreError, match="audit database"):
        openTail(str(path), newSigner())


def test_aDirectoryIsRefused(tmp_path: Path) -> None:
    with pytest.raises(AuditStoreError, match=r"cannot open|unable to open"):
        openTail(str(tmp_path), newSigner())


@pytest.fixture
def sharedDirectory() -> Iterator[Path]:
    """
    A directory another user can reach (pytest's are its owner's only).
    """
    path = Path(tempfile.mkdtemp(prefix="randnum-audit-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.mark.live
def test_aReadOnlyStoreIsRefusedAtStartUp(sharedDirectory: Path) -> None:
    signer = newSigner()
    path = sharedDirectory / "audit.db"
    openTail(str(path), signer)
    path.chmod(0o444)
    sharedDirectory.chmod(0o555)
    if os.getuid() != 0:
        with pytest.raises(AuditStoreError, match=r"readonly|read-only|write"):
            openTail(str(path), signer)
        return
    # Root may write anything: try as an unprivileged user, in a child.
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(reading)
        try:
            os.setgid(65534)
            os.setuid(65534)
            openTail(str(path), signer)
            said = b"opened"
        except AuditStoreError as error:
            said = str(error).encode()
        except BaseException as error:
            said = repr(error).encode()
        os.write(writing, said)
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(child, 0)
    sharedDirectory.chmod(0o755)
    assert "audit database" in message, message
    assert "readonly" in message or "read-only" in message or "unable" in message


@given(
    st.text(min_size=1, max_size=256).filter(str.isprintable),
    st.sampled_from([':",', ':\\"', "alnum", ":tim"]),
)
def test_aRecordIsSentInItsCanonicalForm(data: str, chars: str) -> None:
    # The line is made by putting the signature into the signed bytes; it
    # must be exactly the record's canonical JSON, whatever the strings hold.
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        store, pool = makeStore(Path(tmp), clock)
        query = Query(type="string", n=2, length=8, chars=chars, signed=True)
        got: list[bytes] = []
        values = [',"time":"x"', '\\",\\"time\\":']
        store.issue(query, values, data).addCallback(got.append)
        clock.advance(0)
        pool.runAll()
        pool.connection.close()
    (line,) = got
    record = json.loads(line)
    assert canonical(record) == line
    assert record["data"] == data and record["values"] == values
    verifyDraw(record, store.signer.publicKey)


# Pinned details (each kills mutants that the behaviour tests above let by).


def test_aFailedReReadIsTriedAgainWithTheNextSignedRequest(tmp_path: Path) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
    clock.advance(0)
    pool.breakNext = 2  # the commit, then the re-read after it
    pool.runAll()
    assert not store.available
    store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
    assert len(pool.pending) == 1  # a new re-read, not a stuck one
    pool.runAll()
    assert store.available
    assert json.loads(drawn(store, 1)[0])["serial"] == 1


def test_aStoreThatLostCommittedRecordsStaysRefused(
    tmp_path: Path, logged: list[LogEvent]
) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    drawn(store, 2)
    with sqlite3.connect(store.path) as connection:  # the disk lost them
        connection.execute("DELETE FROM draws")
        connection.execute("DELETE FROM chain")
    store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
    clock.advance(0)
    pool.breakNext = 1
    pool.runAll()
    assert not store.available
    said = [formatEvent(event) for event in logged]
    assert any(
        f"audit store {store.path} lost records: it ends at serial 0, but 2 were "
        "committed" in line
        for line in said
    )


def test_recoveryIsLoggedOnce(tmp_path: Path, logged: list[LogEvent]) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
    clock.advance(0)
    pool.breakNext = 1
    pool.runAll()
    drawn(store, 1)
    drawn(store, 1)
    said = [formatEvent(event) for event in logged]
    assert [line for line in said if "works again;" in line] == [
        f"randnum's audit store {store.path} works again; the chain goes on "
        "from serial 1"
    ]
    failed = [line for line in said if "could not commit" in line]
    assert failed == [
        f"randnum could not commit 1 signed draws to {store.path}: database or "
        "disk is full; they were not sent, and signed draws are refused until "
        "a commit works again (it is retried with the next signed request)"
    ]


def test_theStoreIsFullWhenAnotherRecordCouldPassItsLimit(
    tmp_path: Path, logged: list[LogEvent]
) -> None:
    store, _ = makeStore(tmp_path, Clock())
    drawn(store, 1)
    size = store.size()
    expected = os.stat(store.path).st_size
    if os.path.exists(store.path + "-wal"):
        expected += os.stat(store.path + "-wal").st_size
    assert size == expected > 0
    # Room for one more record: twice it (the log, then the database), and
    # a commit's pages.
    room = size + 2 * RECORD_OVERHEAD + COMMIT_PAGES * PAGE
    store.maxSize = room
    store.checkSize()
    assert not store.full
    store.maxSize = room - 1
    store.checkSize()
    assert store.full
    said = [formatEvent(event) for event in logged]
    assert said[-1] == (
        f"randnum's audit store {store.path} is full ({size} bytes, the limit "
        f"is {room - 1}): signed draws are refused; export and delete old "
        "records (see the docs on retention: signed-draws.md)"
    )
    store.maxSize = 0
    store.checkSize()  # no limit: nothing is measured or changed
    assert store.full


def test_wideIntegersAreRecordedAsTheirDigits() -> None:
    query = Query(min=2**62, max=2**62 + 5, n=3, signed=True)
    values = drawValues(seededSource(3), query, UUID7Clock())
    assert all(isinstance(v, str) and 2**62 <= int(v) <= 2**62 + 5 for v in values)


def test_smallDecimalsAreWrittenOut() -> None:
    fields = requestFields(Query(type="gaussian", sd=0.0000001, mean=-1e-7))
    assert (fields["sd"], fields["mean"]) == ("0.0000001", "-0.0000001")


def test_connectionsAreDurableAndKeepTheirLogSmall(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "x.db")
    _configure(connection)
    assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert connection.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    assert connection.execute("PRAGMA journal_size_limit").fetchone() == (WAL_LIMIT,)
    connection.close()


def test_oneProcessClaimsADatabase(tmp_path: Path) -> None:
    path = str(tmp_path / "audit.db")
    first = lockDatabase(path)
    with pytest.raises(AuditStoreError) as caught:
        lockDatabase(path)
    assert str(caught.value) == (
        f"the audit database {path} is in use by another randnum process; "
        "each process needs an audit database of its own"
    )
    first.close()
    lockDatabase(path).close()
    with pytest.raises(AuditStoreError, match=r"cannot open the audit database's lock"):
        lockDatabase(str(tmp_path / "missing" / "audit.db"))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (
            "UPDATE draws SET record = replace(record, ',', ', ')",
            "its last record, serial 2: not stored in canonical form",
        ),
        (
            "UPDATE draws SET serial = 3 WHERE serial = 2",
            "its last record, serial 3: stored as serial 3",
        ),
        (
            "UPDATE chain SET digest = 'x'",
            "its last record is not the one its chain ends with (serial 2)",
        ),
    ],
)
def test_damageIsNamedAtStartUp(tmp_path: Path, damage: str, reason: str) -> None:
    store, _ = makeStore(tmp_path, Clock())
    drawn(store, 2)
    with sqlite3.connect(store.path) as connection:
        connection.execute(damage)
    with pytest.raises(AuditStoreError) as caught:
        openTail(store.path, store.signer)
    assert str(caught.value) == f"the audit database {store.path} is damaged: {reason}"


@pytest.mark.parametrize("lose", ["DELETE FROM draws", "DELETE FROM chain"])
def test_aReReadFindsTheChainWhereverItIsKept(tmp_path: Path, lose: str) -> None:
    # After a failed commit the chain is read again: from its own table when
    # the records were archived away, from the last record when the table
    # is missing (a database from before it was kept).
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    lines = drawn(store, 2)
    with sqlite3.connect(store.path) as connection:
        connection.execute(lose)
    store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
    clock.advance(0)
    pool.breakNext = 1
    pool.runAll()
    assert store.available
    record = json.loads(drawn(store, 1)[0])
    assert record["serial"] == 3
    assert record["prev"] == digest(json.loads(lines[-1]))


# The audit store notices damage and loss (issue 22).


def test_missingNewestRecordsAreARefusalToStart(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    drawn(store, 30)
    with sqlite3.connect(store.path) as connection:
        connection.execute("DELETE FROM draws WHERE serial > 25")
    with pytest.raises(AuditStoreError) as raised:
        openTail(store.path, store.signer)
    assert str(raised.value) == (
        f"the audit database {store.path} has lost records: its chain ends at "
        "serial 30, but its last record is serial 25 (serials 26 to 30 are "
        "missing): restore it from a backup or the archive (randnum export), or "
        "start a new audit database (--audit-db)"
    )


def test_oldRecordsArchivedAndDeletedAreNotALoss(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    drawn(store, 30)
    tail = (store.serial, store.tail)
    with sqlite3.connect(store.path) as connection:
        connection.execute("DELETE FROM draws WHERE serial <= 20")
    assert openTail(store.path, store.signer) == tail
    with sqlite3.connect(store.path) as connection:
        connection.execute("DELETE FROM draws")
    assert openTail(store.path, store.signer) == tail


@pytest.mark.parametrize(
    ("damage", "found"),
    [
        # A record changed: the next one no longer follows it.
        (
            "UPDATE draws SET record = replace(record, '\"values\":[', "
            "'\"values\":[1,') WHERE serial = 12",
            "its record 13 does not follow its record 12",
        ),
        # A record missing from the middle.
        (
            "DELETE FROM draws WHERE serial = 12",
            "its record 13 does not follow its record 11",
        ),
    ],
)
def test_damageAnywhereIsARefusalToStart(
    tmp_path: Path, damage: str, found: str
) -> None:
    store, _ = makeStore(tmp_path, Clock())
    drawn(store, 30)
    with sqlite3.connect(store.path) as connection:
        connection.execute(damage)
    with pytest.raises(AuditStoreError) as raised:
        openTail(store.path, store.signer)
    assert str(raised.value) == (
        f"the audit database {store.path} is damaged: {found}: restore it from "
        "a backup or the archive (randnum export), or start a new audit database "
        "(--audit-db)"
    )


def test_bytesOverwrittenOnDiskAreARefusalToStart(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    drawn(store, 300)
    with sqlite3.connect(store.path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = os.path.getsize(store.path)
    with open(store.path, "r+b") as file:
        file.seek(size // 2)
        file.write(bytes(range(192, 256)))
    with pytest.raises(AuditStoreError) as raised:
        openTail(store.path, store.signer)
    assert str(raised.value).startswith(f"the audit database {store.path} is damaged")


def test_theStoreNeverTakesMoreDiskThanItsLimit(tmp_path: Path) -> None:
    # Signed draws of every size, as fast as they come, into a small store:
    # refused (as the server refuses them once it is full) before the
    # database and its log together pass the limit.
    store, pool = makeStore(tmp_path, Clock())
    store.maxSize = 400_000
    store.checkSize()
    source, uuid7 = seededSource(1), UUID7Clock()
    largest = refused = 0
    for n in [1, 10, 1000] * 200:
        try:
            if store.full:
                raise QueryError("audit store full", "audit_full")
            drawing = store.draw(Query(signed=True, n=n), source, uuid7)
        except QueryError:
            refused += 1
            continue
        drawing.addErrback(lambda _: None)
        store.clock.advance(0)  # type: ignore[attr-defined]
        pool.runAll()
        largest = max(largest, store.size())
    assert store.full and refused and store.commits > 10
    assert largest <= store.maxSize


# What the second mutation run found unpinned (issue 27).


def test_openStoreGivesAWriterAndAReaderOfOneThreadEach(tmp_path: Path) -> None:
    reactor = MemoryReactorClock()
    path = str(tmp_path / "audit.db")
    signer = newSigner()
    store = openStore(path, signer, reactor)
    assert (store.serial, store.tail) == (0, GENESIS)
    pools = [store.pool, store.readPool]
    assert all(isinstance(pool, ConnectionPool) for pool in pools)
    assert pools[0] is not pools[1]
    for pool in pools:
        assert isinstance(pool, ConnectionPool)
        assert (pool.dbapiName, pool.connargs) == ("sqlite3", (path,))
        # One thread each: the writer commits in order; SQLite connections
        # move between the pool's thread and none other.
        assert pool.connkw == {"check_same_thread": False}
        assert (pool.min, pool.max, pool.noisy) == (1, 1, False)
        assert pool.openfun is _configure
        assert pool._reactor is reactor
    # Not started until the reactor runs.
    assert not any(pool.running for pool in pools)  # type: ignore[attr-defined]
    assert len(reactor.whenRunningHooks) == 2
    assert store.clock is reactor
    # A tail just read is taken as it is; else the database's is read.
    assert openStore(path, signer, reactor, (7, "f" * 64)).tail == "f" * 64
    written, _ = makeStore(tmp_path, Clock(), signer)
    drawn(written, 2)
    assert openStore(path, signer, reactor).tail == written.tail


def test_openSigningLoadsTheKeyClaimsTheDatabaseAndReadsTheTail(
    tmp_path: Path,
) -> None:
    keyPath = tmp_path / "k.pem"
    generateKey(keyPath)
    path = str(tmp_path / "audit.db")
    signing = openSigning(str(keyPath), path)
    assert signing.signer.keyId == Signer.fromFile(keyPath).keyId
    assert signing.tail == (0, GENESIS)
    assert signing.lock.name == f"{path}.lock" and not signing.lock.closed
    with pytest.raises(AuditStoreError):
        lockDatabase(path)  # claimed
    signing.lock.close()
    # A database with records: its tail, checked against the key.
    written, _ = makeStore(tmp_path, Clock(), signing.signer)
    drawn(written, 2)
    again = openSigning(str(keyPath), path)
    assert again.tail == (2, written.tail)
    again.lock.close()
    # A database it cannot use lets its claim go.
    os.mkdir(tmp_path / "dir.db")
    with pytest.raises(AuditStoreError) as raised:
        openSigning(str(keyPath), str(tmp_path / "dir.db"))
    assert str(raised.value).startswith(f"cannot open the audit database {tmp_path}")
    lockDatabase(str(tmp_path / "dir.db")).close()


def test_aDatabaseWithoutAWriteAheadLogIsRefused() -> None:
    with pytest.raises(AuditStoreError) as raised:
        openTail(":memory:", newSigner())
    assert str(raised.value) == (
        "the audit database :memory: cannot use a write-ahead log (journal mode memory)"
    )


def test_anotherKeysChainIsRefusedNamingTheDatabase(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    drawn(store, 1)
    other = newSigner()
    refusal = (
        f"the audit database {store.path} holds a chain signed with key "
        f"{store.signer.keyId}, not with this key ({other.keyId}); a new key "
        "needs a new audit database"
    )
    with pytest.raises(AuditStoreError) as raised:
        openTail(store.path, other)
    assert str(raised.value) == refusal
    # Its records archived and deleted, the chain's tail still names the key.
    with sqlite3.connect(store.path) as connection:
        connection.execute("DELETE FROM draws")
    with pytest.raises(AuditStoreError) as raised:
        openTail(store.path, other)
    assert str(raised.value) == refusal


def test_anUnavailableStoreReadsItsChainOnceAtATime(tmp_path: Path) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
    clock.advance(0)
    pool.breakNext = 2  # the commit, then the first reading of the chain
    pool.runAll()
    assert not store.available and not pool.pending
    for _ in range(3):
        store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
    assert len(pool.pending) == 1
    pool.runAll()
    assert store.available


def test_aFailedCommitLogsHowManyDrawsWereLost(
    tmp_path: Path, logged: list[LogEvent]
) -> None:
    clock = Clock()
    store, pool = makeStore(tmp_path, clock)
    for _ in range(3):
        store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
    clock.advance(0)  # those three are being committed ...
    for _ in range(2):  # ... while two more wait for the next commit
        store.issue(Query(signed=True), [1], None).addErrback(lambda _: None)
    pool.breakNext = 1
    pool.runAll()
    said = [formatEvent(event) for event in logged]
    assert any(
        line.startswith("randnum could not commit 5 signed draws") for line in said
    )


class RecordsCursor:
    """
    A cursor over stored records' texts, as C{readPage} reads them.
    """

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def execute(self, sql: str, parameters: tuple[int, int]) -> None:
        after, limit = parameters
        self.rows = [(text,) for text in self.texts[after : after + limit]]

    def fetchone(self) -> tuple[str] | None:
        return self.rows.pop(0) if self.rows else None


class CursorPool:
    """
    A pool whose interactions run at once on a L{RecordsCursor}.
    """

    def __init__(self, texts: list[str]) -> None:
        self.cursor = RecordsCursor(texts)

    def runInteraction(self, interaction: Any) -> Deferred[list[bytes]]:
        return succeed(interaction(self.cursor))


@pytest.mark.parametrize(
    ("size", "count"),
    [
        (PAGE_BYTES // 4, 4),  # exactly PAGE_BYTES: it is full
        ((PAGE_BYTES - 1) // 3, 4),  # a byte short after 3: one more
        (PAGE_BYTES * 2, 1),  # always at least one
    ],
)
def test_aPageEndsWithTheRecordThatFillsIt(size: int, count: int) -> None:
    pool = CursorPool(["x" * size] * 10)
    pages: list[list[bytes]] = []
    readPage(pool, 0, 10).addCallback(pages.append)
    assert [len(page) for page in pages] == [count]


@pytest.mark.parametrize(
    "request_", [{"type": "x", "time": "t"}, {"type": "x", "a": [{"signature": 1}]}]
)
def test_aRecordOfFieldsNamesNoTimeNorSignature(
    tmp_path: Path, request_: dict[str, Any]
) -> None:
    # The signature is put in before the record's first "time" member: one
    # inside the request would take it.
    store, _ = makeStore(tmp_path, Clock())
    with pytest.raises(TypeError):
        store.issueRecord(request_, [1])
    assert store.serial == 0
