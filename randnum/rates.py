"""
A rate per client address: how many signed draws each may ask for.

Every signed draw is stored for good, so one client could otherwise grow
the audit store by megabytes a second.  Each client address (see
L{randnum.sharing.clientKey}) has a token bucket: C{rate} draws a second,
and up to ten seconds of them at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from randnum.query import QueryError

#: A bucket holds this many seconds of its rate: a burst of draws is fine.
BURST_SECONDS = 10.0

#: More addresses than this, and the buckets that are full (their clients
#: quiet for a burst's time) are forgotten.
KEPT_ADDRESSES = 10_000


class RateLimited(QueryError):
    """
    A client asked for more than its rate.

    @ivar retryAfter: whole seconds until it may ask again.
    """

    def __init__(self, retryAfter: int) -> None:
        super().__init__(f"rate limited, retry in {retryAfter} s", "rate_limited")
        self.retryAfter = retryAfter


class AddressRates:
    """
    A token bucket per client address.
    """

    def __init__(self, rate: float, now: Callable[[], float]) -> None:
        """
        @param rate: draws a second per address (0: no limit).
        @param now: the time, in seconds.
        """
        self.rate = rate
        self.burst = max(1.0, rate * BURST_SECONDS)
        self.now = now
        #: Each address's tokens, as of when.
        self.buckets: dict[str, tuple[float, float]] = {}

    def check(self, client: str) -> None:
        """
        Whether C{client} may ask for a draw now, without taking it: to
        refuse before work whose count is known only once it is done (a
        drawing's is its size, once its list is parsed).

        @raise RateLimited: if its bucket does not hold one draw.
        """
        if not self.rate:
            return
        now = self.now()
        tokens, since = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - since) * self.rate)
        if tokens < 1:
            raise RateLimited(max(1, math.ceil((1 - tokens) / self.rate)))

    def take(self, client: str, count: int = 1) -> None:
        """
        Take C{count} draws from C{client}'s bucket.

        A count larger than the bucket holds (a big drawing, at a low rate)
        is taken from a full bucket, which is left in debt: it is paid for
        by waiting, and never refused for good.

        @raise RateLimited: if it does not hold them; nothing is taken.
        """
        if not self.rate:
            return
        now = self.now()
        tokens, since = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - since) * self.rate)
        needed = min(count, self.burst)
        if tokens < needed:
            raise RateLimited(max(1, math.ceil((needed - tokens) / self.rate)))
        if len(self.buckets) >= KEPT_ADDRESSES and client not in self.buckets:
            self._forgetQuiet(now)
        self.buckets[client] = (tokens - count, now)

    def _forgetQuiet(self, now: float) -> None:
        """
        Forget the buckets that have refilled: they are as new ones.
        """
        self.buckets = {
            client: (tokens, since)
            for client, (tokens, since) in self.buckets.items()
            if tokens + (now - since) * self.rate < self.burst
        }
