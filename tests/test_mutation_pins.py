# Twisted's test doubles (StringTransport, Clock) are not annotated.
# mypy: disallow-untyped-calls=False
"""
Exact values that mutation testing showed were not pinned: the sampler's
rejection steps driven by scripted bytes, golden seeded outputs, error
kinds and the counts they feed, boundaries at exactly a limit, and what a
connection does after it has ended.
"""

from __future__ import annotations

import socket
import struct
from collections import Counter
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loopback import refusingTransport
from twisted.internet import tcp
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import LogEvent, formatEvent

from randnum.flow import PROGRESS, SLICE, ReplyWriter
from randnum.generation.source import (
    TABLE_SPAN,
    NumberSource,
    RenderTable,
    seededSource,
    systemSource,
)
from randnum.limits import ConnectionCounter, Limits, peerHost
from randnum.query import (
    INT64_MAX,
    INT64_MIN,
    Query,
    QueryError,
    parseDecimal,
    parseLine,
)
from randnum.server import RandnumServer
from randnum.stats import RejectionLog, TcpStats
from randnum.tcp.answering import PARSE_COST, Answerer
from randnum.tcp.framing import LineReader, firstLongLine, hasLongLine
from randnum.tcp.protocol import Framing, RandnumFactory, RandnumProtocol

TOP = 1 << 64


class Script:
    """
    Random bytes from a script of words: each call takes the next bytes, so
    a test decides exactly which words the sampler sees (zeros after the
    script).
    """

    def __init__(self, width: int, words: Iterable[int]) -> None:
        code = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
        self.data = b"".join(struct.pack("<" + code, word) for word in words)
        self.calls: list[int] = []

    def __call__(self, count: int) -> bytes:
        self.calls.append(count)
        taken, self.data = self.data[:count], self.data[count:]
        return taken + bytes(count - len(taken))


def scripted(width: int, *words: int) -> tuple[NumberSource, Script]:
    script = Script(width, words)
    return NumberSource(script, cryptographic=False, description="script"), script


# The sampler's rejection step.


def test_integersRejectWordsAtAndAboveTheLimit() -> None:
    # Six values in byte words: 252 is the largest multiple of 6 below 256,
    # so 252..255 are drawn again and 251 is the last word accepted.
    source, _ = scripted(1, 252, 255, 251, 0, 6, 5)
    assert source.integers(1, 6, 4) == [6, 1, 1, 6]


def test_integersDrawAgainWhenAWholeBatchIsRejected() -> None:
    # One number needs 1 * 256 // 252 + 0 + 8 = 9 words; all are rejected.
    source, script = scripted(1, *([255] * 9), 3)
    assert source.integers(10, 15, 1) == [13]
    assert script.calls == [9, 9]


@pytest.mark.parametrize(
    ("span", "width"),
    [(1, 1), (256, 1), (257, 2), (1 << 16, 2), ((1 << 16) + 1, 4), (TOP, 8)],
)
def test_wordWidthIsTheSmallestThatHoldsTheSpan(span: int, width: int) -> None:
    source, script = scripted(width)
    source.integers(0, span - 1, 1)
    assert script.calls[0] % width == 0
    assert script.calls[0] // width >= 9


def test_fullRangeWordsMapOneToOne() -> None:
    source, _ = scripted(8, 0, TOP - 1, 1 << 63)
    assert source.integers(INT64_MIN, INT64_MAX, 3) == [INT64_MIN, INT64_MAX, 0]


def test_renderTableLimitAndEntries() -> None:
    table = RenderTable(1, 6)
    assert table.limit == 65532
    assert (table.table[0], table.table[5], table.table[65531]) == (b"1", b"6", b"6")
    assert table.table[65532] is None and table.table[65535] is None
    # A span of exactly TABLE_SPAN rejects nothing.
    whole = RenderTable(0, TABLE_SPAN - 1)
    assert whole.limit == TABLE_SPAN
    assert whole.table[TABLE_SPAN - 1] == b"65535"
    with pytest.raises(ValueError):
        RenderTable(0, TABLE_SPAN)


