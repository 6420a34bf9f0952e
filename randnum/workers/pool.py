# -*- test-case-name: tests.workers.test_pool,tests.workers.test_workers_live -*-
"""
The main process of C{twistd randnum --workers N}: it opens every listening
port, starts N worker processes (L{randnum.workers.child}) that share them, and
supervises them.

 - Sharing: for a TCP or TLS port, the main process opens one socket per
   worker, all bound to the port with C{SO_REUSEPORT}
   (L{ReusePortEndpoint}), and hands socket I to worker I (C{childFDs}),
   which adopts it: the kernel spreads new connections evenly over the
   sockets.  A UNIX socket, or one inherited from systemd, is one socket:
   every worker adopts the same one and accepts from it (one connection at
   a time, L{randnum.workers.sockets.ACCEPTS_PER_WAKEUP}).  Measured, the shared
   socket let one worker take 49 of 50 connections opened at once;
   C{SO_REUSEPORT} splits them about evenly (see docs/performance.md).
 - Limits: each worker enforces its share of C{--max-connections} and of
   C{--max-connections-per-ip} (L{share}), so the server never admits more
   than the totals.
 - Supervision: a worker that exits unexpectedly is restarted, after a
   pause that doubles while it keeps failing soon after starting
   (L{RESTART_DELAYS}).  Stopping the service stops every worker with
   C{SIGTERM}, and kills those still running after L{STOP_GRACE} seconds.
   A worker also stops by itself when the main process goes away.
 - One server: the main process alone holds the audit store and signs every
   signed draw, so there is one chain; it gathers every worker's counts for
   C{/metrics} and for the summary log, and logs the workers' log events.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.endpoints import (
    ProcessEndpoint,
    StandardErrorBehavior,
)
from twisted.internet.error import (
    ConnectionDone,
    ProcessDone,
    ProcessTerminated,
)
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorTime,
)
from twisted.internet.protocol import Factory
from twisted.internet.task import LoopingCall
from twisted.logger import Logger, eventFromJSON
from twisted.python.failure import Failure

import randnum.jsonrpc.signed as signed
from randnum.config import Config
from randnum.jsonrpc import signatures
from randnum.query import QueryError
from randnum.server import RandnumServer
from randnum.signing.records import RecordError
from randnum.signing.store import AuditStore, AuditUnavailable
from randnum.stats import FaceStats, Totals, emptyFaces
from randnum.workers import messages as cluster
from randnum.workers.allowances import usageAnswer
from randnum.workers.messages import Assignment, SharedSocket
from randnum.workers.sizing import perAddressShare, share
from randnum.workers.sockets import Listener

log = Logger(namespace="randnum")

#: Seconds before restarting a worker that exited, by how many times in a
#: row it had failed soon after starting; the last is the longest.
RESTART_DELAYS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
#: A worker that ran this long before exiting starts over at the first delay.
STEADY_SECONDS = 30.0
#: Seconds that stopping waits for workers to exit before killing them.
STOP_GRACE = 1.5
#: Seconds a worker has to answer for its counts.
ASK_TIMEOUT = 2.0
#: The descriptor on which a worker reads its configuration and assignment.
CONFIGURATION_FD = 3
#: Times in a row every worker may fail to start before the server stops.
START_ATTEMPTS = 3
#: Questions a worker may leave unanswered in a row before it is taken for
#: stuck and killed (one every KEEP_COUNTS seconds, and one per scrape).
STUCK_QUESTIONS = 3
#: Seconds between two gatherings of every worker's counts: a worker that
#: exits loses at most the counts of its last few seconds.
KEEP_COUNTS = 5.0
#: Seconds between two heartbeats asked of each worker.
HEARTBEAT = 1.0
#: Seconds a worker has to answer a heartbeat before it is taken for stuck
#: (stopped, or its reactor held): it is killed at once, and its sockets are
#: covered by the others while a new one starts.
HEARTBEAT_TIMEOUT = 2.0
#: Seconds a worker has, from its start, to adopt its ports and say that it
#: serves (Python, Twisted and its ports take about one): one that has not,
#: stuck before it serves, is killed, and started again.
START_TIMEOUT = 30.0
#: Seconds between two checks of whether the audit store is full.
AUDIT_CHECK = 1.0


def _signedFor(sign: Callable[[], Deferred[bytes]]) -> Deferred[dict[str, Any]]:
    """
    A signed record made for a worker by C{sign}, as the answer to its AMP
    command, with the store's refusals as the command's errors.
    """
    try:
        signing = sign()
    except QueryError as error:
        if error.kind == "audit_full":
            raise cluster.StoreFull() from None
        raise cluster.SigningDisabled() from None

    def unavailable(failure: Failure) -> dict[str, Any]:
        failure.trap(AuditUnavailable)
        raise cluster.StoreUnavailable()

    return signing.addCallbacks(lambda record: {"record": record}, unavailable)


class MainSide(cluster.Conversation):
    """
    The main process's end of its conversation with one worker.
    """

    def __init__(self, pool: WorkerPool, number: int) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.pool = pool
        self.number = number
        self.serving = False
        #: Whether it was killed for not starting to serve in time.
        self.killedStarting = False
        self.ended: Deferred[None] = Deferred()

    @cluster.Serving.responder
    def servingNow(self) -> dict[str, Any]:
        """
        The worker has adopted its ports.
        """
        self.serving = True
        self.pool.serving(self)
        return {}

    @cluster.SignDraw.responder
    def signDraw(
        self, query: str, drawing: bytes | None = None
    ) -> Deferred[dict[str, Any]]:
        """
        Draw, sign and store a record for the worker (with a public
        drawing's entrant list, if C{drawing}).
        """
        server = self.pool.server
        return _signedFor(
            lambda: server.signedDraw(cluster.queryFrom(query), drawing=drawing)
        )

    @cluster.SignRecord.responder
    def signRecord(self, request: str, values: bytes) -> Deferred[dict[str, Any]]:
        """
        Sign and store a record of values a worker drew.
        """
        server = self.pool.server
        fields, drawn = json.loads(request), json.loads(values)
        if not signed.isRecordOf(fields, drawn):
            # Only the records of RANDOM.ORG's signed calls, as a worker
            # makes them, are signed for it.
            raise cluster.SigningDisabled()
        return _signedFor(lambda: server.signedRecord(fields, drawn))

    @cluster.EndorseRecord.responder
    def endorseRecord(self, record: bytes) -> Deferred[dict[str, Any]]:
        """
        Sign the RANDOM.ORG object of a record stored in this process's
        store.
        """
        audit = self.pool.server.audit
        if not isinstance(audit, AuditStore):
            raise cluster.SigningDisabled()

        def refused(failure: Failure) -> dict[str, Any]:
            failure.trap(RecordError)
            raise cluster.SigningDisabled()

        endorsed = signatures.endorsement(audit, record)
        return endorsed.addCallbacks(
            lambda signature: {"signature": signature}, refused
        )

    @cluster.TakeAllowance.responder
    def takeAllowance(self, apiKey: str, bits: int) -> Deferred[dict[str, Any]]:
        """
        Charge an API key for a worker's call: the one count of the server.
        """
        return usageAnswer(self.pool.server.allowances.take(apiKey, bits))

    @cluster.KeyUsage.responder
    def keyUsage(self, apiKey: str) -> Deferred[dict[str, Any]]:
        """
        An API key's figures, for a worker's C{getUsage}.
        """
        return usageAnswer(self.pool.server.allowances.usage(apiKey))

    @cluster.ServerCounts.responder
    def serverCounts(self) -> Deferred[dict[str, Any]]:
        """
        The whole server's counts.
        """

        def answer(totals: Totals) -> dict[str, Any]:
            return {
                "counts": cluster.countRows(totals.faces),
                "workers": totals.workers,
                "restarts": totals.restarts,
                "audit": None if totals.audit is None else totals.audit.toText(),
            }

        return self.pool.gather().addCallback(answer)

    @cluster.LogEvent.responder
    def logEvent(self, event: str) -> dict[str, Any]:
        """
        Log a worker's event as this process's, saying which worker.
        """
        try:
            logged = eventFromJSON(event)
        except ValueError:
            return {}
        # A prefix without fields: the event's fields were formatted in the
        # worker (its "log_flattened"), and a new one would not be.
        logged["randnum_worker"] = self.number
        logged["log_format"] = f"[worker {self.number}] " + str(
            logged.get("log_format") or ""
        )
        log.observer(logged)
        return {}

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        """
        The worker has exited.
        """
        super().connectionLost(reason)
        self.pool.ended(self, reason)
        self.ended.callback(None)


class WorkerPool(Service):
    """
    Start, supervise and stop the workers of one server.
    """

    def __init__(
        self,
        config: Config,
        listeners: Callable[[], Sequence[Listener]],
        server: RandnumServer,
        reactor: Any,
    ) -> None:
        """
        @param config: the server's configuration: each worker is given it
            (L{randnum.workers.child}), with its share of the limits.
        @param listeners: the ports to share, once they are listening.
        @param server: the main process's server: its audit store signs every
            signed draw, and it logs the summaries.
        """
        self.count = config.workers
        self.listeners = listeners
        self.config = config
        self.server = server
        self.reactor = reactor
        self.workers: dict[int, MainSide] = {}
        self.restarts = 0
        self._stopping = False
        self._failures: dict[int, int] = {}
        self._started: dict[int, float] = {}
        self._pending: dict[int, IDelayedCall] = {}
        #: The last counts gathered from each worker, and the sum of those
        #: of workers that have exited, so that the totals never go back.
        self._lastCounts: dict[int, list[dict[str, Any]]] = {}
        self._retired = emptyFaces()
        self._shared: list[Listener] = []
        self._auditWatch: LoopingCall | None = None
        #: Which serving worker accepts from each down worker's sockets.
        self._covering: dict[int, int] = {}
        #: Times in a row each worker has exited before serving.
        self._failedToStart: dict[int, int] = {}
        #: The workers that have served at least once (their covers are
        #: logged; those of workers still starting for the first time are
        #: not worth a line).
        self._served: set[int] = set()
        #: Whether the pool stopped the server because no worker can start,
        #: and whether the process then exits with status 1 (under twistd,
        #: which otherwise exits 0 however its reactor was stopped).
        self.gaveUp = False
        self.exitFailing = False
        #: Questions in a row each worker has not answered in time.
        self._unanswered: dict[int, int] = {}
        #: The whole server's L{Totals}, asked of every worker once for all
        #: who ask meanwhile.
        self.gather = cluster.Shared(self._gatherNow)
        self._keeping = LoopingCall(self.gather)
        self._beating = LoopingCall(self._heartbeat)
        #: The workers whose heartbeat is awaited.
        self._awaited: set[MainSide] = set()
        self._auditFull = False

    @property
    def clock(self) -> IReactorTime:
        """
        The reactor, as a clock.
        """
        clock: IReactorTime = self.reactor
        return clock

    def startService(self) -> None:
        """
        Stop accepting on the ports (the workers accept), and start every
        worker.
        """
        super().startService()  # type: ignore[no-untyped-call]
        self._shared = list(self.listeners())
        for listener in self._shared:
            listener.port.stopReading()  # type: ignore[attr-defined]
        for number in range(1, self.count + 1):
            self._start(number)
        self._keeping.clock = self.clock
        self._keeping.start(KEEP_COUNTS, now=False)
        self._beating.clock = self.clock
        self._beating.start(HEARTBEAT, now=False)
        audit = self.server.audit
        if isinstance(audit, AuditStore):
            self._auditWatch = LoopingCall(self._checkAudit)
            self._auditWatch.clock = self.clock
            self._auditWatch.start(AUDIT_CHECK, now=False)

    def workerConfig(self, number: int) -> Config:
        """
        The configuration worker C{number} serves: the server's, with its
        share of the connection limits.
        """
        limits = self.config.limits
        return dataclasses.replace(
            self.config,
            limits=dataclasses.replace(
                limits,
                maxConnections=share(limits.maxConnections, self.count, number),
                maxConnectionsPerHost=perAddressShare(
                    limits.maxConnectionsPerHost, self.count
                ),
            ),
        )

    def assignment(self, number: int) -> tuple[Assignment, dict[int, int | str]]:
        """
        What worker C{number} is told besides its configuration, and its
        descriptors: AMP on 0 and 1, standard error on 2, what it is told on
        L{CONFIGURATION_FD}, then each listener's sockets.  For a listener
        with a socket per worker, a worker is given every worker's socket:
        it serves its own, and another's when told to (L{cluster.Cover})
        while that worker is down.
        """
        childFDs: dict[int, int | str] = {0: "w", 1: "r", 2: "r", CONFIGURATION_FD: "w"}
        sockets = []
        for listener in self._shared:
            fd = len(childFDs)
            childFDs[fd] = listener.descriptorFor(number)
            others = []
            if listener.sockets:
                for other in range(1, self.count + 1):
                    if other != number:
                        others.append((other, len(childFDs)))
                        childFDs[len(childFDs)] = listener.descriptorFor(other)
            sockets.append(
                SharedSocket(
                    face=listener.face,
                    family=listener.port.addressFamily,  # type: ignore[attr-defined]
                    tls=listener.tls,
                    shared=not listener.sockets,
                    description=listener.description,
                    fd=fd,
                    others=tuple(others),
                )
            )
        audit = self.server.audit
        signer = None if audit is None else audit.signer
        assignment = Assignment(
            number=number,
            sockets=tuple(sockets),
            keyId=None if signer is None else signer.keyId,
            publicPem=None if signer is None else signer.publicPem,
            full=False if audit is None else audit.full,
            committed=0 if audit is None else audit.committed,
        )
        return assignment, childFDs

    def workerArguments(self, number: int) -> tuple[list[str], dict[int, int | str]]:
        """
        What worker C{number} is told (its configuration and assignment, as
        L{randnum.workers.child.readArguments} reads them), and its
        descriptors.  They are written on its descriptor
        L{CONFIGURATION_FD}, not given on its command line, where C{ps}
        would show them to every user.
        """
        assignment, childFDs = self.assignment(number)
        return [self.workerConfig(number).toJSON(), assignment.toJSON()], childFDs

    def _start(self, number: int) -> None:
        self._pending.pop(number, None)
        arguments, childFDs = self.workerArguments(number)
        told = "".join(f"{argument}\n" for argument in arguments).encode("utf-8")
        endpoint = ProcessEndpoint(
            self.reactor,
            sys.executable,
            # Its number alone, so that ps tells the workers apart.
            [sys.executable, "-m", "randnum.workers.child", str(number)],
            env=workerEnvironment(),
            childFDs=childFDs,
            errFlag=StandardErrorBehavior.LOG,
        )
        self._started[number] = self.clock.seconds()
        connecting = endpoint.connect(
            Factory.forProtocol(lambda: MainSide(self, number))
        )

        def started(side: MainSide) -> None:
            # The worker logs that it serves once it has adopted the ports.
            self.workers[number] = side
            try:
                tell(side, told)
            except Exception:
                # It waits for what it is told: end it, to start it again.
                log.failure("randnum could not tell worker {number}", number=number)
                _signal(side, "KILL")

        def failed(failure: Failure) -> None:
            log.error(
                "randnum could not start worker {number}: {reason}",
                number=number,
                reason=failure.getErrorMessage(),
            )
            self._failedToStart[number] = self._failedToStart.get(number, 0) + 1
            if self._hopeless():
                self._giveUp("could not start")
            else:
                self._restartLater(number, "could not start")

        connecting.addCallbacks(started, failed)

    def ended(self, side: MainSide, reason: Failure) -> None:
        """
        Worker C{side} has exited: keep its counts, and restart it unless
        the server is stopping.
        """
        number = side.number
        if self.workers.get(number) is side:
            del self.workers[number]
        faces = emptyFaces()
        cluster.addRows(faces, self._lastCounts.pop(number, []))
        for stats in faces.values():
            stats.open = 0
        cluster.addRows(self._retired, cluster.countRows(faces))
        if self._stopping:
            return
        self._cover()
        how = _howEnded(reason)
        if not side.serving:
            self._failedToStart[number] = self._failedToStart.get(number, 0) + 1
            if self._hopeless():
                self._giveUp(how)
                return
        self._restartLater(number, how)

    def _hopeless(self) -> bool:
        """
        Whether no worker serves and each has failed to start
        L{START_ATTEMPTS} times in a row: what stops them (a TLS key the
        workers' user cannot read, a Python it cannot run) will not go
        away by itself.
        """
        if any(side.serving for side in self.workers.values()):
            return False
        return all(
            self._failedToStart.get(number, 0) >= START_ATTEMPTS
            for number in range(1, self.count + 1)
        )

    def _giveUp(self, how: str) -> None:
        log.error(
            "randnum: no worker can start ({count} attempts each; the last "
            "{how}): stopping, rather than holding ports that nothing serves",
            count=START_ATTEMPTS,
            how=how,
        )
        self.gaveUp = True
        if self.exitFailing:
            atexit.register(_exitFailing)
        self.reactor.stop()

    def serving(self, side: MainSide) -> None:
        """
        Worker C{side} serves its ports: whoever covered for it stops, and
        it covers for workers that are down, if no one does.
        """
        self._failedToStart.pop(side.number, None)
        covering = self._covering.pop(side.number, None)
        if covering is not None and covering in self.workers:
            self._tell(covering, side.number, False)
        self._served.add(side.number)
        self._cover()

    def _cover(self) -> None:
        """
        Have a serving worker accept from the sockets of each worker that is
        down, so that connections the kernel gives them do not wait for its
        restart.
        """
        if not any(listener.sockets for listener in self._shared):
            return  # every worker accepts from every socket already
        serving = [n for n, side in self.workers.items() if side.serving]
        for number in range(1, self.count + 1):
            covering = self._covering.get(number)
            if number in serving or (covering is not None and covering in serving):
                continue
            self._covering.pop(number, None)
            if not serving:
                continue
            load = {n: list(self._covering.values()).count(n) for n in serving}
            chosen = min(serving, key=lambda n: (load[n], n))
            self._covering[number] = chosen
            self._tell(chosen, number, True)

    def _tell(self, covering: int, number: int, serve: bool) -> None:
        side = self.workers[covering]
        side.call(cluster.Cover, worker=number, serve=serve).addErrback(lambda _: None)
        if number in self._served:
            log.info(
                "randnum worker {covering} {what} the sockets of worker {number}",
                covering=covering,
                what="accepts from" if serve else "no longer accepts from",
                number=number,
            )

    def _restartLater(self, number: int, how: str) -> None:
        if self._stopping or number in self._pending:
            return
        ranFor = self.clock.seconds() - self._started.get(number, 0.0)
        failures = 0 if ranFor >= STEADY_SECONDS else self._failures.get(number, 0)
        delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
        self._failures[number] = failures + 1
        self.restarts += 1
        log.warn(
            "randnum worker {number} {how} after {ranFor:.1f} s; restarting "
            "it in {delay:g} s",
            number=number,
            how=how,
            ranFor=ranFor,
            delay=delay,
        )
        self._pending[number] = self.clock.callLater(delay, self._start, number)

    def _gatherNow(self) -> Deferred[Totals]:
        """
        The whole server's L{Totals}: every running worker's counts, those
        of workers that have exited, and the audit store's figures.
        """
        sides = list(self.workers.values())
        # A worker that does not answer (stopped, or stuck) counts as of
        # its last answer, rather than holding up every scrape.
        asked = [
            side.call(cluster.WorkerCounts).addTimeout(ASK_TIMEOUT, self.clock)
            for side in sides
        ]

        def add(results: list[tuple[bool, Any]]) -> Totals:
            faces = emptyFaces()
            cluster.addRows(faces, cluster.countRows(self._retired))
            openByWorker = [0] * self.count
            for side, (ok, answer) in zip(sides, results, strict=True):
                self._answered(side, ok)
                rows = answer["counts"] if ok else self._lastCounts.get(side.number, [])
                self._lastCounts[side.number] = rows
                one = emptyFaces()
                cluster.addRows(one, rows)
                openByWorker[side.number - 1] = sum(s.open for s in one.values())
                cluster.addRows(faces, rows)
            local = self.server.localTotals()
            return Totals(faces, local.audit, openByWorker, self.restarts)

        gathered: Deferred[Any] = DeferredList(asked, consumeErrors=True)
        return gathered.addCallback(add)

    def _heartbeat(self) -> None:
        """
        Ask each serving worker for a heartbeat (unless one is awaited), and
        kill a worker that has not started serving in L{START_TIMEOUT}.
        """
        for side in list(self.workers.values()):
            if not side.serving:
                self._checkStarting(side)
            elif side not in self._awaited:
                self._awaited.add(side)
                beat = side.call(cluster.Heartbeat)
                beat.addTimeout(HEARTBEAT_TIMEOUT, self.clock)
                beat.addCallbacks(
                    lambda _, side=side: self._awaited.discard(side),
                    lambda _, side=side: self._missedBeat(side),
                )

    def _checkStarting(self, side: MainSide) -> None:
        """
        Kill worker C{side}, not serving yet, if it started more than
        L{START_TIMEOUT} ago: it is stuck before it serves, and is started
        again once it has ended.
        """
        since = self._started.get(side.number)
        if since is None or side.killedStarting:
            return
        if self.clock.seconds() - since <= START_TIMEOUT:
            return
        side.killedStarting = True
        log.warn(
            "randnum worker {number} did not start serving within {timeout:g} s: "
            "killing it",
            number=side.number,
            timeout=START_TIMEOUT,
        )
        _signal(side, "KILL")

    def _missedBeat(self, side: MainSide) -> None:
        """
        Worker C{side} did not answer its heartbeat in time: kill it, so
        that the others cover its sockets at once and a new one starts.
        """
        self._awaited.discard(side)
        if self._stopping or self.workers.get(side.number) is not side:
            return
        log.warn(
            "randnum worker {number} missed its heartbeat for {timeout:g} s: "
            "killing it",
            number=side.number,
            timeout=HEARTBEAT_TIMEOUT,
        )
        _signal(side, "KILL")

    def _answered(self, side: MainSide, ok: bool) -> None:
        """
        Kill a worker that has not answered L{STUCK_QUESTIONS} questions in
        a row (stopped, or stuck): it holds its share of new connections,
        and a restarted one serves them.
        """
        number = side.number
        self._unanswered[number] = 0 if ok else self._unanswered.get(number, 0) + 1
        if self._unanswered[number] >= STUCK_QUESTIONS:
            self._unanswered[number] = 0
            log.warn(
                "randnum worker {number} has not answered {count} questions in "
                "a row: killing it",
                number=number,
                count=STUCK_QUESTIONS,
            )
            _signal(side, "KILL")

    def logSummary(self) -> Deferred[None]:
        """
        Log the whole server's summary.
        """

        def summarize(totals: Totals) -> None:
            faces: dict[str, FaceStats] = totals.faces
            self.server.logSummary(faces)

        return self.gather().addCallback(summarize)

    def _checkAudit(self) -> None:
        audit = self.server.audit
        assert isinstance(audit, AuditStore)
        audit.checkSize()
        if audit.full == self._auditFull:
            return
        self._auditFull = audit.full
        for side in self.workers.values():
            side.call(
                cluster.AuditState, full=audit.full, committed=audit.committed
            ).addErrback(lambda _: None)

    def stopService(self) -> Deferred[None]:
        """
        Stop every worker: C{SIGTERM}, then C{SIGKILL} for any still
        running after L{STOP_GRACE} seconds.
        """
        super().stopService()  # type: ignore[no-untyped-call]
        self._stopping = True
        if self._keeping.running:
            self._keeping.stop()
        if self._beating.running:
            self._beating.stop()
        if self._auditWatch is not None and self._auditWatch.running:
            self._auditWatch.stop()
        for pending in self._pending.values():
            pending.cancel()
        self._pending.clear()
        sides = list(self.workers.values())
        if not sides:
            self._closeSockets()
            return succeed(None)
        for side in sides:
            _signal(side, "TERM")

        def kill() -> None:
            for side in sides:
                if not side.ended.called:
                    log.warn(
                        "randnum worker {number} did not stop within {grace} s: "
                        "killing it",
                        number=side.number,
                        grace=STOP_GRACE,
                    )
                    _signal(side, "KILL")

        killing = self.clock.callLater(STOP_GRACE, kill)
        allEnded: Deferred[Any] = DeferredList(
            [side.ended for side in sides], consumeErrors=True
        )
        allEnded.addBoth(lambda _: self._closeSockets())
        # Never wait for ever: a killed process ends at once, but its end
        # might not be noticed (then nothing more can be done anyway).
        giveUp = self.clock.callLater(STOP_GRACE * 2, allEnded.cancel)

        def stopped(_: object) -> None:
            for call in (killing, giveUp):
                if call.active():
                    call.cancel()

        return allEnded.addBoth(stopped)

    def _closeSockets(self) -> None:
        for listener in self._shared:
            for sock in listener.sockets:
                sock.close()


def workerEnvironment() -> dict[str, str]:
    """
    A worker's environment: this process's, with its module search path,
    so that a worker imports the same randnum as the main process, not one
    in whatever directory it was started from.
    """
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    # Python 3.11 and later: no current directory before that path.
    environment["PYTHONSAFEPATH"] = "1"
    # Sockets handed down by systemd are the main process's to adopt.
    for name in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        environment.pop(name, None)
    return environment


def _exitFailing() -> None:
    # The first exit handler to run (the last registered): the server has
    # stopped and said why; what runs it (systemd's Restart=on-failure)
    # must see a failure.
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(1)


def _howEnded(reason: Failure) -> str:
    error = reason.value
    if isinstance(error, ProcessTerminated):
        if error.signal is not None:
            return f"was killed by signal {error.signal}"
        return f"exited with status {error.exitCode}"
    if isinstance(error, (ProcessDone, ConnectionDone)):
        return "exited"
    return f"ended ({reason.getErrorMessage()})"


def tell(side: MainSide, told: bytes) -> None:
    """
    Write what a worker is told on its descriptor L{CONFIGURATION_FD}, and
    close it: the worker reads it to the end before anything else.
    """
    transport: Any = side.transport
    transport.writeToChild(CONFIGURATION_FD, told)
    transport.closeChildFD(CONFIGURATION_FD)


def _signal(side: MainSide, name: str) -> None:
    try:
        side.transport.signalProcess(name)  # type: ignore[union-attr]
    except Exception:
        # It has exited already (ProcessExitedAlready).
        pass


__all__ = ["MainSide", "WorkerPool", "workerEnvironment"]
