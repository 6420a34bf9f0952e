# -*- test-case-name: tests.generation.test_source -*-
"""
Where the numbers come from.

A L{NumberSource} turns a stream of random bytes into unbiased integers.  The
bytes come from the operating system's CSPRNG (L{systemSource}) or, for
reproducible runs only, from a seeded PRNG (L{seededSource}).  Both share the
same sampling code, so a seeded source exercises exactly the algorithm that
serves production traffic.

Sampling never uses a plain modulo: a random word is accepted only below the
largest multiple of the span that fits in the word, so every value in the
range is equally likely.
"""

from __future__ import annotations

import functools
import os
import random
import sys
import weakref
from array import array
from collections.abc import Callable, Iterator

from randnum.query import Query

#: A function returning that many random bytes, like L{os.urandom}.
RandomBytes = Callable[[int], bytes]

# Array type codes whose item size is exactly 1, 2, 4 and 8 bytes.
_WORD_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_BIG_ENDIAN = sys.byteorder == "big"

# Ranges with at most this many values get a precomputed rendering table
# indexed by a 16-bit random word.
TABLE_SPAN = 1 << 16


def words(randomBytes: RandomBytes, width: int, count: int) -> array[int]:
    """
    Read C{count} unsigned words of C{width} bytes in one call.

    Words are little-endian on every platform so that a seeded source gives
    the same numbers everywhere.
    """
    drawn = array(_WORD_CODES[width], randomBytes(width * count))
    if _BIG_ENDIAN:
        drawn.byteswap()
    return drawn


def _wordWidth(span: int) -> int:
    """
    The smallest word width (1, 2, 4 or 8 bytes) that can express C{span}
    distinct values.
    """
    for width in (1, 2, 4, 8):
        if span <= 1 << (8 * width):
            return width
    raise ValueError(f"span {span} does not fit in 64 bits")


def _oversample(needed: int, accepted: int, total: int) -> int:
    """
    How many words to draw so that, with C{accepted} of every C{total}
    accepted, one draw almost always yields C{needed} values.
    """
    return needed * total // accepted + needed // 32 + 8


# Every render table alive, so that a forked child can empty their pools.
_TABLES: weakref.WeakSet[RenderTable] = weakref.WeakSet()


def _forgetPoolsAfterFork() -> None:
    # A child must never hand out numbers its parent may also hand out.
    for table in list(_TABLES):
        table.pool.clear()


os.register_at_fork(after_in_child=_forgetPoolsAfterFork)


class RenderTable:
    """
    Precomputed decimal renderings for one small range, and a pool of
    numbers already drawn.

    Entry C{w} of the table is the rendering of the number that the 16-bit
    word C{w} maps to, or L{None} where C{w} must be rejected.  Drawing is
    one C{os.urandom} call and C{map}/C{filter} over the table, with no
    Python-level call per number.  Draws are made at least L{POOL} numbers
    at a time and kept in a pool, so that a request for one number costs a
    list slice rather than a system call.  The pool is emptied in a forked
    child.
    """

    #: Fewest numbers drawn at once.
    POOL = 4096

    def __init__(self, low: int, high: int) -> None:
        span = high - low + 1
        if not 1 <= span <= TABLE_SPAN:
            raise ValueError(f"a render table needs a span of 1..{TABLE_SPAN}")
        self.low = low
        self.high = high
        self.limit = TABLE_SPAN - TABLE_SPAN % span
        self.table: list[bytes | None] = [
            b"%d" % (low + word % span) if word < self.limit else None
            for word in range(TABLE_SPAN)
        ]
        self.pool: list[bytes] = []
        #: L{render} and L{one} bound to the source's bytes (set by
        #: L{NumberSource.prepare}).
        self.boundRender: Callable[[int], list[bytes]]
        self.boundOne: Callable[[], bytes]
        _TABLES.add(self)

    def render(self, randomBytes: RandomBytes, n: int) -> list[bytes]:
        """
        Render C{n} uniformly distributed numbers.
        """
        pool = self.pool
        if len(pool) < n:
            self._draw(randomBytes, max(n - len(pool), self.POOL))
        out = pool[-n:]
        del pool[-n:]
        return out

    def one(self, randomBytes: RandomBytes) -> bytes:
        """
        Render one uniformly distributed number.
        """
        pool = self.pool
        if not pool:
            self._draw(randomBytes, self.POOL)
        return pool.pop()

    def _draw(self, randomBytes: RandomBytes, n: int) -> None:
        """
        Add at least C{n} fresh numbers to the pool.
        """
        lookup = self.table.__getitem__
        # None entries are rejected words; renderings are never empty.
        self.pool += filter(
            None,
            map(lookup, words(randomBytes, 2, _oversample(n, self.limit, TABLE_SPAN))),
        )
        while len(self.pool) < n:
            self.pool += filter(None, map(lookup, words(randomBytes, 2, 64)))


