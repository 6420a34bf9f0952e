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

        tcp = self.faces.get("tcp")
        if tcp is None:
            return
        opened = GaugeMetricFamily(
            "randnum_open_connections", "TCP connections open now (all listeners)."
        )
        opened.add_metric([], tcp.open)
        yield opened
        admitted = CounterMetricFamily(
            "randnum_connections", "TCP connections admitted."
        )
        admitted.add_metric([], tcp.connections)
        yield admitted
        rejected = CounterMetricFamily(
            "randnum_rejected_connections",
            "TCP connections refused or closed by a limit, by reason.",
            labels=["reason"],
        )
        for kind, reason in REJECTION_REASONS.items():
            rejected.add_metric([reason], getattr(tcp, kind))
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