def test_renderTableRejectsAndTopsUp() -> None:
    # A pool of 4096 numbers needs 4096 * 65536 // 65532 + 128 + 8 = 4232
    # words; all but two are rejected, so the top-up loop draws 64 words at
    # a time (three from the script, the rest zeros) until the pool is full.
    source, script = scripted(2, 65531, 0, *([65535] * 4230), *([2] * 64))
    source.prepare(1, 6)
    rendered = source.render(1, 6, 66)
    assert script.calls == [4232 * 2] + [64 * 2] * 64
    assert rendered == [b"1"] * 66
    pool = source._tables[1, 6].pool
    assert len(pool) == 2 + 64 * 64 - 66
    assert pool[:4] == [b"6", b"1", b"3", b"3"]
    assert pool.count(b"3") == 64


def test_distinctRejectsAndReadsEachWordOnce() -> None:
    # bound 10: 2**64 % 10 == 6, so words from 2**64 - 6 up are rejected;
    # bound 9: from 2**64 - 7 up.
    source, script = scripted(8, TOP - 1, 7, TOP - 6, 0, 1)
    assert source.distinct(0, 9, 3) == [7, 1, 3]
    assert script.calls == [3 * 8, 8 * 8]


def test_distinctSwapsLikeFisherYates() -> None:
    # Each word picks a position among those not yet taken.
    source, _ = scripted(8, 2, 2, 0, 1)
    assert source.distinct(10, 13, 4) == [12, 13, 10, 11]


# Golden seeded outputs: --seed's promise.  Changing these is a deliberate,
# documented break of reproducibility.


def test_goldenSeededIntegers() -> None:
    source = seededSource(2026)
    assert source.integers(1, 6, 10) == [2, 3, 1, 1, 5, 3, 4, 4, 1, 2]
    assert source.integers(INT64_MIN, INT64_MAX, 3) == [
        6640838647277864855,
        -7330056423261040055,
        -5104499074798342965,
    ]


def test_goldenSeededRenderedDefaults() -> None:
    source = seededSource(2026)
    source.prepare(1, 10000)
    assert source.render(1, 10000, 5) == [b"9805", b"2035", b"378", b"8101", b"6754"]
    assert source.render(1, 10000, 3) == [b"5202", b"5972", b"9341"]


def test_goldenSeededDistinct() -> None:
    source = seededSource(2026)
    assert source.distinct(1, 49, 6) == [38, 28, 9, 48, 33, 8]
    assert source.distinct(1, 10**9, 4) == [442123038, 585392724, 364258314, 805381498]
    assert source.distinct(-3, 3, 7) == [-2, 3, 0, 2, -3, -1, 1]


def test_distinctIsUniformAtEveryPosition() -> None:
    source = seededSource(7)
    draws = 5000
    positions: list[Counter[int]] = [Counter() for _ in range(5)]
    for _ in range(draws):
        for position, value in enumerate(source.distinct(1, 5, 5)):
            positions[position][value] += 1
    for counts in positions:
        expected = draws / 5
        chi = sum((counts[v] - expected) ** 2 / expected for v in range(1, 6))
        assert chi < 18.47  # 4 degrees of freedom, p = 0.001


# Queries: exact kinds, exact bounds.


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (b"count=5", "unknown_parameter"),
        (b"n=1 n=2", "repeated_parameter"),
        (b"n=", "empty_value"),
        (b"n=abc", "not_an_integer"),
        (b"unique=maybe", "not_a_boolean"),
        (b"min=9223372036854775808", "out_of_range"),
        (b"max=-9223372036854775809", "out_of_range"),
        (b"min=9 max=1", "min_exceeds_max"),
        (b"n=0", "bad_count"),
        (b"n=10001", "bad_count"),
        (b"n=7 min=1 max=6 unique=true", "too_few_values"),
    ],
)
def test_everyErrorHasItsKindAndFeedsItsCount(line: bytes, kind: str) -> None:
    with pytest.raises(QueryError) as raised:
        parseLine(line, Query())
    assert raised.value.kind == kind
    assert kind in QueryError.KINDS
    protocol, transport = connect()
    protocol.dataReceived(line + b"\n")
    assert transport.value() == b"ERR " + raised.value.reason.encode() + b"\n"
    stats = protocol.stats
    assert dict(stats.errorKinds) == {kind: 1}
    assert (stats.requests, stats.errors, stats.numbers) == (1, 1, 0)


