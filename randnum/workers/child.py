# -*- test-case-name: tests.workers.test_pool,tests.workers.test_workers_live -*-
"""
One worker process of C{twistd randnum --workers N}.

The main process (L{randnum.workers.pool}) opens every listening port and
starts each worker as C{python -m randnum.workers.child NUMBER}.  It tells the
worker its configuration and assignment on descriptor 3 (not on the
command line, where C{ps} would show them), gives it the ports' listening
sockets as its descriptors 4, 5, ... (for a TCP or TLS port, its own socket
and every other worker's, which it serves only while that worker is down),
and talks AMP (L{randnum.workers.messages}) with it on its standard input
and output.  A
worker adopts the ports, serves them with its own L{RandnumServer} within
its share of the connection limits, and stops when the main process tells
it to (C{SIGTERM}) or goes away (its standard input ends): no worker
outlives the main process.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable
from typing import Any

from twisted.application.service import IService, Service
from twisted.internet import stdio
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort
from twisted.logger import (
    ILogObserver,
    LogEvent,
    Logger,
    LogLevel,
    eventAsJSON,
    globalLogBeginner,
    textFileLogObserver,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from randnum.client.endpoints import endpointError
from randnum.composition import Faces, buildService
from randnum.config import Config
from randnum.jsonrpc.allowances import Allowances
from randnum.server import RandnumServer
from randnum.stats import AuditFigures, Face, Totals, emptyFaces
from randnum.workers import messages as cluster
from randnum.workers.allowances import SharedAllowances
from randnum.workers.messages import Assignment
from randnum.workers.pool import ASK_TIMEOUT, CONFIGURATION_FD
from randnum.workers.sockets import adoptPort, tlsFactory
from randnum.workers.store import KeyInfo, SharedAuditStore

log = Logger(namespace="randnum")


#: The longest log event sent to the main process (AMP's values are at most
#: 64 KiB); a longer one goes to standard error, which the main process
#: logs too.
_LONGEST_EVENT = 60_000


#: Twisted's lines as a port starts and stops listening.
_PORT_NOISE = re.compile(r"\S+ starting on \S+$|\(\S+ Port \S+ Closed\)$")

#: Log levels that say something went wrong.
_TROUBLE = (LogLevel.warn, LogLevel.error, LogLevel.critical)


class CannotStart(Exception):
    """
    A worker cannot serve what it was given (a TLS key it cannot read).
    """


class WorkerSide(cluster.Conversation):
    """
    A worker's end of its conversation with the main process.
    """

    #: The worker's server, once built (before the reactor runs, so before
    #: any question can arrive).
    server: RandnumServer

    def __init__(self, whenGone: Any) -> None:
        """
        @param whenGone: called when the main process has gone.
        """
        super().__init__()  # type: ignore[no-untyped-call]
        self.whenGone = whenGone
        #: The ports of other workers' sockets, by worker number.
        self.covers: dict[int, list[IListeningPort]] = {}

    @cluster.Cover.responder
    def cover(self, worker: int, serve: bool) -> dict[str, Any]:
        """
        Accept from worker C{worker}'s sockets, or stop.
        """
        for port in self.covers.get(worker, []):
            if serve:
                port.startReading()  # type: ignore[attr-defined]
            else:
                port.stopReading()  # type: ignore[attr-defined]
        return {}

    @cluster.Heartbeat.responder
    def heartbeat(self) -> dict[str, Any]:
        """
        This worker's reactor turns: it answers at once.
        """
        return {}

    @cluster.WorkerCounts.responder
    def counts(self) -> dict[str, Any]:
        """
        This worker's counts.
        """
        return {"counts": cluster.countRows(self.server.faces())}

    @cluster.AuditState.responder
    def auditState(self, full: bool, committed: int) -> dict[str, Any]:
        """
        The audit store filled, or has room again.
        """
        audit = self.server.audit
        if isinstance(audit, SharedAuditStore):
            audit.full = full
            audit.committed = committed
        return {}

    def serverTotals(self) -> Deferred[Totals]:
        """
        Ask the main process for the whole server's L{Totals}.
        """
        # The main process asks every worker, each within ASK_TIMEOUT.
        asked = self.call(cluster.ServerCounts).addTimeout(
            ASK_TIMEOUT + 1.0, self.server.clock
        )

        def totals(answer: dict[str, Any]) -> Totals:
            faces = emptyFaces()
            cluster.addRows(faces, answer["counts"])
            audit = answer["audit"]
            return Totals(
                faces,
                None if audit is None else AuditFigures.fromText(audit),
                answer["workers"],
                answer["restarts"],
            )

        return asked.addCallback(totals)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        """
        The main process has gone (or closed our pipe): stop.
        """
        super().connectionLost(reason)
        self.whenGone()


@implementer(ILogObserver)
class LogToMain:
    """
    Send each log event to the main process, which logs it as its own
    (with the worker's number); while it cannot be sent, write it to
    standard error, which the main process logs too.
    """

    def __init__(self, fallback: ILogObserver) -> None:
        self.link: cluster.Conversation | None = None
        self.fallback = fallback
        self._sending = False

    def __call__(self, event: LogEvent) -> None:
        """
        Send C{event}.
        """
        if _PORT_NOISE.match(str(event.get("log_text", ""))):
            # Twisted's line for each port (a worker's own, and the other
            # workers' that it holds): the main process has logged where
            # the server listens.
            return
        link = self.link
        if link is None or self._sending:
            self.fallback(event)
            return
        if link.transport is None:
            # The main process has gone, or this worker is stopping: only
            # what went wrong is worth its standard error.
            if event.get("log_level") in _TROUBLE:
                self.fallback(event)
            return
        self._sending = True
        try:
            text = eventAsJSON(event)
            if len(text.encode("utf-8")) > _LONGEST_EVENT:
                self.fallback(event)
                return
            link.call(cluster.LogEvent, event=text)
        except Exception:
            self.fallback(event)
        finally:
            self._sending = False


class WorkerProcess:
    """
    The L{randnum.composition.Role} of a worker process: it serves the sockets
    the main process gave it, and has the main process sign its signed
    draws.
    """

    def __init__(
        self, assignment: Assignment, connect: Callable[[WorkerSide], object]
    ) -> None:
        """
        @param assignment: what the main process told this worker.
        @param connect: connects the link to the main process, before the
            ports are served.
        """
        self.assignment = assignment
        self.connect = connect
        self.link: WorkerSide | None = None

    def audit(self, config: Config, reactor: Any) -> SharedAuditStore | None:
        """
        Link to the main process; the main process's audit store, seen
        from here, when draws are signed.
        """
        link = self.link = WorkerSide(lambda: _stop(reactor))
        self.connect(link)
        assignment = self.assignment
        if config.auditDb is None or assignment.keyId is None:
            return None
        from twisted.enterprise import adbapi

        readPool = adbapi.ConnectionPool(
            "sqlite3",
            f"file:{config.auditDb}?mode=ro",
            uri=True,
            check_same_thread=False,
            cp_min=1,
            cp_max=1,
            cp_reactor=reactor,
            cp_noisy=False,
        )
        store = SharedAuditStore(
            config.auditDb,
            KeyInfo(assignment.keyId, assignment.publicPem or ""),
            readPool,
            link,
            reactor,
        )
        store.full = assignment.full
        store.committed = assignment.committed
        return store

    def allowances(
        self, config: Config, server: RandnumServer, reactor: Any
    ) -> Allowances:
        """
        With C{--api-keys}, the main process's counts (one count for every
        worker), asked over the link; else open mode.
        """
        if config.apiKeys is None:
            return server.allowances
        assert self.link is not None, "audit() links to the main process first"
        return SharedAllowances(self.link, reactor)

    def services(
        self, config: Config, server: RandnumServer, faces: Faces, reactor: Any
    ) -> list[IService]:
        """
        The sockets, served.
        """
        link = self.link
        assert link is not None, "audit() links to the main process first"
        link.server = server
        server.wholeServer = cluster.Shared(link.serverTotals)
        return [AdoptedSockets(self.assignment, faces, link, reactor)]


class AdoptedSockets(Service):
    """
    Serve the listening sockets a worker was given, from when it starts.
    """

    def __init__(
        self, assignment: Assignment, faces: Faces, link: WorkerSide, reactor: Any
    ) -> None:
        self.assignment = assignment
        self.faces = faces
        self.link = link
        self.reactor = reactor

    def startService(self) -> None:
        """
        Adopt every socket, then tell the main process this worker serves.

        @raise CannotStart: if a socket cannot be served.
        """
        super().startService()  # type: ignore[no-untyped-call]
        reactor, link = self.reactor, self.link
        sockets = self.assignment.sockets
        for given in sockets:
            factory: Any = self.faces.of(Face(given.face))
            try:
                if given.tls is not None:
                    factory = tlsFactory(reactor, given.tls, factory)
                adoptPort(reactor, given.fd, given.family, factory, given.shared)
                for other, fd in given.others:
                    # Other workers' sockets: served only while they are down.
                    port = adoptPort(reactor, fd, given.family, factory, False)
                    port.stopReading()  # type: ignore[attr-defined]
                    link.covers.setdefault(other, []).append(port)
            except Exception as error:
                raise CannotStart(
                    f"cannot serve {given.description}: {endpointError(error)}"
                ) from error
        log.info(
            "randnum worker {number} (pid {pid}) serving {ports}",
            number=self.assignment.number,
            pid=os.getpid(),
            ports=f"{len(sockets)} port"
            if len(sockets) == 1
            else f"{len(sockets)} ports",
        )
        if link.transport is not None:
            link.call(cluster.Serving)


def _stop(reactor: Any) -> None:
    if reactor.running:
        reactor.stop()


#: Said when this module is run other than by the main process.
_NOT_BY_HAND = "randnum.workers.child is started by 'twistd randnum --workers N'"


def readArguments(arguments: list[str]) -> tuple[Config, Assignment]:
    """
    The configuration and assignment a worker is told, one line each.
    """
    if len(arguments) != 2:
        sys.exit(_NOT_BY_HAND)
    return Config.fromJSON(arguments[0]), Assignment.fromJSON(arguments[1])


def readConfiguration(fd: int = CONFIGURATION_FD) -> tuple[Config, Assignment]:
    """
    Read what the main process tells this worker on descriptor C{fd}, to
    the end (the main process closes it), and close it.
    """
    try:
        with os.fdopen(fd, "rb") as told:
            text = told.read().decode("utf-8")
    except OSError:
        sys.exit(_NOT_BY_HAND)
    if not text:
        sys.exit("randnum worker: told nothing (has the main process stopped?)")
    # One line each, and split on newlines only: JSON escapes any other
    # line break in a string.
    return readArguments(text.split("\n")[:-1])


def main() -> None:
    """
    Run one worker: C{python -m randnum.workers.child NUMBER}, as the main
    process starts it, telling it its configuration and assignment on
    descriptor L{CONFIGURATION_FD} (L{Config.toJSON}, L{Assignment.toJSON}).
    """
    from twisted.internet import reactor

    config, assignment = readConfiguration()
    # Standard output is the main process's AMP connection: nothing else
    # may write to it.
    sys.stdout = sys.stderr
    toMain = LogToMain(textFileLogObserver(sys.stderr))
    globalLogBeginner.beginLoggingTo([toMain], redirectStandardIO=False)

    def connect(link: WorkerSide) -> None:
        # Descriptors 0 and 1, the main process's pipes (StandardIO's
        # defaults).
        stdio.StandardIO(link, reactor=reactor)
        toMain.link = link

    failed = []
    try:
        service = buildService(config, reactor, WorkerProcess(assignment, connect))
        service.startService()
        reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    except Exception as error:
        # One line, through the main process if it can be reached, rather
        # than a traceback on standard error at each restart.
        reason = str(error) if isinstance(error, CannotStart) else repr(error)
        log.error(
            "randnum worker {number} cannot start: {reason}",
            number=assignment.number,
            reason=reason,
        )
        failed.append(error)
        # Long enough for the line to reach the main process.
        reactor.callLater(0.2, _stop, reactor)
    # The terminal's Ctrl-C and hang-up reach the whole process group: the
    # main process decides, and stops its workers with SIGTERM.
    reactor.callWhenRunning(_ignoreTerminalSignals)
    reactor.run()
    if failed:
        sys.exit(1)


def _ignoreTerminalSignals() -> None:
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


if __name__ == "__main__":
    main()
