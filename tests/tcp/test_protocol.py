# Twisted's test doubles (StringTransport, MemoryReactor) are not annotated.
# mypy: disallow-untyped-calls=False
"""
The wire protocol, driven over in-memory transports.
"""

from __future__ import annotations

import gc
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IHalfCloseableProtocol, ITCPTransport
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from zope.interface import implementer

from randnum.generation.source import NumberSource, seededSource
from randnum.limits import WORK_BUDGET, Limits
from randnum.query import QueryError, parseLine
from randnum.tcp.protocol import Framing, RandnumFactory, RandnumProtocol

PEER = IPv4Address("TCP", "127.0.0.1", 40000)


class RecordingTransport(StringTransport):
    """
    A L{StringTransport} that also keeps each write separately.
    """

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        super().write(data)


def connect(
    factory: RandnumFactory | None = None,
) -> tuple[RandnumProtocol, RecordingTransport]:
    # Timers on a clock of their own, not the global reactor.
    factory = factory or RandnumFactory(clock=Clock())
    protocol = factory.buildProtocol(PEER)
    transport = RecordingTransport()
    protocol.makeConnection(transport)
    return protocol, transport


def zeroSource() -> NumberSource:
    """
    A source whose bytes are all zero: every draw is the lowest value (and
    distinct draws count up from it), so replies depend only on the requests.
    """
    return NumberSource(bytes, cryptographic=False, description="zeros")


def numbers(reply: bytes) -> list[int]:
    return [int(field) for field in reply.split(b" ")]


# Raw and auto framing: the original service's exchange.


@pytest.mark.parametrize("framing", [Framing.AUTO, Framing.RAW])
def test_seedClientGetsOneBareNumber(framing: Framing) -> None:
    protocol, transport = connect(RandnumFactory(clock=Clock(), framing=framing))
    protocol.dataReceived(b"Example request")
    reply = transport.value()
    assert reply.decode().isdigit()
    assert 1 <= int(reply) <= 10000


@pytest.mark.parametrize("framing", [Framing.AUTO, Framing.RAW])
def test_eachRawChunkGetsOneNumber(framing: Framing) -> None:
    protocol, transport = connect(RandnumFactory(clock=Clock(), framing=framing))
    for chunk in (b"a", b"n=3 min=1 max=1", b"\x00\xff"):
        protocol.dataReceived(chunk)
    assert len(transport.writes) == 3
    assert all(1 <= int(write) <= 10000 for write in transport.writes)


def test_rawFramingIgnoresNewlines() -> None:
    protocol, transport = connect(
        RandnumFactory(clock=Clock(), framing=Framing.RAW, low=3, high=3)
    )
    protocol.dataReceived(b"n=2\nn=2\n")
    assert transport.value() == b"3"


def test_autoSwitchesToLinesAtTheFirstNewline() -> None:
    protocol, transport = connect(RandnumFactory(clock=Clock(), low=7, high=7))
    protocol.dataReceived(b"hello")
    protocol.dataReceived(b"n=2\nn=3")
    protocol.dataReceived(b"\n")
    assert transport.writes == [b"7", b"7 7\n", b"7 7 7\n"]
    assert protocol.lineMode


def test_autoStaysRawWithoutANewline() -> None:
    protocol, transport = connect()
    protocol.dataReceived(b"one")
    protocol.dataReceived(b"two")
    assert len(transport.writes) == 2
    assert not protocol.lineMode


# An HTTP client on the TCP port.

CURL = (
    b"GET / HTTP/1.1\r\nHost: localhost:5000\r\nUser-Agent: curl/8.5.0\r\n"
    b"Accept: */*\r\n\r\n"
)
REFUSAL_HEAD = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 62\r\n"
    b"Connection: close\r\n"
    b"\r\n"
)
REFUSAL_BODY = b"this is randnum's TCP port; HTTP is served on its --http port\n"