def test_rangeBoundsAreInclusive() -> None:
    query = parseLine(b"min=-9223372036854775808 max=9223372036854775807", Query())
    assert (query.min, query.max) == (INT64_MIN, INT64_MAX)
    assert parseLine(b"n=10000", Query()).n == 10000
    assert parseLine(b"n=6 min=1 max=6 unique=true", Query()).span == 6
    assert parseLine(b"min=5 max=5", Query()).span == 1


# Counting across connections, raw requests and batches.


def factory(**limits: object) -> RandnumFactory:
    return RandnumFactory(
        framing=Framing.AUTO,
        source=NumberSource(bytes, cryptographic=False, description="zeros"),
        limits=Limits(**limits),  # type: ignore[arg-type]
        clock=Clock(),
    )


def connect(
    made: RandnumFactory | None = None, host: str = "127.0.0.1"
) -> tuple[RandnumProtocol, StringTransport]:
    made = made or factory()
    peer = IPv4Address("TCP", host, 40000)
    protocol = made.buildProtocol(peer)
    transport = StringTransport(peerAddress=peer)
    protocol.makeConnection(transport)
    return protocol, transport


def test_countsAddUpAcrossConnectionsAndKinds() -> None:
    made = factory()
    first, _ = connect(made)
    second, _ = connect(made)
    first.dataReceived(b"raw")
    first.dataReceived(b"again")
    second.dataReceived(b"\n\nn=3\n")
    second.dataReceived(b"n=0\nn=2 min=4 max=4\n")
    first.dataReceived(b"\n")
    stats = made.stats
    assert (stats.connections, stats.open) == (2, 2)
    assert (stats.requests, stats.rawRequests) == (8, 2)
    assert (stats.numbers, stats.errors) == (2 + 2 + 3 + 2 + 1, 1)
    first.connectionLost()
    assert (stats.connections, stats.open) == (2, 1)
    assert made.connections.total == 1


def test_refusedConnectionsAreCountedNotAdmitted() -> None:
    made = factory(maxConnections=1)
    connect(made)
    for _ in range(3):
        refused, transport = connect(made)
        assert transport.value() == b"ERR busy\n"
        refused.connectionLost()
    stats = made.stats
    assert (stats.connections, stats.open, stats.refused) == (1, 1, 3)
    assert made.connections.total == 1


# Boundaries at exactly a limit.


@given(st.integers(1, 50), st.sampled_from([b"", b"\n", b"\n\n", b"a\n"]))
def test_hasLongLineAtExactlyTheLimit(limit: int, prefix: bytes) -> None:
    exact = prefix + b"x" * limit + b"\n"
    assert not hasLongLine(exact, limit)
    assert hasLongLine(prefix + b"x" * (limit + 1), limit)
    assert hasLongLine(exact, limit - 1) == (limit > 0)
    assert firstLongLine(exact, limit, 0, len(exact)) == -1


def test_firstLongLineFindsTheFirst() -> None:
    data = b"ab\nabcd\nabcdef\n"
    assert firstLongLine(data, 3, 0, len(data)) == 3
    assert firstLongLine(data, 4, 0, len(data)) == 8
    assert firstLongLine(data, 6, 0, len(data)) == -1
    # A carriage return before the newline does not count.
    assert firstLongLine(b"abc\r\n", 3, 0, 4) == -1
    assert firstLongLine(b"abcd\r\n", 3, 0, 5) == 0


