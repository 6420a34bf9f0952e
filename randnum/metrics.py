"""
Prometheus metrics, read from the servers' counts when scraped.

The TCP hot path only adds to plain integers once per received chunk
(L{randnum.limits.ServerStats}); this collector turns them into metric
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

from randnum.limits import HttpStats, ServerStats

#: How each limit that rejects or closes a connection is labelled.
REJECTION_REASONS = {
    "refused": "busy",
    "linesTooLong": "line_too_long",
    "idleTimeouts": "idle_timeout",
}


class StatsCollector(Collector):
    """
    Metric families for the counts of each face (C{"tcp"}, C{"http"}).

    @param faces: each face's L{ServerStats}.
    """

    def __init__(self, faces: dict[str, ServerStats]) -> None:
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
            "(raw or line for TCP, json or text for HTTP).",
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
            for kind, reason in REJECTION_REASONS.items():
                # HTTP connections are only ever refused (twisted.web applies
                # its own idle timeout and header limits).
                if face == "tcp" or kind == "refused":
                    rejected.add_metric([face, reason], getattr(stats, kind))
        yield opened
        yield admitted
        yield rejected


def framingCounts(stats: ServerStats) -> dict[str, int]:
    """
    A face's request counts by framing.
    """
    if isinstance(stats, HttpStats):
        return {"json": stats.requests - stats.textRequests, "text": stats.textRequests}
    return {"raw": stats.rawRequests, "line": stats.requests - stats.rawRequests}


def metricsRegistry(faces: dict[str, ServerStats]) -> CollectorRegistry:
    """
    A registry of randnum's metrics and the process's own (CPU, memory,
    open file descriptors).
    """
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StatsCollector(faces))
    ProcessCollector(registry=registry)
    return registry
