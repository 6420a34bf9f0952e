# -*- test-case-name: tests.web.test_answers -*-
"""
Answers made once and served many times.

A public drawing's JSON (C{GET /v1/drawings/SERIAL}) and a signed draw's
page (C{GET /draws/SERIAL}) are made of records that never change once
stored, yet making one costs tens of milliseconds for the largest
drawings (reading the entrants back, rebuilding the answer, rendering the
page).  An L{AnswerCache} keeps the answers made, within a bound on their
total size, least recently used first out; every response of one answer
shares the one C{bytes} object, and concurrent requests for an answer not
made yet wait for the one being made rather than each make it again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.python.failure import Failure

#: The most bytes of answers an L{AnswerCache} holds unless told: room for
#: a few dozen of the largest drawings' answers and pages.
ANSWER_CACHE_BYTES = 16 * 1024 * 1024


class AnswerCache:
    """
    Rendered answers by key (C{("drawing", serial)}, say), at most
    C{maxBytes} of them in all, the least recently used dropped first.

    @ivar maxBytes: the most bytes of answers held.
    @ivar largest: the largest answer kept (a larger one is served, not
        kept): one answer never takes the whole cache.
    @ivar size: the bytes of answers held now.
    @ivar hits: answers found held.
    @ivar misses: answers made (or found to be missing) for lack of one
        held.
    """

    def __init__(
        self, maxBytes: int = ANSWER_CACHE_BYTES, largest: int | None = None
    ) -> None:
        """
        @param largest: the largest answer kept; a quarter of C{maxBytes}
            unless given.
        """
        self.maxBytes = maxBytes
        self.largest = maxBytes // 4 if largest is None else min(largest, maxBytes)
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()
        #: What waits for each answer being made.
        self._making: dict[Hashable, list[Deferred[bytes | None]]] = {}

    def __len__(self) -> int:
        """
        How many answers are held.
        """
        return len(self._answers)

    def get(self, key: Hashable) -> bytes | None:
        """
        The answer held for C{key}, now the most recently used (and
        counted in L{hits}); or L{None}.
        """
        answer = self._answers.get(key)
        if answer is not None:
            self.hits += 1
            self._answers.move_to_end(key)
        return answer

    def put(self, key: Hashable, answer: bytes) -> bytes:
        """
        Hold C{answer} for C{key} (unless it is larger than L{largest}),
        dropping the least recently used answers past L{maxBytes}.

        @return: C{answer}.
        """
        old = self._answers.pop(key, None)
        if old is not None:
            self.size -= len(old)
        if len(answer) > self.largest:
            return answer
        self._answers[key] = answer
        self.size += len(answer)
        while self.size > self.maxBytes:
            _, dropped = self._answers.popitem(last=False)
            self.size -= len(dropped)
        return answer

    def answer(
        self, key: Hashable, make: Callable[[], Deferred[bytes | None]]
    ) -> Deferred[bytes | None]:
        """
        The answer for C{key}: the one held, else the one being made for
        an earlier request, else C{make()}'s (held once made; L{None}, for
        nothing there, is not held).
        """
        held = self.get(key)
        if held is not None:
            return succeed(held)
        waiting: Deferred[bytes | None] = Deferred()
        making = self._making.get(key)
        if making is not None:
            making.append(waiting)
            return waiting
        self.misses += 1
        self._making[key] = [waiting]

        def made(outcome: bytes | Failure | None) -> None:
            waiters = self._making.pop(key)
            if isinstance(outcome, bytes):
                self.put(key, outcome)
            for each in waiters:
                if isinstance(outcome, Failure):
                    each.errback(outcome)
                else:
                    each.callback(outcome)

        # A bug in make() fails the waiters, not the cache.
        maybeDeferred(make).addBoth(made)
        return waiting
