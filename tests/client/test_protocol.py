# Twisted's test doubles (StringTransport, iosim) are not annotated.
# mypy: disallow-untyped-calls=False
"""
The Twisted client, against an in-memory randnum server.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from OpenSSL import SSL
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.python.failure import Failure
from twisted.test.iosim import (
    FakeTransport,
    IOPump,
    connect,
    makeFakeClient,
    makeFakeServer,
)

from randnum.client.lines import RandnumError, UnexpectedReply
from randnum.client.protocol import RandnumClientProtocol
from randnum.client.protocol import connect as connectClient
from randnum.client.reaching import UntrustedCertificate
from randnum.client.wrongport import ClosedWithoutReply, SpeaksHTTP, SpeaksTLS
from randnum.metrics import metricsRegistry
from randnum.query import INT64_MAX, INT64_MIN, MAX_COUNT
from randnum.server import RandnumServer
from randnum.tcp.protocol import Framing, RandnumFactory
from randnum.testing import InMemoryServer
from randnum.web import webSite

T = TypeVar("T")


def result(deferred: Deferred[T]) -> T:
    """
    The result a L{Deferred} has already fired with.
    """
    results: list[T] = []
    failures: list[Failure] = []
    deferred.addCallbacks(results.append, failures.append)
    if failures:
        failures[0].raiseException()
    assert results, "the Deferred has not fired"
    return results[0]


def failure(deferred: Deferred[Any]) -> BaseException:
    """
    The exception a L{Deferred} has already failed with.
    """
    failures: list[Failure] = []
    deferred.addErrback(failures.append)
    assert failures, "the Deferred has not failed"
    assert failures[0].value is not None
    return failures[0].value


def connected(
    factory: RandnumFactory | None = None,
) -> tuple[RandnumClientProtocol, IOPump]:
    """
    A client connected to an in-memory server.
    """
    server = (factory or RandnumFactory()).buildProtocol(None)
    server.clock = Clock()
    client = RandnumClientProtocol()
    pump = connect(server, makeFakeServer(server), client, makeFakeClient(client))
    return client, pump


def test_requestFiresWithInts() -> None:
    client, pump = connected(RandnumFactory(low=1, high=6))
    answer = client.request(n=5)
    pump.flush()
    numbers = result(answer)
    assert len(numbers) == 5
    assert all(1 <= number <= 6 for number in numbers)


def test_serverDefaultsApplyWhereBoundsAreNotGiven() -> None:
    client, pump = connected(RandnumFactory(low=42, high=42))
    answer = client.request(n=2)
    pump.flush()
    assert result(answer) == [42, 42]


def test_pipelinedRequestsAreAnsweredInOrder() -> None:
    client, pump = connected()
    answers = [client.request(min=i, max=i) for i in range(50)]
    pump.flush()
    assert [result(answer) for answer in answers] == [[i] for i in range(50)]


def test_errFailsOnlyItsOwnRequest() -> None:
    client, pump = connected()
    before = client.request(min=1, max=1)
    refused = client.request(min=9, max=1)
    after = client.request(min=2, max=2)
    pump.flush()
    assert result(before) == [1]
    error = failure(refused)
    assert isinstance(error, RandnumError)
    assert error.reason == "min must not exceed max"
    assert result(after) == [2]


def test_clientWorksWithAutoAndLineFraming() -> None:
    for framing in (Framing.AUTO, Framing.LINE):
        client, pump = connected(RandnumFactory(framing=framing, low=3, high=3))
        answer = client.request(n=3)
        pump.flush()
        assert result(answer) == [3, 3, 3]


def test_lostConnectionFailsEveryOutstandingRequest() -> None:
    client = RandnumClientProtocol()
    client.makeConnection(StringTransport())
    pending = [client.request(), client.request(n=2)]
    client.connectionLost(Failure(ConnectionLost("gone")))
    assert all(isinstance(failure(answer), ConnectionLost) for answer in pending)
    assert isinstance(failure(client.request()), ConnectionLost)


def test_unaskedForReplyDropsTheConnection() -> None:
    client = RandnumClientProtocol()
    transport = StringTransport()
    client.makeConnection(transport)
    client.dataReceived(b"123\n")
    assert transport.disconnecting


def test_overlongReplyDropsTheConnection() -> None:
    client = RandnumClientProtocol()
    transport = StringTransport()
    client.makeConnection(transport)
    pending = client.request()
    client.dataReceived(b"1" * (RandnumClientProtocol.MAX_LENGTH + 2))
    assert transport.disconnecting
    client.connectionLost(Failure(ConnectionLost()))
    assert isinstance(failure(pending), ConnectionLost)


def test_largestReplyFits() -> None:
    client, pump = connected()
    answer = client.request(n=MAX_COUNT, min=INT64_MIN, max=INT64_MIN)
    pump.flush()
    assert result(answer) == [INT64_MIN] * MAX_COUNT


def test_connectUsesTheEndpointDescription() -> None:
    reactor = MemoryReactor()
    connectClient(reactor, "tcp:host=127.0.0.1:port=5000")
    host, port, *_ = reactor.tcpClients[0]
    assert (host, port) == ("127.0.0.1", 5000)
    connectClient(reactor, "unix:path=/run/randnum.sock")
    assert reactor.unixClients[0][0] == "/run/randnum.sock"


def test_connectTakesAnEndpoint() -> None:
    server = InMemoryServer(seed=1)
    connecting = connectClient(MemoryReactor(), server.endpoint())
    client = result(connecting)
    answer = client.request(n=2, min=5, max=5)
    server.flush()
    assert result(answer) == [5, 5]


#: Where the clients below think they are connected.
HTTP_PORT = IPv4Address("TCP", "127.0.0.1", 8080)


def test_randnumsHttpFaceIsNamedAtOnce() -> None:
    """
    Connected to randnum's own HTTP face by mistake, the first request
    fails with a L{ConnectionError} naming both ports: no wait.
    """
    server = RandnumServer(clock=Clock())
    web = webSite(server, metricsRegistry(server)).buildProtocol(HTTP_PORT)
    client = RandnumClientProtocol()
    clientTransport = FakeTransport(client, isServer=False, peerAddress=HTTP_PORT)
    pump = connect(web, makeFakeServer(web), client, clientTransport)
    answer = client.request()
    pump.flush()
    error = failure(answer)
    assert isinstance(error, SpeaksHTTP)
    assert isinstance(error, ConnectionError)
    assert str(error) == (
        "127.0.0.1:8080 speaks HTTP: is that randnum's --http port? "
        "(the TCP port is --port)"
    )
    assert isinstance(failure(client.request()), SpeaksHTTP)


def test_anHttpAnswerInPiecesIsStillHttp() -> None:
    client = RandnumClientProtocol()
    transport = StringTransport(peerAddress=HTTP_PORT)
    client.makeConnection(transport)
    answer = client.request()
    for byte in b"HTTP/1.0 400 Bad Request\r\n":
        client.dataReceived(bytes([byte]))
    assert isinstance(failure(answer), SpeaksHTTP)
    assert transport.disconnecting


def test_aTlsAlertSaysToConnectWithTls() -> None:
    client = RandnumClientProtocol()
    client.makeConnection(StringTransport(peerAddress=HTTP_PORT))
    answer = client.request()
    client.dataReceived(b"\x15\x03\x01\x00\x02\x02\x46")
    error = failure(answer)
    assert isinstance(error, SpeaksTLS)
    assert (
        str(error)
        == "127.0.0.1:8080 speaks TLS: connect with tls=True (or cafile=FILE)"
    )


def test_aCloseWithoutAWordSuggestsTls() -> None:
    client = RandnumClientProtocol()
    client.makeConnection(StringTransport(peerAddress=HTTP_PORT))
    answer = client.request()
    client.connectionLost(Failure(ConnectionDone()))
    error = failure(answer)
    assert isinstance(error, ClosedWithoutReply)
    assert "a TLS port?" in str(error)


def test_aCloseAfterRepliesIsJustAClose() -> None:
    client, pump = connected()
    first = client.request()
    pump.flush()
    result(first)
    pending = client.request()
    client.connectionLost(Failure(ConnectionDone()))
    assert type(failure(pending)) is ConnectionDone


@st.composite
def queries(draw: st.DrawFn) -> tuple[int, int, int, bool]:
    low = draw(st.integers(INT64_MIN, INT64_MAX))
    high = draw(
        st.integers(
            low, min(INT64_MAX, low + draw(st.sampled_from([0, 5, 10**6, 2**64])))
        )
    )
    unique = draw(st.booleans())
    most = min(200, high - low + 1) if unique else 200
    return draw(st.integers(1, most)), low, high, unique


@given(queries())
def test_anyValidQueryRoundTrips(query: tuple[int, int, int, bool]) -> None:
    n, low, high, unique = query
    client, pump = connected()
    answer = client.request(n=n, min=low, max=high, unique=unique)
    pump.flush()
    numbers = result(answer)
    assert len(numbers) == n
    assert all(low <= number <= high for number in numbers)
    if unique:
        assert len(set(numbers)) == n


def test_anUntrustedCertificateSaysToPassACaFile() -> None:
    client = RandnumClientProtocol()
    client.makeConnection(StringTransport(peerAddress=HTTP_PORT))
    answer = client.request()
    verify = SSL.Error([("SSL routines", "", "certificate verify failed")])
    client.connectionLost(Failure(verify))
    error = failure(answer)
    assert isinstance(error, UntrustedCertificate)
    assert isinstance(error, ConnectionError)
    assert str(error) == (
        "the TLS certificate of 127.0.0.1:8080 is not trusted: give the CA "
        "certificate that signed it with cafile=FILE"
    )


def test_anotherProtocolsAnswerNamesTheServer() -> None:
    client = RandnumClientProtocol()
    client.makeConnection(StringTransport(peerAddress=HTTP_PORT))
    answer = client.request()
    client.dataReceived(b"SSH-2.0-OpenSSH_9.2\r\n")
    error = failure(answer)
    assert isinstance(error, UnexpectedReply)
    assert str(error) == (
        "127.0.0.1:8080 does not speak randnum's protocol: it answered "
        "'SSH-2.0-OpenSSH_9.2'"
    )


def test_anAddressAndPortIsNotAnEndpointDescription() -> None:
    with pytest.raises(ValueError) as raised:
        connectClient(MemoryReactor(), "127.0.0.1:5000")
    assert str(raised.value) == (
        "'127.0.0.1:5000' is an address and port, not an endpoint: say "
        "'tcp:host=127.0.0.1:port=5000' (or host= and port=)"
    )


def test_anInMemoryServerIsNotAnEndpoint() -> None:
    server = InMemoryServer(seed=1)
    with pytest.raises(TypeError) as raised:
        connectClient(MemoryReactor(), server)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "connect() needs an endpoint description or an IStreamClientEndpoint; "
        "for an InMemoryServer pass server.endpoint()"
    )
