"""
Hostile and faulty clients against a real C{twistd randnum} on loopback:
each costs only itself.  Every test is bounded in time.
"""

from __future__ import annotations

import re
import resource
import select
import signal
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from servers import Server

# Every test here starts real processes.
pytestmark = pytest.mark.live

LOCAL = "tcp:0:interface=127.0.0.1"
# Summaries often enough for tests to watch connections come and go.
WATCHED = ("--log-interval", "0.2")
NEWLINE = b"\n"
SUMMARY = re.compile(r"randnum tcp summary: (\d+) open")


def client(port: int, source: str = "127.0.0.1", timeout: float = 5) -> socket.socket:
    """
    A blocking loopback connection, optionally from another loopback address.
    """
    sock = socket.socket()
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def readUntilClosed(
    sock: socket.socket, limit: float = 10, allowReset: bool = False
) -> bytes:
    """
    Everything the server sends until it closes the connection with a FIN
    (bounded by C{limit} s).  A reset fails the test unless C{allowReset}
    (where the server deliberately aborts, or closes on unread input).
    """
    deadline = time.monotonic() + limit
    chunks: list[bytes] = []
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            if not allowReset:
                raise AssertionError(
                    f"reset after {sum(map(len, chunks))} bytes"
                ) from None
            data = b""
        if not data:
            return b"".join(chunks)
        chunks.append(data)
    raise AssertionError("the server did not close the connection")


def readLines(sock: socket.socket, count: int) -> list[bytes]:
    """
    The next C{count} reply lines.
    """
    data = b""
    while data.count(b"\n") < count:
        chunk = sock.recv(65536)
        assert chunk, f"closed with {count - data.count(NEWLINE)} replies missing"
        data += chunk
    return data.split(b"\n")[:count]


def ask(port: int) -> float:
    """
    Ask a fresh connection for one number; return how long the answer took.
    """
    started = time.monotonic()
    with client(port) as sock:
        sock.sendall(b"\n")
        [reply] = readLines(sock, 1)
    assert 1 <= int(reply) <= 10000
    return time.monotonic() - started


def openConnections(server: Server, atMost: int = 0, timeout: float = 10) -> int:
    """
    Wait until the server's summaries say at most C{atMost} connections are
    open; return the last count reported.
    """
    deadline = time.monotonic() + timeout
    counts: list[str] = []
    while time.monotonic() < deadline:
        counts = SUMMARY.findall(server.logText())
        if counts and int(counts[-1]) <= atMost:
            return int(counts[-1])
        time.sleep(0.1)
    raise AssertionError(f"open connections: {counts[-1:]} after {timeout} s")


def assertCleanLog(server: Server) -> None:
    text = server.logText()
    assert "Traceback" not in text
    assert "Unhandled" not in text


def rssBytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# 1. Idle clients.


def test_idleClientDelaysNobodyAndIsClosed(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL, "--idle-timeout", "1", *WATCHED)
    with client(server.port) as idle:
        assert ask(server.port) < 1.0
        started = time.monotonic()
        assert readUntilClosed(idle) == b""
        assert 0.5 < time.monotonic() - started < 5
    openConnections(server)
    assert "1 idle timeouts" in server.logText()
    assertCleanLog(server)


# 2. Connection limits.


def test_connectionLimitsOverLoopback(serve: Callable[..., Server]) -> None:
    server = serve(
        *("--port", LOCAL, "--max-connections", "3", "--max-connections-per-ip", "2"),
        *WATCHED,
    )
    with ExitStack() as stack:
        first = stack.enter_context(client(server.port, "127.0.0.1"))
        stack.enter_context(client(server.port, "127.0.0.1"))
        # Over the per-address limit...
        with client(server.port, "127.0.0.1") as third:
            assert readUntilClosed(third) == b"ERR busy\n"
        # ...while another address is admitted, up to the total.
        other = stack.enter_context(client(server.port, "127.0.0.2"))
        with client(server.port, "127.0.0.3") as fourth:
            assert readUntilClosed(fourth) == b"ERR busy\n"
        # Admitted connections are unaffected.
        for sock in (first, other):
            sock.sendall(b"n=2\n")
            assert len(readLines(sock, 1)[0].split()) == 2
        # Capacity returns when a client leaves.
        first.close()
        openConnections(server, atMost=2)
        with client(server.port, "127.0.0.1") as again:
            again.sendall(b"\n")
            assert readLines(again, 1)[0].isdigit()
    openConnections(server)
    assertCleanLog(server)


# 3. Line length.


