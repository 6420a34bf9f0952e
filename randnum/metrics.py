# -*- test-case-name: tests.web.test_resources,tests.workers.test_pool -*-
"""
Prometheus metrics, read from the servers' counts when scraped.

The TCP hot path only adds to plain integers once per received chunk
(L{randnum.stats.FaceStats}); these collectors turn them into metric
families at scrape time, so serving metrics costs nothing per request.
They report the server's L{Totals} as last gathered
(L{RandnumServer.gather}, which C{/metrics} calls before each scrape): with
C{--workers}, the whole server's, whichever worker is scraped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from randnum.server import RandnumServer
from randnum.sharing import Shares
from randnum.stats import AuditFigures, FaceStats, HttpStats, Totals


class StatsCollector(Collector):
    """
    Metric families for the counts of each face (C{"tcp"}, C{"http"}).

    @param totals: gives the L{Totals} to report.
    """

    def __init__(self, totals: Callable[[], Totals]) -> None:
        self.totals = totals

    def collect(self) -> Iterator[Metric]:
        """
        The current values, as metric families.
        """
        totals = self.totals()
        faces = totals.faces
        numbers = CounterMetricFamily(
            "randnum_numbers", "Random numbers sent.", labels=["face"]
        )
        requests = CounterMetricFamily(
            "randnum_requests",
            "Requests answered (including with an error), by face and framing "
            "(raw or line for TCP, json, text or bytes for HTTP).",
            labels=["face", "framing"],
        )
        errors = CounterMetricFamily(
            "randnum_errors",
            "Requests refused as invalid (ERR replies, HTTP 400s), by reason.",
            labels=["face", "reason"],
        )
        for face, stats in faces.items():
            numbers.add_metric([face], stats.numbers)
            for framing, count in framingCounts(stats).items():
                requests.add_metric([face, framing], count)
            for reason, count in sorted(stats.errorKinds.items()):
                errors.add_metric([face, reason], count)
        yield numbers
        yield requests
        yield errors
        streamed = CounterMetricFamily(
            "randnum_stream_bytes",
            "Raw random bytes sent on /v1/bytes.",
            labels=["face"],
        )
        for face, stats in faces.items():
            if isinstance(stats, HttpStats):
                streamed.add_metric([face], stats.streamedBytes)
        yield streamed
        yield jsonRpcFamily(faces)

        opened = GaugeMetricFamily(
            "randnum_open_connections",
            "Connections open now (all listeners of the face).",
            labels=["face"],
        )
        admitted = CounterMetricFamily(
            "randnum_connections", "Connections admitted.", labels=["face"]
        )
        rejected = CounterMetricFamily(
            "randnum_rejected_connections",
            "Connections refused or closed by a limit, by reason.",
            labels=["face", "reason"],
        )
        for face, stats in faces.items():
            opened.add_metric([face], stats.open)
            admitted.add_metric([face], stats.connections)
            for kind, reason in stats.REJECTIONS.items():
                rejected.add_metric([face, reason], getattr(stats, kind))
        yield opened
        yield admitted
        yield rejected
        if totals.workers:
            yield from _workerFamilies(totals)
        if totals.audit is not None:
            yield from _auditFamilies(totals.audit)


def jsonRpcFamily(faces: dict[str, FaceStats]) -> Metric:
    """
    C{randnum_jsonrpc_requests_total}: JSON-RPC calls (C{--json-rpc}), by
    method (one of RANDOM.ORG's, or C{unknown}) and outcome (C{ok}, the
    JSON-RPC error code, or C{http_CODE} for a request refused before it
    was read as a call).
    """
    calls = CounterMetricFamily(
        "randnum_jsonrpc_requests",
        "JSON-RPC calls (--json-rpc), by method and outcome (ok, the error "
        "code, or http_CODE).",
        labels=["method", "outcome"],
    )
    for stats in faces.values():
        if isinstance(stats, HttpStats):
            for key, count in sorted(stats.jsonRpcCalls.items()):
                method, _, outcome = key.partition(" ")
                calls.add_metric([method, outcome], count)
    return calls


class SharesCollector(Collector):
    """
    How busy client addresses are now, in this process: those waiting for
    their share of a turn, and the busiest one's waiting connections.  (The
    address itself is in the log: as a label, every client would make a
    series of its own.)
    """

    def __init__(self, shares: Shares) -> None:
        self.shares = shares

    def collect(self) -> Iterator[Metric]:
        """
        The current values, as metric families.
        """
        busiest = self.shares.busiest()
        yield GaugeMetricFamily(
            "randnum_client_addresses_waiting",
            "Client addresses waiting for their share of a turn, now (in the "
            "process scraped).",
            value=len(self.shares.waiting),
        )
        yield GaugeMetricFamily(
            "randnum_busiest_address_connections_waiting",
            "Connections of the busiest client address waiting for its share "
            "of a turn, now (in the process scraped).",
            value=0 if busiest is None else busiest[1],
        )


def _workerFamilies(totals: Totals) -> Iterator[Metric]:
    workers = GaugeMetricFamily(
        "randnum_worker_open_connections",
        "Connections open now in each worker process (--workers), every face.",
        labels=["worker"],
    )
    for number, count in enumerate(totals.workers, 1):
        workers.add_metric([str(number)], count)
    yield workers
    yield CounterMetricFamily(
        "randnum_worker_restarts",
        "Worker processes restarted after they exited unexpectedly.",
        value=totals.restarts,
    )


def _auditFamilies(audit: AuditFigures) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "randnum_audit_records",
        "Signed draws committed to the audit store (its last serial).",
        value=audit.records,
    )
    yield GaugeMetricFamily(
        "randnum_audit_store_bytes",
        "Bytes the audit database takes on disk, its write-ahead log included.",
        value=audit.bytes,
    )
    yield GaugeMetricFamily(
        "randnum_audit_store_full",
        "1 while the audit database has reached --audit-max-size (signed "
        "draws are refused), else 0.",
        value=int(audit.full),
    )
    yield CounterMetricFamily(
        "randnum_audit_commits",
        "Transactions committed to the audit store (each holds every "
        "record signed while the one before was committed).",
        value=audit.commits,
    )
    yield CounterMetricFamily(
        "randnum_audit_failures",
        "Commits to the audit store that failed (their records were never sent).",
        value=audit.failures,
    )


class Remembered(Collector):
    """
    Another collector's metrics, collected at most once a second: the
    process collector counts open descriptors by listing C{/proc/self/fd},
    which takes a millisecond per few thousand connections, and a flood of
    scrapes should not pay that each time.
    """

    def __init__(
        self, collector: Collector, seconds: Callable[[], float], period: float = 1.0
    ) -> None:
        self.collector = collector
        self.seconds = seconds
        self.period = period
        self._collected: list[Metric] = []
        self._when = -math.inf

    def collect(self) -> Iterator[Metric]:
        """
        The metrics collected in the last second, or now.
        """
        now = self.seconds()
        if now - self._when >= self.period:
            self._collected = list(self.collector.collect())
            self._when = now
        return iter(self._collected)

    def describe(self) -> Iterator[Metric]:
        """
        The same metrics, so that the registry need not collect to learn
        their names.
        """
        return self.collect()


def framingCounts(stats: FaceStats) -> dict[str, int]:
    """
    A face's request counts by framing.
    """
    if isinstance(stats, HttpStats):
        return {
            "json": stats.requests - stats.textRequests - stats.streamRequests,
            "text": stats.textRequests,
            "bytes": stats.streamRequests,
        }
    raw: int = getattr(stats, "rawRequests", 0)
    return {"raw": raw, "line": stats.requests - raw}


def metricsRegistry(server: RandnumServer) -> CollectorRegistry:
    """
    A registry of C{server}'s metrics (its L{RandnumServer.latest} totals,
    and how busy client addresses are) and the process's own (CPU, memory,
    open file descriptors: with C{--workers}, those of the worker that
    answers).
    """
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StatsCollector(lambda: server.latest))
    registry.register(SharesCollector(server.shares))
    registry.register(Remembered(ProcessCollector(registry=None), server.clock.seconds))
    return registry
