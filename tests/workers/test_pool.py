# Twisted's test doubles (iosim, Clock) are not annotated.
# mypy: disallow-untyped-calls=False
"""
C{--workers} without processes: the main process and a worker talking AMP
over Twisted's in-memory connection (L{twisted.test.iosim}), the limits'
shares, restarts timed on a L{Clock}, and the options.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loopback import Loopback, TurnClock
from prometheus_client import generate_latest
from signers import ManualPool, drawn, makeStore, signingServer
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import (
    StandardErrorBehavior,
    TCP4ServerEndpoint,
    TCP6ServerEndpoint,
)
from twisted.internet.error import CannotListenError, ProcessDone, ProcessTerminated
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import LogEvent, Logger, formatEvent
from twisted.protocols import amp
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.test.iosim import IOPump, connect, makeFakeClient, makeFakeServer

from randnum.config import Config
from randnum.listening import ListeningService
from randnum.metrics import metricsRegistry
from randnum.query import Query, QueryError
from randnum.server import RandnumServer
from randnum.signing.drawings import Drawing
from randnum.signing.keys import Signer, generateKey
from randnum.signing.records import verifyDraw
from randnum.signing.store import AuditStore
from randnum.stats import AuditFigures, HttpStats, TcpStats, Totals, emptyFaces
from randnum.tap import MAX_WORKERS, Options, makeService
from randnum.web.site import webSite
from randnum.workers import messages as cluster
from randnum.workers.child import (
    LogToMain,
    WorkerSide,
    readArguments,
    readConfiguration,
)
from randnum.workers.messages import Assignment
from randnum.workers.pool import (
    ASK_TIMEOUT,
    CONFIGURATION_FD,
    HEARTBEAT,
    HEARTBEAT_TIMEOUT,
    KEEP_COUNTS,
    RESTART_DELAYS,
    START_ATTEMPTS,
    START_TIMEOUT,
    STEADY_SECONDS,
    STOP_GRACE,
    MainSide,
    WorkerPool,
    workerEnvironment,
)
from randnum.workers.sizing import perAddressShare, share, usableCPUs
from randnum.workers.sockets import Listener, ReusePortEndpoint, listenersOf
from randnum.workers.store import SIGN_TIMEOUT, KeyInfo, SharedAuditStore

# Shares of the limits.


@given(st.integers(1, 100_000), st.integers(1, 256))
def test_sharesAddUpToTheTotalAndDifferByOne(total: int, workers: int) -> None:
    shares = [share(total, workers, number) for number in range(1, workers + 1)]
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


@given(st.integers(1, 256), st.integers(0, 100_000))
def test_perAddressSharesNeverExceedTheLimit(workers: int, more: int) -> None:
    assert perAddressShare(0, workers) == 0  # no limit stays no limit
    total = workers + more  # the options refuse less
    each = perAddressShare(total, workers)
    assert 1 <= each and each * workers <= total < (each + 1) * workers


# Usable CPUs.


def cgroupTree(tmp: Path, cgroup: str, files: dict[str, str]) -> tuple[str, str]:
    """
    A fake /proc/self/cgroup and /sys/fs/cgroup: C{files} by path under the
    mount.
    """
    (tmp / "cgroup").write_text(cgroup)
    for name, text in files.items():
        path = tmp / "fs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp / "cgroup"), str(tmp / "fs")


@pytest.mark.parametrize(
    ("cgroup", "files", "cpus"),
    [
        # cgroup v2: the process's own cgroup, or one above it.
        ("0::/pod/app\n", {"pod/app/cpu.max": "150000 100000\n"}, 2),
        ("0::/pod/app\n", {"pod/cpu.max": "50000 100000\n"}, 1),
        ("0::/pod/app\n", {"pod/app/cpu.max": "max 100000\n"}, 4),
        (
            "0::/a/b\n",
            {"a/b/cpu.max": "800000 100000\n", "a/cpu.max": "200000 100000"},
            2,
        ),
        # In a container, its cgroup is the mount itself.
        ("0::/host/path\n", {"cpu.max": "100000 100000\n"}, 1),
        # cgroup v1.
        (
            "2:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n",
            {
                "cpu,cpuacct/docker/x/cpu.cfs_quota_us": "250000\n",
                "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000\n",
            },
            3,
        ),
        (
            "4:cpu,cpuacct:/\n",
            {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"},
            4,
        ),
        # Nothing set, or nothing readable.
        ("0::/\n", {}, 4),
        ("0::/x\n", {"x/cpu.max": "garbage"}, 4),
    ],
)
def test_usableCPUsHonourTheCgroupQuota(
    tmp_path: Path, cgroup: str, files: dict[str, str], cpus: int
) -> None:
    cgroups, root = cgroupTree(tmp_path, cgroup, files)
    assert usableCPUs(lambda: {0, 1, 2, 3}, cgroups, root) == cpus


def test_withoutCgroupsEveryCPUOfTheAffinity(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    assert usableCPUs(lambda: {0, 5}, missing, missing) == 2


# Counts.

counts = st.integers(0, 2**40)


@given(st.lists(st.tuples(counts, counts, counts), min_size=1, max_size=4))
def test_countRowsAddUp(values: list[tuple[int, int, int]]) -> None:
    total = emptyFaces()
    expected = TcpStats()
    for requests, lines, errors in values:
        faces = emptyFaces()
        tcp = faces["tcp"]
        assert isinstance(tcp, TcpStats)
        tcp.requests, tcp.linesTooLong = requests, lines
        tcp.errorKinds["bad_n"] = errors
        cluster.addRows(total, cluster.countRows(faces))
        expected.requests += requests
        expected.linesTooLong += lines
        expected.errorKinds["bad_n"] += errors
    assert total["tcp"] == expected
    assert total["http"] == HttpStats()


def test_rowsOfUnknownFacesAndCountsAreIgnored() -> None:
    faces = emptyFaces()
    cluster.addRows(
        faces,
        [
            {"face": "udp", "name": "requests", "value": 3},
            {"face": "tcp", "name": "novelty", "value": 3},
            {"face": "tcp", "name": "requests", "value": 2},
        ],
    )
    assert faces["tcp"].requests == 2


@pytest.mark.parametrize(
    "query",
    [
        Query(signed=True),
        Query(n=3, min=-(2**63), max=2**63 - 1, signed=True, data="a b%"),
        Query(type="gaussian", mean=0.1, sd=3.3e-7, places=9, signed=True),
        Query(type="string", length=30, chars="hex", n=4, signed=True),
    ],
)
def test_queriesTravelExactly(query: Query) -> None:
    assert cluster.queryFrom(cluster.queryText(query)) == query


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[1]", ValueError),
        ('{"size": 3}', ValueError),
        ('{"n": 0}', QueryError),
    ],
)
def test_badQueriesAreRefused(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        cluster.queryFrom(text)


# The conversation, in memory.


class Conversation:
    """
    A main process (with the signing server, if any) and one worker,
    connected by AMP in memory.
    """

    def __init__(self, main: RandnumServer, worker: RandnumServer | None = None):
        self.clock = Clock()
        self.pool = WorkerPool(Config(workers=1), list, main, self.clock)
        self.worker = worker or RandnumServer(clock=self.clock)
        self.gone: list[bool] = []
        self.workerSide = WorkerSide(lambda: self.gone.append(True))
        self.workerSide.server = self.worker
        self.mainSide = MainSide(self.pool, 1)
        self.pump: IOPump = connect(
            self.mainSide,
            makeFakeServer(self.mainSide),
            self.workerSide,
            makeFakeClient(self.workerSide),
            greet=False,
        )
        self.pool.workers[1] = self.mainSide
        self.worker.wholeServer = self.workerSide.serverTotals

    def shared(self) -> SharedAuditStore:
        audit = self.pool.server.audit
        assert isinstance(audit, AuditStore)
        store = SharedAuditStore(
            audit.path,
            KeyInfo(audit.signer.keyId, audit.signer.publicPem),
            ManualPool(audit.path),
            self.workerSide,
            self.clock,
        )
        self.worker.audit = store
        return store


def outcome(deferred: Deferred[Any]) -> list[Any]:
    """
    What C{deferred} fires with, once it has: its callbacks must be there
    before an AMP answer arrives (AMP treats a failure nobody handles yet as
    fatal to the connection).
    """
    fired: list[Any] = []
    deferred.addBoth(fired.append)
    return fired


def result(fired: list[Any]) -> Any:
    assert fired, "not fired"
    return fired[0]


def test_aSignedDrawLongerThanOneAmpValueArrivesWhole(tmp_path: Path) -> None:
    main, pool, clock = signingServer(tmp_path)
    talk = Conversation(main)
    store = talk.shared()
    query = Query(type="string", length=30, n=2000, signed=True)
    asked = outcome(talk.worker.signedDraw(query))
    talk.pump.flush()
    clock.advance(0)
    pool.runAll()
    talk.pump.flush()
    record = result(asked)
    assert isinstance(record, bytes) and len(record) > 0xFFFF
    audit = main.audit
    assert isinstance(audit, AuditStore)
    verifyDraw(record, audit.signer.publicKey)
    assert json.loads(record)["serial"] == 1
    # And the worker reads it back from the database.
    read = outcome(store.record(1))
    assert isinstance(store.readPool, ManualPool)
    store.readPool.runAll()
    assert result(read) == record


def test_aDrawingInAWorkerIsStoredWithItsRecordByTheMainProcess(
    tmp_path: Path,
) -> None:
    main, pool, clock = signingServer(tmp_path)
    talk = Conversation(main)
    store = talk.shared()
    # Over 64 KiB of entrants: more than one AMP value.
    drawing = Drawing(tuple(f"entrant {i:05d} " + "x" * 20 for i in range(3000)), "T")
    asked = outcome(
        talk.worker.signedDraw(drawing.query(3), "10.0.0.1", drawing.stored())
    )
    talk.pump.flush()
    clock.advance(0)
    pool.runAll()
    talk.pump.flush()
    record = json.loads(result(asked))
    assert record["data"] == drawing.data
    read = outcome(store.drawing(record["serial"]))
    assert isinstance(store.readPool, ManualPool)
    store.readPool.runAll()
    assert result(read) == drawing.stored()
    assert len(drawing.stored()) > 0xFFFF


def test_storeFailuresReachTheWorkerAsFailures(tmp_path: Path) -> None:
    main, pool, clock = signingServer(tmp_path)
    talk = Conversation(main)
    talk.shared()
    pool.breakNext = 1
    asked = outcome(talk.worker.signedDraw(Query(signed=True)))
    talk.pump.flush()
    clock.advance(0)
    pool.runAll()
    talk.pump.flush()
    failure = result(asked)
    assert isinstance(failure, Failure)
    failure.trap(cluster.StoreUnavailable)


def test_aFullStoreIsToldToTheWorkers(tmp_path: Path) -> None:
    main, _, _ = signingServer(tmp_path)
    talk = Conversation(main)
    store = talk.shared()
    audit = main.audit
    assert isinstance(audit, AuditStore)
    audit.maxSize = 1
    talk.pool._checkAudit()
    talk.pump.flush()
    assert store.full
    with pytest.raises(QueryError) as refused:
        talk.worker.signedDraw(Query(signed=True))
    assert refused.value.kind == "audit_full"


def test_withoutSigningTheMainProcessRefuses() -> None:
    talk = Conversation(RandnumServer(clock=Clock()))
    asked = outcome(
        talk.workerSide.call(
            cluster.SignDraw, query=cluster.queryText(Query(signed=True))
        )
    )
    talk.pump.flush()
    result(asked).trap(cluster.SigningDisabled)


def test_metricsGatherEveryWorkerAndKeepThoseOfWorkersThatExited() -> None:
    main = RandnumServer(clock=Clock())
    first = Conversation(main)
    pool = first.pool
    second = RandnumServer(clock=first.clock)
    secondWorker = WorkerSide(lambda: None)
    secondWorker.server = second
    secondMain = MainSide(pool, 2)
    secondPump = connect(
        secondMain,
        makeFakeServer(secondMain),
        secondWorker,
        makeFakeClient(secondWorker),
        greet=False,
    )
    pool.count = 2
    pool.workers[2] = secondMain
    first.worker.tcp.requests, first.worker.tcp.open = 5, 1
    second.tcp.requests, second.tcp.open = 7, 2
    second.http.errorKinds["bad_n"] = 3

    def gathered() -> Totals:
        asked = outcome(first.worker.gather())
        for _ in range(3):
            first.pump.flush()
            secondPump.flush()
        totals = result(asked)
        assert isinstance(totals, Totals)
        return totals

    totals = gathered()
    assert totals.faces["tcp"].requests == 12
    assert totals.faces["tcp"].open == 3
    assert totals.faces["http"].errorKinds["bad_n"] == 3
    assert totals.workers == [1, 2]
    exposition = generate_latest(metricsRegistry(first.worker)).decode()
    assert 'randnum_worker_open_connections{worker="2"} 2.0' in exposition
    assert 'randnum_requests_total{face="tcp",framing="line"} 12.0' in exposition

    # Worker 2 exits: its counts stay in the totals, its connections not.
    pool.ended(secondMain, Failure(cluster.StoreUnavailable()))
    pool._pending.pop(2).cancel()
    totals = gathered()
    assert totals.faces["tcp"].requests == 12
    assert totals.faces["tcp"].open == 1
    assert totals.workers == [1, 0]
    assert totals.restarts == 1


def test_withoutItsMainProcessAWorkerHasNoMetrics() -> None:
    # Its own counts, reported as the server's, would look to Prometheus
    # like counters reset: a scrape fails instead.
    clock = TurnClock()
    worker = RandnumServer(clock=clock)
    worker.tcp.requests = 4
    lost: Deferred[Totals] = Deferred()
    worker.wholeServer = lambda: lost
    loopback = Loopback(webSite(worker, metricsRegistry(worker)), clock)
    client = loopback.connect()
    client.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    loopback.turn(2)
    assert client.read() == b""
    lost.errback(Failure(ConnectionError("gone")))
    loopback.turn(2)
    client.read()
    assert client.received.startswith(b"HTTP/1.1 503 ")
    assert client.received.endswith(
        b'{"error":"metrics unavailable: the main process did not answer"}\n'
    )


def test_aSignedDrawTheMainProcessDoesNotAnswerIsRefusedInTime(
    tmp_path: Path,
) -> None:
    main, _, _ = signingServer(tmp_path)
    talk = Conversation(main)
    talk.shared()
    asked = outcome(talk.worker.signedDraw(Query(signed=True)))
    # The request never reaches a main process that answers.
    talk.clock.advance(SIGN_TIMEOUT - 0.1)
    assert asked == []
    talk.clock.advance(0.1)
    assert isinstance(asked[0], Failure)


def test_workerLogEventsAreLoggedByTheMainProcess(logged: list[LogEvent]) -> None:
    talk = Conversation(RandnumServer(clock=Clock()))
    fallback: list[LogEvent] = []
    observer = LogToMain(fallback.append)  # type: ignore[arg-type]
    observer.link = talk.workerSide
    Logger(namespace="randnum", observer=observer).warn(
        "a {thing} happened", thing="rejection"
    )
    talk.pump.flush()
    assert fallback == []
    relayed = [e for e in logged if e.get("randnum_worker") == 1]
    assert len(relayed) == 1
    assert formatEvent(relayed[0]) == "[worker 1] a rejection happened"


def test_aWorkerStopsWhenTheMainProcessGoes() -> None:
    talk = Conversation(RandnumServer(clock=Clock()))
    assert talk.workerSide.transport is not None
    talk.workerSide.transport.loseConnection()
    talk.pump.flush()
    assert talk.gone == [True]


# Supervision, on a clock.


class FakeSide:
    """
    What the pool knows of a running worker: its number, its signals, and
    when it ended.
    """

    def __init__(self, number: int, serving: bool = True) -> None:
        self.number = number
        self.serving = serving
        self.killedStarting = False
        self.signals: list[str] = []
        self.told: list[tuple[int, bool]] = []
        self.ended: Deferred[None] = Deferred()
        self.transport = self

    def signalProcess(self, name: str) -> None:
        self.signals.append(name)

    def call(self, command: type[Any], **arguments: Any) -> Deferred[Any]:
        assert command is cluster.Cover
        self.told.append((arguments["worker"], arguments["serve"]))
        return Deferred()


def supervised(count: int = 1) -> tuple[WorkerPool, Clock, list[tuple[float, int]]]:
    clock = Clock()
    pool = WorkerPool(Config(workers=count), list, RandnumServer(clock=clock), clock)
    starts: list[tuple[float, int]] = []

    def start(number: int) -> None:
        pool._pending.pop(number, None)
        starts.append((clock.seconds(), number))
        pool._started[number] = clock.seconds()

    pool._start = start  # type: ignore[method-assign]
    return pool, clock, starts


def test_aWorkerThatKeepsFailingIsRestartedLessAndLessOften() -> None:
    pool, clock, starts = supervised()
    pool._started[1] = 0.0
    delays = []
    for _ in range(len(RESTART_DELAYS) + 1):
        clock.advance(0.1)  # fails soon after starting
        failed = clock.seconds()
        pool._restartLater(1, "exited with status 1")
        clock.advance(pool._pending[1].getTime() - clock.seconds())
        assert starts[-1] == (clock.seconds(), 1)
        delays.append(round(clock.seconds() - failed, 6))
    assert delays == [*RESTART_DELAYS, RESTART_DELAYS[-1]]
    # One that ran steadily for a while starts over at once.
    clock.advance(STEADY_SECONDS)
    pool._restartLater(1, "was killed by signal 9")
    clock.advance(0)
    assert starts[-1] == (clock.seconds(), 1)
    assert pool.restarts == len(RESTART_DELAYS) + 2


def test_stoppingCancelsRestartsAndKillsWhatDoesNotStop(
    logged: list[LogEvent],
) -> None:
    pool, clock, starts = supervised(count=2)
    pool.running = True
    quick, stubborn = FakeSide(1), FakeSide(2)
    pool.workers = {1: quick, 2: stubborn}  # type: ignore[dict-item]
    pool._restartLater(3, "exited")
    stopping = pool.stopService()
    assert quick.signals == stubborn.signals == ["TERM"]
    quick.ended.callback(None)
    clock.advance(STOP_GRACE)
    assert stubborn.signals == ["TERM", "KILL"]
    assert [formatEvent(e) for e in logged if "did not stop" in e["log_format"]] == [
        f"randnum worker 2 did not stop within {STOP_GRACE:g} s: killing it"
    ]
    assert not stopping.called
    stubborn.ended.callback(None)
    assert stopping.called
    clock.advance(60)
    assert starts == []  # the pending restart was cancelled


def test_stoppingNeverWaitsForEver() -> None:
    pool, clock, _ = supervised()
    pool.running = True
    pool.workers = {1: FakeSide(1)}  # type: ignore[dict-item]
    stopping = pool.stopService()
    clock.advance(STOP_GRACE * 2)
    assert stopping.called


# Options.


def parse(*args: str) -> Options:
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(["--port", "tcp:0", *args])
    return options


def test_workersAutoIsTheUsableCPUs() -> None:
    assert parse("--workers", "auto").config.workers == usableCPUs()
    assert parse("--workers", "3").config.workers == 3
    assert parse().config.workers == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers must be a number from 1 to 256, or auto"),
        (["--workers", "two"], "--workers must be a number from 1 to 256, or auto"),
        (
            ["--workers", str(MAX_WORKERS + 1)],
            f"--workers must be a number from 1 to {MAX_WORKERS}, or auto, not '257'",
        ),
        (["--workers", "2", "--seed", "1"], "--seed needs --workers 1"),
        (
            ["--workers", "3", "--max-connections-per-ip", "2"],
            "--max-connections-per-ip (2) must be 0 or at least --workers (3)",
        ),
        (
            ["--workers", "4", "--max-connections", "3"],
            "--max-connections (3) must be at least --workers (4)",
        ),
    ],
)
def test_badWorkerOptionsAreUsageErrors(args: list[str], message: str) -> None:
    with pytest.raises(
        usage.UsageError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        parse(*args)


def test_askersMeanwhileShareOneAnswer() -> None:
    asked: list[Deferred[int]] = []

    def ask() -> Deferred[int]:
        asked.append(Deferred())
        return asked[-1]

    shared = cluster.Shared(ask)
    first, second = outcome(shared()), outcome(shared())
    assert len(asked) == 1
    asked[0].callback(7)
    assert first == second == [7]
    third = outcome(shared())
    assert len(asked) == 2
    asked[1].errback(Failure(ConnectionError("gone")))
    assert isinstance(third[0], Failure) and third[0].check(ConnectionError)


def test_aWorkerThatDoesNotAnswerCountsAsOfItsLastAnswer() -> None:
    talk = Conversation(RandnumServer(clock=Clock()))
    talk.worker.tcp.requests = 3
    first = outcome(talk.pool.gather())
    talk.pump.flush()
    assert result(first).faces["tcp"].requests == 3
    # Now the worker is stopped (SIGSTOP, or stuck): its answer never comes.
    talk.worker.tcp.requests = 5
    stuck = outcome(talk.pool.gather())
    talk.clock.advance(ASK_TIMEOUT)
    assert result(stuck).faces["tcp"].requests == 3
    assert talk.pool._unanswered == {1: 1}


def test_aWorkerThatAnswersIsNeverTakenForStuck() -> None:
    talk = Conversation(RandnumServer(clock=Clock()))
    for _ in range(5):
        outcome(talk.pool.gather())
        talk.pump.flush()
        talk.clock.advance(KEEP_COUNTS)
    assert talk.pool._unanswered == {1: 0}


def test_theMainProcessLogsTheWholeServersSummary(logged: list[LogEvent]) -> None:
    talk = Conversation(RandnumServer(clock=Clock()))
    talk.worker.tcp.requests, talk.worker.tcp.open = 9, 2
    talk.pool.logSummary()
    talk.pump.flush()
    [summary] = [formatEvent(e) for e in logged if "tcp summary" in formatEvent(e)]
    assert summary.startswith("randnum tcp summary: 2 open;")
    assert "9 requests" in summary


def test_workersImportWhatTheMainProcessImports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        monkeypatch.setenv(name, "3")
    monkeypatch.setenv("RANDNUM_KEPT", "yes")
    environment = workerEnvironment()
    assert environment["PYTHONPATH"].split(os.pathsep) == [p for p in sys.path if p]
    assert environment["PYTHONSAFEPATH"] == "1"
    # systemd's sockets are the main process's alone; the rest is kept.
    assert not {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"} & set(environment)
    assert environment["RANDNUM_KEPT"] == "yes"


def test_aWorkerThatExitsIsLoggedWithHowItEnded(logged: list[LogEvent]) -> None:
    pool, clock, starts = supervised()
    side = FakeSide(1)
    pool.workers = {1: side}  # type: ignore[dict-item]
    pool._started[1] = clock.seconds()
    clock.advance(41)
    pool.ended(side, Failure(ProcessTerminated(signal=9)))  # type: ignore[arg-type]
    assert [formatEvent(e) for e in logged if e.get("number") == 1] == [
        "randnum worker 1 was killed by signal 9 after 41.0 s; restarting it in 0 s"
    ]
    clock.advance(0)
    assert starts == [(41.0, 1)]
    assert pool.workers == {}
    again = FakeSide(1)
    pool.workers = {1: again}  # type: ignore[dict-item]
    clock.advance(41)
    pool.ended(again, Failure(ProcessDone(0)))  # type: ignore[arg-type]
    assert [formatEvent(e) for e in logged if e.get("number") == 1][-1] == (
        "randnum worker 1 exited after 41.0 s; restarting it in 0 s"
    )


def test_workersAreToldOnlyWhenTheStoreFillsOrEmpties(tmp_path: Path) -> None:
    main, _, _ = signingServer(tmp_path)
    talk = Conversation(main)
    store = talk.shared()
    told: list[dict[str, Any]] = []
    call = talk.mainSide.call

    def telling(command: type[Any], **arguments: Any) -> Deferred[Any]:
        told.append(arguments)
        return call(command, **arguments)

    talk.mainSide.call = telling  # type: ignore[method-assign]
    audit = main.audit
    assert isinstance(audit, AuditStore)
    seen = []
    for maxSize in (10**12, 1, 1, 1, 10**12, 10**12):
        audit.maxSize = maxSize
        talk.pool._checkAudit()
        talk.pump.flush()
        seen.append(store.full)
    assert seen == [False, True, True, True, False, False]
    assert [arguments["full"] for arguments in told] == [True, False]


def test_aServingWorkerAcceptsFromTheSocketsOfEachWorkerThatIsDown(
    logged: list[LogEvent],
) -> None:
    pool, _, _ = supervised(count=3)
    port = MemoryReactorClock().listenTCP(0, Factory())
    pool._shared = [Listener("tcp", port, None, [socket.socket()] * 3)]
    one, two, three = FakeSide(1), FakeSide(2), FakeSide(3)
    pool.workers = {1: one, 2: two, 3: three}  # type: ignore[dict-item]
    for side in (one, two, three):
        pool.serving(side)  # type: ignore[arg-type]
    pool.ended(one, Failure(ProcessTerminated(signal=9)))  # type: ignore[arg-type]
    # The least busy serving worker (the first of them) covers.
    assert two.told == [(1, True)] and three.told == []
    pool.ended(two, Failure(ProcessTerminated(signal=9)))  # type: ignore[arg-type]
    assert three.told == [(1, True), (2, True)]
    # Worker 1 is back: 3 stops covering for it, and 1 takes on worker 2.
    back = FakeSide(1)
    pool.workers[1] = back  # type: ignore[assignment]
    pool.serving(back)  # type: ignore[arg-type]
    assert three.told[2:] == [(1, False)]
    assert back.told == []  # 3 still covers for 2
    pool.workers[2] = FakeSide(2)  # type: ignore[assignment]
    pool.serving(pool.workers[2])
    assert three.told[3:] == [(2, False)]
    assert pool._covering == {}
    said = [
        formatEvent(event) for event in logged if "sockets of" in event["log_format"]
    ]
    assert said == [
        "randnum worker 2 accepts from the sockets of worker 1",
        "randnum worker 3 accepts from the sockets of worker 1",
        "randnum worker 3 accepts from the sockets of worker 2",
        "randnum worker 3 no longer accepts from the sockets of worker 1",
        "randnum worker 3 no longer accepts from the sockets of worker 2",
    ]
    for sock in pool._shared[0].sockets:
        sock.close()


def test_aWorkerThatDoesNotAnswerThreeTimesInARowIsKilled(
    logged: list[LogEvent],
) -> None:
    pool, _, _ = supervised()
    side = FakeSide(1)
    for ok in (False, False, True, False, False):
        pool._answered(side, ok)  # type: ignore[arg-type]
    assert side.signals == []
    pool._answered(side, False)  # type: ignore[arg-type]
    assert side.signals == ["KILL"]
    assert any(
        formatEvent(e)
        == "randnum worker 1 has not answered 3 questions in a row: killing it"
        for e in logged
    )


# The main process's ports, and its service.


def test_aTcpPortIsOneReusePortSocketPerWorker() -> None:
    reactor = MemoryReactorClock()
    endpoint = ReusePortEndpoint(
        TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"), 3, reactor
    )
    listening = outcome(endpoint.listen(Factory()))
    try:
        assert not isinstance(listening[0], Failure)
        ports = {sock.getsockname() for sock in endpoint.sockets}
        assert len(endpoint.sockets) == 3 and len(ports) == 1
        for sock in endpoint.sockets:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
            assert not sock.getblocking()
        # The main process's own port (never read) is the first socket.
        assert listening[0].getHost().type == "TCP"
        [(fileno, family, _)] = reactor.adoptedPorts
        assert (fileno, family) == (endpoint.sockets[0].fileno(), socket.AF_INET)
    finally:
        endpoint.close()


def test_aPortInUseIsRefusedAsTwistedWouldRefuseIt() -> None:
    reactor = MemoryReactorClock()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        endpoint = ReusePortEndpoint(
            TCP4ServerEndpoint(reactor, port, interface="127.0.0.1"), 2, reactor
        )
        listening = outcome(endpoint.listen(Factory()))
    failure = listening[0]
    assert isinstance(failure, Failure)
    assert failure.check(CannotListenError)
    assert "Address already in use" in failure.getErrorMessage()
    assert f"127.0.0.1:{port}" in failure.getErrorMessage()
    assert endpoint.sockets == []


def test_theServiceSharesEveryPortWithItsWorkers(tmp_path: Path) -> None:
    options = parse(
        *("--workers", "2", "--http", "tcp:0:interface=127.0.0.1"),
        *("--port", f"unix:{tmp_path / 'randnum.sock'}"),
    )
    service = makeService(options)
    children = list(service)  # type: ignore[call-overload]
    pools = [child for child in children if isinstance(child, WorkerPool)]
    assert len(pools) == 1 and children[-1] is pools[0]  # stopped first
    listening = [child for child in children if isinstance(child, ListeningService)]
    kinds = [type(child.endpoint).__name__ for child in listening]
    assert kinds == ["ReusePortEndpoint", "UNIXServerEndpoint", "ReusePortEndpoint"]
    config = pools[0].config
    assert config is options.config


def test_longBytesTravelInPieces() -> None:
    argument = cluster.LongBytes()
    for size in (0, 1, 0xFFFF, 0x10000, 3 * 0xFFFF + 5):
        value = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        box: dict[bytes, bytes] = {}
        argument.toBox(b"record", box, {"record": value}, amp.AMP())
        assert all(len(piece) <= 0xFFFF for piece in box.values())
        assert len(box) == max(1, -(-size // 0xFFFF))
        objects: dict[str, Any] = {}
        argument.fromBox(b"record", box, objects, amp.AMP())
        assert objects == {"record": value}


def test_anIPv6PortIsIPv6Sockets() -> None:
    reactor = MemoryReactorClock()
    endpoint = ReusePortEndpoint(
        TCP6ServerEndpoint(reactor, 0, interface="::1"), 2, reactor
    )
    listening = outcome(endpoint.listen(Factory()))
    try:
        assert listening[0].getHost().type == "TCP"
        assert {sock.family for sock in endpoint.sockets} == {socket.AF_INET6}
    finally:
        endpoint.close()


def test_aWorkerThatNeverAnsweredCountsAsNothing() -> None:
    talk = Conversation(RandnumServer(clock=Clock()))
    talk.worker.tcp.requests = 3
    stuck = outcome(talk.pool.gather())
    talk.clock.advance(ASK_TIMEOUT)
    assert result(stuck).faces["tcp"].requests == 0
    assert result(stuck).workers == [0]


def test_theAuditStoresFiguresAreGatheredToo(tmp_path: Path) -> None:
    main, _, _ = signingServer(tmp_path)
    store = main.audit
    assert isinstance(store, AuditStore)
    drawn(store, 3)
    store.failures = 2
    store.full = True
    talk = Conversation(main)
    gathered = outcome(talk.pool.gather())
    talk.pump.flush()
    assert result(gathered).audit == AuditFigures(
        records=3, bytes=store.size(), full=True, commits=1, failures=2
    )
    assert store.size() > 0


def test_aServerOfOneProcessScrapesItsOwnCounts() -> None:
    clock = TurnClock()
    server = RandnumServer(clock=clock)
    server.tcp.requests = 7
    loopback = Loopback(webSite(server, metricsRegistry(server)), clock)
    client = loopback.connect()
    client.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    loopback.turn(3)
    client.read()
    assert b'randnum_requests_total{face="tcp",framing="line"} 7.0' in client.received
    assert b"randnum_worker_" not in client.received


def test_afterStoppingNoWorkerIsRestarted() -> None:
    pool, clock, starts = supervised()
    pool.running = True
    side = FakeSide(1)
    pool.workers = {1: side}  # type: ignore[dict-item]
    pool.stopService()
    pool.ended(side, Failure(ProcessTerminated(signal=15)))  # type: ignore[arg-type]
    clock.advance(60)
    assert starts == [] and pool._pending == {}


def test_oneRestartAtATime() -> None:
    pool, clock, starts = supervised()
    pool._restartLater(1, "exited")
    pool._restartLater(1, "exited")
    clock.advance(60)
    assert [number for _, number in starts] == [1] and pool.restarts == 1


def test_aKilledWorkersCountStartsAfresh() -> None:
    pool, _, _ = supervised()
    side = FakeSide(1)
    for _ in range(3):
        pool._answered(side, False)  # type: ignore[arg-type]
    for _ in range(2):
        pool._answered(side, False)  # type: ignore[arg-type]
    assert side.signals == ["KILL"]


def test_theLeastBusyServingWorkerCovers() -> None:
    pool, _, _ = supervised(count=4)
    port = MemoryReactorClock().listenTCP(0, Factory())
    pool._shared = [Listener("tcp", port, None, [socket.socket()] * 4)]
    sides = {n: FakeSide(n) for n in (1, 2, 3, 4)}
    pool.workers = dict(sides)  # type: ignore[arg-type]
    pool.ended(sides[4], Failure(ProcessTerminated(signal=9)))  # type: ignore[arg-type]
    pool.ended(sides[3], Failure(ProcessTerminated(signal=9)))  # type: ignore[arg-type]
    # 1 took 4; then 1 covered one and 2 none: 2 took 3.
    assert sides[1].told == [(4, True)]
    assert sides[2].told == [(3, True)]
    # A worker started but not serving yet is covered too, not a cover.
    starting = FakeSide(3, serving=False)
    pool.workers[3] = starting  # type: ignore[assignment]
    pool.ended(sides[2], Failure(ProcessTerminated(signal=9)))  # type: ignore[arg-type]
    assert sides[1].told == [(4, True), (2, True), (3, True)]
    assert starting.told == []
    pool._shared[0].sockets[0].close()


class StoppableClock(Clock):
    """
    A clock that can be stopped, as the reactor is.
    """

    stopped = False

    def stop(self) -> None:
        self.stopped = True


def test_whenNoWorkerCanStartTheServerStops(logged: list[LogEvent]) -> None:
    clock = StoppableClock()
    pool = WorkerPool(Config(workers=2), list, RandnumServer(clock=clock), clock)
    started: list[int] = []

    def start(number: int) -> None:
        pool._pending.pop(number, None)
        started.append(number)

    pool._start = start  # type: ignore[method-assign]
    refused = Failure(ProcessTerminated(exitCode=1))
    for _ in range(START_ATTEMPTS):
        for number in (1, 2):
            side = FakeSide(number, serving=False)
            pool.workers[number] = side  # type: ignore[assignment]
            pool.ended(side, refused)  # type: ignore[arg-type]
            clock.advance(60)
    assert pool.gaveUp and clock.stopped
    assert len(started) == 2 * START_ATTEMPTS - 1  # not the last one
    assert any("no worker can start" in formatEvent(e) for e in logged)


def test_aWorkerThatServedKeepsTheServerGoing() -> None:
    clock = StoppableClock()
    pool = WorkerPool(Config(workers=2), list, RandnumServer(clock=clock), clock)
    pool._start = pool._pending.pop  # type: ignore[assignment, method-assign]
    pool.workers[2] = FakeSide(2)  # type: ignore[assignment]
    for _ in range(START_ATTEMPTS * 2):
        side = FakeSide(1, serving=False)
        pool.workers[1] = side  # type: ignore[assignment]
        pool.ended(side, Failure(ProcessTerminated(exitCode=1)))  # type: ignore[arg-type]
        clock.advance(60)
    assert not pool.gaveUp and not clock.stopped


def test_eachWorkerIsGivenItsShareAndEverySocket(tmp_path: Path) -> None:
    reactor = MemoryReactorClock()
    options = parse(
        *("--workers", "3", "--max-connections", "10"),
        *("--max-connections-per-ip", "7", "--http", "tcp:0:interface=127.0.0.1"),
        *("--port", f"unix:{tmp_path / 'randnum.sock'}"),
    )
    options.reactor = reactor
    service = makeService(options)
    listening = [child for child in service if isinstance(child, ListeningService)]  # type: ignore[attr-defined]
    unixSocket = socket.socket(socket.AF_UNIX)
    unixSocket.bind(str(tmp_path / "randnum.sock"))
    for child in listening:
        child.endpoint.listen(child.factory)
        sockets = getattr(child.endpoint, "sockets", [unixSocket])
        child.port = SocketPort(sockets[0])  # type: ignore[assignment]
    [pool] = [child for child in service if isinstance(child, WorkerPool)]  # type: ignore[attr-defined]
    pool._shared = listenersOf(listening)
    try:
        assert [(x.face, x.description.split()[0]) for x in pool._shared] == [
            ("tcp", "--port"),
            ("tcp", "--port"),
            ("http", "--http"),
        ]
        configs = [pool.workerConfig(number) for number in (1, 2, 3)]
        assert [c.limits.maxConnections for c in configs] == [4, 3, 3]
        assert {c.limits.maxConnectionsPerHost for c in configs} == {2}
        # Nothing else of the server's configuration differs.
        assert {
            dataclasses.replace(c, limits=options.config.limits) for c in configs
        } == {options.config}
        given = [pool.assignment(number) for number in (1, 2, 3)]
        assert [assignment.number for assignment, _ in given] == [1, 2, 3]
        tcp, unix, http = pool._shared
        for number, (assignment, fds) in enumerate(given, 1):
            assert fds[0] == "w" and fds[1] == fds[2] == "r"
            mine, shared, web = assignment.sockets
            # Its own SO_REUSEPORT socket of each TCP port, and the others'.
            assert fds[mine.fd] == tcp.sockets[number - 1].fileno()
            assert {n: fds[fd] for n, fd in mine.others} == {
                n: tcp.sockets[n - 1].fileno() for n in (1, 2, 3) if n != number
            }
            assert fds[web.fd] == http.sockets[number - 1].fileno()
            assert not mine.shared and not web.shared
            # The UNIX socket is one, shared by all.
            assert shared.shared and shared.others == ()
            assert fds[shared.fd] == unix.port.fileno()  # type: ignore[attr-defined]
            assert sorted(fds) == list(range(len(fds)))
            assert (mine.face, web.face) == ("tcp", "http")
            assert mine.tls is None
            # As the worker reads it.
            assert Assignment.fromJSON(assignment.toJSON()) == assignment
    finally:
        unixSocket.close()
        for listener in pool._shared:
            for sock in listener.sockets:
                sock.close()


class SocketPort:
    """
    What the main process needs of a listening port: its socket.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.addressFamily = sock.family
        self.fileno = sock.fileno


