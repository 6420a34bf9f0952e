"""
L{randnum.web.answers.AnswerCache}: each answer made once, shared, and the
whole within its bound, least recently used first out.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from randnum.composition import Faces
from randnum.generation.source import seededSource
from randnum.server import RandnumServer
from randnum.web.answers import ANSWER_CACHE_BYTES, MISS_COST, AnswerCache
from randnum.web.drawings import DrawingsResource
from randnum.web.pages.draws import DrawPage


def result(answer: Deferred[bytes | None]) -> bytes | None:
    """
    What C{answer}, fired already, gave.
    """
    got: list[bytes | None] = []
    answer.addCallback(got.append)
    assert len(got) == 1
    return got[0]


def test_anAnswerIsMadeOnceAndSharedByEveryone() -> None:
    cache = AnswerCache()
    made: list[int] = []

    def make() -> Deferred[bytes | None]:
        made.append(1)
        return succeed(b"x" * 1000)

    first = result(cache.answer("k", make))
    second = result(cache.answer("k", make))
    assert first == b"x" * 1000
    assert second is first  # the same object, not a copy
    assert made == [1]
    assert (cache.hits, cache.misses, cache.size, len(cache)) == (1, 1, 1000, 1)


def test_requestsForAnAnswerBeingMadeWaitForIt() -> None:
    cache = AnswerCache()
    making: list[Deferred[bytes | None]] = []

    def make() -> Deferred[bytes | None]:
        making.append(Deferred())
        return making[-1]

    waiting = [cache.answer("k", make) for _ in range(3)]
    assert len(making) == 1
    got: list[bytes | None] = []
    for each in waiting:
        each.addCallback(got.append)
    assert got == []
    making[0].callback(b"page")
    assert got == [b"page"] * 3
    assert all(each is got[0] for each in got)
    assert cache.get("k") is got[0]


def test_nothingThereIsNotKept() -> None:
    cache = AnswerCache()
    made: list[int] = []

    def make() -> Deferred[bytes | None]:
        made.append(1)
        return succeed(None)

    assert result(cache.answer("k", make)) is None
    assert result(cache.answer("k", make)) is None
    assert made == [1, 1]  # a record stored later is found
    assert len(cache) == 0


def test_aFailureReachesEveryWaiterAndIsNotKept() -> None:
    cache = AnswerCache()
    making: Deferred[bytes | None] = Deferred()
    waiting = [cache.answer("k", lambda: making) for _ in range(2)]
    failures: list[object] = []
    for each in waiting:
        each.addErrback(lambda failure: failures.append(failure.value))
    making.errback(OSError("store unavailable"))
    assert [type(error) for error in failures] == [OSError, OSError]
    assert result(cache.answer("k", lambda: succeed(b"now"))) == b"now"


def test_aMakerThatRaisesFailsItsWaitersOnly() -> None:
    cache = AnswerCache()

    def make() -> Deferred[bytes | None]:
        raise RuntimeError("bug")

    failed: list[object] = []
    cache.answer("k", make).addErrback(lambda failure: failed.append(failure.value))
    assert len(failed) == 1 and isinstance(failed[0], RuntimeError)
    # Nothing is left waiting for an answer that never comes.
    assert result(cache.answer("k", lambda: succeed(b"ok"))) == b"ok"


def test_anAnswerTooLargeIsServedNotKept() -> None:
    cache = AnswerCache(maxBytes=1000)
    assert cache.largest == 250
    big = b"x" * 251
    assert result(cache.answer("big", lambda: succeed(big))) is big
    assert (len(cache), cache.size) == (0, 0)
    assert AnswerCache(maxBytes=1000, largest=5000).largest == 1000


class Makers:
    """
    Makers of answers that the test finishes, each remembering the order
    it was asked in and what had been charged by then.
    """

    def __init__(self) -> None:
        self.started: list[str] = []
        self.charges: list[tuple[str, int]] = []
        self.chargedAtStart: list[list[tuple[str, int]]] = []
        self.making: dict[str, Deferred[bytes | None]] = {}

    def make(self, key: str) -> Deferred[bytes | None]:
        self.started.append(key)
        self.chargedAtStart.append(list(self.charges))
        self.making[key] = Deferred()
        return self.making[key]

    def ask(
        self, cache: AnswerCache, key: str, client: str | None
    ) -> list[bytes | None]:
        got: list[bytes | None] = []
        cache.answer(
            key,
            lambda: self.make(key),
            client,
            lambda cost: self.charges.append((key, cost)),
        ).addCallback(got.append)
        return got


def test_oneClientsMissesAreMadeOneAtATime() -> None:
    cache = AnswerCache()
    makers = Makers()
    got = [makers.ask(cache, key, "a") for key in ("k1", "k2", "k3")]
    assert makers.started == ["k1"]
    # Another address's miss is made at once; one of "a"'s answers being
    # made for another is waited for with it, not queued behind "a"'s.
    other = makers.ask(cache, "k4", "b")
    alsoK4 = makers.ask(cache, "k4", "a")
    assert makers.started == ["k1", "k4"]
    makers.making["k4"].callback(b"four")
    assert other == alsoK4 == [b"four"]
    # A hit is served at once, whatever "a" is making.
    assert makers.ask(cache, "k4", "a") == [b"four"]
    makers.making["k1"].callback(b"one")
    assert got[0] == [b"one"] and makers.started == ["k1", "k4", "k2"]
    makers.making["k2"].errback(OSError("store unavailable"))
    got[1].append(None)  # (the failure is the next waiter's business)
    assert makers.started == ["k1", "k4", "k2", "k3"]
    makers.making["k3"].callback(None)
    assert got[2] == [None]
    # Done: the next miss of "a" is made at once.
    makers.ask(cache, "k5", "a")
    assert makers.started[-1] == "k5"


def test_aWaitingMissMadeMeanwhileIsServed() -> None:
    cache = AnswerCache()
    makers = Makers()
    first = makers.ask(cache, "k1", "a")
    second = makers.ask(cache, "k2", "a")
    third = makers.ask(cache, "k3", "a")
    makers.ask(cache, "k2", "b")  # made for "b" while "a" waits
    makers.making["k2"].callback(b"two")
    makers.ask(cache, "k3", "b")
    assert second == [] and makers.started == ["k1", "k2", "k3"]
    makers.making["k1"].callback(b"one")
    # "a"'s k2 is found made, and its k3 waits for the one being made.
    assert (first, second) == ([b"one"], [b"two"])
    assert makers.started == ["k1", "k2", "k3"]
    makers.making["k3"].callback(b"three")
    assert third == [b"three"]


def test_missesMadeAtOnceRunInOrder() -> None:
    cache = AnswerCache()
    made: list[str] = []
    got: list[bytes | None] = []

    def make(key: str) -> Deferred[bytes | None]:
        made.append(key)
        return succeed(key.encode())

    for key in ("a", "b", "c"):
        cache.answer(key, lambda key=key: make(key), "client").addCallback(got.append)  # type: ignore[misc]
    assert made == ["a", "b", "c"] and got == [b"a", b"b", b"c"]
    assert cache._clients == {}


def test_aMissIsChargedBeforeItIsMade() -> None:
    cache = AnswerCache(maxBytes=1000, largest=500)
    makers = Makers()
    makers.ask(cache, "k", "a")
    # Its size is not known yet: a turn's work, before it is made.
    assert makers.chargedAtStart == [[("k", MISS_COST)]]
    makers.making["k"].callback(b"x" * 400)
    assert makers.charges == [("k", MISS_COST)]  # no more than charged
    cache = AnswerCache(maxBytes=1000, largest=500, missCost=100)
    makers = Makers()
    makers.ask(cache, "k", "a")
    makers.making["k"].callback(b"x" * 400)
    assert makers.charges == [("k", 100), ("k", 300)]  # the rest, once made
    for key in ("j", "i"):  # k is dropped...
        makers.ask(cache, key, "a")
        makers.making[key].callback(b"y" * 400)
    assert cache.get("k") is None
    makers.charges.clear()
    makers.ask(cache, "k", "a")
    # ...and made again: charged its size up front.
    assert makers.chargedAtStart[-1] == [("k", 400)]
    makers.making["k"].callback(b"x" * 400)
    assert makers.charges == [("k", 400)]
    # A hit, and a wait for one being made, are charged nothing here.
    makers.charges.clear()
    makers.ask(cache, "k", "a")
    makers.ask(cache, "m", "a")
    makers.ask(cache, "m", "b")
    assert makers.charges == [("m", 100)]


def test_theDefaultBound() -> None:
    cache = AnswerCache()
    assert cache.maxBytes == ANSWER_CACHE_BYTES == 16 * 1024 * 1024


@pytest.mark.parametrize("touch", [False, True])
def test_theLeastRecentlyUsedGoesFirst(touch: bool) -> None:
    cache = AnswerCache(maxBytes=300, largest=100)
    for key in "abc":
        cache.put(key, key.encode() * 100)
    if touch:
        assert cache.get("a") is not None
    cache.put("d", b"d" * 100)
    kept = {key for key in "abcd" if cache.get(key) is not None}
    assert kept == ({"a", "c", "d"} if touch else {"b", "c", "d"})
    assert cache.size == 300


@given(
    maxBytes=st.integers(1, 5000),
    steps=st.lists(
        st.tuples(st.booleans(), st.integers(0, 9), st.integers(0, 3000)),
        max_size=60,
    ),
)
def test_theCacheIsAnLRUWithinItsBound(
    maxBytes: int, steps: list[tuple[bool, int, int]]
) -> None:
    cache = AnswerCache(maxBytes=maxBytes)
    model: OrderedDict[int, bytes] = OrderedDict()
    for isPut, key, size in steps:
        if isPut:
            answer = bytes([key]) * size
            assert cache.put(key, answer) is answer
            model.pop(key, None)
            if size <= maxBytes // 4:
                model[key] = answer
            while sum(map(len, model.values())) > maxBytes:
                model.popitem(last=False)
        else:
            expected = model.get(key)
            if expected is not None:
                model.move_to_end(key)
            assert cache.get(key) == expected
        assert cache.size == sum(map(len, model.values())) <= maxBytes
        assert len(cache) == len(model)


def test_theCompositionRootMakesOneCacheForTheSite() -> None:
    faces = Faces(RandnumServer(source=seededSource(1), clock=Clock()))
    root = faces.http.resource
    drawings = root.children[b"v1"].children[b"drawings"]
    page = root.children[b"draws"]
    assert isinstance(drawings, DrawingsResource) and isinstance(page, DrawPage)
    assert drawings.answers is page.answers is faces.answers
