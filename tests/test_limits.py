# Twisted's test doubles (StringTransport, Clock) are not annotated.
# mypy: disallow-untyped-calls=False
"""
Limits on in-memory connections: idle timeouts, connection counts, line
length, half-closes, and what is counted and logged.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogEvent

from randnum.generation.source import NumberSource
from randnum.limits import ConnectionCounter, Limits
from randnum.server import RandnumServer
from randnum.tcp.protocol import Framing, RandnumFactory, RandnumProtocol, hasLongLine


def zeroSource() -> NumberSource:
    """
    Every draw is the lowest value, so replies depend only on the requests.
    """
    return NumberSource(bytes, cryptographic=False, description="zeros")


def lineFactory(clock: Clock | None = None, **limits: object) -> RandnumFactory:
    return RandnumFactory(
        framing=Framing.LINE,
        source=zeroSource(),
        limits=Limits(**limits),  # type: ignore[arg-type]
        clock=clock or Clock(),
    )


def connect(
    factory: RandnumFactory, host: str = "127.0.0.1"
) -> tuple[RandnumProtocol, StringTransport]:
    peer = IPv4Address("TCP", host, 40000) if host else UNIXAddress(None)
    protocol = factory.buildProtocol(peer)
    transport = StringTransport(peerAddress=peer)
    protocol.makeConnection(transport)
    return protocol, transport


# Idle connections.


def test_idleConnectionIsClosedAfterTheTimeout() -> None:
    clock = Clock()
    factory = lineFactory(clock, idleTimeout=60)
    _protocol, transport = connect(factory)
    clock.advance(59)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting
    assert factory.stats.idleTimeouts == 1


def test_eachRequestRestartsTheIdleTimer() -> None:
    clock = Clock()
    factory = lineFactory(clock, idleTimeout=60)
    protocol, transport = connect(factory)
    clock.advance(50)
    protocol.dataReceived(b"\n")
    clock.advance(50)
    assert not transport.disconnecting
    clock.advance(10)
    assert transport.disconnecting


def test_noIdleTimeout() -> None:
    clock = Clock()
    factory = lineFactory(clock, idleTimeout=None)
    _protocol, transport = connect(factory)
    clock.advance(10**6)
    assert not transport.disconnecting
    assert not clock.getDelayedCalls()


def test_clientNotReadingIsAbortedAtTheTimeout() -> None:
    clock = Clock()
    factory = lineFactory(clock, idleTimeout=60)
    protocol, transport = connect(factory)
    # The transport reports its buffer full: the client is not reading.
    protocol.writer.pauseProducing()
    assert transport.producerState == "paused"
    clock.advance(60)
    # Waiting for the queued replies to drain would wait forever.
    assert transport.disconnected


def test_clientReadingAgainRestartsTheIdleTimer() -> None:
    clock = Clock()
    factory = lineFactory(clock, idleTimeout=60)
    protocol, transport = connect(factory)
    protocol.writer.pauseProducing()
    clock.advance(50)
    protocol.writer.resumeProducing()
    assert transport.producerState == "producing"
    clock.advance(50)
    assert not transport.disconnecting


def test_idleTimerStopsWhenTheConnectionCloses() -> None:
    clock = Clock()
    factory = lineFactory(clock, idleTimeout=60)
    protocol, _transport = connect(factory)
    protocol.connectionLost()
    assert not clock.getDelayedCalls()
    assert factory.stats.open == 0


# Connection limits.


def test_connectionOverTheTotalGetsBusyAndIsClosed() -> None:
    factory = lineFactory(maxConnections=2)
    first, firstTransport = connect(factory, "10.0.0.1")
    connect(factory, "10.0.0.2")
    third, thirdTransport = connect(factory, "10.0.0.3")
    assert thirdTransport.value() == b"ERR busy\n"
    assert thirdTransport.disconnecting
    # Data from a refused client is not answered.
    third.dataReceived(b"\n")
    assert thirdTransport.value() == b"ERR busy\n"
    third.connectionLost()
    # Admitted connections are unaffected...
    first.dataReceived(b"\n")
    assert firstTransport.value() == b"1\n"
    # ...and capacity returns when a client leaves.
    first.connectionLost()
    _fourth, fourthTransport = connect(factory, "10.0.0.4")
    assert not fourthTransport.disconnecting
    assert factory.connections.total == 2
    assert factory.stats.refused == 1


def test_connectionsPerAddress() -> None:
    factory = lineFactory(maxConnectionsPerHost=2)
    connect(factory, "10.0.0.1")
    second, _ = connect(factory, "10.0.0.1")
    _, third = connect(factory, "10.0.0.1")
    assert third.value() == b"ERR busy\n"
    _, other = connect(factory, "10.0.0.2")
    assert other.value() == b""
    second.connectionLost()
    _, again = connect(factory, "10.0.0.1")
    assert again.value() == b""


def test_unixClientsCountOnlyTowardsTheTotal() -> None:
    factory = lineFactory(maxConnections=3, maxConnectionsPerHost=1)
    transports = [connect(factory, host="")[1] for _ in range(4)]
    assert [t.value() for t in transports] == [b"", b"", b"", b"ERR busy\n"]


def test_zeroMeansNoPerAddressLimit() -> None:
    counter = ConnectionCounter(Limits(maxConnections=5, maxConnectionsPerHost=0))
    assert all(counter.admit("10.0.0.1") for _ in range(5))
    assert not counter.admit("10.0.0.1")
    assert not counter.perHost


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b", "c", None]))))
def test_counterNeverExceedsItsLimits(steps: list[tuple[bool, str | None]]) -> None:
    limits = Limits(maxConnections=4, maxConnectionsPerHost=2)
    counter = ConnectionCounter(limits)
    open: list[str | None] = []
    for opening, host in steps:
        if opening:
            if counter.admit(host):
                open.append(host)
        elif host in open:
            open.remove(host)
            counter.release(host)
        assert counter.total == len(open) <= 4
        for name in ("a", "b", "c"):
            assert counter.perHost[name] == open.count(name) <= 2
    assert set(counter.perHost) <= {"a", "b", "c"}


# Line length.


def test_lineAtTheLimitIsAnswered() -> None:
    factory = lineFactory(maxLine=100)
    protocol, transport = connect(factory)
    protocol.dataReceived(b"x" * 100 + b"\n")
    assert transport.value() == b"1\n"
    assert not transport.disconnecting


def test_carriageReturnIsNotPartOfTheLine() -> None:
    factory = lineFactory(maxLine=100)
    protocol, transport = connect(factory)
    protocol.dataReceived(b"x" * 100 + b"\r")
    protocol.dataReceived(b"\n" + b"y" * 100 + b"\r\n")
    assert transport.value() == b"1\n1\n"
    protocol.dataReceived(b"z" * 101 + b"\n")
    assert transport.value() == b"1\n1\nERR line too long\n"


def test_longLineIsRefusedAfterTheLinesBeforeIt() -> None:
    factory = lineFactory(maxLine=100)
    protocol, transport = connect(factory)
    protocol.dataReceived(b"n=2\n" + b"x" * 101 + b"\nn=3\n")
    assert transport.value() == b"1 1\nERR line too long\n"
    assert transport.disconnecting
    assert factory.stats.linesTooLong == 1


def test_unterminatedLineCannotGrowPastTheLimit() -> None:
    factory = lineFactory(maxLine=100)
    protocol, transport = connect(factory)
    protocol.dataReceived(b"x" * 60)
    assert transport.value() == b""
    protocol.dataReceived(b"x" * 60)
    assert transport.value() == b"ERR line too long\n"
    assert protocol.reader.buffer == b""
    protocol.dataReceived(b"x" * 10_000)
    assert transport.value() == b"ERR line too long\n"


@given(st.binary(max_size=300), st.integers(1, 40))
def test_hasLongLineMatchesSplitting(data: bytes, limit: int) -> None:
    data = data.replace(b"a", b"\n")  # plenty of newlines
    longest = max(len(line) for line in data.split(b"\n"))
    assert hasLongLine(data, limit) == (longest > limit)


lines = st.one_of(
    st.sampled_from([b"", b"n=2", b"n=0", b"free text"]),
    st.integers(0, 60).map(lambda size: b"y" * size),
)


@given(st.lists(lines, min_size=1, max_size=12), st.data())
def test_anyChunkingGivesTheSameAnswersUpToTheLongLine(
    requests: list[bytes], data: st.DataObject
) -> None:
    limit = 40
    stream = b"".join(line + b"\n" for line in requests)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    factory = lineFactory(maxLine=limit)
    protocol, transport = connect(factory)
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        protocol.dataReceived(stream[start:end])

    expected = []
    for line in requests:
        if len(line) > limit:
            expected.append(b"ERR line too long")
            break
        reference, referenceTransport = connect(lineFactory(maxLine=limit))
        reference.dataReceived(line + b"\n")
        expected.append(referenceTransport.value().rstrip(b"\n"))
    assert transport.value() == b"".join(reply + b"\n" for reply in expected)
    assert transport.disconnecting == any(len(line) > limit for line in requests)


# Half-closed connections.


def test_halfCloseAnswersALastUnterminatedLineThenCloses() -> None:
    factory = lineFactory()
    protocol, transport = connect(factory)
    protocol.dataReceived(b"n=2\nn=3")
    protocol.readConnectionLost()
    assert transport.value() == b"1 1\n1 1 1\n"
    assert transport.disconnecting


def test_halfCloseInRawFraming() -> None:
    factory = RandnumFactory(framing=Framing.AUTO, clock=Clock())
    protocol, transport = connect(factory)
    protocol.dataReceived(b"Example request")
    protocol.readConnectionLost()
    assert 1 <= int(transport.value()) <= 10000
    assert transport.disconnecting


# Counting and logging.


def test_requestsNumbersAndErrorsAreCounted() -> None:
    factory = lineFactory()
    protocol, _transport = connect(factory)
    protocol.dataReceived(b"\n\nn=5\nn=0\n")
    protocol.dataReceived(b"\n")
    stats = factory.stats
    assert (stats.requests, stats.numbers, stats.errors) == (5, 8, 1)
    assert (stats.open, stats.connections) == (1, 1)


def test_rejectionsAreLoggedOncePerWindow(logged: list[LogEvent]) -> None:
    clock = Clock()
    factory = lineFactory(clock, maxConnections=1)
    connect(factory)
    for _ in range(3):
        connect(factory)
    rejections = [e for e in logged if e.get("kind") == "refused"]
    assert len(rejections) == 1
    assert rejections[0]["reason"] == "busy"
    assert rejections[0]["log_namespace"] == "randnum"
    assert factory.stats.refused == 3
    # No summary is needed for the next window to log again.
    clock.advance(59)
    connect(factory)
    assert len([e for e in logged if e.get("kind") == "refused"]) == 1
    clock.advance(1)
    connect(factory)
    assert len([e for e in logged if e.get("kind") == "refused"]) == 2


def test_summaryReportsThePeriodAndStaysQuietWhenIdle(
    logged: list[LogEvent],
) -> None:
    server = RandnumServer(clock=Clock())
    stats = server.tcp
    stats.open = 2
    stats.requests, stats.numbers, stats.refused = 10, 12, 1
    server.logSummary()
    summary = logged[-1]
    assert summary["face"] == "tcp"
    assert (summary["open"], summary["requests"], summary["numbers"]) == (2, 10, 12)
    assert (summary["refused"], summary["errors"]) == (1, 0)
    stats.requests += 5
    server.logSummary()
    assert (logged[-1]["requests"], logged[-1]["numbers"]) == (5, 0)
    count = len(logged)
    server.logSummary()
    assert len(logged) == count
    stats.open = 0
    server.logSummary()
    assert len(logged) == count + 1
    assert (logged[-1]["open"], logged[-1]["requests"]) == (0, 0)
    server.logSummary()
    assert len(logged) == count + 1


def test_summaryReportsEachFaceSeparately(logged: list[LogEvent]) -> None:
    server = RandnumServer(clock=Clock())
    server.http.requests, server.http.bodiesRefused = 4, 1
    server.logSummary()
    assert [(e["face"], e["requests"], e["bodiesRefused"]) for e in logged] == [
        ("http", 4, 1)
    ]
    server.tcp.linesTooLong = 2
    server.logSummary()
    assert (logged[-1]["face"], logged[-1]["linesTooLong"]) == ("tcp", 2)
    assert len(logged) == 2
