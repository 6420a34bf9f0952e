# -*- test-case-name: tests.web.test_bodies -*-
"""
Room for large request bodies: a few at a time per client address, and a
bound in all.

A body is kept in memory while it is read and its request answered
(L{randnum.web.site.NoStoreRequest.gotLength}).  Most are small, but a
public drawing's may be a megabyte, and its answer more: without a bound,
one address holding a thousand connections, each sending such a body and
never reading the answer, would hold a gigabyte.  A body over
L{LARGE_BODY} takes a place here from its head until its response is
finished (or its connection lost), and must arrive within
L{LARGE_BODY_SECONDS}; an address that has all its places taken, or a
server that has all of them, is told to come back, at once, before its
body is read.
"""

from __future__ import annotations

from collections import Counter

#: Bodies larger than this take a place.
LARGE_BODY = 64 * 1024

#: Seconds a large body has to arrive in, from the end of its head (the
#: largest, a megabyte, at 100 KiB a second).
LARGE_BODY_SECONDS = 10.0

#: Places per client address.
PER_ADDRESS = 4

#: Places in all: with a megabyte body and the answer to it, about 150 MB.
TOTAL = 64


class BodyRoom:
    """
    The places for large bodies being read or answered, by client address.

    @ivar taken: places taken, by address.
    @ivar total: places taken in all.
    """

    def __init__(self, perAddress: int = PER_ADDRESS, total: int = TOTAL) -> None:
        self.perAddress = perAddress
        self.limit = total
        self.taken: Counter[str] = Counter()
        self.total = 0

    def take(self, client: str) -> str | None:
        """
        Take a place for a large body from C{client}.

        @return: L{None} if one was taken; else why not, in words: the
            address has all its places (C{"address"}), or the server has
            all of them (C{"server"}).
        """
        if self.taken[client] >= self.perAddress:
            return "address"
        if self.total >= self.limit:
            return "server"
        self.taken[client] += 1
        self.total += 1
        return None

    def give(self, client: str) -> None:
        """
        Give back a place C{client} took.
        """
        self.taken[client] -= 1
        if not self.taken[client]:
            del self.taken[client]
        self.total -= 1
