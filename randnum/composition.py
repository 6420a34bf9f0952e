# -*- test-case-name: tests.test_composition -*-
"""
The composition root: L{buildService} makes a server, its faces and the
services around them from one L{Config}.  C{twistd randnum}
(L{randnum.tap}) and each worker process (L{randnum.workers.child}) call it,
each with its L{Role}: what differs between the main process and a worker.
"""

from __future__ import annotations

import functools
import signal
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from twisted.application.internet import TimerService
from twisted.application.service import IService, MultiService, Service
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IReactorCore, IStreamServerEndpoint
from twisted.logger import Logger

from randnum import __version__
from randnum.config import Config
from randnum.jsonrpc.allowances import (
    Allowances,
    KeyedAllowances,
    UsageDatabaseError,
    openKeyedAllowances,
)
from randnum.jsonrpc.keys import loadKeys
from randnum.listening import ListeningService
from randnum.metrics import metricsRegistry
from randnum.server import RandnumServer
from randnum.signing.keys import othersMayRead
from randnum.signing.store import (
    AuditStore,
    SignedDraws,
    Signing,
    openSigning,
    openStore,
)
from randnum.stats import Face
from randnum.tcp.protocol import RandnumFactory
from randnum.web.answers import AnswerCache
from randnum.web.site import RandnumSite, webSite
from randnum.workers.pool import WorkerPool
from randnum.workers.sizing import perAddressShare
from randnum.workers.sockets import ReusePortEndpoint, listenersOf

log = Logger(namespace="randnum")


class Faces:
    """
    The protocol factory of each face of one server, made when first
    asked for.
    """

    def __init__(self, server: RandnumServer) -> None:
        self.server = server

    @functools.cached_property
    def tcp(self) -> RandnumFactory:
        """
        The TCP protocol's factory.
        """
        return RandnumFactory(server=self.server)

    @functools.cached_property
    def metrics(self) -> CollectorRegistry:
        """
        The server's Prometheus registry.
        """
        return metricsRegistry(self.server)

    @functools.cached_property
    def answers(self) -> AnswerCache:
        """
        The answers the HTTP face makes once and serves many times (public
        drawings, the pages of draws), within the cache's bound.
        """
        return AnswerCache()

    @functools.cached_property
    def http(self) -> RandnumSite:
        """
        The HTTP face's site.
        """
        return webSite(self.server, self.metrics, self.answers)

    def of(self, face: Face) -> RandnumFactory | RandnumSite:
        """
        The factory of C{face}.
        """
        return self.tcp if face is Face.TCP else self.http


class Role(Protocol):
    """
    What a process of the server adds to the server and faces that
    L{buildService} makes: where signed draws are signed and stored, and
    the services that serve the faces.
    """

    def audit(self, config: Config, reactor: Any) -> SignedDraws | None:
        """
        Where this process's signed draws are signed and stored, if
        anywhere.
        """

    def allowances(
        self, config: Config, server: RandnumServer, reactor: Any
    ) -> Allowances:
        """
        The JSON-RPC face's API keys and their daily allowances: open mode
        (C{server}'s default) unless C{config} names C{--api-keys}.
        """

    def services(
        self, config: Config, server: RandnumServer, faces: Faces, reactor: Any
    ) -> list[IService]:
        """
        The services that serve C{faces}, in the order they start.
        """


def buildService(config: Config, reactor: Any, role: Role | None = None) -> IService:
    """
    The one place a server is built: from C{config}, the L{RandnumServer},
    its faces, and the services of C{role} (the main process's unless
    given), under one L{MultiService}.
    """
    role = MainProcess() if role is None else role
    server = RandnumServer(
        config=config, clock=reactor, audit=role.audit(config, reactor)
    )
    server.allowances = role.allowances(config, server, reactor)
    service = MultiService()
    for child in role.services(config, server, Faces(server), reactor):
        child.setServiceParent(service)
    return service


