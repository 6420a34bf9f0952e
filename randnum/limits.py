# -*- test-case-name: tests.test_limits,tests.test_each_client_costs_itself -*-
"""
Limits that keep one client from costing others, and the counts that show
them at work.

A server (L{randnum.server.RandnumServer}) has one L{Limits}, one
L{ConnectionCounter} that admits or refuses new connections against it for
every face, one statistics object per face (L{TcpStats}, L{HttpStats}) and
one L{RejectionLog} that decides which refusals are worth a log line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from twisted.internet.interfaces import IAddress

#: The reply to a connection over a connection limit.
BUSY = "busy"
#: The reply to a line longer than the limit.
LINE_TOO_LONG = "line too long"

#: Most reply bytes one connection may generate in one turn of the reactor
#: (a single request may exceed it; it is then answered alone in its turn).
WORK_BUDGET = 64 * 1024

#: Seconds an orderly close may take before the connection is aborted: a
#: refused TLS client that never completes its handshake, or a peer that
#: never reads the last bytes, does not keep its descriptor.
CLOSE_GRACE = 5.0


@dataclass(frozen=True)
class Limits:
    """
    What one server allows.

    @ivar idleTimeout: seconds without a complete request and without any
        progress in sending queued replies before a connection is closed;
        C{None} for never.  Bytes of an unfinished request do not count as
        activity, so a request must be complete within this time of the
        previous one (or of the connection's start).
    @ivar maxConnections: open connections in total, every face together.
    @ivar maxConnectionsPerHost: open connections from one IP address; 0 for
        no per-address limit.  UNIX-socket clients have no address and are
        only counted in the total.
    @ivar maxLine: longest request line, in bytes, not counting the line
        ending (C{\\n} or C{\\r\\n}).
    """

    idleTimeout: float | None = 60.0
    maxConnections: int = 10_000
    maxConnectionsPerHost: int = 1_000
    maxLine: int = 1024

    @property
    def closeGrace(self) -> float:
        """
        Seconds an orderly close may take before it becomes an abort: the
        idle timeout, at most L{CLOSE_GRACE}.
        """
        if self.idleTimeout is None:
            return CLOSE_GRACE
        return min(self.idleTimeout, CLOSE_GRACE)


def peerHost(address: IAddress) -> str | None:
    """
    The IP address a connection comes from, or C{None} for one without
    (a UNIX socket).
    """
    host = getattr(address, "host", None)
    return host if isinstance(host, str) else None


class ConnectionCounter:
    """
    Count open connections, in total and per peer address, and admit new
    ones only within L{Limits}.

    (L{twisted.protocols.policies.LimitConnectionsByPeer} does the per-peer
    half, but as a wrapping factory: it wraps every transport, which hides
    the socket that L{randnum.flow.ReplyWriter} sends on, and it drops an
    extra connection without telling the client why.)
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0
        self.perHost: Counter[str] = Counter()

    def admit(self, host: str | None) -> bool:
        """
        Count a new connection from C{host} if the limits allow it.

        @return: whether it was admitted (and must later be L{release}d).
        """
        limits = self.limits
        if self.total >= limits.maxConnections:
            return False
        if host is not None and limits.maxConnectionsPerHost:
            if self.perHost[host] >= limits.maxConnectionsPerHost:
                return False
            self.perHost[host] += 1
        self.total += 1
        return True

    def release(self, host: str | None) -> None:
        """
        An admitted connection from C{host} has closed.
        """
        self.total -= 1
        if host is not None and host in self.perHost:
            self.perHost[host] -= 1
            if not self.perHost[host]:
                # Keep the table as small as the set of connected hosts.
                del self.perHost[host]