class BeatingSide(FakeSide):
    """
    A running worker that answers its heartbeats, or (stuck) does not.
    """

    def __init__(self, number: int, answers: bool) -> None:
        super().__init__(number)
        self.answers = answers
        self.beats = 0

    def call(self, command: type[Any], **arguments: Any) -> Deferred[Any]:
        if command is not cluster.Heartbeat:
            return super().call(command, **arguments)
        self.beats += 1
        return succeed({}) if self.answers else Deferred()


def test_aWorkerThatMissesItsHeartbeatIsKilledWithinThreeSeconds(
    logged: list[LogEvent],
) -> None:
    pool, clock, _ = supervised(count=2)
    stuck, alive = BeatingSide(1, answers=False), BeatingSide(2, answers=True)
    pool.workers = {1: stuck, 2: alive}  # type: ignore[dict-item]
    pool._beating.clock = clock
    pool._beating.start(HEARTBEAT, now=False)
    clock.advance(HEARTBEAT)  # asked once; one heartbeat is awaited at a time
    clock.advance(HEARTBEAT)
    assert (stuck.beats, alive.beats) == (1, 2)
    assert stuck.signals == []
    clock.advance(HEARTBEAT_TIMEOUT - HEARTBEAT)  # 3 s from the start
    assert stuck.signals == ["KILL"] and alive.signals == []
    said = [formatEvent(e) for e in logged if "heartbeat" in e["log_format"]]
    assert said == [
        f"randnum worker 1 missed its heartbeat for {HEARTBEAT_TIMEOUT:g} s: killing it"
    ]
    pool._beating.stop()


