"""
The blocking client (L{randnum.connect}, L{randnum.connectUnix}) against
servers in this process, over real sockets.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess import Servers, Signing
from servers import freePort
from twisted.internet.protocol import Factory, Protocol

import randnum
from randnum.client.blocking import BlockingClient
from randnum.client.lines import UnexpectedReply
from randnum.client.reaching import NoSuchSocket, UntrustedCertificate
from randnum.client.wrongport import ClosedWithoutReply, SpeaksHTTP
from randnum.generation.source import seededSource
from randnum.signing.records import verifyDraw


@pytest.fixture
def silentPort() -> Iterator[int]:
    """
    A port that accepts connections (into its backlog) and never answers.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_getNumbers(inProcess: Servers) -> None:
    port = inProcess.tcp()
    with randnum.connect("127.0.0.1", port) as client:
        dice = client.get(n=3, min=1, max=6)
        drawn = client.get(n=6, min=1, max=6, unique=True)
        default = client.get()
    assert len(dice) == 3 and all(1 <= d <= 6 for d in dice)
    assert sorted(drawn) == [1, 2, 3, 4, 5, 6]
    assert len(default) == 1 and 1 <= default[0] <= 10000


def test_aRefusalRaisesRandnumErrorAndTheClientStaysUsable(
    inProcess: Servers,
) -> None:
    port = inProcess.tcp()
    with randnum.connect("127.0.0.1", port) as client:
        with pytest.raises(randnum.RandnumError) as refused:
            client.get(n=0)
        assert refused.value.reason == "n must be between 1 and 10000"
        assert client.get(min=5, max=5) == [5]


def test_valuesOfEachType(inProcess: Servers) -> None:
    port = inProcess.tcp(inProcess.server(source=seededSource(3)))
    with randnum.connect("127.0.0.1", port) as client:
        assert all(isinstance(u, uuid.UUID) for u in client.values("uuid", 2))
        assert [len(s) for s in client.values("string", 3, length=5)] == [5, 5, 5]
        (raw,) = client.values("bytes", length=4, format="base64")
        assert isinstance(raw, bytes) and len(raw) == 4
        assert client.values("int", 2, min=9, max=9) == [9, 9]


def test_aSignedDrawVerifies(inProcess: Servers, tmp_path: Path) -> None:
    signing = Signing(inProcess, tmp_path)
    with randnum.connect("127.0.0.1", signing.tcp) as client:
        record = client.values("int", 2, signed=True, data="raffle 12")
    assert record["data"] == "raffle 12" and record["serial"] == 1
    verifyDraw(record, tmp_path / "signing.pem.pub")


def test_overAUnixSocket(inProcess: Servers, tmp_path: Path) -> None:
    path = tmp_path / "r.sock"
    inProcess.tcp(description=f"unix:{path}")
    with randnum.connectUnix(str(path)) as client:
        assert client.get(n=2, min=0, max=0) == [0, 0]


def test_ipv6InBrackets(inProcess: Servers) -> None:
    port = inProcess.tcp(description="tcp6:0:interface=\\:\\:1")
    with randnum.connect("[::1]", port) as client:
        assert len(client.get(n=2)) == 2


# Twisted's ssl: server endpoint hands pyOpenSSL objects to pyOpenSSL.
@pytest.mark.filterwarnings("ignore:Passing pyOpenSSL:DeprecationWarning")
def test_tlsTrustingACaFile(
    inProcess: Servers, tlsPort: str, certificate: tuple[Path, Path]
) -> None:
    _, cert = certificate
    port = inProcess.tcp(description=tlsPort)
    with randnum.connect("localhost", port, cafile=str(cert)) as client:
        assert len(client.get(n=4)) == 4


# Twisted's ssl: server endpoint hands pyOpenSSL objects to pyOpenSSL.
@pytest.mark.filterwarnings("ignore:Passing pyOpenSSL:DeprecationWarning")
def test_anUntrustedCertificateSaysToPassACaFile(
    inProcess: Servers, tlsPort: str
) -> None:
    port = inProcess.tcp(description=tlsPort)
    with pytest.raises(UntrustedCertificate) as raised:
        randnum.connect("localhost", port, tls=True)
    assert isinstance(raised.value, ConnectionError)
    assert str(raised.value) == (
        f"the TLS certificate of localhost:{port} is not trusted: give the CA "
        "certificate that signed it with cafile=FILE"
    )


def test_aSilentServerTimesOut(silentPort: int) -> None:
    with randnum.connect("127.0.0.1", silentPort, timeout=0.2) as client:
        with pytest.raises(TimeoutError):
            client.get()


def test_noServer() -> None:
    with pytest.raises(ConnectionRefusedError):
        randnum.connect("127.0.0.1", freePort())


def test_noSuchUnixSocketIsSaidSo() -> None:
    with pytest.raises(NoSuchSocket) as raised:
        randnum.connectUnix("/nonexistent/randnum.sock")
    assert isinstance(raised.value, (ConnectionError, FileNotFoundError))
    assert str(raised.value) == (
        "no such socket file: /nonexistent/randnum.sock (is randnum serving a "
        "UNIX socket there?)"
    )


def test_aServerThatClosesIsAConnectionError() -> None:
    ours, theirs = socket.socketpair()
    with BlockingClient(ours) as client, theirs:
        theirs.sendall(b"12 ")
        theirs.shutdown(socket.SHUT_WR)
        with pytest.raises(ConnectionError, match="the server closed the connection"):
            client.get()


def test_aReplyThatIsNotNumbers() -> None:
    ours, theirs = socket.socketpair()
    with BlockingClient(ours) as client, theirs:
        theirs.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
        with pytest.raises(UnexpectedReply):
            client.get()


def test_anotherProtocolsAnswerNamesTheServer(inProcess: Servers) -> None:
    port = inProcess.listen(
        Factory.forProtocol(NotRandnum), "tcp:0:interface=127.0.0.1"
    )
    with randnum.connect("127.0.0.1", port, timeout=5) as client:
        with pytest.raises(UnexpectedReply) as raised:
            client.get()
    assert str(raised.value) == (
        f"127.0.0.1:{port} does not speak randnum's protocol: it answered "
        "'SSH-2.0-OpenSSH_9.6'"
    )
    assert raised.value.reason == "it answered 'SSH-2.0-OpenSSH_9.6'"


class NotRandnum(Protocol):
    """
    A server that answers anything with another protocol's greeting.
    """

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(b"SSH-2.0-OpenSSH_9.6\r\n")


def test_randnumsHttpPortIsNamedAtOnce(inProcess: Servers) -> None:
    port = inProcess.http()
    with randnum.connect("127.0.0.1", port, timeout=2) as client:
        with pytest.raises(SpeaksHTTP) as raised:
            client.get()
    assert isinstance(raised.value, ConnectionError)
    assert str(raised.value) == (
        f"127.0.0.1:{port} speaks HTTP: is that randnum's --http port? "
        "(the TCP port is --port)"
    )


# Twisted's ssl: server endpoint hands pyOpenSSL objects to pyOpenSSL.
@pytest.mark.filterwarnings("ignore:Passing pyOpenSSL:DeprecationWarning")
def test_aTlsPortWithoutTlsIsNamedAtOnce(inProcess: Servers, tlsPort: str) -> None:
    port = inProcess.tcp(description=tlsPort)
    with randnum.connect("127.0.0.1", port, timeout=2) as client:
        with pytest.raises(ClosedWithoutReply, match=r"a TLS port\?"):
            client.get()
