# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
The raw byte stream, C{GET /v1/bytes?length=N}, and C{randnum bytes}: a
real server, because the point is what crosses a socket: exactly N bytes
and a clean end, flat memory for a reader that is slow or stops, and a
reader that stops being let go at the idle timeout.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable

import pytest
from servers import BIN, Server, cleanEnvironment, fetch, run
from test_hostile import rssBytes
from twisted.internet import tcp
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from uniformity import chiSquareOk

from randnum.flow import peerProgress
from randnum.web.streaming import StreamedBody

# Every test here starts real processes.
pytestmark = pytest.mark.live

LOCAL = "tcp:0:interface=127.0.0.1"


def webServer(serve: Callable[..., Server], *args: str) -> tuple[Server, int]:
    server = serve("--port", LOCAL, "--http", LOCAL, *args, listeners=2)
    return server, server.ports[1]


def test_exactlyTheBytesAskedFor(serve: Callable[..., Server]) -> None:
    _, port = webServer(serve)
    for length in (1, 65535, 65536, 65537, 1_000_000):
        response = fetch(port, f"/v1/bytes?length={length}")
        assert response.status == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert int(response.headers["content-length"]) == length == len(response.body)
    # Uniform bytes.
    body = fetch(port, "/v1/bytes?length=1000000").body
    assert chiSquareOk(Counter(body), 256, len(body))
    head = fetch(port, f"/v1/bytes?length={1 << 40}", "HEAD")
    assert (head.status, head.body) == (200, b"")
    assert int(head.headers["content-length"]) == 1 << 40


def test_badStreamRequestsSayWhy(serve: Callable[..., Server]) -> None:
    _, port = webServer(serve)
    for query, reason in (
        ("", "length is required"),
        ("?length=0", "length must be between 1 and 281474976710656"),
        ("?length=1&length=2", "repeated parameter length"),
        ("?length=x", "length must be an integer"),
        ("?n=3", "unknown parameter 'n'"),
    ):
        response = fetch(port, f"/v1/bytes{query}")
        assert response.status == 400
        assert response.json() == {"error": reason}


def test_aStreamEndsCleanlyAndTheConnectionGoesOn(serve: Callable[..., Server]) -> None:
    _, port = webServer(serve)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        request = b"GET /v1/bytes?length=300000 HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(request + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while not received.endswith(b"ok\n"):
            chunk = sock.recv(1 << 16)
            assert chunk, "the connection ended early"
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    assert b"Content-Length: 300000" in head
    assert rest[300000:].startswith(b"HTTP/1.1 200")


def test_aReaderThatStopsCostsLittleAndIsLetGo(serve: Callable[..., Server]) -> None:
    server, port = webServer(serve, "--idle-timeout", "2")
    before = rssBytes(server.process.pid)
    readers = []
    for _ in range(10):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /v1/bytes?length=10000000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        readers.append(sock)
    time.sleep(1)
    # Ten readers of 10 GB each, none reading: the server holds little.
    assert rssBytes(server.process.pid) - before < 16 << 20
    # Meanwhile, others are served.
    assert fetch(port, "/healthz").body == b"ok\n"
    # After the idle timeout with nothing read, each is aborted.
    time.sleep(2.5)
    for sock in readers:
        sock.settimeout(5)
        ended = None
        try:
            while sock.recv(1 << 20):
                pass
            ended = "FIN"
        except ConnectionResetError:
            ended = "RST"
        assert ended == "RST"
        sock.close()


def test_randnumBytesWritesExactlyWhatItIsAsked(serve: Callable[..., Server]) -> None:
    _, port = webServer(serve)
    url = f"http://127.0.0.1:{port}"
    result = subprocess.run(
        [str(BIN / "randnum"), "bytes", "--url", url, "--length", "200000"],
        capture_output=True,
        env=cleanEnvironment(),
        timeout=30,
        check=False,
    )
    assert (result.returncode, len(result.stdout), result.stderr) == (0, 200000, b"")
    # Endless, until the reader stops: a quiet, successful end.
    endless = subprocess.run(
        f"'{BIN / 'randnum'}' bytes --url {url} - | head -c 3000000 | wc -c",
        shell=True,
        capture_output=True,
        env=cleanEnvironment(),
        timeout=30,
        check=False,
    )
    assert (endless.stdout.strip(), endless.stderr) == (b"3000000", b"")
    refused = run("randnum", "bytes", "--url", url, "--length", "0", cwd=BIN)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "randnum: length must be between 1 and 281474976710656"
    )


def test_randnumBytesSaysWhatIsWrong(serve: Callable[..., Server]) -> None:
    server, port = webServer(serve)
    both = run("randnum", "bytes", "--length", "10", "-", cwd=BIN)
    assert both.returncode == 2
    assert both.stderr.startswith("randnum: give --length N or -, not both")
    tcp = f"http://127.0.0.1:{server.ports[0]}"
    wrongPort = run("randnum", "bytes", "--url", tcp, "--length", "5", cwd=BIN)
    assert wrongPort.returncode == 3
    assert wrongPort.stderr.strip() == (
        f"randnum: {tcp} is randnum's TCP port, not its HTTP face: "
        "--url is the --http port"
    )
    full = subprocess.run(
        f"'{BIN / 'randnum'}' bytes --url http://127.0.0.1:{port} --length 100000 "
        "> /dev/full",
        shell=True,
        capture_output=True,
        env=cleanEnvironment(),
        timeout=30,
        check=False,
    )
    assert full.returncode == 3
    assert (
        full.stderr.strip()
        == b"randnum: cannot write the bytes: No space left on device"
    )


class StreamRequest:
    """
    What L{StreamedBody} uses of a request, over Twisted's TCP transport on
    a real socket pair (in a reactor that never runs: its buffer never
    drains, so only the kernel can show that the client reads).
    """

    def __init__(self, transport: tcp.Server) -> None:
        self.transport = transport
        self.channel = self
        self.aborted = False
        self.written: list[bytes] = []

    def registerProducer(self, producer: object, streaming: bool) -> None:
        pass

    def unregisterProducer(self) -> None:
        pass

    def notifyFinish(self) -> Deferred[None]:
        return Deferred()

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def finish(self) -> None:
        pass


def test_aStreamReaderSeenOnlyByTheKernelIsNotCutOff() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while True:
            ours.send(b"x" * 65536)
    reactor = MemoryReactorClock()
    transport = tcp.Server(ours, Protocol(), ("127.0.0.1", 1), None, 1, reactor)  # type: ignore[arg-type]
    transport.abortConnection = lambda: setattr(request, "aborted", True)  # type: ignore[method-assign]
    request = StreamRequest(transport)
    clock = Clock()
    body = StreamedBody(request, iter([b"x"] * 10), clock, lambda: None, 5)  # type: ignore[arg-type]
    body.pauseProducing()  # the transport is full
    clock.advance(4)
    while peerProgress(ours) < body.reading.mark + body.reading.needed:  # type: ignore[operator]
        theirs.recv(8192)
    clock.advance(1)
    assert not request.aborted  # it read: a new timeout from now
    clock.advance(5)
    assert request.aborted  # then nothing more
    theirs.close()
    ours.close()
