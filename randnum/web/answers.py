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

Making an answer is work done in the reactor, so it is charged to the
client that asks first, before it is made, and each client address makes
one answer at a time: its other misses wait, in order, for the one being
made.  One address cycling through more answers than the cache holds thus
has one made at a time, paid for as it starts, not dozens back to back in
one turn.  An answer found held costs nothing here (writing it is charged
where it is written).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.python.failure import Failure

from randnum.limits import WORK_BUDGET

#: The most bytes of answers an L{AnswerCache} holds unless told: room for
#: a few dozen of the largest drawings' answers and pages.
ANSWER_CACHE_BYTES = 16 * 1024 * 1024

#: What making an answer of a size not known yet is charged as it starts
#: (the rest once it is made): a whole turn's work, so that an address
#: making one does nothing else in that turn.
MISS_COST = WORK_BUDGET

#: How many answers' sizes are remembered, to charge a miss its size up
#: front when its answer was made before (and dropped since).
REMEMBERED_SIZES = 4096

#: Charges a client the work done for it, in bytes of an ordinary reply.
Charge = Callable[[int], None]


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
    @ivar missCost: what a miss whose size is not known is charged as it
        starts.
    """

    def __init__(
        self,
        maxBytes: int = ANSWER_CACHE_BYTES,
        largest: int | None = None,
        missCost: int = MISS_COST,
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
        self.missCost = missCost
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()
        #: What waits for each answer being made.
        self._making: dict[Hashable, list[Deferred[bytes | None]]] = {}
        #: The sizes of answers made, the most recently made last.
        self._sizes: OrderedDict[Hashable, int] = OrderedDict()
        #: Each client making an answer: its misses waiting for it.
        self._clients: dict[Hashable, deque[_Miss]] = {}
        #: The clients whose waiting misses are being started.
        self._starting: set[Hashable] = set()

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
        self,
        key: Hashable,
        make: Callable[[], Deferred[bytes | None]],
        client: Hashable | None = None,
        charge: Charge | None = None,
    ) -> Deferred[bytes | None]:
        """
        The answer for C{key}: the one held, else the one being made for
        an earlier request, else C{make()}'s (held once made; L{None}, for
        nothing there, is not held).

        @param client: who asks (its address): while an answer is being
            made for it, its misses wait their turn, in order; L{None}
            for one whose misses need not wait.
        @param charge: charges who asks for making the answer, if it is
            made for it: its size (or L{missCost} when that is not known
            yet) as it starts, the rest once it is made.
        """
        held = self.get(key)
        if held is not None:
            return succeed(held)
        waiting: Deferred[bytes | None] = Deferred()
        making = self._making.get(key)
        if making is not None:
            making.append(waiting)
        elif client is None:
            self._make(_Miss(key, make, None, charge, waiting))
        else:
            self._clients.setdefault(client, deque()).append(
                _Miss(key, make, client, charge, waiting)
            )
            if len(self._clients[client]) == 1:
                self._startNext(client)
        return waiting

    def _startNext(self, client: Hashable) -> None:
        """
        Make C{client}'s oldest waiting miss (or serve it, if its answer
        was made for another meanwhile), and the next once it is made.
        """
        if client in self._starting:
            return  # called back while starting: the loop below goes on
        self._starting.add(client)
        try:
            queue = self._clients[client]
            while queue:
                miss = queue[0]
                held = self.get(miss.key)
                making = self._making.get(miss.key)
                if held is None and making is None:
                    # The queue keeps it until it is made; its end starts
                    # the next (at once, if it was made already).
                    self._make(miss)
                    if queue and queue[0] is miss:
                        return
                    continue
                queue.popleft()
                if held is not None:
                    miss.waiting.callback(held)
                else:
                    assert making is not None
                    making.append(miss.waiting)
            del self._clients[client]
        finally:
            self._starting.discard(client)

    def _make(self, miss: _Miss) -> None:
        """
        Make C{miss}'s answer, charged first to whoever asked; then hold
        it, give it to all who wait for it, and go on with its client's
        next miss.
        """
        key = miss.key
        self.misses += 1
        self._making[key] = [miss.waiting]
        charged = self._sizes.get(key, self.missCost)
        if miss.charge is not None:
            miss.charge(charged)

        def made(outcome: bytes | Failure | None) -> None:
            waiters = self._making.pop(key)
            if isinstance(outcome, bytes):
                self._rememberSize(key, len(outcome))
                if miss.charge is not None and len(outcome) > charged:
                    miss.charge(len(outcome) - charged)
                self.put(key, outcome)
            for each in waiters:
                if isinstance(outcome, Failure):
                    each.errback(outcome)
                else:
                    each.callback(outcome)
            if miss.client is not None:
                queue = self._clients[miss.client]
                queue.popleft()
                if queue:
                    self._startNext(miss.client)
                elif miss.client not in self._starting:
                    del self._clients[miss.client]

        # A bug in make() fails the waiters, not the cache.
        maybeDeferred(miss.make).addBoth(made)

    def _rememberSize(self, key: Hashable, size: int) -> None:
        """
        Remember that C{key}'s answer is C{size} bytes, forgetting the
        oldest past L{REMEMBERED_SIZES}.
        """
        self._sizes[key] = size
        self._sizes.move_to_end(key)
        if len(self._sizes) > REMEMBERED_SIZES:
            self._sizes.popitem(last=False)


class _Miss:
    """
    A request for an answer not held: what to make, for whom, and what
    waits for it.
    """

    def __init__(
        self,
        key: Hashable,
        make: Callable[[], Deferred[bytes | None]],
        client: Hashable | None,
        charge: Charge | None,
        waiting: Deferred[bytes | None],
    ) -> None:
        self.key = key
        self.make = make
        self.client = client
        self.charge = charge
        self.waiting = waiting