def test_aWorkerThatDoesNotStartServingInTimeIsKilledOnce(
    logged: list[LogEvent],
) -> None:
    """
    A worker stuck before it serves (never told its configuration, say) is
    killed L{START_TIMEOUT} after it was started, once; one that serves in
    time is left alone.
    """
    pool, clock, _ = supervised(count=2)
    stuck, serving = FakeSide(1, serving=False), BeatingSide(2, answers=True)
    serving.serving = False
    pool.workers = {1: stuck, 2: serving}  # type: ignore[dict-item]
    pool._started = {1: clock.seconds(), 2: clock.seconds()}
    pool._beating.clock = clock
    pool._beating.start(HEARTBEAT, now=False)
    clock.advance(START_TIMEOUT - HEARTBEAT)
    serving.serving = True
    clock.advance(HEARTBEAT)
    assert stuck.signals == []
    clock.advance(HEARTBEAT)
    clock.advance(HEARTBEAT)
    assert stuck.signals == ["KILL"] and serving.signals == []
    said = [formatEvent(e) for e in logged if "start serving" in e["log_format"]]
    assert said == [
        f"randnum worker 1 did not start serving within {START_TIMEOUT:g} s: killing it"
    ]
    pool._beating.stop()


def test_aWorkerAnswersItsHeartbeatAtOnce() -> None:
    talk = Conversation(RandnumServer(clock=Clock()))
    answered = outcome(talk.mainSide.callRemote(cluster.Heartbeat))
    talk.pump.flush()
    assert answered == [{}]


