"""
The number source: ranges, uniformity, uniqueness, reproducibility.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from randnum.generation.source import (
    TABLE_SPAN,
    NumberSource,
    RenderTable,
    _forgetPoolsAfterFork,
    seededSource,
    systemSource,
)
from randnum.query import INT64_MAX, INT64_MIN, Query

int64 = st.integers(INT64_MIN, INT64_MAX)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[int, int]:
    """
    Ranges inside signed 64-bit, biased towards small and edge-case spans.
    """
    low = draw(int64)
    span = draw(
        st.one_of(
            st.integers(1, 300),
            st.integers(1, TABLE_SPAN + 10),
            st.integers(1, INT64_MAX - low + 1),
        )
    )
    return low, min(low + span - 1, INT64_MAX)


def chiSquare(counts: Counter[int], cells: list[int], draws: int) -> float:
    expected = draws / len(cells)
    return sum((counts[cell] - expected) ** 2 / expected for cell in cells)


@given(ranges(), st.integers(1, 200))
def test_integersStayInRange(bounds: tuple[int, int], n: int) -> None:
    low, high = bounds
    values = systemSource().integers(low, high, n)
    assert len(values) == n
    assert all(low <= value <= high for value in values)


@given(ranges(), st.integers(1, 200))
def test_renderedNumbersStayInRange(bounds: tuple[int, int], n: int) -> None:
    low, high = bounds
    source = systemSource()
    source.prepare(low, high)
    rendered = source.render(low, high, n)
    assert len(rendered) == n
    assert all(low <= int(text) <= high for text in rendered)


def test_fullSixtyFourBitRange() -> None:
    values = systemSource().integers(INT64_MIN, INT64_MAX, 1000)
    assert all(INT64_MIN <= value <= INT64_MAX for value in values)
    # Both signs show up: the whole range is reachable, not just a part.
    assert min(values) < 0 < max(values)


@given(
    st.integers(INT64_MIN, INT64_MAX - TABLE_SPAN),
    st.integers(1, TABLE_SPAN),
    st.lists(st.integers(0, TABLE_SPAN - 1), min_size=1, max_size=50),
)
@settings(max_examples=30)
def test_renderTableMapsWordsLikeTheGenericSampler(
    low: int, span: int, words: list[int]
) -> None:
    """
    The precomputed table is an optimisation only: each 16-bit word renders
    as the number the generic sampler makes of it, and exactly the words at
    or above the largest multiple of the span are rejected.
    """
    table = RenderTable(low, low + span - 1)
    limit = TABLE_SPAN - TABLE_SPAN % span
    for word in words:
        expected = b"%d" % (low + word % span) if word < limit else None
        assert table.table[word] == expected


@pytest.mark.live
def test_poolIsEmptiedInAForkedChild() -> None:
    """
    A child process must not hand out the numbers its parent has drawn.
    """
    source = systemSource()
    source.prepare(1, 10**4)
    source.render(1, 10**4, 1)
    table = source._tables[1, 10**4]
    assert len(table.pool) > 0
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the pool's size and leave at once
        os.write(writing, b"%d" % len(table.pool))
        os._exit(0)
    os.close(writing)
    reported = os.read(reading, 64)
    os.close(reading)
    os.waitpid(pid, 0)
    assert reported == b"0"
    assert len(table.pool) > 0


def test_poolServesRequestsOfAnySize() -> None:
    source = seededSource(3)
    source.prepare(1, 6)
    sizes = [1, 5000, 3, RenderTable.POOL, 1]
    batches = [source.render(1, 6, n) for n in sizes]
    assert [len(batch) for batch in batches] == sizes
    assert all(b"1" <= value <= b"6" for batch in batches for value in batch)


@given(ranges(), st.data())
def test_distinctNumbersAreDistinctAndInRange(
    bounds: tuple[int, int], data: st.DataObject
) -> None:
    low, high = bounds
    n = data.draw(st.integers(1, min(500, high - low + 1)))
    values = systemSource().distinct(low, high, n)
    assert len(values) == n
    assert len(set(values)) == n
    assert all(low <= value <= high for value in values)


def test_distinctCanTakeTheWholeRange() -> None:
    assert sorted(systemSource().distinct(-3, 3, 7)) == list(range(-3, 4))


def test_distinctRefusesMoreThanTheRangeHolds() -> None:
    with pytest.raises(ValueError):
        systemSource().distinct(1, 6, 7)


@given(st.integers(), ranges(), st.integers(1, 100), st.booleans())
def test_seededSourceIsReproducible(
    seed: int, bounds: tuple[int, int], n: int, unique: bool
) -> None:
    low, high = bounds
    query = Query(min=low, max=high, n=min(n, high - low + 1), unique=unique)
    assert seededSource(seed).answer(query) == seededSource(seed).answer(query)


def test_seededSourcesDifferBySeed() -> None:
    assert seededSource(1).integers(1, 10**9, 20) != seededSource(2).integers(
        1, 10**9, 20
    )


def test_seededSourceIsMarkedInsecure() -> None:
    assert not seededSource(1).cryptographic
    assert "NOT cryptographic" in seededSource(1).description
    assert systemSource().cryptographic


# Critical value of the chi-square distribution at p = 0.001 for 9 degrees
# of freedom.  The seeds are fixed, so these checks cannot flake: they fail
# only if the sampling changes in a way that skews it.
CHI2_9DF_P001 = 27.877


@pytest.mark.parametrize("prepared", [False, True])
def test_uniformOverTenValues(prepared: bool) -> None:
    source = seededSource(20261124)
    if prepared:
        source.prepare(1, 10)
    draws = 100_000
    counts = Counter(int(text) for text in source.render(1, 10, draws))
    assert chiSquare(counts, list(range(1, 11)), draws) < CHI2_9DF_P001


@pytest.mark.parametrize("prepared", [False, True])
def test_uniformWhereModuloWouldBeBiased(prepared: bool) -> None:
    """
    40000 does not divide 2**16: a plain modulo of a 16-bit word would make
    0..25535 twice as likely as 25536..39999.  Ten equal buckets expose it.
    """
    source = seededSource(7)
    if prepared:
        source.prepare(0, 39999)
    draws = 100_000
    counts = Counter(int(text) // 4000 for text in source.render(0, 39999, draws))
    assert chiSquare(counts, list(range(10)), draws) < CHI2_9DF_P001


def test_distinctIsUniformOverPositions() -> None:
    """
    Every value is equally likely in the first position of a sample.
    """
    source = seededSource(99)
    draws = 20_000
    counts = Counter(source.distinct(1, 10, 3)[0] for _ in range(draws))
    assert chiSquare(counts, list(range(1, 11)), draws) < CHI2_9DF_P001


def test_renderTableRejectsWordsAboveTheLimit() -> None:
    table = RenderTable(1, 10000)
    assert table.limit == 60000
    assert table.table[59999] == b"10000"
    assert table.table[60000] is None
    assert table.table[0] == b"1"


def test_renderTableRefusesWideRanges() -> None:
    with pytest.raises(ValueError):
        RenderTable(0, TABLE_SPAN)


def test_prepareIgnoresWideRanges() -> None:
    source = NumberSource(bytes, cryptographic=False, description="zeros")
    source.prepare(0, 10**12)
    assert source.render(0, 10**12, 3) == [b"0", b"0", b"0"]


@pytest.mark.parametrize(("low", "high"), [(1, 10000), (-3, 3), (1, 10**12)])
def test_oneRendererDrawsWhatRenderWould(low: int, high: int) -> None:
    one, many = seededSource(3), seededSource(3)
    for source in (one, many):
        source.prepare(low, high)
    draw = one.oneRenderer(low, high)
    singles = [draw() for _ in range(5000)]
    assert singles == [many.render(low, high, 1)[0] for _ in range(5000)]
    assert all(low <= int(value) <= high for value in singles)


def test_whatRunsInAForkedChildEmptiesEveryPool() -> None:
    # The fork hook itself, called here; the test above forks for real.
    source = seededSource(1)
    source.prepare(1, 6)
    source.render(1, 6, 1)
    table = source._tables[1, 6]
    assert table.pool
    _forgetPoolsAfterFork()
    assert table.pool == []


def test_distinctNumbersComeInBatchesOfTheSizeAsked() -> None:
    batches = list(seededSource(1).distinctBatches(1, 100, 10, 4))
    assert [len(batch) for batch in batches] == [4, 4, 2]
    # The same numbers, in the same order, as from one batch.
    assert [v for batch in batches for v in batch] == seededSource(1).distinct(
        1, 100, 10
    )