def test_unfinishedLineOfExactlyTheLimitWaits() -> None:
    reader = LineReader(10)
    reader.feed(b"x" * 10)
    assert not reader.tooLong and reader.unfinished and not reader.pending
    reader.feed(b"\r")
    assert not reader.tooLong
    reader.feed(b"\n")
    assert reader.pending and (reader.pos, reader.end) == (0, 12)
    other = LineReader(10)
    other.feed(b"x" * 11)
    assert other.tooLong and other.buffer == b""


def test_lineReaderKeepsCompleteLinesBeforeALongOne() -> None:
    reader = LineReader(4)
    reader.feed(b"ab\ncd\n" + b"x" * 5 + b"\nzz\n")
    assert reader.tooLong
    assert reader.buffer == b"ab\ncd\n" and reader.end == 6
    reader.feed(b"more\n")
    assert reader.buffer == b"ab\ncd\n"
    reader.consumed(3)
    assert (reader.pos, reader.pending) == (3, True)
    reader.consumed(6)
    assert (reader.buffer, reader.pos, reader.end) == (b"", 0, 0)


def test_endOfInputCompletesTheLastLine() -> None:
    reader = LineReader(10)
    reader.feed(b"n=1\nn=2")
    reader.endInput()
    assert (reader.buffer, reader.end, reader.ended) == (b"n=1\nn=2\n", 8, True)
    reader.feed(b"ignored\n")
    assert reader.buffer == b"n=1\nn=2\n"


# After the end: nothing more is read, and how it ended is known.


def test_afterTheIdleTimeoutDataIsIgnoredAndTheCloseIsAFin() -> None:
    made = factory(idleTimeout=5)
    protocol, transport = connect(made)
    made.server.clock.advance(5)  # type: ignore[attr-defined]
    assert transport.disconnecting and not transport.disconnected
    assert protocol.closing is True
    protocol.dataReceived(b"\n")
    assert transport.value() == b""
    assert (made.stats.idleTimeouts, made.stats.requests) == (1, 0)


def test_afterAHalfCloseDataIsIgnored() -> None:
    protocol, transport = connect()
    protocol.dataReceived(b"\nn=2")
    protocol.readConnectionLost()
    assert transport.value().count(b"\n") == 2
    assert transport.disconnecting and not transport.disconnected
    protocol.dataReceived(b"\n\n")
    assert transport.value().count(b"\n") == 2


def test_afterTheConnectionIsLostDataIsIgnored() -> None:
    protocol, transport = connect()
    protocol.dataReceived(b"\n")
    protocol.connectionLost()
    protocol.dataReceived(b"\n")
    assert transport.value().count(b"\n") == 1
    assert protocol.stats.open == 0


def test_aStalledReaderIsAborted() -> None:
    made = factory(idleTimeout=5)
    protocol, transport = connect(made)
    protocol.dataReceived(b"\n")
    protocol.writer.pauseProducing()  # the transport's buffer is full
    made.server.clock.advance(5)  # type: ignore[attr-defined]
    assert transport.disconnected  # an abort, not a FIN


# Survivors of the first mutation run, each pinned.


def test_queryErrorIsItsReason() -> None:
    error = QueryError("n must be between 1 and 10000", "bad_count")
    assert str(error) == "n must be between 1 and 10000"
    assert error.args == ("n must be between 1 and 10000",)


@pytest.mark.parametrize(
    ("name", "shown"),
    [("a" * 32, "a" * 32), ("a" * 33, "a" * 32 + "...")],
)
def test_unknownNamesAreShownUpTo32Characters(name: str, shown: str) -> None:
    with pytest.raises(QueryError) as raised:
        parseLine(name.encode() + b"=1", Query())
    assert raised.value.reason == f"unknown parameter {shown!r}"