@pytest.mark.parametrize("framing", list(Framing))
def test_anHttpRequestIsToldWhereHttpIsServed(framing: Framing) -> None:
    """
    A connection whose first line is an HTTP request line (C{curl} sent to
    the TCP port) gets a plain HTTP 400 saying so, then the connection
    closes: not numbers, which an HTTP client takes for HTTP/0.9.
    """
    protocol, transport = connect(RandnumFactory(clock=Clock(), framing=framing))
    protocol.dataReceived(CURL)
    assert transport.value() == REFUSAL_HEAD + REFUSAL_BODY
    assert len(REFUSAL_BODY) == 62
    assert transport.disconnecting
    protocol.dataReceived(b"n=1\n")
    assert transport.value() == REFUSAL_HEAD + REFUSAL_BODY


@pytest.mark.parametrize(
    "line",
    [
        b"HEAD /v1/random HTTP/1.0",
        b"POST /x HTTP/1.1",
        b"PUT /x HTTP/1.1",
        b"DELETE /x HTTP/1.1",
        b"OPTIONS * HTTP/1.1",
        b"GET /v1/random?n=3 HTTP/1.1",
    ],
)
def test_everyHttpMethodIsToldWhereHttpIsServed(line: bytes) -> None:
    protocol, transport = connect()
    protocol.dataReceived(line + b"\n")
    body = b"" if line.startswith(b"HEAD") else REFUSAL_BODY
    assert transport.value() == REFUSAL_HEAD + body


def test_anHttpRequestLineInPiecesIsToldWhereHttpIsServed() -> None:
    """
    In line framing the first line may arrive in pieces.
    """
    protocol, transport = connect(RandnumFactory(clock=Clock(), framing=Framing.LINE))
    protocol.dataReceived(b"GET / HT")
    protocol.dataReceived(b"TP/1.1")
    protocol.dataReceived(b"\r\nHost: x\r\n\r\n")
    assert transport.value() == REFUSAL_HEAD + REFUSAL_BODY


@pytest.mark.parametrize(
    "line",
    [
        b"get / HTTP/1.1",
        b"GET / HTTP/2.0",
        b"GET  / HTTP/1.1",
        b"GET / HTTP/1.1 please",
        b"FETCH / HTTP/1.1",
        b"GET /",
        b"Example request",
    ],
)
def test_otherFirstLinesAreRequests(line: bytes) -> None:
    protocol, transport = connect(RandnumFactory(clock=Clock(), low=7, high=7))
    protocol.dataReceived(line + b"\n")
    assert transport.value() == b"7\n"
    assert not transport.disconnecting


def test_onlyTheFirstLineMayBeAnHttpRequest() -> None:
    """
    A request line after the first line, or after a first raw chunk, is
    free text like any other.
    """
    protocol, transport = connect(RandnumFactory(clock=Clock(), low=7, high=7))
    protocol.dataReceived(b"n=2\n")
    protocol.dataReceived(CURL)
    assert transport.value() == b"7 7\n" + b"7\n" * 5
    raw, rawTransport = connect(RandnumFactory(clock=Clock(), low=7, high=7))
    raw.dataReceived(b"GET / HTTP/1.1")
    raw.dataReceived(b"\r\n\r\n")
    assert rawTransport.writes == [b"7", b"7\n7\n"]
    lines, lineTransport = connect(
        RandnumFactory(clock=Clock(), framing=Framing.LINE, low=7, high=7)
    )
    lines.dataReceived(b"Exa")
    lines.dataReceived(b"mple\nGET / HTTP/1.1\r\n")
    assert lineTransport.value() == b"7\n7\n"


# Line framing.


def test_lineFramingWaitsForTheNewline() -> None:
    protocol, transport = connect(RandnumFactory(clock=Clock(), framing=Framing.LINE))
    protocol.dataReceived(b"Example request")
    assert transport.value() == b""
    protocol.dataReceived(b"\n")
    reply = transport.value()
    assert reply.endswith(b"\n")
    assert 1 <= int(reply) <= 10000


def test_parameterRequest() -> None:
    protocol, transport = connect(RandnumFactory(clock=Clock(), framing=Framing.LINE))
    protocol.dataReceived(b"n=5 min=1 max=6\n")
    reply = transport.value()
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1
    values = numbers(reply.rstrip(b"\n"))
    assert len(values) == 5
    assert all(1 <= value <= 6 for value in values)