class SpawnedProcess(StringTransport):
    """
    A started process's transport that keeps what is written to each of
    its descriptors besides standard input, and which it has closed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.toChild: dict[int, bytes] = {}
        self.closedChildFDs: list[int] = []
        self.signals: list[str] = []

    def writeToChild(self, childFD: int, data: bytes) -> None:
        self.toChild[childFD] = self.toChild.get(childFD, b"") + data

    def closeChildFD(self, childFD: int) -> None:
        self.closedChildFDs.append(childFD)

    def signalProcess(self, signalID: str) -> None:
        self.signals.append(signalID)


class SpawningReactor(MemoryReactorClock):
    """
    A memory reactor that records the processes it is asked to start (or
    refuses to start them).
    """

    def __init__(self) -> None:
        super().__init__()
        self.spawned: list[tuple[str, list[str], dict[str, str], dict[int, Any]]] = []
        self.refuse = False
        self.protocols: list[Any] = []

    def spawnProcess(
        self,
        processProtocol: Any,
        executable: str,
        args: Any = (),
        env: Any = None,
        path: Any = None,
        uid: Any = None,
        gid: Any = None,
        usePTY: bool = False,
        childFDs: Any = None,
    ) -> object:
        if self.refuse:
            raise OSError(2, "No such file or directory")
        self.spawned.append((executable, list(args), env, childFDs))
        self.protocols.append(processProtocol)
        process = SpawnedProcess()
        processProtocol.makeConnection(process)
        return process

    def adoptStreamPort(self, fileno: int, addressFamily: int, factory: Any) -> Any:
        return self._port(
            super().adoptStreamPort(fileno, addressFamily, factory), addressFamily
        )

    def listenUNIX(self, address: str, factory: Any, *args: Any, **kwargs: Any) -> Any:
        port = super().listenUNIX(address, factory, *args, **kwargs)
        port.fileno = lambda: 99  # no socket behind it: a descriptor's stand-in
        return self._port(port, socket.AF_UNIX)

    @staticmethod
    def _port(port: Any, family: int) -> Any:
        # What the main process asks of a real port: its family, and to stop
        # reading (its workers accept).
        port.addressFamily = family
        port.stopReading = lambda: None
        return port


def test_eachWorkerIsStartedWithWhatItNeedsToServe(tmp_path: Path) -> None:
    reactor = SpawningReactor()
    key = tmp_path / "k.pem"
    generateKey(key)
    # A store that holds two records, and is full.
    written, _ = makeStore(tmp_path, Clock(), Signer.fromFile(key))
    drawn(written, 2)
    options = Options(reactor=reactor)
    options.parseOptions(
        [
            *("--port", "tcp:0:interface=127.0.0.1", "--workers", "2"),
            *("--http", f"unix:{tmp_path / 'http.sock'}"),
            *("--signing-key", str(key), "--audit-db", written.path),
            *("--audit-max-size", "1"),
        ]
    )
    service = makeService(options)
    service.startService()
    try:
        [pool] = [child for child in service if isinstance(child, WorkerPool)]  # type: ignore[attr-defined]
        assert sorted(pool.workers) == [1, 2]
        # A pool made by hand: not signing, and never ending its process.
        bare = WorkerPool(Config(), list, RandnumServer(clock=reactor), reactor)
        assert not bare.exitFailing
        told = bare.assignment(1)[0]
        assert (told.keyId, told.publicPem, told.full, told.committed) == (
            None,
            None,
            False,
            0,
        )
        assert len(reactor.spawned) == 2
        signer = Signer.fromFile(key)
        for number, (executable, args, env, childFDs) in enumerate(reactor.spawned, 1):
            assert executable == sys.executable
            # Its number alone: what it is told stays out of ps.
            assert args == [sys.executable, "-m", "randnum.workers.child", str(number)]
            assert env == workerEnvironment()
            # Its standard error is logged; its AMP side knows its number.
            wrapped = reactor.protocols[number - 1]
            assert wrapped.errFlag is StandardErrorBehavior.LOG
            side = pool.workers[number]
            assert wrapped.protocol is side and isinstance(side, MainSide)
            assert (side.pool, side.number) == (pool, number)
            process = wrapped.transport._process
            assert process.closedChildFDs == [CONFIGURATION_FD]
            told = process.toChild[CONFIGURATION_FD].decode("utf-8")
            config, assignment = readArguments(told.splitlines())
            assert config == pool.workerConfig(number)
            assert assignment == pool.assignment(number)[0]
            assert childFDs == pool.assignment(number)[1]
            assert (assignment.number, assignment.keyId) == (number, signer.keyId)
            assert assignment.publicPem == signer.publicPem
            assert (assignment.full, assignment.committed) == (True, 2)
            tcp, unix = assignment.sockets
            assert (tcp.face, tcp.family, tcp.tls, tcp.shared) == (
                "tcp",
                socket.AF_INET,
                None,
                False,
            )
            assert tcp.description == "--port tcp:0:interface=127.0.0.1"
            # Its own socket, then the other worker's, to cover for it.
            assert (tcp.fd, tcp.others) == (4, ((3 - number, 5),))
            assert (unix.face, unix.family, unix.shared) == (
                "http",
                socket.AF_UNIX,
                True,
            )
            assert unix.description == f"--http unix:{tmp_path / 'http.sock'}"
        # Counts are gathered, and the store watched, from now on.
        assert pool._keeping.running and pool._auditWatch is not None
    finally:
        stopped = outcome(service.stopService())
    # The workers never end here: they are killed, and then not waited for.
    reactor.advance(STOP_GRACE)
    reactor.advance(60)
    [results] = stopped
    assert all(ok for ok, _ in results)  # every service stopped cleanly
    sockets = pool._shared[0].sockets
    assert sockets and all(sock.fileno() == -1 for sock in sockets)


def test_aWorkerThatCannotBeStartedIsTriedAgainThenGivenUp(
    logged: list[LogEvent],
) -> None:
    reactor = SpawningReactor()
    reactor.refuse = True
    pool = WorkerPool(Config(workers=1), list, RandnumServer(clock=reactor), reactor)
    pool.exitFailing = False
    pool.startService()
    for _ in range(START_ATTEMPTS + 1):
        reactor.advance(max(RESTART_DELAYS))
    said = [formatEvent(event) for event in logged]
    assert (
        said.count(
            "randnum could not start worker 1: [Errno 2] No such file or directory"
        )
        == START_ATTEMPTS
    )
    assert pool.gaveUp
    assert any(
        line.startswith("randnum worker 1 could not start after 0.0 s; restarting")
        for line in said
    )
    assert said[-1] == (
        f"randnum: no worker can start ({START_ATTEMPTS} attempts each; the last "
        "could not start): stopping, rather than holding ports that nothing serves"
    )


def told(text: bytes) -> int:
    """
    A descriptor to read C{text} from, to its end.
    """
    reading, writing = os.pipe()
    os.write(writing, text)
    os.close(writing)
    return reading


def test_aWorkerReadsWhatItIsToldOnItsDescriptor() -> None:
    pool = WorkerPool(Config(workers=2), list, RandnumServer(clock=Clock()), Clock())
    arguments, _ = pool.workerArguments(1)
    text = "".join(f"{argument}\n" for argument in arguments).encode()
    assert readConfiguration(told(text)) == (
        pool.workerConfig(1),
        pool.assignment(1)[0],
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"", "randnum worker: told nothing (has the main process stopped?)"),
        (b"{}\n", "randnum.workers.child is started by 'twistd randnum --workers N'"),
    ],
)
def test_aWorkerToldNothingUsableSaysSo(text: bytes, said: str) -> None:
    with pytest.raises(SystemExit) as exited:
        readConfiguration(told(text))
    assert exited.value.code == said


def _workerRecord(talk: Conversation, pool: ManualPool, clock: Clock) -> Any:
    """
    A RANDOM.ORG signed call's record, signed for the worker by the main
    process, and its endorsement.
    """
    from randnum.jsonrpc import signatures
    from randnum.jsonrpc.methods import plan

    store = talk.shared()
    planned = plan(
        "generateSignedIntegers", {"apiKey": "k", "n": 3, "min": 1, "max": 6}
    )
    asked = outcome(signatures.issue(store, planned, talk.worker.source))
    for _ in range(3):
        talk.pump.flush()
        clock.advance(0)
        pool.runAll()
        assert isinstance(store.readPool, ManualPool)
        store.readPool.runAll()
        pool.runAll()
        talk.pump.flush()
    return result(asked)


def test_aWorkersSignedResultIsSignedAndEndorsedByTheMainProcess(
    tmp_path: Path,
) -> None:
    from randnum.jsonrpc import signed

    main, pool, clock = signingServer(tmp_path)
    talk = Conversation(main)
    endorsed = _workerRecord(talk, pool, clock)
    audit = main.audit
    assert isinstance(audit, AuditStore)
    assert endorsed.random["serialNumber"] == 1
    assert signed.authentic(endorsed.random, endorsed.signature, audit.signer.publicKey)


def test_theMainProcessSignsOnlyRandomOrgRecordsForAWorker(tmp_path: Path) -> None:
    main, _, _ = signingServer(tmp_path)
    talk = Conversation(main)
    talk.shared()
    forged = [
        {"type": "int", "n": 1},
        {"type": "random.org", "method": "generateSignedIntegers", "time": "x"},
    ]
    for request in forged:
        asked = outcome(
            talk.workerSide.call(
                cluster.SignRecord, request=json.dumps(request), values=b"[1]"
            )
        )
        talk.pump.flush()
        result(asked).trap(cluster.SigningDisabled)
    assert isinstance(main.audit, AuditStore) and main.audit.serial == 0


def test_theMainProcessEndorsesOnlyItsStoredRecords(tmp_path: Path) -> None:
    main, pool, clock = signingServer(tmp_path)
    talk = Conversation(main)
    endorsed = _workerRecord(talk, pool, clock)
    assert endorsed.random["serialNumber"] == 1
    stored = outcome(main.audit.record(1))  # type: ignore[union-attr]
    pool.runAll()
    line = result(stored)
    # The same record, one value changed: not one the store holds.
    changed = line.replace(b'"values":[', b'"values":[9,', 1)
    asked = outcome(talk.workerSide.call(cluster.EndorseRecord, record=changed))
    talk.pump.flush()
    pool.runAll()
    talk.pump.flush()
    result(asked).trap(cluster.SigningDisabled)