@pytest.mark.parametrize(
    ("value", "number"), [("10", 10.0), ("0.5", 0.5), (".25", 0.25), ("7.", 7.0)]
)
def test_decimalsAreAsciiDigitsAndOnePoint(value: str, number: float) -> None:
    assert parseDecimal("timeout", value) == number


@pytest.mark.parametrize(
    "value", ["", ".", "1e3", "inf", "nan", "-1", "+1", " 5", "1_0", "1.2.3", "\u0665"]
)
def test_anythingElseIsNotADecimal(value: str) -> None:
    with pytest.raises(QueryError) as raised:
        parseDecimal("timeout", value)
    assert (raised.value.reason, raised.value.kind) == (
        "timeout must be a decimal number",
        "not_a_number",
    )


def test_firstLongLineLooksOnlyWithinItsBounds() -> None:
    # The line is cut at `end`, even though it goes on past it.
    assert firstLongLine(b"abcdef\n", 3, 0, 3) == -1
    assert firstLongLine(b"abcdef\n", 3, 0, 4) == 0


def test_unfinishedInputKeepsTheCompleteLinesBeforeIt() -> None:
    reader = LineReader(10)
    reader.feed(b"n=1\n")
    reader.feed(b"x")
    assert (reader.pos, reader.end, reader.pending) == (0, 4, True)
    assert reader.buffer == b"n=1\nx"


def test_peerHostIsAStringOrNothing() -> None:
    class Odd:
        host = 5

    assert peerHost(Odd()) is None  # type: ignore[arg-type]
    assert peerHost(IPv4Address("TCP", "10.1.2.3", 1)) == "10.1.2.3"


def test_uncountedHostsAreNeverCounted() -> None:
    counter = ConnectionCounter(Limits(maxConnectionsPerHost=0))
    assert counter.admit("10.0.0.1")
    counter.release("10.0.0.1")
    assert (counter.total, dict(counter.perHost)) == (0, {})


def test_rejectionLogWindow() -> None:
    clock = Clock()
    clock.advance(100)
    log = RejectionLog(clock.seconds)
    assert log.window == 60.0
    assert log.shouldLog("refused")
    clock.advance(30)
    assert not log.shouldLog("refused")
    assert log.shouldLog("linesTooLong")
    clock.advance(30)
    assert log.shouldLog("refused")


def test_serverDefaults() -> None:
    server = RandnumServer(clock=Clock())
    assert server.defaults == Query(min=1, max=10000)
    assert server.limits == Limits()


def test_summaryAndRejectionLinesWordForWord(logged: list[LogEvent]) -> None:
    server = RandnumServer(clock=Clock())
    server.tcp.open, server.tcp.requests, server.tcp.linesTooLong = 2, 10, 1
    server.http.requests, server.http.bodiesRefused = 3, 1
    server.logSummary()
    assert [formatEvent(event) for event in logged] == [
        "randnum tcp summary: 2 open; since the last summary 0 connections, "
        "10 requests, 0 numbers, 0 errors, 0 refused busy, 0 idle timeouts, "
        "1 lines too long",
        "randnum http summary: 0 open; since the last summary 0 connections, "
        "3 requests, 0 numbers, 0 errors, 0 refused busy, 0 idle timeouts, "
        "1 request bodies refused",
    ]
    peer = IPv4Address("TCP", "10.0.0.9", 5)
    server.reject(server.tcp, "refused", "busy", peer, "TCP")
    assert formatEvent(logged[-1]) == (
        "randnum closed a TCP connection from "
        "IPv4Address(type='TCP', host='10.0.0.9', port=5): busy "
        "(more of this kind are counted, not logged, for a while)"
    )


def test_refusalsAreLoggedWithTheirPeerAndFace(logged: list[LogEvent]) -> None:
    made = factory(maxConnections=1)
    connect(made)
    connect(made, "10.9.9.9")
    (event,) = [e for e in logged if e.get("kind") == "refused"]
    assert (event["face"], event["peer"].host, event["reason"]) == (
        "TCP",
        "10.9.9.9",
        "busy",
    )


