"""
The installed C{twistd randnum}, run from outside the checkout, over real
loopback sockets.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from servers import Server, run

import randnum

# Every test here starts real processes.
pytestmark = pytest.mark.live

LOCAL = "tcp:0:interface=127.0.0.1"


def recvLines(sock: socket.socket, count: int) -> list[bytes]:
    """
    Read until C{count} complete lines have arrived.
    """
    data = b""
    while data.count(b"\n") < count:
        chunk = sock.recv(1 << 16)
        assert chunk, "connection closed before every reply arrived"
        data += chunk
    assert data.count(b"\n") == count and data.endswith(b"\n")
    return data.split(b"\n")[:-1]


def test_seedClientExchange(serve: Callable[..., Server]) -> None:
    """
    The original sample client, byte for byte: one send, one recv(1024),
    decode, and a bare decimal number in 1..10000.
    """
    server = serve("--port", LOCAL)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"Example request")
        num = s.recv(1024).decode()
    assert num.isdigit(), repr(num)
    assert 1 <= int(num) <= 10000
    assert "Traceback" not in server.logText()


def test_pipelinedClientGetsEveryReplyInOrder(serve: Callable[..., Server]) -> None:
    """
    10,000 lines in one write; line i asks for a range holding only i, so
    the replies prove their order.
    """
    server = serve("--port", LOCAL, "--framing", "line")
    request = b"".join(b"min=%d max=%d\n" % (i, i) for i in range(10_000))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(request)
        replies = recvLines(s, 10_000)
    assert replies == [b"%d" % i for i in range(10_000)]


def test_pipelinedDefaultRequestsInAutoFraming(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"\n" * 10_000)
        replies = recvLines(s, 10_000)
    assert all(1 <= int(reply) <= 10000 for reply in replies)


def test_parameterRequestsAndErrors(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL, "--min", "1", "--max", "6")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"n=6 unique=true\nn=0\nhello\n")
        distinct, error, default = recvLines(s, 3)
    assert sorted(int(v) for v in distinct.split(b" ")) == [1, 2, 3, 4, 5, 6]
    assert error == b"ERR n must be between 1 and 10000"
    assert 1 <= int(default) <= 6


def test_severalListeningPorts(serve: Callable[..., Server], tmp_path: Path) -> None:
    sock = tmp_path / "randnum.sock"
    server = serve("--port", LOCAL, "--port", f"unix:{sock}", listeners=2)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(sock))
        s.sendall(b"n=2 min=5 max=5\n")
        assert recvLines(s, 1) == [b"5 5"]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"x")
        assert s.recv(1024).isdigit()


def test_twistdListsThePluginFromAnotherDirectory(tmp_path: Path) -> None:
    result = run("twistd", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "randnum" in result.stdout


def test_pluginHelpDocumentsEveryOption(tmp_path: Path) -> None:
    result = run("twistd", "randnum", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--port", "--min", "--max", "--seed", "--framing"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--min", "9", "--max", "1"], "--min/--max: min must not exceed max"),
        (["--bogus"], "option --bogus not recognized"),
        (["--port", "ssl:0:privateKey=/nonexistent.pem"], "--port 'ssl:0:private"),
    ],
)
def test_usageErrorIsOneLineAndExitStatus2(
    tmp_path: Path, args: list[str], line: str
) -> None:
    for daemon in ([], ["-n"]):
        result = run("twistd", *daemon, "randnum", *args, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stdout == ""
        first, hint = result.stderr.splitlines()
        assert first.startswith("twistd randnum: ") and line in first
        assert hint == "Run 'twistd randnum --help' for every option."
        assert not (tmp_path / "twistd.pid").exists()


def test_versionNamesRandnum(tmp_path: Path) -> None:
    result = run("twistd", "randnum", "--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith(f"randnum {randnum.__version__} (Twisted ")


def test_portInUseIsOneClearLine(serve: Callable[..., Server], tmp_path: Path) -> None:
    server = serve("--port", LOCAL)
    result = run(
        "twistd",
        "-n",
        "--pidfile=",
        "randnum",
        "--port",
        f"tcp:{server.port}:interface=127.0.0.1",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    # In randnum's log namespace, not as text printed on stderr.
    assert (
        "[randnum#error] randnum: cannot listen on --port "
        f"tcp:{server.port}:interface=127.0.0.1: in use" in output
    )
    assert "stderr#" not in output
    assert "Traceback" not in output


def test_daemonThatCannotListenExitsAtOnceWithTheReason(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve("--port", LOCAL)
    started = time.monotonic()
    # twistd's default: daemonize, with a pid file in the current directory.
    result = run(
        "twistd", "randnum", "--port", f"tcp:{server.port}", cwd=tmp_path, timeout=30
    )
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert f"randnum: cannot listen on --port tcp:{server.port}: in use\n" in (
        result.stderr
    )
    # twistd's daemon reports to the parent before it removes its pid file
    # (postApplication): the parent may exit a moment before that.
    deadline = time.monotonic() + 5
    while (tmp_path / "twistd.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not (tmp_path / "twistd.pid").exists()


@pytest.mark.parametrize("name", ["SIGHUP", "SIGTERM", "SIGINT"])
def test_aStopSignalStopsTheServerCleanlyWithStatus0(
    serve: Callable[..., Server], name: str
) -> None:
    server = serve("--port", LOCAL)
    server.process.send_signal(getattr(signal, name))
    # A requested stop is a success, whichever signal asked for it.
    assert server.process.wait(timeout=10) == 0
    log = server.logText()
    assert f"randnum received {name}: stopping" in log
    assert "Main loop terminated." in log
    assert "Traceback" not in log
