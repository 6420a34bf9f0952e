# -*- test-case-name: tests.test_idle -*-
"""
Idle timers: every connection's idle timeout on one timer of the clock's.

A connection's idle timer (L{twisted.protocols.policies.TimeoutMixin}'s) is
started when it opens, pushed back whenever it makes progress, and nearly
always cancelled when it closes.  As one L{IDelayedCall} each, that is a
heap entry made, moved and dropped per connection: a tenth of what a
connection-per-request client costs the server.  Every connection's timer
has the same period, so a timer started or pushed back now is due after
every other one: kept in the order they were last started or pushed back,
they are in the order they fall due, and only the first needs a timer of
the clock's.  (High-connection servers do the same with a timer wheel.)

The order holds while the clock goes forward.  Should the wall clock step
back (the reactor's clock is C{time.time}), a timer pushed back after the
step waits behind older ones, and may be called up to that step late (the
reactor's own timers, set before it, are late by as much); never early.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from twisted.internet.error import AlreadyCalled, AlreadyCancelled
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

_log = Logger(namespace="randnum")


@implementer(IDelayedCall)
class IdleTimer:
    """
    One connection's idle timer: an L{IDelayedCall} of its L{IdleTimers}.
    """

    __slots__ = ("_call", "_timers", "called", "cancelled", "func", "time")

    def __init__(self, timers: IdleTimers, func: Callable[[], object], time: float):
        self._timers = timers
        #: A timer of the clock's, for a timer moved off its period (see
        #: L{delay}); L{None} while it keeps its place in L{IdleTimers}.
        self._call: IDelayedCall | None = None
        self.func = func
        self.time = time
        self.cancelled = False
        self.called = False

    def getTime(self) -> float:
        """
        When it is due, in the clock's seconds.
        """
        return self.time if self._call is None else self._call.getTime()

    def active(self) -> bool:
        """
        Whether it has been neither called nor cancelled.
        """
        return not (self.cancelled or self.called)

    def cancel(self) -> None:
        """
        Never call it.

        @raise AlreadyCancelled: if it was cancelled already.
        @raise AlreadyCalled: if it has been called.
        """
        self._check()
        self.cancelled = True
        if self._call is not None:
            self._call.cancel()
        else:
            self._timers._drop(self)

    def reset(self, secondsFromNow: float) -> None:
        """
        Make it due C{secondsFromNow} from now.
        """
        timers = self._timers
        if (
            self._call is None
            and secondsFromNow == timers.period
            and not (self.cancelled or self.called)
        ):
            # The usual reset, once per request: after every other timer.
            self.time = timers.seconds() + secondsFromNow
            timers._due.move_to_end(self)
            return
        self._check()
        self._offPeriod(timers.clock().seconds() + secondsFromNow)

    def delay(self, secondsLater: float) -> None:
        """
        Make it due C{secondsLater} later than it was.
        """
        self._check()
        self._offPeriod(self.getTime() + secondsLater)

    def _check(self) -> None:
        if self.cancelled:
            raise AlreadyCancelled()
        if self.called:
            raise AlreadyCalled()

    def _offPeriod(self, time: float) -> None:
        """
        Make it due at C{time} on a timer of the clock's: it has left the
        order of L{IdleTimers}.
        """
        clock = self._timers.clock()
        if self._call is None:
            self._timers._drop(self)
            self._call = clock.callLater(time - clock.seconds(), self._fire)
        else:
            self._call.reset(time - clock.seconds())

    def _fire(self) -> None:
        self.called = True
        self.func()


class IdleTimers:
    """
    Timers of one period, on (at most) one timer of the clock's.

    @ivar period: the period, in seconds: that of every idle timeout.
    """

    def __init__(self, clock: Callable[[], IReactorTime], period: float | None):
        """
        @param clock: gives the clock (asked when first needed, so that a
            server can be made before a reactor).
        @param period: the timers' period; a timer of another period is a
            timer of the clock's.
        """
        self.clock = clock
        self.period = period
        #: The timers, in the order they fall due.
        self._due: OrderedDict[IdleTimer, None] = OrderedDict()
        self._call: IDelayedCall | None = None
        #: The clock's time now (its C{seconds}, once a timer is made).
        self.seconds: Callable[[], float] = lambda: self.clock().seconds()

    def callLater(self, seconds: float, func: Callable[[], object]) -> IDelayedCall:
        """
        Call C{func} in C{seconds}, as L{IReactorTime.callLater} would.
        """
        clock = self.clock()
        self.seconds = clock.seconds
        if seconds != self.period:
            return clock.callLater(seconds, func)
        timer = IdleTimer(self, func, clock.seconds() + seconds)
        self._due[timer] = None
        if self._call is None:
            self._call = clock.callLater(seconds, self._expire)
        return timer

    def __len__(self) -> int:
        """
        How many timers of the period are waiting.
        """
        return len(self._due)

    def _drop(self, timer: IdleTimer) -> None:
        """
        C{timer} is no longer due here; once none is, neither is the
        clock's timer.
        """
        del self._due[timer]
        if not self._due and self._call is not None:
            self._call.cancel()
            self._call = None

    def _expire(self) -> None:
        """
        Call every timer now due, then wait for the next one.
        """
        self._call = None
        clock = self.clock()
        now = clock.seconds()
        due = self._due
        while due:
            timer = next(iter(due))
            if timer.time > now:
                if self._call is not None:
                    # A timer called just now started the first of a period.
                    self._call.cancel()
                self._call = clock.callLater(timer.time - now, self._expire)
                return
            del due[timer]
            timer.called = True
            try:
                timer.func()
            except BaseException:
                # As the reactor does with its own timers: the others, and
                # the wait for the next, must not be lost to one failure.
                _log.failure("while calling an idle timer")
