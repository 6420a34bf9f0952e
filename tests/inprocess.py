"""
randnum servers inside the test process, for testing the C{randnum}
command and the clients without starting a process.

A reactor of its own (a L{SelectReactor}, not the global reactor, which
other tests' servers fall back on for their clocks) runs in a background
thread.  Servers are built and listen on it, at 127.0.0.1 port 0 or a Unix
socket.  Blocking clients (L{randnum.connect}, C{randnum bytes},
C{randnum bench}'s load, C{verify} and C{export}) reach them over real
sockets from the test's thread; C{randnum get}, which runs on a reactor
through L{react}, runs on this one instead (L{ReactorThread.react}).

Nothing here waits on a timer: each call into the reactor thread returns
when its work is done there, so what a test sees does not depend on timing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort, IProtocolFactory
from twisted.internet.selectreactor import SelectReactor
from twisted.internet.threads import blockingCallFromThread

from randnum import RandnumFactory
from randnum.metrics import metricsRegistry
from randnum.server import RandnumServer
from randnum.signing.keys import Signer, generateKey
from randnum.signing.store import openStore, openTail
from randnum.web import webSite


@dataclass(frozen=True)
class Ran:
    """
    What one C{randnum ARGS} printed, and its exit status.
    """

    status: object
    out: str
    err: str


class ReactorThread:
    """
    A reactor running in a daemon thread until L{stop}.
    """

    def __init__(self) -> None:
        self.reactor = SelectReactor()
        self.thread = threading.Thread(
            target=self.reactor.run,
            kwargs={"installSignalHandlers": False},
            name="randnum test reactor",
            daemon=True,
        )
        self.thread.start()

    def call(self, f: Callable[..., Any], *args: Any) -> Any:
        """
        Run C{f(*args)} in the reactor thread; its result (waiting for a
        L{Deferred}'s), or its exception raised here.
        """
        return blockingCallFromThread(self.reactor, f, *args)

    def react(self, main: Callable[..., Any], argv: tuple[Any, ...] = ()) -> NoReturn:
        """
        What L{twisted.internet.task.react} does, on this running reactor:
        run C{main(reactor)} to the end, then exit 0, or with the status of
        the L{SystemExit} it failed with (any other exception is raised).
        """
        self.call(main, self.reactor, *argv)
        raise SystemExit(0)

    def stop(self) -> None:
        """
        Stop the reactor (closing every listening port and connection) and
        wait for its thread.
        """
        self.reactor.callFromThread(self.reactor.stop)
        self.thread.join(timeout=10)


class Servers:
    """
    randnum servers listening on a L{ReactorThread}'s reactor, until
    L{close}.
    """

    def __init__(self, running: ReactorThread) -> None:
        self.running = running
        self.reactor = running.reactor
        self.ports: list[IListeningPort] = []
        self.pools: list[Any] = []

    def listen(self, factory: IProtocolFactory, description: str) -> int:
        """
        Listen with C{factory} at the server endpoint C{description}; the
        TCP port number (0 for a Unix socket).
        """

        def listen() -> Deferred[IListeningPort]:
            endpoint = serverFromString(self.reactor, description)
            listening: Deferred[IListeningPort] = endpoint.listen(factory)
            return listening

        port: IListeningPort = self.running.call(listen)
        self.ports.append(port)
        return int(getattr(port.getHost(), "port", 0))

    def server(self, **kwargs: Any) -> RandnumServer:
        """
        A L{RandnumServer} on this reactor, built with C{kwargs}.
        """
        server: RandnumServer = self.running.call(
            lambda: RandnumServer(clock=self.reactor, **kwargs)
        )
        return server

    def signingServer(self, directory: Path, keyfile: Path) -> RandnumServer:
        """
        A server that signs draws with the key in C{keyfile} into an audit
        store in C{directory}, as C{twistd randnum --signing-key
        --audit-db} builds it.
        """
        signer = Signer.fromFile(keyfile)
        path = str(directory / "audit.db")

        def build() -> RandnumServer:
            audit = openStore(path, signer, self.reactor, openTail(path, signer))
            self.pools += [audit.pool, audit.readPool]
            return RandnumServer(clock=self.reactor, audit=audit)

        server: RandnumServer = self.running.call(build)
        return server

    def tcp(
        self,
        server: RandnumServer | None = None,
        description: str = "tcp:0:interface=127.0.0.1",
    ) -> int:
        """
        Serve randnum's TCP protocol (default framing) for C{server}, or a
        new one; the port.
        """
        server = server or self.server()
        factory = self.running.call(lambda: RandnumFactory(server=server))
        return self.listen(factory, description)

    def http(
        self,
        server: RandnumServer | None = None,
        description: str = "tcp:0:interface=127.0.0.1",
    ) -> int:
        """
        Serve the HTTP face of C{server}, or a new one; the port.
        """
        server = server or self.server()
        site = self.running.call(lambda: webSite(server, metricsRegistry(server)))
        return self.listen(site, description)

    def close(self) -> None:
        """
        Stop listening, and close the audit stores' database threads.
        """
        for port in self.ports:
            self.running.call(port.stopListening)
        for pool in self.pools:
            self.running.call(pool.close)
        self.ports, self.pools = [], []


class Signing:
    """
    A signing server in C{inProcess}: its key (C{signing.pem} and
    C{signing.pem.pub} in C{directory}), and its two faces.
    """

    def __init__(self, inProcess: Servers, directory: Path) -> None:
        self.keyId = generateKey(directory / "signing.pem")
        server = inProcess.signingServer(directory, directory / "signing.pem")
        self.tcp = inProcess.tcp(server)
        self.http = inProcess.http(server)
        self.url = f"http://127.0.0.1:{self.http}"


@contextmanager
def reactorThread() -> Iterator[ReactorThread]:
    """
    A L{ReactorThread}, stopped afterwards.
    """
    running = ReactorThread()
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def servers(
    running: ReactorThread, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Servers]:
    """
    L{Servers} on C{running}, closed afterwards.  TLS connections (which
    Twisted times on the global reactor unless told otherwise) are timed on
    C{running}'s reactor meanwhile.
    """
    monkeypatch.setattr(
        "twisted.protocols.tls._get_default_clock", lambda: running.reactor
    )
    serving = Servers(running)
    try:
        yield serving
    finally:
        serving.close()