class MainProcess:
    """
    The L{Role} of C{twistd randnum}'s own process: it listens on every
    endpoint, signs and stores signed draws itself, logs summaries and,
    with C{--workers}, runs the L{WorkerPool}.
    """

    def __init__(self, signing: Signing | None = None, underTwistd: bool = False):
        """
        @param signing: the key and audit database, opened by the options'
            checks (L{randnum.tap.Options}); opened here if not given.
        @param underTwistd: whether this is C{twistd}'s own process (the
            global reactor): then C{SIGHUP} stops it, and it exits with
            status 1 if no worker can start.
        """
        self.signing = signing
        self.underTwistd = underTwistd

    def audit(self, config: Config, reactor: Any) -> AuditStore | None:
        """
        The audit store, when C{config} signs draws.
        """
        if config.signingKey is None or config.auditDb is None:
            return None
        signing = self.signing or openSigning(config.signingKey, config.auditDb)
        audit = openStore(config.auditDb, signing.signer, reactor, signing.tail)
        audit.maxSize = config.auditMaxSize
        audit.checkSize()
        audit.lock = signing.lock
        return audit

    def allowances(
        self, config: Config, server: RandnumServer, reactor: Any
    ) -> Allowances:
        """
        With C{--api-keys}, its keys, counted in the audit database (by
        the audit store's one writer thread) or in C{--api-usage-db}.

        @raise randnum.jsonrpc.keys.KeysError: if the keys file cannot be
            used.
        @raise UsageDatabaseError: if the database of counts cannot be.
        """
        if config.apiKeys is None:
            return server.allowances
        keys = loadKeys(config.apiKeys)
        audit = server.audit
        if isinstance(audit, AuditStore) and config.apiUsageDb in (None, audit.path):
            return openKeyedAllowances(keys, audit.path, reactor, pool=audit.pool)
        if config.apiUsageDb is None:
            raise UsageDatabaseError(
                "--api-keys needs --api-usage-db FILE or --audit-db PATH to "
                "count daily allowances in"
            )
        return openKeyedAllowances(keys, config.apiUsageDb, reactor)

    def services(
        self, config: Config, server: RandnumServer, faces: Faces, reactor: Any
    ) -> list[IService]:
        """
        A listening service per endpoint; summaries; the worker pool; and
        first (so that it is there until the end), what writes the API
        keys' counts when the server stops.
        """
        logStartup(config, server)
        if config.signingKey is not None and othersMayRead(config.signingKey):
            log.warn(
                "randnum's signing key {path} may be read by other users: anyone "
                "who reads it can sign records as this server (chmod 600 it)",
                path=config.signingKey,
            )
        services: list[IService] = []
        if isinstance(server.allowances, KeyedAllowances):
            services.append(ClosedOnStop(server.allowances))
        pool = None
        if config.workers > 1:
            pool = WorkerPool(config, lambda: listenersOf(listening), server, reactor)
            pool.exitFailing = self.underTwistd
        if config.logInterval:
            summary = TimerService(
                config.logInterval,
                server.logSummary if pool is None else pool.logSummary,
            )
            summary.clock = reactor
            services.append(summary)
        if hasattr(signal, "SIGHUP") and self.underTwistd:
            # Only under twistd (the global reactor), never in a test's.
            services.append(StopSignals(reactor))
        listening = [
            ListeningService(
                description,
                self._endpoint(config, reactor, description),
                faces.of(face),
                reactor,
                face="" if face is Face.TCP else "HTTP",
                logged=self.underTwistd,
            )
            for face, descriptions in (
                (Face.TCP, config.ports),
                (Face.HTTP, config.http),
            )
            for description in descriptions
        ]
        services += listening
        if pool is not None:
            # After the ports: it starts once they listen, and stops (its
            # workers first) before they close.
            services.append(pool)
        return services

    def _endpoint(
        self, config: Config, reactor: Any, description: str
    ) -> IStreamServerEndpoint:
        endpoint: IStreamServerEndpoint = serverFromString(reactor, description)
        if config.workers > 1 and ReusePortEndpoint.handles(endpoint):
            return ReusePortEndpoint(endpoint, config.workers, reactor)
        return endpoint


