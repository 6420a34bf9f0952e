"""
A half-close through a C{haproxy:} port's wrapper, over real loopback
sockets: every reply, then a FIN.
"""

from __future__ import annotations

from typing import Any

from loopback import Loopback, TurnClock
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import IHalfCloseableProtocol, IProtocolFactory
from twisted.protocols.haproxy import proxyEndpoint

from randnum.generation.source import seededSource
from randnum.server import RandnumServer
from randnum.tcp.framing import Framing
from randnum.tcp.protocol import RandnumFactory

#: What HAProxy sends first on each connection.
HEADER = b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 5000\r\n"


def proxied(reactor: Any, factory: IProtocolFactory) -> Any:
    listening = proxyEndpoint(
        TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    ).listen(factory)
    ports: list[Any] = []
    listening.addCallback(ports.append)
    return ports[0]


def loopback() -> Loopback:
    clock = TurnClock()
    server = RandnumServer(source=seededSource(1), clock=clock)
    return Loopback(RandnumFactory(framing=Framing.LINE, server=server), clock, proxied)


def test_aHalfClosedClientBehindHAProxyGetsEveryReplyThenAFin() -> None:
    net = loopback()
    try:
        client = net.connect()
        client.send(HEADER + b"n=10000\n" * 20 + b"n=3 min=1 max=6\n" + b"n=3")
        client.shutdown()
        replies = client.readUntilEnd().split(b"\n")
        assert [len(reply.split()) for reply in replies] == [10000] * 20 + [3, 3, 0]
        assert client.ended == "FIN"
    finally:
        net.close()


def test_theWrapperIsToldOnlyWhatItsProtocolIs() -> None:
    net = loopback()
    try:
        client = net.connect()
        client.send(HEADER + b"n=1\n")
        while not client.read():
            net.turn()
        inner: Any = net.protocols[-1]
        wrapper = inner.transport
        # Everything answered: nothing to tell, the transport may close.
        assert IHalfCloseableProtocol(wrapper, None) is None
        client.send(b"n=2")
        net.turn()
        assert IHalfCloseableProtocol(wrapper, None) is inner
    finally:
        net.close()