def test_theFactoryIsThePrototcolsFactory() -> None:
    made = factory()
    assert made.buildProtocol(None).factory is made


def test_samplerErrorsSayWhy() -> None:
    source = seededSource(1)
    with pytest.raises(ValueError, match=r"^low must not exceed high$"):
        source.integers(2, 1, 1)
    with pytest.raises(
        ValueError, match=r"^cannot draw more distinct numbers than the range holds$"
    ):
        source.distinct(1, 3, 4)
    with pytest.raises(ValueError, match=f"^span {TOP + 1} does not fit in 64 bits$"):
        source.integers(0, TOP, 1)
    assert source.distinct(1, 5, 0) == []


def test_integersKeepWhatEachBatchAccepted() -> None:
    # 20 numbers: a first batch of 20 * 256 // 252 + 8 = 28 words of which
    # 3 are accepted, then 17 + 8 = 25 words for the other 17.
    source, script = scripted(1, 0, 1, 2, *([255] * 25), *range(25))
    assert source.integers(0, 5, 20) == [0, 1, 2] + [w % 6 for w in range(17)]
    assert script.calls == [28, 25]


def test_renderTableStopsAtExactlyTheNumberNeeded() -> None:
    source, script = scripted(2, *([0] * 4032), *([65535] * 200))
    source.prepare(1, 6)
    assert source.render(1, 6, 4096) == [b"1"] * 4096
    assert script.calls == [4232 * 2, 64 * 2]
    assert source._tables[1, 6].high == 6


def test_tablesAreForSpansUpToTableSpan() -> None:
    source = seededSource(1)
    source.prepare(0, TABLE_SPAN - 1)
    source.prepare(0, TABLE_SPAN)
    source.prepare(5, 5)
    assert sorted(source._tables) == [(0, TABLE_SPAN - 1), (5, 5)]


def test_renderersWorkWithoutATable() -> None:
    source, _ = scripted(1, 0, 1, 5)
    assert source.renderer(1, 6)(3) == [b"1", b"2", b"6"]
    assert source.oneRenderer(7, 7)() == b"7"


def test_distinctRejectsExactlyAtTheLimit() -> None:
    # bound 10: the limit is 2**64 - 6; that word is the first rejected.
    source, _ = scripted(8, TOP - 6, 4)
    assert source.distinct(0, 9, 1) == [4]
    # A word far above 2**64 - 2**64 / 10 but below the limit is accepted.
    source, _ = scripted(8, 17 * 10**18 + 3, 8)
    assert source.distinct(0, 9, 1) == [3]


def test_sourcesDescribeThemselves() -> None:
    system = systemSource()
    assert (system.cryptographic, system.description) == (
        True,
        "os.urandom (cryptographic)",
    )
    seeded = seededSource(42)
    assert seeded.cryptographic is False
    assert seeded.description == "seeded PRNG, seed 42 (NOT cryptographic)"


def answerer(reader: LineReader) -> Answerer:
    return Answerer(
        NumberSource(bytes, cryptographic=False, description="zeros"),
        Query(),
        TcpStats(),
    )


def test_aLineStartingWithEqualsIsNotAParameterRequest() -> None:
    protocol, transport = connect()
    protocol.dataReceived(b"=\nn=3\n")
    assert transport.value() == b"1\n1 1 1\n"


def test_tinyBudgetsStillAnswerALineATime() -> None:
    reader = LineReader(1024)
    reader.feed(b"a\nbbbb\ncc\n")
    answering = answerer(reader)
    # A budget of two defaults' bytes: lines longer than it are still
    # answered, one per call, and never answered twice.
    replies = [answering.lines(reader, 12) for _ in range(3)]
    assert replies == [(b"1\n", 1)] * 3
    assert not reader.pending
    reader.feed(b"\n\n\n")
    assert answering.lines(reader, 1) == (b"1\n", 1)