class Closable(Protocol):
    """
    Something to close when the server stops, which says when it is done.
    """

    def close(self) -> Deferred[None]:
        """
        Close it; fire when done.
        """


class ClosedOnStop(Service):
    """
    Close something (the API keys' counts, written behind) when the server
    stops: twistd waits for it.
    """

    def __init__(self, closable: Closable) -> None:
        self.closable = closable

    def stopService(self) -> Deferred[None]:
        """
        Close it.
        """
        super().stopService()  # type: ignore[no-untyped-call]
        return self.closable.close()


class StopSignals(Service):
    """
    Stop the reactor cleanly on C{SIGHUP}, C{SIGTERM} or C{SIGINT}, and
    so exit with status 0: each is a requested stop (the terminal of a
    foreground server went away, or someone asked it to stop), not a
    failure.  Without it, C{SIGHUP} would kill at once (Python's default),
    and Twisted's own C{SIGTERM} and C{SIGINT} handlers end twistd by the
    signal (status 143 or 130 in a shell).

    Its handlers stay until the process ends: a signal repeated while the
    server stops (C{timeout} signals a process and its group, a supervisor
    may ask twice) changes nothing.
    """

    #: The signals that stop the server.
    SIGNALS = ("SIGHUP", "SIGTERM", "SIGINT")

    def __init__(self, reactor: IReactorCore) -> None:
        self.reactor = reactor
        self._asked = False

    def startService(self) -> None:
        """
        Handle the stopping signals while running: once the reactor runs,
        after Twisted has installed its own handlers.
        """
        super().startService()  # type: ignore[no-untyped-call]
        self.reactor.callWhenRunning(self._handle)

    def _handle(self) -> None:
        if not self.running:
            return
        for name in self.SIGNALS:
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self._stopping)

    def stopService(self) -> None:
        """
        The server is stopping: a stopping signal from now on is one more
        request for what is under way.
        """
        super().stopService()  # type: ignore[no-untyped-call]
        self._asked = True

    def _stopping(self, number: int, frame: object) -> None:
        if self._asked:
            return
        self._asked = True
        log.info(
            "randnum received {signal}: stopping", signal=signal.Signals(number).name
        )
        self.reactor.callFromThread(self.reactor.stop)  # type: ignore[attr-defined]


def _shares(total: int, workers: int) -> str:
    least, most = total // workers, -(-total // workers)
    return f"{least} each" if least == most else f"{least} or {most} each"


def logStartup(config: Config, server: RandnumServer) -> None:
    """
    Log what the server serves, and within which limits.
    """
    defaults, limits, source = server.defaults, server.limits, server.source
    workers = config.workers
    log.info(
        "randnum {version} serving {low}..{high}, framing {framing}, source: {source}",
        version=__version__,
        low=defaults.min,
        high=defaults.max,
        framing=config.framing.value,
        source=source.description,
    )
    log.info(
        "randnum limits: {maxConnections} connections, {perHost} per IP address, "
        "lines up to {maxLine} bytes, idle timeout {idle}",
        maxConnections=limits.maxConnections,
        perHost=limits.maxConnectionsPerHost or "no limit",
        maxLine=limits.maxLine,
        idle=f"{limits.idleTimeout:g} s" if limits.idleTimeout else "none",
    )
    if workers > 1:
        log.info(
            "randnum runs {workers} worker processes sharing every port; each "
            "admits at most its share of the connections ({each}) and "
            "{perHost} per IP address",
            workers=workers,
            each=_shares(limits.maxConnections, workers),
            perHost=perAddressShare(limits.maxConnectionsPerHost, workers)
            or "no limit",
        )
    if server.audit is not None:
        log.info(
            "randnum signs draws with key {key}; audit store {path}, "
            "{serial} records so far",
            key=server.audit.signer.keyId,
            path=server.audit.path,
            serial=server.audit.committed,
        )
    if not source.cryptographic:
        log.warn(
            "randnum is using a seeded PRNG: its numbers are predictable and "
            "must not be used for anything security-sensitive"
        )