def test_uniqueParameterRequest() -> None:
    protocol, transport = connect(RandnumFactory(clock=Clock(), framing=Framing.LINE))
    protocol.dataReceived(b"n=6 min=1 max=6 unique=true\n")
    assert sorted(numbers(transport.value().rstrip())) == [1, 2, 3, 4, 5, 6]


def test_carriageReturnLineFeedIsAccepted() -> None:
    protocol, transport = connect(
        RandnumFactory(clock=Clock(), framing=Framing.LINE, low=2, high=2)
    )
    protocol.dataReceived(b"n=2\r\nhello\r\n\r\n")
    assert transport.value() == b"2 2\n2\n2\n"


def test_emptyAndBinaryLinesGetTheDefault() -> None:
    protocol, transport = connect(
        RandnumFactory(clock=Clock(), framing=Framing.LINE, low=4, high=4)
    )
    protocol.dataReceived(b"\n\x00\xff\xfe\n")
    assert transport.value() == b"4\n4\n"


def test_invalidRequestGetsErrAndTheConnectionStaysUsable() -> None:
    protocol, transport = connect(
        RandnumFactory(clock=Clock(), framing=Framing.LINE, low=1, high=1)
    )
    protocol.dataReceived(b"n=0\n")
    protocol.dataReceived(b"n=2\n")
    assert transport.value() == b"ERR n must be between 1 and 10000\n1 1\n"
    assert not transport.disconnecting


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (b"min=9 max=1", b"ERR min must not exceed max"),
        (b"n=abc", b"ERR n must be an integer"),
        (b"unique=maybe", b"ERR unique must be true or false"),
        (b"n=1 n=1", b"ERR repeated parameter n"),
        (b"bogus=1", b"ERR unknown parameter 'bogus'"),
        (b"n=", b"ERR empty value for n"),
        (b"n = 3", b"ERR no spaces around =: n=3"),
        (b"min=1e400", b"ERR min must be an integer"),
        (
            b"n=3 max=2 unique=true",
            b"ERR unique needs n <= 2, the count of values in 1..2",
        ),
    ],
)
def test_everyErrorIsOneErrLine(line: bytes, reply: bytes) -> None:
    protocol, transport = connect(RandnumFactory(clock=Clock(), framing=Framing.LINE))
    protocol.dataReceived(line + b"\n")
    assert transport.value() == reply + b"\n"


def test_pipelinedLinesAreAnsweredInOrderWithOneWrite() -> None:
    protocol, transport = connect(
        RandnumFactory(clock=Clock(), framing=Framing.LINE, source=zeroSource())
    )
    protocol.dataReceived(
        b"hello\nn=3 min=5 max=9\nn=0\nn=2 unique=true min=-1 max=0\n\n"
    )
    assert transport.writes == [
        b"1\n5 5 5\nERR n must be between 1 and 10000\n-1 0\n1\n"
    ]


def test_manyDefaultLinesAreAnsweredOneBudgetPerWrite() -> None:
    clock = Clock()
    protocol, transport = connect(RandnumFactory(framing=Framing.LINE, clock=clock))
    protocol.dataReceived(b"x\n" * 10_000)
    # One work budget (64 KiB, at 6 bytes a reply at most) in this turn...
    assert len(transport.writes) == 1
    assert transport.value().count(b"\n") == WORK_BUDGET // 6 // 2
    assert transport.producerState == "paused"
    # ... and the rest in the next, in one write.
    clock.advance(0)
    assert len(transport.writes) == 2
    assert transport.producerState == "producing"
    replies = transport.value().split(b"\n")
    assert replies[-1] == b""
    assert len(replies) == 10_001
    assert all(1 <= int(reply) <= 10000 for reply in replies[:-1])


def test_factoryRejectsAnInvalidRange() -> None:
    with pytest.raises(QueryError):
        RandnumFactory(low=2, high=1)


def test_factoryUsesTheGivenSource() -> None:
    one, oneTransport = connect(
        RandnumFactory(clock=Clock(), source=seededSource(5), framing=Framing.LINE)
    )
    two, twoTransport = connect(
        RandnumFactory(clock=Clock(), source=seededSource(5), framing=Framing.LINE)
    )
    for protocol in (one, two):
        protocol.dataReceived(b"n=10\n")
    assert oneTransport.value() == twoTransport.value()