def test_aBudgetIsSpentExactly() -> None:
    reader = LineReader(1024)
    reader.feed(b"n=1\n" * 3)
    answering = answerer(reader)
    assert answering.lines(reader, 2 * PARSE_COST) == (b"1\n1\n", 2)
    assert answering.lines(reader, 2 * PARSE_COST) == (b"1\n", 1)


def test_errorsAreCountedByKindAcrossBatches() -> None:
    protocol, _ = connect()
    protocol.dataReceived(b"n=0\nn=0\ncount=1\n\n")
    protocol.dataReceived(b"n=0\nn=2\n")
    stats = protocol.stats
    assert dict(stats.errorKinds) == {"bad_count": 3, "unknown_parameter": 1}
    assert (stats.errors, stats.requests, stats.numbers) == (4, 6, 3)


def test_parameterLinesLeaveTheDefaultPoolAlone() -> None:
    def defaults(first: bytes) -> bytes:
        made = RandnumFactory(source=seededSource(5), clock=Clock())
        protocol = made.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(b"\n")  # fills the pool of defaults
        protocol.dataReceived(first)
        transport.clear()
        protocol.dataReceived(b"\n")  # from the same pool
        reply: bytes = transport.value()
        return reply

    assert defaults(b"n=2 min=1 max=1\n") == defaults(b"") != b""


def test_nothingIsAnsweredAfterARefusalOrALostWriteSide() -> None:
    made = factory(maxConnections=1)
    connect(made)
    refused, _ = connect(made)
    refused.dataReceived(b"\n\nn=2\n")
    writeless, _ = connect(factory())
    writeless.writeConnectionLost()
    writeless.dataReceived(b"\n")
    assert (made.stats.requests, writeless.stats.requests) == (0, 0)
    assert refused.closing is True and writeless.closing is True


def test_factoryDefaults() -> None:
    made = RandnumFactory(clock=Clock())
    assert made.defaults == Query(min=1, max=10000)
    assert made.framing is Framing.AUTO


def test_theWriterIsAPushProducerExceptOnASocket() -> None:
    transport = StringTransport()
    ReplyWriter(transport)
    assert transport.streaming is True


def test_integersStopAsSoonAsTheyHaveEnough() -> None:
    # 3 numbers: 3 * 256 // 252 + 8 = 11 words, exactly 3 of them accepted.
    source, script = scripted(1, 1, 2, 3, *([255] * 8))
    assert source.integers(0, 5, 3) == [1, 2, 3]
    assert script.calls == [11]


def test_renderTableKnowsItsRange() -> None:
    table = RenderTable(3, 9)
    assert (table.low, table.high) == (3, 9)
    with pytest.raises(ValueError, match=f"span of 1..{TABLE_SPAN}$"):
        RenderTable(0, TABLE_SPAN)
    source = seededSource(1)
    source.prepare(100, 65600)
    assert (100, 65600) in source._tables


def test_theRejectionWindowIsTheServers() -> None:
    assert RandnumServer(clock=Clock(), logWindow=5).rejections.window == 5


def test_aLongLineAnsweredAloneLeavesTheRestIntact() -> None:
    reader = LineReader(1024)
    reader.feed(b"a\nbbbb\n")
    answering = answerer(reader)
    assert answering.lines(reader, 12) == (b"1\n", 1)
    assert answering.lines(reader, 12) == (b"1\n", 1)
    assert (reader.buffer, reader.pos, reader.end) == (b"", 0, 0)
    reader.feed(b"n=3\n")
    assert answering.lines(reader, 12) == (b"1 1 1\n", 3)


def test_idleTimeoutsAreLoggedWithTheirPeerAndFace(logged: list[LogEvent]) -> None:
    made = factory(idleTimeout=5)
    connect(made, "10.7.7.7")
    made.server.clock.advance(5)  # type: ignore[attr-defined]
    (event,) = [e for e in logged if e.get("kind") == "idleTimeouts"]
    assert (event["face"], event["peer"].host, event["reason"]) == (
        "TCP",
        "10.7.7.7",
        "idle timeout",
    )