class NumberSource:
    """
    Unbiased random integers in any range inside 64 bits, drawn in bulk.

    @ivar randomBytes: where the random bytes come from (like L{os.urandom}).
    @ivar cryptographic: whether the bytes come from a CSPRNG.
    @ivar description: a short human description, for the startup log.
    """

    def __init__(
        self,
        randomBytes: RandomBytes,
        *,
        cryptographic: bool,
        description: str,
    ) -> None:
        self.randomBytes = randomBytes
        self.cryptographic = cryptographic
        self.description = description
        self._tables: dict[tuple[int, int], RenderTable] = {}

    def prepare(self, low: int, high: int) -> None:
        """
        Precompute renderings for C{low..high} so that L{render} is fast
        there.  Ranges wider than L{TABLE_SPAN} are left alone.

        Servers call this once for their default range; tables are never
        built on behalf of a request, so a client cannot make the server
        spend memory or time on them.
        """
        if high - low + 1 <= TABLE_SPAN and (low, high) not in self._tables:
            table = self._tables[low, high] = RenderTable(low, high)
            # Made once, so that each connection need not make its own.
            table.boundRender = functools.partial(table.render, self.randomBytes)
            table.boundOne = functools.partial(table.one, self.randomBytes)

    def integers(self, low: int, high: int, n: int) -> list[int]:
        """
        C{n} independent uniform integers in C{low..high} inclusive.
        """
        span = high - low + 1
        if span < 1:
            raise ValueError("low must not exceed high")
        width = _wordWidth(span)
        total = 1 << (8 * width)
        limit = total - total % span
        out: list[int] = []
        while len(out) < n:
            count = _oversample(n - len(out), limit, total)
            drawn = words(self.randomBytes, width, count)
            out += [low + word % span for word in drawn if word < limit]
        del out[n:]
        return out

    def renderer(self, low: int, high: int) -> Callable[[int], list[bytes]]:
        """
        A function of C{n} equivalent to C{render(low, high, n)}, with the
        lookups done once: for a protocol's default range.
        """
        table = self._tables.get((low, high))
        if table is not None:
            return table.boundRender
        return functools.partial(self.render, low, high)

    def oneRenderer(self, low: int, high: int) -> Callable[[], bytes]:
        """
        A function equivalent to C{render(low, high, 1)[0]}: for the most
        common request of all, one number in the default range.
        """
        table = self._tables.get((low, high))
        if table is not None:
            return table.boundOne
        return lambda: self.render(low, high, 1)[0]

    def render(self, low: int, high: int, n: int) -> list[bytes]:
        """
        C{n} independent uniform integers in C{low..high}, as ASCII decimal.
        """
        table = self._tables.get((low, high))
        if table is not None:
            return table.render(self.randomBytes, n)
        return [b"%d" % value for value in self.integers(low, high, n)]

    def distinct(self, low: int, high: int, n: int) -> list[int]:
        """
        C{n} distinct integers in C{low..high}, in random order: a uniform
        sample without replacement.

        This is a partial Fisher-Yates shuffle of the range that records
        only the positions it has swapped, so it costs O(n) however wide
        the range is.
        """
        return [
            v for batch in self.distinctBatches(low, high, n, max(n, 1)) for v in batch
        ]

    def distinctBatches(
        self, low: int, high: int, n: int, perBatch: int
    ) -> Iterator[list[int]]:
        """
        L{distinct}'s sample, made C{perBatch} at a time (the same numbers
        from the same bytes), for a caller that spreads the work out.
        """
        span = high - low + 1
        if not 0 <= n <= span:
            raise ValueError("cannot draw more distinct numbers than the range holds")
        swapped: dict[int, int] = {}
        out: list[int] = []
        drawn = words(self.randomBytes, 8, n)
        used = 0
        for i in range(n):
            bound = span - i
            limit = (1 << 64) - (1 << 64) % bound
            while True:
                if used == len(drawn):
                    # Only after a rejection, which has odds below bound/2**64.
                    drawn, used = words(self.randomBytes, 8, 8), 0
                word = drawn[used]
                used += 1
                if word < limit:
                    break
            j = i + word % bound
            out.append(low + swapped.get(j, j))
            swapped[j] = swapped.get(i, i)
            if len(out) == perBatch:
                yield out
                out = []
        if out:
            yield out

    def answer(self, query: Query) -> list[int]:
        """
        The numbers that answer C{query}.
        """
        if query.unique:
            return self.distinct(query.min, query.max, query.n)
        return self.integers(query.min, query.max, query.n)

    def renderAnswer(self, query: Query) -> list[bytes]:
        """
        The numbers that answer C{query}, as ASCII decimal.
        """
        if query.unique:
            return [
                b"%d" % value for value in self.distinct(query.min, query.max, query.n)
            ]
        return self.render(query.min, query.max, query.n)


def systemSource() -> NumberSource:
    """
    The default source: the operating system's CSPRNG via L{os.urandom}.
    """
    return NumberSource(
        os.urandom, cryptographic=True, description="os.urandom (cryptographic)"
    )


def seededSource(seed: int) -> NumberSource:
    """
    A reproducible source for tests and simulations.

    B{Not secure}: anyone who knows or guesses the seed can predict every
    number.  The same seed gives the same numbers on every platform for a
    given version of randnum.
    """
    return NumberSource(
        random.Random(seed).randbytes,
        cryptographic=False,
        description=f"seeded PRNG, seed {seed} (NOT cryptographic)",
    )