# Framing properties.

requestLines = st.one_of(
    st.binary(max_size=20).map(lambda line: line.replace(b"\n", b"")),
    st.builds(
        lambda n, low, span, unique: (
            f"n={n} min={low} max={low + span} unique={unique}".encode()
        ),
        st.integers(0, 12),
        st.integers(-50, 50),
        st.integers(-2, 20),
        st.sampled_from(["true", "false", "maybe"]),
    ),
    st.sampled_from([b"n=", b"foo=bar", b"n=2\r", b"", b"\r"]),
)


@given(st.lists(requestLines, min_size=1, max_size=30), st.data())
def test_anyRechunkingGivesTheSameReplies(
    lines: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [
        stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)
    ]

    whole, wholeTransport = connect(
        RandnumFactory(clock=Clock(), framing=Framing.LINE, source=zeroSource())
    )
    whole.dataReceived(stream)
    chunked, chunkedTransport = connect(
        RandnumFactory(clock=Clock(), framing=Framing.LINE, source=zeroSource())
    )
    for chunk in chunks:
        if chunk:
            chunked.dataReceived(chunk)

    assert chunkedTransport.value() == wholeTransport.value()
    assert wholeTransport.value().count(b"\n") == len(lines)


@given(st.lists(requestLines, min_size=1, max_size=30))
def test_repliesAnswerWhatTheParserUnderstood(lines: list[bytes]) -> None:
    """
    Each reply is C{ERR} exactly when the parser rejects its line, and
    otherwise holds the right count of numbers, in range, distinct if asked.
    """
    factory = RandnumFactory(clock=Clock(), framing=Framing.LINE, low=-5, high=5)
    protocol, transport = connect(factory)
    protocol.dataReceived(b"".join(line + b"\n" for line in lines))
    replies = transport.value().split(b"\n")[:-1]
    assert len(replies) == len(lines)
    for line, reply in zip(lines, replies, strict=True):
        try:
            query = parseLine(line, factory.defaults)
        except QueryError as error:
            assert reply == b"ERR " + error.reason.encode()
            continue
        values = numbers(reply)
        assert len(values) == query.n
        assert all(query.min <= value <= query.max for value in values)
        if query.unique:
            assert len(set(values)) == query.n


# What mutation testing found unpinned (issue 27).


def _answerAtOnce(line: bytes) -> tuple[RandnumProtocol, RecordingTransport, Clock]:
    clock = Clock()
    protocol, transport = connect(
        RandnumFactory(clock=clock, framing=Framing.LINE, source=seededSource(1))
    )
    protocol.dataReceived(line)
    return protocol, transport, clock


def test_aReplyOfExactlyTheStreamingThresholdIsMadeAtOnce() -> None:
    from randnum.tcp.answering import STREAM_ABOVE

    # 8192 strings of 31 characters and their separators: 256 KiB exactly.
    _, transport, _ = _answerAtOnce(b"type=string n=8192 length=31\n")
    assert len(transport.value()) == STREAM_ABOVE
    assert transport.value().endswith(b"\n")


def test_aReplyJustOverTheThresholdIsStreamedAPieceATurn() -> None:
    _, transport, clock = _answerAtOnce(b"type=string n=8193 length=31\n")
    first = len(transport.value())
    assert 0 < first < 8193 * 32
    for _ in range(20):
        clock.advance(0)
    assert len(transport.value()) == 8193 * 32
    assert transport.value().endswith(b"\n")


def test_aStreamedUUIDv7ReplyIsOrderedAndCountedOnce() -> None:
    import uuid

    protocol, transport, clock = _answerAtOnce(b"type=uuid version=7 n=8000\n")
    for _ in range(40):
        clock.advance(0)
    values = [uuid.UUID(text.decode()) for text in transport.value().split()]
    assert len(values) == 8000
    assert {value.version for value in values} == {7}
    assert values == sorted(values) and len(set(values)) == 8000
    stats = protocol.factory.stats
    assert (stats.requests, stats.numbers) == (1, 8000)


