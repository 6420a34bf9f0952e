# -*- test-case-name: tests.workers.test_pool -*-
"""
The listening sockets the workers share: opened by the main process
(L{ReusePortEndpoint}, L{listenersOf}), passed down as descriptors, and
adopted by each worker (L{adoptPort}).
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet import tcp, unix
from twisted.internet.abstract import isIPv6Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.endpoints import (
    SSL4ServerEndpoint,
    TCP4ServerEndpoint,
    TCP6ServerEndpoint,
)
from twisted.internet.error import (
    CannotListenError,
)
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from twisted.python.failure import Failure
from zope.interface import implementer


@dataclass(frozen=True)
class Listener:
    """
    A listening port the workers share.

    @ivar face: C{"tcp"} or C{"http"}.
    @ivar port: the main process's port.
    @ivar tls: the C{ssl:} endpoint description, for a TLS port.
    @ivar sockets: one socket per worker (C{SO_REUSEPORT}), or none when
        every worker shares the port's own.
    @ivar description: the option that asked for it, for messages.
    """

    face: str
    port: IListeningPort
    tls: str | None
    sockets: Sequence[socket.socket] = ()
    description: str = ""

    def descriptorFor(self, number: int) -> int:
        """
        The listening descriptor worker C{number} (from 1) serves.
        """
        if self.sockets:
            return self.sockets[number - 1].fileno()
        fileno: int = self.port.fileno()  # type: ignore[attr-defined]
        return fileno


@implementer(IStreamServerEndpoint)
class ReusePortEndpoint:
    """
    A TCP or TLS server endpoint (C{tcp:}, C{tcp6:}, C{ssl:}) as the
    main process of C{--workers} listens on it: C{count} sockets bound to
    its address with C{SO_REUSEPORT}, one per worker.  The first is also
    the main process's port (which never accepts), for its address.
    """

    def __init__(self, endpoint: Any, count: int, reactor: Any) -> None:
        """
        @param endpoint: a L{TCP4ServerEndpoint}, L{TCP6ServerEndpoint} or
            L{SSL4ServerEndpoint}.
        """
        self.endpoint = endpoint
        self.count = count
        self.reactor = reactor
        self.sockets: list[socket.socket] = []

    @staticmethod
    def handles(endpoint: object) -> bool:
        """
        Whether C{endpoint} is one this class can listen for.
        """
        return isinstance(
            endpoint, (TCP4ServerEndpoint, TCP6ServerEndpoint, SSL4ServerEndpoint)
        )

    def listen(self, factory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Open the sockets; fire with the main process's port.
        """
        # The endpoint's own listen() would bind one socket without
        # SO_REUSEPORT; these are the values it was parsed into.
        endpoint = self.endpoint
        interface: str = endpoint._interface
        number: int = endpoint._port
        family = socket.AF_INET6 if isIPv6Address(interface) else socket.AF_INET
        try:
            for _ in range(self.count):
                sock = socket.socket(family, socket.SOCK_STREAM)
                self.sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((interface, number))
                # tcp:0: every other socket takes the port the first got.
                number = sock.getsockname()[1]
                sock.listen(endpoint._backlog)
                sock.setblocking(False)
            port = self.reactor.adoptStreamPort(
                self.sockets[0].fileno(), family, factory
            )
        except OSError as error:
            self.close()
            return fail(CannotListenError(interface, number, error))
        listening: IListeningPort = port
        return succeed(listening)

    def close(self) -> None:
        """
        Close the sockets (the workers have their own copies).
        """
        for sock in self.sockets:
            sock.close()
        self.sockets = []


def listenersOf(services: Sequence[Any]) -> list[Listener]:
    """
    The ports of listening services (L{randnum.listening.ListeningService}), as
    L{Listener}s: C{"tcp"} for the TCP protocol's, C{"http"} for HTTP's.
    """
    listeners = []
    for service in services:
        endpoint = service.endpoint
        sockets: Sequence[socket.socket] = ()
        if isinstance(endpoint, ReusePortEndpoint):
            sockets = endpoint.sockets
            endpoint = endpoint.endpoint
        tls = service.description if isinstance(endpoint, SSL4ServerEndpoint) else None
        face = "http" if service.face == "HTTP" else "tcp"
        option = "--http" if face == "http" else "--port"
        listeners.append(
            Listener(
                face, service.port, tls, sockets, f"{option} {service.description}"
            )
        )
    return listeners


#: Connections a worker accepts each time its listening socket is ready.
#: Twisted takes up to 100 (and more under load), so the first worker to
#: wake would take a whole burst of new connections; one at a time, the
#: workers that are idle take them.
ACCEPTS_PER_WAKEUP = 1


class _FairAccepts:
    """
    Accept L{ACCEPTS_PER_WAKEUP} connections each time the shared
    listening socket is ready.
    """

    numberAccepts: int

    def doRead(self) -> Any:
        """
        Accept, a few at a time.
        """
        self.numberAccepts = ACCEPTS_PER_WAKEUP
        return super().doRead()  # type: ignore[misc]


class SharedTCPPort(_FairAccepts, tcp.Port):
    """
    A TCP port that every worker accepts from.
    """


class SharedUNIXPort(_FairAccepts, unix.Port):
    """
    A UNIX-socket port that every worker accepts from: the main process
    owns its path and its mode, so a worker that stops leaves the path in
    place, and one that starts leaves its mode alone.
    """

    # Twisted's UNIX port shuts an adopted socket down when it stops (its
    # TCP port does not): that would end the socket for every process.
    _shouldShutdown = False

    def startListening(self) -> None:
        """
        Listen, with the mode the main process gave the path
        (C{unix:PATH:mode=600}), which Twisted would otherwise reset.
        """
        self.mode = stat.S_IMODE(os.stat(self._bindPath).st_mode)
        super().startListening()  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure) -> None:
        """
        Stop listening, without removing the socket's path.
        """
        tcp.Port.connectionLost(self, reason)


def adoptPort(
    reactor: Any, fd: int, family: int, factory: IProtocolFactory, shared: bool
) -> IListeningPort:
    """
    Serve C{factory} on the listening socket C{fd} that the main process
    passed down, then close C{fd} (the port has its own copy).

    @param shared: whether every worker accepts from this socket (a UNIX
        socket, one from systemd), rather than this worker alone (its own
        C{SO_REUSEPORT} socket, served as Twisted would).
    """
    # IReactorSocket.adoptStreamPort does this, with Twisted's own port
    # classes; a shared socket's take connections one at a time and leave
    # a UNIX socket's path alone.
    port: Any
    if not shared:
        port = reactor.adoptStreamPort(fd, family, factory)
    elif family == socket.AF_UNIX:
        port = SharedUNIXPort._fromListeningDescriptor(  # type: ignore[no-untyped-call]
            reactor, fd, factory
        )
    else:
        port = SharedTCPPort._fromListeningDescriptor(  # type: ignore[no-untyped-call]
            reactor, fd, family, factory
        )
    if shared:
        port.startListening()
    os.close(fd)
    listening: IListeningPort = port
    return listening


def tlsFactory(reactor: Any, description: str, factory: IProtocolFactory) -> Any:
    """
    C{factory}, wrapped in TLS as the C{ssl:} endpoint C{description} says.
    """
    from twisted.internet.endpoints import serverFromString
    from twisted.protocols.tls import TLSMemoryBIOFactory

    endpoint: Any = serverFromString(reactor, description)
    # The endpoint parsed the certificate and key options; its context
    # factory is what its own listen() would wrap the factory with.
    return TLSMemoryBIOFactory(endpoint._sslContextFactory, False, factory)