def test_longLineIsRefusedAndClosed(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL, "--framing", "line", *WATCHED)
    with client(server.port) as sock:
        sock.sendall(b"n=2\n" + b"x" * 5000)
        # Bytes past the limit are never read, so the close may be a reset.
        reply = readUntilClosed(sock, allowReset=True)
    first, error, end = reply.split(b"\n")
    assert len(first.split()) == 2
    assert (error, end) == (b"ERR line too long", b"")
    openConnections(server)
    assertCleanLog(server)


# 4. Backpressure.


def test_clientThatNeverReadsCannotGrowServerMemory(
    serve: Callable[..., Server],
) -> None:
    server = serve("--port", LOCAL)
    pid = server.process.pid
    before = rssBytes(pid)
    chunk = b"\n" * 65536
    written = 0
    with client(server.port) as hostile:
        hostile.setblocking(False)
        deadline = time.monotonic() + 20
        lastProgress = time.monotonic()
        while written < 200 * 2**20 and time.monotonic() < deadline:
            _, writable, _ = select.select([], [hostile], [], 0.2)
            if writable:
                try:
                    written += hostile.send(chunk)
                    lastProgress = time.monotonic()
                    continue
                except BlockingIOError:
                    pass
            if time.monotonic() - lastProgress > 1.5:
                break  # the server has stopped reading from us
        grown = rssBytes(pid) - before
        # Others are still answered at once while the hostile client stalls.
        latencies = [ask(server.port) for _ in range(5)]
    assert written < 200 * 2**20, (
        "the server kept reading from a client that never reads"
    )
    assert grown < 64 * 2**20, f"server RSS grew by {grown / 2**20:.1f} MB"
    assert max(latencies) < 0.5
    assert ask(server.port) < 0.5
    assertCleanLog(server)


# 5. Bad input.

BAD_LINES = [
    b"\x00\x01\x02\xff\xfe",
    b"\xc3\x28 invalid utf-8",
    b"min=1e400",
    b"n=" + b"9" * 400,
    b"max=" + b"9" * 400,
    b"n=-1",
    b"n=0",
    b"n=2 n=3",
    b"unique=maybe",
    b"n=",
    b"min= max=",
    b"=",
    b"n=1 foo=bar",
    b"min=5 max=1",
    b"n=10 min=1 max=3 unique=true",
    b"\r",
    b"n=\x00",
]


def test_badInputGetsANumberOrAnErrorNeverATraceback(
    serve: Callable[..., Server],
) -> None:
    server = serve("--port", LOCAL, *WATCHED)
    with client(server.port) as sock:
        sock.sendall(b"".join(line + b"\n" for line in BAD_LINES))
        replies = readLines(sock, len(BAD_LINES))
        for line, reply in zip(BAD_LINES, replies, strict=True):
            assert reply.startswith(b"ERR ") or all(
                word.lstrip(b"-").isdigit() for word in reply.split(b" ")
            ), (line, reply)
        # Still usable afterwards.
        sock.sendall(b"n=3\n")
        assert len(readLines(sock, 1)[0].split()) == 3
    # Raw binary, as the first data, in auto framing.
    with client(server.port) as sock:
        sock.sendall(bytes(range(256)).replace(b"\n", b""))
        assert sock.recv(1024).isdigit()
    openConnections(server)
    assertCleanLog(server)


# 6. Abrupt disconnects.


