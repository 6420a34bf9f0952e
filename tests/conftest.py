"""
Shared fixtures.
"""

from __future__ import annotations

import _posixsubprocess
import datetime
import multiprocessing.process
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import settings
from inprocess import ReactorThread, Servers, reactorThread, servers
from servers import Server, startServer, stopServer
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from zope.interface import provider

# Timing belongs to the benchmarks: a loaded machine (CI, mutation runs)
# must not fail a property test for being slow.
settings.register_profile("randnum", deadline=None)
settings.load_profile("randnum")


class StartsAProcess(Exception):
    """
    A test not marked C{live} tried to start a process.
    """


@pytest.fixture(autouse=True)
def inMemoryUnlessLive(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A test that starts a process must say so (C{@pytest.mark.live}), so that
    C{pytest -m "not live"} is the in-memory suite: elsewhere, starting one
    fails the test.
    """
    if request.node.get_closest_marker("live") is not None:
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise StartsAProcess(
            f"{request.node.nodeid} starts a process: mark it @pytest.mark.live"
        )

    # Every way Python starts a process: subprocess (and multiprocessing's
    # spawn and forkserver) through _posixsubprocess, Twisted's spawnProcess
    # through posix_spawnp or fork, os.system, and multiprocessing itself.
    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    monkeypatch.setattr(_posixsubprocess, "fork_exec", refuse)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse)


@pytest.fixture(scope="session")
def running() -> Iterator[ReactorThread]:
    """
    The reactor thread that in-process servers (L{inprocess}), and the
    C{randnum} command run in-process, run on.
    """
    with reactorThread() as thread:
        yield thread


@pytest.fixture
def inProcess(
    running: ReactorThread, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Servers]:
    """
    Servers in this process, closed after the test.
    """
    with servers(running, monkeypatch) as serving:
        yield serving


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """
    Start C{twistd randnum} with the given arguments; stopped after the test.
    """
    servers: list[Server] = []

    def start(*args: str, listeners: int = 1) -> Server:
        workdir = tmp_path / f"server{len(servers)}"
        workdir.mkdir()
        server = startServer(workdir, *args, listeners=listeners)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stopServer(server)


@pytest.fixture
def logged() -> Iterator[list[LogEvent]]:
    """
    The events logged through C{twisted.logger} during the test.
    """
    events: list[LogEvent] = []

    @provider(ILogObserver)
    def observe(event: LogEvent) -> None:
        events.append(event)

    globalLogPublisher.addObserver(observe)
    yield events
    globalLogPublisher.removeObserver(observe)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """
    A self-signed certificate for localhost and its key, as PEM files.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    keyPath, certPath = tmp_path / "key.pem", tmp_path / "cert.pem"
    keyPath.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certPath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return keyPath, certPath


@pytest.fixture
def tlsPort(certificate: tuple[Path, Path]) -> str:
    """
    An endpoint description for a TLS port on loopback with C{certificate}.
    """
    key, cert = certificate
    return f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
