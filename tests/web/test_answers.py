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
from randnum.web.answers import ANSWER_CACHE_BYTES, AnswerCache
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