def reset(sock: socket.socket) -> None:
    """
    Close with a TCP reset rather than an orderly shutdown.
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_abruptDisconnectsLeaveNoTraceAndNoLeak(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL, *WATCHED)
    # Reset in the middle of a large reply.
    for _ in range(5):
        sock = client(server.port)
        sock.sendall(b"n=10000\n" * 50)
        sock.recv(1000)
        reset(sock)
    # Close before reading anything.
    for _ in range(5):
        sock = client(server.port)
        sock.sendall(b"n=10000\n" * 20)
        sock.close()
    # Connect and reset at once.
    for _ in range(5):
        reset(client(server.port))
    openConnections(server)
    assert ask(server.port) < 1.0
    assertCleanLog(server)


@pytest.mark.parametrize("delay", [0, 0.5])
def test_halfClosedClientGetsEveryReplyThenAFin(
    serve: Callable[..., Server], delay: float
) -> None:
    server = serve("--port", LOCAL, *WATCHED)
    with client(server.port) as sock:
        sock.sendall(b"n=10000\n" * 20 + b"n=3 min=1 max=6\n" + b"n=3")
        sock.shutdown(socket.SHUT_WR)
        # However late it starts reading, nothing is lost and the end is a
        # FIN, not a reset.
        time.sleep(delay)
        replies = readUntilClosed(sock).split(b"\n")
    assert [len(reply.split()) for reply in replies] == [10000] * 20 + [3, 3, 0]
    openConnections(server)
    assertCleanLog(server)


# 7. TLS and UNIX sockets.


@contextmanager
def tlsClient(port: int, cert: Path) -> Iterator[ssl.SSLSocket]:
    context = ssl.create_default_context(cafile=str(cert))
    with (
        client(port) as sock,
        context.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        yield tls


def test_tlsEndToEnd(
    serve: Callable[..., Server],
    certificate: tuple[Path, Path],
    tlsPort: str,
) -> None:
    _, cert = certificate
    server = serve(
        "--port",
        tlsPort,
        *("--idle-timeout", "1", *WATCHED),
    )
    with tlsClient(server.port, cert) as tls:
        tls.sendall(b"n=3 min=1 max=6\n")
        assert all(1 <= int(n) <= 6 for n in readLines(tls, 1)[0].split())
        # A plaintext client and a broken handshake do not disturb the server
        # or this connection.
        with client(server.port) as plain:
            plain.sendall(b"Example request\n")
            readUntilClosed(plain, allowReset=True)
        with client(server.port) as broken:
            broken.sendall(b"\x16\x03\x01\x00\x64" + bytes(100))
            readUntilClosed(broken, allowReset=True)
        reset(client(server.port))
        tls.sendall(b"\n")
        assert readLines(tls, 1)[0].isdigit()
    # A handshake that never finishes is closed by the idle timeout.
    with client(server.port) as stuck:
        stuck.sendall(b"\x16\x03\x01\x02\x00" + bytes(100))
        started = time.monotonic()
        readUntilClosed(stuck, allowReset=True)
        assert time.monotonic() - started < 5
    with tlsClient(server.port, cert) as tls:
        tls.sendall(b"Example request")
        assert tls.recv(1024).decode().isdigit()
    openConnections(server)
    assertCleanLog(server)


def test_unixSocketEndToEnd(serve: Callable[..., Server], tmp_path: Path) -> None:
    path = tmp_path / "randnum.sock"
    server = serve("--port", f"unix:{path}", *WATCHED)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(b"Example request")
        assert 1 <= int(sock.recv(1024).decode()) <= 10000
        sock.sendall(b"\nn=4\n")
        assert len(readLines(sock, 2)[1].split()) == 4
    openConnections(server)
    assertCleanLog(server)


# 8 and 9. Many connections; shutdown with many connected.


def openMany(port: int, count: int, timeout: float = 60) -> list[socket.socket]:
    """
    C{count} connections, each of which has sent a request and been
    answered, all still open.
    """
    socks: list[socket.socket] = []
    deadline = time.monotonic() + timeout
    poller = select.epoll()
    try:
        for start in range(0, count, 500):
            wave = []
            for _ in range(min(500, count - start)):
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", port))
                wave.append(sock)
                socks.append(sock)
            waiting = {sock.fileno(): sock for sock in wave}
            for sock in wave:
                poller.register(sock, select.EPOLLOUT)
            sent: set[int] = set()
            while waiting:
                assert time.monotonic() < deadline, f"{len(socks)} opened"
                for fd, _ in poller.poll(1.0):
                    sock = waiting[fd]
                    if fd not in sent:
                        sock.send(b"\n")
                        sent.add(fd)
                        poller.modify(sock, select.EPOLLIN)
                    else:
                        reply = sock.recv(64)
                        assert reply.rstrip(b"\n").isdigit(), reply
                        poller.unregister(sock)
                        del waiting[fd]
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    finally:
        poller.close()
    return socks


@pytest.fixture
def manyDescriptors() -> Iterator[None]:
    """
    Room for 10,000 connections in this process and in the server it starts
    (which inherits the limit), as the README asks of a real deployment.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 10_500
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(
            f"the hard descriptor limit is {hard}; 10,000 connections need {needed}"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.usefixtures("manyDescriptors")
def test_tenThousandConnectionsEachAnswered(serve: Callable[..., Server]) -> None:
    server = serve(
        "--port",
        "tcp:0:interface=127.0.0.1:backlog=1024",
        *("--max-connections-per-ip", "0", *WATCHED),
    )
    socks = openMany(server.port, 10_000)
    try:
        # The 10,001st connection is over --max-connections.
        with client(server.port) as extra:
            assert readUntilClosed(extra) == b"ERR busy\n"
        # Every one of the 10,000 is still served.
        for sock in socks[::1000]:
            sock.setblocking(True)
            sock.settimeout(5)
            sock.sendall(b"n=2\n")
            assert len(readLines(sock, 1)[0].split()) == 2
    finally:
        for sock in socks:
            sock.close()
    openConnections(server, timeout=30)
    assertCleanLog(server)


@pytest.mark.usefixtures("manyDescriptors")
def test_sigtermWithAThousandClientsStopsWithinTwoSeconds(
    serve: Callable[..., Server],
) -> None:
    server = serve("--port", "tcp:0:interface=127.0.0.1:backlog=1024")
    assertSigtermStopsWithinTwoSeconds(server, openMany(server.port, 1000))


def assertSigtermStopsWithinTwoSeconds(
    server: Server, socks: list[socket.socket]
) -> None:
    """
    SIGTERM stops the server cleanly within 2 s while C{socks} are connected.
    """
    try:
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        for sock in socks:
            sock.close()
    # twistd exits through the signal that stopped it, once the reactor has
    # shut down cleanly.
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert elapsed < 2.0, f"stopping took {elapsed:.2f} s"
    assert "Main loop terminated." in server.logText()
    assertCleanLog(server)


def test_sigtermDuringAnAmplificationFloodStopsWithinTwoSeconds(
    serve: Callable[..., Server],
) -> None:
    server = serve("--port", LOCAL, "--http", LOCAL, listeners=2)
    full = b"n=10000 min=-9223372036854775808 max=9223372036854775807\n"
    get = (
        b"GET /v1/random?n=10000&min=-9223372036854775808&max=9223372036854775807"
        b" HTTP/1.1\r\n\r\n"
    )
    floods = [(server.ports[0], full * 1100), (server.ports[0], b"n=10000\n" * 8000)]
    floods += [(server.ports[1], get * 700)]
    socks = []
    for port, data in floods * 2:
        sock = client(port)
        sock.setblocking(False)
        try:
            sock.send(data)
        except BlockingIOError:
            pass
        socks.append(sock)
    # Meanwhile, others are answered at once.
    with client(server.ports[0], timeout=1) as other:
        other.sendall(b"n=3\n")
        assert len(readLines(other, 1)[0].split()) == 3
    assertSigtermStopsWithinTwoSeconds(server, socks)


def test_tricklingClientsAreClosedAtTheTimeout(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL, "--http", LOCAL, "--idle-timeout", "1", listeners=2)
    tcp, web = client(server.ports[0]), client(server.ports[1])
    tcp.sendall(b"\n")
    assert readLines(tcp, 1)[0].isdigit()
    started = time.monotonic()
    closed: dict[str, float] = {}
    for byte in range(40):
        for name, sock, data in (
            ("tcp", tcp, b"n=1 " * 10),
            ("http", web, b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 40),
        ):
            if name in closed:
                continue
            try:
                sock.sendall(data[byte : byte + 1])
            except OSError:
                closed[name] = time.monotonic() - started
        if len(closed) == 2:
            break
        time.sleep(0.1)
    tcp.close()
    web.close()
    # Each byte would have reset a per-byte timer; the request's deadline
    # does not move.
    assert closed.keys() == {"tcp", "http"}
    assert all(seconds < 2.5 for seconds in closed.values()), closed
    assertCleanLog(server)


def test_silentTlsClientsAreClosedRefusedOrNot(
    serve: Callable[..., Server],
    certificate: tuple[Path, Path],
    tlsPort: str,
) -> None:
    _, cert = certificate
    server = serve(
        "--port",
        tlsPort,
        *("--idle-timeout", "1", "--max-connections-per-ip", "2", *WATCHED),
    )
    socks = [client(server.port) for _ in range(30)]
    started = time.monotonic()
    for sock in socks:
        readUntilClosed(sock, limit=5, allowReset=True)
    assert time.monotonic() - started < 4
    for sock in socks:
        sock.close()
    openConnections(server)
    with tlsClient(server.port, cert) as tls:
        tls.sendall(b"\n")
        assert readLines(tls, 1)[0].isdigit()
    assertCleanLog(server)


def test_httpRequestBodyIsRefusedUnread(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL, "--http", LOCAL, listeners=2)
    with client(server.ports[1]) as sock:
        sock.sendall(
            b"POST /v1/random HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 10737418240\r\n\r\n"
        )
        response = readUntilClosed(sock)
    assert response.startswith(b"HTTP/1.1 405 ")
    assert b"connection: close" in response.lower()
    assertCleanLog(server)


def test_httpsWorksForClientsThatOfferAlpn(
    serve: Callable[..., Server],
    certificate: tuple[Path, Path],
    tlsPort: str,
) -> None:
    _, cert = certificate
    server = serve(
        "--port",
        LOCAL,
        "--http",
        tlsPort,
        listeners=2,
    )
    context = ssl.create_default_context(cafile=str(cert))
    # What curl and browsers offer.
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        client(server.ports[1]) as sock,
        context.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        assert tls.selected_alpn_protocol() == "http/1.1"
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        response = b""
        while not response.endswith(b"ok\n"):
            chunk = tls.recv(4096)
            assert chunk
            response += chunk
    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assertCleanLog(server)
