"""
Fair shares of the reactor's time, per client address.

A client is an address, not a connection: one address holding a thousand
connections gets the share one connection would.  Each reactor turn does
about one L{WORK_BUDGET} of work, shared equally among the busy addresses
(down to L{SMALLEST_SHARE} each), deficit round robin (as fq-codel does for
flows): an address that overspent (one request may cost more than its
share) sits out turns until its deficit is paid.  Within an address, its
connections take its shares round robin.  A connection of an address that
has its share of this turn left works at once; others wait for their
address's next share.  So a turn stays short however many clients there
are, and one client alone has it all.

Why not nginx's C{limit_req} or an HAProxy stick table: they key on the
address too, but they refuse or delay by a rate fixed in advance.  Here the
work is shared out as it comes, so one client alone has the whole server,
and a light client waits at most one share of each busy address.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Callable

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.logger import Logger

from randnum.limits import WORK_BUDGET

log = Logger(namespace="randnum")

#: An IPv6 client usually holds a whole /64: its addresses are one client.
IPV6_PREFIX = 64

#: The smallest share of a turn, in bytes of reply: with very many busy
#: addresses a turn grows past L{WORK_BUDGET} rather than starve them all.
SMALLEST_SHARE = 2048


def clientKey(address: IAddress | None) -> str:
    """
    The client C{address} belongs to: its IPv4 address, its IPv6 /64, or
    C{"local"} for a UNIX socket (and anything else without an address).
    """
    if isinstance(address, IPv4Address):
        return address.host
    if isinstance(address, IPv6Address):
        host = ipaddress.IPv6Address(address.host.partition("%")[0])
        if host.ipv4_mapped is not None:
            # An IPv4 client of a dual-stack socket.
            return str(host.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{host}/{IPV6_PREFIX}", strict=False))
    return "local"


class Waiting:
    """
    A connection's place in its address's queue: cancel it when the
    connection goes (it has the L{IDelayedCall} methods the protocol uses).
    """

    def __init__(self, work: Callable[[], None]) -> None:
        self.work = work
        self.cancelled = False

    def active(self) -> bool:
        """
        Whether its turn is still to come.
        """
        return not self.cancelled

    def cancel(self) -> None:
        """
        Give its place up.
        """
        self.cancelled = True


class Shares:
    """
    Each busy client address's share of every reactor turn.

    @ivar share: each busy address's share of this turn, in bytes of reply.
    @ivar spent: the work each address has done since its last turn began,
        counted in bytes of reply (less its shares, once it has had them).
    @ivar waiting: each address's connections waiting for its next share,
        in order; the addresses in the order they take their turns.
    """

    def __init__(
        self,
        clock: Callable[[], IReactorTime],
        turnWork: int = WORK_BUDGET,
        smallest: int = SMALLEST_SHARE,
        logWindow: float = 60.0,
    ) -> None:
        """
        @param clock: gives the clock that times turns (asked when first
            needed, so that a server can be made before a reactor).
        @param turnWork: the work of a turn, shared among busy addresses.
        @param smallest: the smallest share.
        @param logWindow: seconds between two log lines about contention.
        """
        self.clock = clock
        self.turnWork = turnWork
        self.smallest = smallest
        self.share = turnWork
        self.logWindow = logWindow
        self.spent: dict[str, int] = {}
        self.waiting: dict[str, deque[Waiting]] = {}
        self._turn: IDelayedCall | None = None
        self._logged: float | None = None

    def mayWork(self, key: str) -> bool:
        """
        Whether a connection of C{key} may work now: the address has its
        share of this turn left, and none of its connections waits.
        """
        return self.spent.get(key, 0) < self.share and key not in self.waiting

    def spend(self, key: str, cost: int) -> None:
        """
        A connection of C{key} has done C{cost} of work.
        """
        self.spent[key] = self.spent.get(key, 0) + cost
        self._nextTurn()

    def wait(self, key: str, work: Callable[[], None]) -> Waiting:
        """
        Call C{work} at C{key}'s next share, after its connections waiting
        already.
        """
        waiting = Waiting(work)
        self.waiting.setdefault(key, deque()).append(waiting)
        self._nextTurn()
        return waiting

    def busiest(self) -> tuple[str, int] | None:
        """
        The address with the most connections waiting, and how many; or
        L{None} when none waits.
        """
        if not self.waiting:
            return None
        key = max(self.waiting, key=lambda k: len(self.waiting[k]))
        return key, len(self.waiting[key])

    def _nextTurn(self) -> None:
        if self._turn is None:
            self._turn = self.clock().callLater(0, self._takeTurn)

    def _takeTurn(self) -> None:
        """
        A new turn: share it among the addresses busy in the last, pay
        each its share, then give one share to each waiting address that is
        out of debt, in order.
        """
        self._turn = None
        if len(self.waiting) > 1:
            self._logContention()
        busy = len(self.spent.keys() | self.waiting.keys())
        share = self.share = max(self.smallest, self.turnWork // max(1, busy))
        self.spent = {k: s - share for k, s in self.spent.items() if s > share}
        for key in list(self.waiting):
            if self.spent.get(key, 0) >= share:
                continue  # still paying for an expensive request
            queue = self.waiting[key]
            while queue and queue[0].cancelled:
                queue.popleft()
            if not queue:
                del self.waiting[key]
                continue
            waiting = queue.popleft()
            waiting.cancelled = True
            if not queue:
                del self.waiting[key]
            waiting.work()
        if self.spent or self.waiting:
            self._nextTurn()
        else:
            self.share = self.turnWork

    def _logContention(self) -> None:
        """
        Say, at most once a window, that addresses share turns, and which
        is the busiest.
        """
        now = self.clock().seconds()
        if self._logged is not None and now - self._logged < self.logWindow:
            return
        self._logged = now
        busiest = self.busiest()
        assert busiest is not None
        log.info(
            "randnum shares each turn among {count} client addresses; the "
            "busiest, {address}, has {waiting} connections waiting",
            count=len(self.waiting),
            address=busiest[0],
            waiting=busiest[1],
        )
