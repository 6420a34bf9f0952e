# -*- test-case-name: tests.test_composition,tests.test_limits -*-
"""
One randnum server: what every face shares.

The TCP protocol's factory (L{randnum.tcp.protocol.RandnumFactory}) and the HTTP
site (L{randnum.web.site.webSite}) both serve one L{RandnumServer}: the same
number source and default range, the same limits and connection count (so
C{--max-connections} bounds both faces together), the same clock, and the
same rejection log.  Each face keeps its own statistics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from randnum.config import Config
from randnum.generation.source import NumberSource
from randnum.generation.values import UUID7Clock
from randnum.idle import IdleTimers
from randnum.jsonrpc.allowances import Allowances, OpenAllowances
from randnum.limits import ConnectionCounter, Limits
from randnum.query import Query, QueryError
from randnum.rates import AddressRates
from randnum.sharing import Shares
from randnum.signing.drawings import matchData
from randnum.signing.store import AuditStore, SignedDraws
from randnum.stats import (
    AuditFigures,
    FaceStats,
    HttpStats,
    RejectionLog,
    TcpStats,
    Totals,
)

log = Logger(namespace="randnum")


class RandnumServer:
    """
    The server-wide state of one randnum server.

    @ivar config: the server's L{Config}.
    @ivar defaults: the default L{Query} (the default range, one number).
    @ivar source: where numbers come from.
    @ivar limits: the server's L{Limits}.
    @ivar connections: open connections of every face (L{ConnectionCounter}).
    @ivar tcp: the TCP protocol's counts.
    @ivar http: the HTTP face's counts.
    @ivar rejections: which refusals get a log line.
    @ivar audit: the L{AuditStore} of signed draws (in a worker of
        C{--workers}, the main process's, seen through
        L{randnum.workers.store.SharedAuditStore}), or L{None} when signing is not
        enabled.
    @ivar wholeServer: in a worker of C{--workers}, what asks the main
        process for the whole server's L{Totals}; L{None} in a server of
        one process.
    @ivar latest: the L{Totals} that the last L{gather} found.
    @ivar allowances: the JSON-RPC face's API keys and their daily
        allowances: open mode (L{OpenAllowances}: any key, nothing counted)
        unless the composition root gives the keys of C{--api-keys}
        (L{randnum.jsonrpc.allowances.KeyedAllowances}, or in a worker of
        C{--workers} the main process's, seen through
        L{randnum.workers.allowances.SharedAllowances}).
    """

    def __init__(
        self,
        low: int | None = None,
        high: int | None = None,
        source: NumberSource | None = None,
        limits: Limits | None = None,
        clock: IReactorTime | None = None,
        logWindow: float | None = None,
        audit: SignedDraws | None = None,
        config: Config | None = None,
    ) -> None:
        """
        @param low: smallest number served by default.
        @param high: largest number served by default.
        @param source: the configured source (L{Config.newSource}: the OS
            CSPRNG unless seeded) unless given.
        @param limits: L{Limits}' defaults unless given.
        @param clock: what times timeouts, turns of work and the rejection
            log; the global reactor, when first needed, if not given.
        @param logWindow: seconds between two log lines for the same kind of
            rejection.
        @param audit: where signed draws are signed and stored; none (so
            signed requests are refused) unless given.
        @param config: the whole configuration (as C{twistd randnum} builds
            it), instead of C{low}, C{high}, C{limits} and C{logWindow}.
        @raise TypeError: if both are given.
        @raise randnum.query.QueryError: if C{low..high} is not a valid range.
        """
        if config is None:
            config = Config(
                low=1 if low is None else low,
                high=10000 if high is None else high,
                limits=Limits() if limits is None else limits,
            )
        elif (low, high, limits, logWindow) != (None, None, None, None):
            raise TypeError(
                "give RandnumServer a config, or low, high, limits and "
                "logWindow, not both"
            )
        self.config = config
        self.defaults = config.defaults
        self.source = config.newSource() if source is None else source
        self.source.prepare(config.low, config.high)
        self.limits = config.limits
        self._clock = clock
        self.connections = ConnectionCounter(self.limits)
        self.tcp = TcpStats()
        self.http = HttpStats()
        window = config.logWindow if logWindow is None else logWindow
        #: Each client address's share of every turn's work.
        self.shares = Shares(lambda: self.clock, logWindow=window)
        #: Every TCP connection's idle timer, on one timer of the clock's.
        self.idleTimers = IdleTimers(lambda: self.clock, self.limits.idleTimeout)
        self.rejections = RejectionLog(lambda: self.clock.seconds(), window)
        #: Each client address's rate of signed draws.
        self.signedRates = AddressRates(config.signedRate, lambda: self.clock.seconds())
        #: Version 7 UUIDs increase across the whole server.
        self.uuid7 = UUID7Clock(lambda: self.clock.seconds())
        self.audit = audit
        self.allowances: Allowances = OpenAllowances(
            time.time() if clock is None else clock.seconds()
        )
        self.wholeServer: Callable[[], Deferred[Totals]] | None = None
        self.latest = self.localTotals()
        self._reported: dict[str, dict[str, int]] = {}
        self._reportedOpen: dict[str, int] = {}

    @property
    def clock(self) -> IReactorTime:
        """
        The clock given, or the global reactor.
        """
        if self._clock is None:
            # Resolved late, so that embedding programs can install the
            # reactor of their choice after building the server.
            from twisted.internet import reactor

            self._clock = reactor
        assert self._clock is not None
        return self._clock

    def signedDraw(
        self,
        query: Query,
        client: str | None = None,
        drawing: bytes | None = None,
        cost: int = 1,
    ) -> Deferred[bytes]:
        """
        Draw C{query}'s values and sign them into the next record.

        @param client: the client address asking
            (L{randnum.sharing.clientKey}), whose rate of signed draws it
            counts against; none (no limit) when the request comes from a
            worker, which has counted it.
        @param drawing: a public drawing's entrant list, stored with the
            record (L{randnum.signing.drawings}).
        @param cost: how many of the client's signed draws it counts as (a
            drawing's stored list counts by its size).

        @return: a L{Deferred} that fires with the record's canonical JSON
            once it is stored, or fails with
            L{randnum.signing.store.AuditUnavailable} (then it must not be sent).
        @raise QueryError: if signing is not enabled, or the audit store is
            full, or C{query}'s C{data} is a drawing's but no list is given.
        @raise randnum.rates.RateLimited: if the client is over its rate.
        """
        if drawing is None and matchData(query.data) is not None:
            # Its record would claim a list that is stored nowhere.
            raise QueryError(
                "data of the form 'drawing entrants=N sha256=...' is kept for "
                "public drawings (POST /v1/drawings)",
                "bad_data",
            )
        audit = self.mayIssue(client, cost)
        if drawing is None:
            return audit.draw(query, self.source, self.uuid7)
        return audit.draw(query, self.source, self.uuid7, drawing)

    def mayIssue(self, client: str | None = None, cost: int = 1) -> SignedDraws:
        """
        The audit store, if a signed record may be issued now (for
        C{client}, counted as C{cost} draws against its rate: see
        L{signedDraw}).

        @raise QueryError: if signing is not enabled, or the store is full.
        @raise randnum.rates.RateLimited: if the client is over its rate.
        """
        if self.audit is None:
            raise QueryError("signing is not enabled", "signing_disabled")
        if self.audit.full:
            raise QueryError("audit store full", "audit_full")
        if client is not None:
            self.signedRates.take(client, cost)
        return self.audit

    def signedRecord(
        self, request: dict[str, Any], values: list[Any], client: str | None = None
    ) -> Deferred[bytes]:
        """
        Sign C{values}, drawn elsewhere for C{request} (a record's
        C{request} member: RANDOM.ORG's signed calls,
        L{randnum.jsonrpc}), into the next record, as L{signedDraw} does.
        """
        return self.mayIssue(client).issueRecord(request, values)

    def localTotals(self) -> Totals:
        """
        This process's counts, and its audit store's figures.
        """
        audit = self.audit
        figures = None
        if isinstance(audit, AuditStore):
            figures = AuditFigures(
                records=audit.committed,
                bytes=audit.size(),
                full=audit.full,
                commits=audit.commits,
                failures=audit.failures,
            )
        return Totals(self.faces(), figures)

    def gather(self) -> Deferred[Totals]:
        """
        The whole server's L{Totals}, also kept as L{latest}: this
        process's, or with workers, every worker's.  It fails if the main
        process does not answer: a worker's own counts alone, reported as
        the server's, would look to Prometheus like counters reset.
        """
        if self.wholeServer is None:
            self.latest = self.localTotals()
            return succeed(self.latest)

        def keep(totals: Totals) -> Totals:
            self.latest = totals
            return totals

        return self.wholeServer().addCallback(keep)

    def faces(self) -> dict[str, FaceStats]:
        """
        Each face's counts, by the name metrics and summaries use.
        """
        return {"tcp": self.tcp, "http": self.http}

    def reject(
        self, stats: FaceStats, kind: str, reason: str, peer: object, face: str
    ) -> None:
        """
        Count a connection refused or closed by a limit (C{kind}, an
        attribute of C{stats}), and log it unless one of its kind was logged
        recently.
        """
        stats.count(kind)
        if self.rejections.shouldLog(kind):
            log.info(
                "randnum closed a {face} connection from {peer}: {reason} "
                "(more of this kind are counted, not logged, for a while)",
                face=face,
                peer=peer,
                reason=reason,
                kind=kind,
            )

    def logSummary(self, faces: dict[str, FaceStats] | None = None) -> None:
        """
        Log, for each face, what happened since the last summary, if
        anything did (a request, a rejection, or a change in the number of
        open connections).

        @param faces: the counts to report: this process's if not given
            (with workers, the main process gives the whole server's).
        """
        for face, stats in (faces or self.faces()).items():
            totals = stats.totals()
            previous = self._reported.get(face, {})
            recent = {name: totals[name] - previous.get(name, 0) for name in totals}
            if not any(recent.values()) and stats.open == self._reportedOpen.get(
                face, 0
            ):
                continue
            self._reported[face] = totals
            self._reportedOpen[face] = stats.open
            log.info(_summaryFormat(stats), face=face, open=stats.open, **recent)


def _summaryFormat(stats: FaceStats) -> str:
    extra: dict[str, Any] = {
        "linesTooLong": "lines too long",
        "bodiesRefused": "request bodies refused",
    }
    tail = "".join(
        f", {{{name}}} {extra[name]}" for name in stats.COUNTS if name in extra
    )
    return (
        "randnum {face} summary: {open} open; since the last summary "
        "{connections} connections, {requests} requests, {numbers} numbers, "
        "{errors} errors, {refused} refused busy, {idleTimeouts} idle timeouts" + tail
    )