def test_theTcpFacesUUIDv7sFollowTheServersClock() -> None:
    import uuid

    clock = Clock()
    clock.advance(1_700_000_000.25)
    protocol, transport = connect(
        RandnumFactory(clock=clock, framing=Framing.LINE, source=seededSource(1))
    )
    protocol.dataReceived(b"type=uuid version=7\n")
    value = uuid.UUID(transport.value().strip().decode())
    # A version 7 UUID starts with the Unix time in milliseconds.
    assert value.int >> 80 == 1_700_000_000_250


def test_onlyDataIsPercentDecodedOnTcp() -> None:
    protocol, transport = connect(RandnumFactory(clock=Clock(), framing=Framing.LINE))
    protocol.dataReceived(b"n=%33\n")
    assert transport.value() == b"ERR n must be an integer\n"


# What each connection costs: nothing that only a second write needs.


@implementer(ITCPTransport)
class NoDelayTransport(RecordingTransport):
    """
    A TCP-like in-memory transport that records when Nagle's algorithm is
    turned off, relative to the writes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.noDelayAfter: int | None = None

    def setTcpNoDelay(self, enabled: bool) -> None:
        assert enabled
        self.noDelayAfter = len(self.writes)

    def getTcpNoDelay(self) -> bool:
        return self.noDelayAfter is not None

    def setTcpKeepAlive(self, enabled: bool) -> None:
        raise NotImplementedError

    def getTcpKeepAlive(self) -> bool:
        return False

    def loseWriteConnection(self) -> None:
        raise NotImplementedError


def test_nagleIsTurnedOffBeforeTheSecondWrite() -> None:
    protocol = RandnumFactory(clock=Clock(), framing="line").buildProtocol(PEER)
    transport = NoDelayTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(b"\n")
    assert (len(transport.writes), transport.noDelayAfter) == (1, None)
    protocol.dataReceived(b"\n")
    protocol.dataReceived(b"\n")
    assert (len(transport.writes), transport.noDelayAfter) == (3, 1)


def test_aClosedConnectionIsFreedWithoutTheCycleCollector() -> None:
    protocol, _ = connect()
    protocol.dataReceived(b"\n")
    protocol.readConnectionLost()
    protocol.connectionLost(Failure(ConnectionDone()))
    freed = weakref.ref(protocol)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del protocol
        assert freed() is None
    finally:
        if enabled:
            gc.enable()


def test_aPeerEndingWithNothingLeftIsClosedByItsTransportAtOnce() -> None:
    protocol, _ = connect(RandnumFactory(clock=Clock(), framing="line"))
    protocol.dataReceived(b"\n")
    # Not half-closeable now: the transport closes at once on the peer's end.
    assert IHalfCloseableProtocol(protocol, None) is None


def test_aPeerEndingWithRequestsLeftIsToldOfIt() -> None:
    protocol, _ = connect(RandnumFactory(clock=Clock(), framing="line"))
    protocol.dataReceived(b"n=2")
    # An unterminated last line is a request once the input ends.
    assert IHalfCloseableProtocol(protocol, None) is protocol  # type: ignore[comparison-overlap]
    protocol.readConnectionLost()
    assert protocol.finished


def test_aPeerEndingDuringTheCloseIsToldOfIt() -> None:
    protocol, _ = connect(RandnumFactory(clock=Clock(), framing="line"))
    protocol.dataReceived(b"GET / HTTP/1.1\r\n")
    assert protocol.closing
    assert IHalfCloseableProtocol(protocol, None) is protocol  # type: ignore[comparison-overlap]


def test_everyConnectionsIdleTimerIsOneTimerOfTheClock() -> None:
    clock = Clock()
    factory = RandnumFactory(clock=clock, limits=Limits(idleTimeout=30))
    protocols = [connect(factory)[0] for _ in range(50)]
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(29)
    protocols[-1].dataReceived(b"\n")
    clock.advance(1)
    assert [p.finished for p in protocols] == [True] * 49 + [False]
    assert factory.stats.idleTimeouts == 49
    clock.advance(29)
    assert protocols[-1].finished
