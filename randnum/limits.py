"""
Limits that keep one client from costing others, and the counts that show
them at work.

A server has one L{Limits}, one L{ConnectionCounter} that admits or refuses
new connections against it, and one L{ServerStats} that every connection
reports to.  The protocol (L{randnum.protocol}) applies the limits; the
twistd service (L{randnum.tap}) logs a periodic summary of the counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

from twisted.internet.interfaces import IAddress

#: The reply to a connection over a connection limit.
BUSY = "busy"
#: The reply to a line longer than the limit.
LINE_TOO_LONG = "line too long"


@dataclass(frozen=True)
class Limits:
    """
    What one server allows.

    @ivar idleTimeout: seconds without a request (or, for a client that is
        not reading its replies, without progress) before a connection is
        closed; C{None} for never.
    @ivar maxConnections: open connections in total.
    @ivar maxConnectionsPerHost: open connections from one IP address; 0 for
        no per-address limit.  UNIX-socket clients have no address and are
        only counted in the total.
    @ivar maxLine: longest request line, in bytes, not counting the newline.
    """

    idleTimeout: float | None = 60.0
    maxConnections: int = 10_000
    maxConnectionsPerHost: int = 1_000
    maxLine: int = 1024


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


@dataclass(slots=True)
class ServerStats:
    """
    What a server's connections did, since it started and since the last
    summary.  Plain integer attributes, because every request updates them.

    @ivar open: connections open now.
    @ivar reportedOpen: connections open at the last summary.
    @ivar logged: the kinds of rejection already logged since the last
        summary; later ones are only counted, so that a flood of bad clients
        cannot flood the log.
    """

    #: The running totals, in the order summaries report them.
    COUNTS: ClassVar[tuple[str, ...]] = (
        "connections",
        "requests",
        "numbers",
        "errors",
        "refused",
        "linesTooLong",
        "idleTimeouts",
    )

    open: int = 0
    reportedOpen: int = 0
    #: Connections admitted.
    connections: int = 0
    #: Requests answered (including with C{ERR}).
    requests: int = 0
    #: Of those, requests in raw framing (a chunk, not a line).
    rawRequests: int = 0
    #: Numbers sent.
    numbers: int = 0
    #: C{ERR} replies to requests.
    errors: int = 0
    #: Connections refused with C{ERR busy}.
    refused: int = 0
    #: Connections closed with C{ERR line too long}.
    linesTooLong: int = 0
    #: Connections closed for being idle.
    idleTimeouts: int = 0
    #: C{ERR} replies by L{QueryError.kind}.
    errorKinds: Counter[str] = field(default_factory=Counter)
    logged: set[str] = field(default_factory=set)
    _reported: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        """
        Add one to the total named C{kind}.
        """
        setattr(self, kind, getattr(self, kind) + 1)

    def shouldLog(self, kind: str) -> bool:
        """
        Whether to log this rejection (the first of its kind since the last
        summary) rather than only count it.
        """
        if kind in self.logged:
            return False
        self.logged.add(kind)
        return True

    def totals(self) -> dict[str, int]:
        """
        The running totals, by name.
        """
        return {kind: getattr(self, kind) for kind in self.COUNTS}

    def sinceLastSummary(self) -> dict[str, int]:
        """
        The totals' growth since the previous call, and start a new period.
        """
        totals = self.totals()
        recent = {kind: totals[kind] - self._reported.get(kind, 0) for kind in totals}
        self._reported = totals
        self.logged.clear()
        return recent


@dataclass(slots=True)
class HttpStats(ServerStats):
    """
    The HTTP face's counts: L{ServerStats}' request counts, by format.
    """

    #: Requests answered as C{text/plain} (the rest as JSON).
    textRequests: int = 0
