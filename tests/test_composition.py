# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
L{randnum.composition}: the one composition root, and L{RandnumFactory}'s checks
of what it is given.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock

from randnum import Framing, Limits, RandnumFactory, seededSource
from randnum.composition import ClosedOnStop, StopSignals, buildService
from randnum.config import Config
from randnum.jsonrpc.allowances import KeyedAllowances, OpenAllowances
from randnum.listening import ListeningService
from randnum.server import RandnumServer
from randnum.signing.keys import generateKey
from randnum.signing.store import AuditStore
from randnum.tcp.protocol import RandnumProtocol
from randnum.web.site import RandnumSite

PEER = IPv4Address("TCP", "127.0.0.1", 40000)


def test_everyFaceServesTheOneServer() -> None:
    reactor = MemoryReactorClock()
    config = Config(
        ports=("tcp:5001", "tcp:5002"),
        http=("tcp:8080",),
        framing=Framing.LINE,
        limits=Limits(idleTimeout=7.0),
        logInterval=0,
    )
    service = buildService(config, reactor)
    listening = [s for s in service if isinstance(s, ListeningService)]  # type: ignore[attr-defined]
    assert [s.description for s in listening] == ["tcp:5001", "tcp:5002", "tcp:8080"]
    tcp, tcpAgain, http = (s.factory for s in listening)
    assert isinstance(tcp, RandnumFactory) and tcpAgain is tcp
    assert isinstance(http, RandnumSite)
    assert http.server is tcp.server
    server = tcp.server
    assert server.config is config and server.clock is reactor
    # The configuration reaches each face through the server.
    assert tcp.framing is Framing.LINE
    assert http.timeOut == 7.0
    protocol = tcp.buildProtocol(PEER)
    assert isinstance(protocol, RandnumProtocol)
    assert protocol.limits.idleTimeout == 7.0


def test_noSummariesWhenTheIntervalIsZero() -> None:
    from twisted.application.internet import TimerService

    reactor = MemoryReactorClock()
    quiet = buildService(Config(logInterval=0), reactor)
    assert not [s for s in quiet if isinstance(s, TimerService)]  # type: ignore[attr-defined]
    summarised = buildService(Config(logInterval=5), reactor)
    [timer] = [s for s in summarised if isinstance(s, TimerService)]  # type: ignore[attr-defined]
    assert timer.step == 5


def test_aSeededConfigServesItsSequence() -> None:
    reactor = MemoryReactorClock()
    service = buildService(Config(seed=42, logInterval=0), reactor)
    [listening] = [s for s in service if isinstance(s, ListeningService)]  # type: ignore[attr-defined]
    factory = listening.factory
    assert isinstance(factory, RandnumFactory)
    server = factory.server
    assert not server.source.cryptographic
    expected = seededSource(42)
    expected.prepare(1, 10000)
    assert server.source.renderAnswer(server.defaults) == expected.renderAnswer(
        server.defaults
    )


@pytest.mark.parametrize("name", ["line", "LINE", "raw", "auto"])
def test_aFramingMayBeNamed(name: str) -> None:
    factory = RandnumFactory(framing=name, clock=Clock())
    assert factory.framing is Framing(name.lower())


@pytest.mark.parametrize("framing", ["lines", 1, b"line", None.__class__])
def test_anythingElseIsNotAFraming(framing: object) -> None:
    with pytest.raises(TypeError) as raised:
        RandnumFactory(framing=framing, clock=Clock())  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"framing must be a Framing or one of 'raw', 'line', 'auto', not {framing!r}"
    )


@pytest.mark.parametrize(
    "given",
    [
        {"low": 1},
        {"high": 6},
        {"source": seededSource(1)},
        {"limits": Limits()},
        {"clock": Clock()},
    ],
)
def test_theServersOwnArgumentsAreNotGivenWithIt(given: dict[str, object]) -> None:
    server = RandnumServer(clock=Clock())
    with pytest.raises(TypeError) as raised:
        RandnumFactory(server=server, **given)  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"RandnumFactory: {', '.join(given)} given with server=: they are the "
        "server's (give them to RandnumServer)"
    )


def test_everyArgumentGivenWithTheServerIsNamed() -> None:
    with pytest.raises(TypeError) as raised:
        RandnumFactory(
            server=RandnumServer(clock=Clock()),
            low=1,
            high=6,
            source=seededSource(1),
            limits=Limits(),
            clock=Clock(),
        )
    assert str(raised.value).startswith(
        "RandnumFactory: low, high, source, limits, clock given with server=: "
    )


