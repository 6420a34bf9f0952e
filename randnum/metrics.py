"""
Prometheus metrics, read from the servers' counts when scraped.

The TCP hot path only adds to plain integers once per received chunk
(L{randnum.limits.FaceStats}); this collector turns them into metric
families at scrape time, so serving metrics costs nothing per request.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from randnum.audit import AuditStore
from randnum.limits import FaceStats, HttpStats
from randnum.server import RandnumServer


class StatsCollector(Collector):
    """
    Metric families for the counts of each face (C{"tcp"}, C{"http"}).

    @param faces: each face's L{FaceStats}.
    """

    def __init__(self, faces: dict[str, FaceStats]) -> None:
        self.faces = faces

    def collect(self) -> Iterator[Metric]:
        """
        The current values, as metric families.
        """
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
        for face, stats in self.faces.items():
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
        for face, stats in self.faces.items():
            if isinstance(stats, HttpStats):
                streamed.add_metric([face], stats.streamedBytes)
        yield streamed

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
        for face, stats in self.faces.items():
            opened.add_metric([face], stats.open)
            admitted.add_metric([face], stats.connections)
            for kind, reason in stats.REJECTIONS.items():
                rejected.add_metric([face, reason], getattr(stats, kind))
        yield opened
        yield admitted
        yield rejected


class AuditCollector(Collector):
    """
    Metric families for the audit store of signed draws.
    """

    def __init__(self, audit: AuditStore) -> None:
        self.audit = audit

    def collect(self) -> Iterator[Metric]:
        """
        The store's size, records and commits.
        """
        audit = self.audit
        yield GaugeMetricFamily(
            "randnum_audit_records",
            "Signed draws committed to the audit store (its last serial).",
            value=audit.committed,
        )
        yield GaugeMetricFamily(
            "randnum_audit_store_bytes",
            "Bytes the audit database takes on disk, its write-ahead log included.",
            value=audit.size(),
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
    A registry of C{server}'s metrics and the process's own (CPU, memory,
    open file descriptors).
    """
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StatsCollector(server.faces()))
    if server.audit is not None:
        registry.register(AuditCollector(server.audit))
    ProcessCollector(registry=registry)
    return registry