# Progress a reader makes, and when it stops making it.


class HighWaterTransport(StringTransport):
    """
    An in-memory transport that, like Twisted's own, pauses its producer
    when it holds more than C{mark} unsent bytes, and resumes it once the
    peer has read them all.
    """

    mark = SLICE

    def write(self, data: bytes) -> None:
        super().write(data)
        if self.producer is not None and len(self.value()) > self.mark:
            self.producer.pauseProducing()

    def peerReads(self) -> bytes:
        data: bytes = self.value()
        self.clear()
        assert self.producer is not None
        self.producer.resumeProducing()
        return data


def test_aReaderThatStopsIsAbortedOneTimeoutAfterItsLastRead() -> None:
    made = factory(idleTimeout=5)
    clock = made.server.clock
    protocol = made.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = HighWaterTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(b"n=10000\n" * 4)
    clock.advance(1)  # type: ignore[attr-defined]
    assert transport.peerReads()
    assert protocol.writer.queued  # more replies, and the reader stops
    clock.advance(4.9)  # type: ignore[attr-defined]
    assert not transport.disconnected
    clock.advance(0.1)  # type: ignore[attr-defined]
    assert transport.disconnected  # aborted: five seconds after its read
    assert made.stats.idleTimeouts == 1


def test_progressOnlyTheKernelShowsKeepsAConnection() -> None:
    # Twisted's transport over a real socket pair, in a reactor that never
    # runs: the transport never drains, so the only sign that the peer
    # reads is the kernel's send queue shrinking.
    made = factory(idleTimeout=5)
    clock = made.server.clock
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    protocol = made.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    reactor = MemoryReactorClock()
    transport = tcp.Server(ours, protocol, ("127.0.0.1", 1), None, 1, reactor)  # type: ignore[arg-type]
    protocol.makeConnection(transport)
    protocol.dataReceived(b"n=10000\n" * 40)
    clock.advance(0)  # type: ignore[attr-defined]
    assert protocol.writer.queued
    clock.advance(4)  # type: ignore[attr-defined]
    theirs.recv(2 * PROGRESS)
    clock.advance(1)  # type: ignore[attr-defined]
    assert (made.stats.idleTimeouts, protocol.finished) == (0, False)
    clock.advance(5)  # type: ignore[attr-defined]
    assert (made.stats.idleTimeouts, protocol.finished) == (1, True)
    theirs.close()
    ours.close()


def test_aCloseWithoutAnIdleTimeoutWaitsForItsReplies() -> None:
    made = factory(idleTimeout=None)
    protocol, transport = connect(made)
    protocol.dataReceived(b"\n")
    protocol.writer.pauseProducing()  # the transport's buffer is full
    protocol.readConnectionLost()
    assert transport.disconnecting and not transport.disconnected
    made.server.clock.advance(0)  # type: ignore[attr-defined]  # the turn ends
    assert made.server.clock.getDelayedCalls() == []
    protocol.connectionLost()
    assert made.stats.open == 0


def test_progressCountsOnceOnASocketToo() -> None:
    # The peer reads (the transport drains into the socket) once, at t=1,
    # while more replies wait; then it stops.  Its progress restarted the
    # timer; it must not also excuse it when the timer next expires.
    made = factory(idleTimeout=5)
    clock = made.server.clock
    protocol = made.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport, sock = refusingTransport(protocol)
    protocol.makeConnection(transport)
    protocol.dataReceived(b"n=10000\n" * 4)
    assert protocol.writer.queued
    clock.advance(1)  # type: ignore[attr-defined]
    sock.room = SLICE
    transport.doWrite()
    sock.room = 0
    assert protocol.writer.queued and len(b"".join(sock.sent)) == SLICE
    clock.advance(4.9)  # type: ignore[attr-defined]
    assert made.stats.idleTimeouts == 0
    clock.advance(0.1)  # type: ignore[attr-defined]
    assert (made.stats.idleTimeouts, protocol.finished) == (1, True)