def test_aFactoryOfAServerTakesItsFraming() -> None:
    server = RandnumServer(config=Config(framing=Framing.RAW), clock=Clock())
    assert RandnumFactory(server=server).framing is Framing.RAW
    assert RandnumFactory(server=server, framing="line").framing is Framing.LINE
    assert RandnumFactory(clock=Clock()).framing is Framing.AUTO


def test_servicesStartInOrderAndThePoolStopsFirst() -> None:
    from twisted.application.internet import TimerService

    from randnum.workers.pool import WorkerPool

    reactor = MemoryReactorClock()
    service = buildService(
        Config(ports=("tcp:5001",), http=("tcp:8080",), workers=2), reactor
    )
    kinds = [type(s) for s in service]  # type: ignore[attr-defined]
    # Summaries; the ports; then the pool, which starts once they listen and
    # (stopped in reverse) stops its workers before they close.
    assert kinds == [TimerService, ListeningService, ListeningService, WorkerPool]


class StoppingReactor:
    """
    A reactor that runs at once and counts the times it is asked to stop.
    """

    def __init__(self) -> None:
        self.stops = 0

    def callWhenRunning(self, call: Callable[[], object]) -> None:
        call()

    def callFromThread(self, call: Callable[[], object]) -> None:
        call()

    def stop(self) -> None:
        self.stops += 1


@pytest.fixture
def signalHandlers() -> Iterator[None]:
    """
    Put back the stopping signals' handlers after the test.
    """
    numbers = [getattr(signal, name) for name in StopSignals.SIGNALS]
    saved = {number: signal.getsignal(number) for number in numbers}
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


@pytest.mark.usefixtures("signalHandlers")
def test_aStopSignalStopsTheServerOnceHoweverOftenItComes() -> None:
    """
    The first stopping signal stops the reactor; a repeat, before or after
    the services stop, does nothing (Twisted's handler would end the
    process by the signal, status 143, after all).
    """
    reactor = StoppingReactor()
    service = StopSignals(reactor)  # type: ignore[arg-type]
    service.startService()
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler)
    handler(signal.SIGTERM, None)
    handler(signal.SIGTERM, None)
    service.stopService()
    assert signal.getsignal(signal.SIGTERM) is handler
    handler(signal.SIGHUP, None)
    assert reactor.stops == 1


def servedBy(service: object) -> RandnumServer:
    listening = [s for s in service if isinstance(s, ListeningService)]  # type: ignore[attr-defined]
    server: RandnumServer = listening[0].factory.server  # type: ignore[attr-defined]
    return server


def test_withoutApiKeysEveryKeyIsAcceptedAndNothingCounted() -> None:
    reactor = MemoryReactorClock()
    reactor.advance(1000)
    server = servedBy(buildService(Config(http=("tcp:8080",), jsonRpc=True), reactor))
    assert isinstance(server.allowances, OpenAllowances)
    assert server.allowances.figures.creationTime == 1000


def test_apiKeysAreCountedAndTheirCountsClosedLast(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text("k1 alice requests=5\n")
    config = Config(
        http=("tcp:8080",),
        jsonRpc=True,
        apiKeys=str(tmp_path / "keys"),
        apiUsageDb=str(tmp_path / "usage.db"),
    )
    service = buildService(config, MemoryReactorClock())
    server = servedBy(service)
    allowances = server.allowances
    assert isinstance(allowances, KeyedAllowances)
    assert set(allowances.keys) == {"k1"}
    # Started first, so that it stops last, when nothing is charged any more.
    first = next(iter(service))  # type: ignore[call-overload]
    assert isinstance(first, ClosedOnStop) and first.closable is allowances
    allowances._release(None)


def test_apiKeysShareTheAuditStoresWriter(tmp_path: Path) -> None:
    generateKey(tmp_path / "signing.pem")
    (tmp_path / "keys").write_text("k1 alice\n")
    config = Config(
        http=("tcp:8080",),
        jsonRpc=True,
        signingKey=str(tmp_path / "signing.pem"),
        auditDb=str(tmp_path / "audit.db"),
        apiKeys=str(tmp_path / "keys"),
    )
    server = servedBy(buildService(config, MemoryReactorClock()))
    assert isinstance(server.allowances, KeyedAllowances)
    assert isinstance(server.audit, AuditStore)
    assert server.allowances.pool is server.audit.pool
    # The audit store's own lock is the claim: nothing else to close.
    assert server.allowances.closers == []
    assert server.audit.lock is not None
    server.audit.lock.close()
