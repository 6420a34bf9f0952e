"""
Socket activation, systemd-style, without systemd: Twisted's C{systemd:}
endpoint serving an inherited socket, and several processes sharing one
port through C{SO_REUSEPORT} sockets, as C{deploy/systemd/randnum@.socket}
sets up.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from servers import BIN, LISTENING, cleanEnvironment, freePort, run, stopProcess

# Every test here starts real processes.
pytestmark = pytest.mark.live

SYSTEMD_PORT = "systemd:domain=INET:index=0"


def ask(port: int, timeout: float = 5) -> int:
    """
    One number, the sample client's way.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"Example request")
        return int(sock.recv(1024).decode())


def waitForListening(log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if log.exists() and LISTENING.search(log.read_text(errors="replace")):
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    raise AssertionError(f"no listening line:\n{text}")


@contextmanager
def running(command: list[str], **kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command,
        env=kwargs.pop("env", cleanEnvironment()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **kwargs,  # type: ignore[call-overload]
    )
    try:
        yield process
    finally:
        stopProcess(process)


def twistd(log: Path, *args: str) -> list[str]:
    return [str(BIN / "twistd"), "-n", "--pidfile=", "-l", str(log), "randnum", *args]


# CI installs the tool and sets RANDNUM_REQUIRE_SYSTEMD, so that there this
# test runs or fails, never skips.
@pytest.mark.skipif(
    shutil.which("systemd-socket-activate") is None
    and not os.environ.get("RANDNUM_REQUIRE_SYSTEMD"),
    reason="needs systemd-socket-activate (Debian's systemd; .ci/run installs it)",
)
def test_servesASocketFromSystemdSocketActivate(tmp_path: Path) -> None:
    port = freePort()
    log = tmp_path / "twistd.log"
    command = [
        "systemd-socket-activate",
        "--fdname=randnum",
        f"--listen=127.0.0.1:{port}",
        *twistd(log, "--port", SYSTEMD_PORT, "--min", "7", "--max", "7"),
    ]
    with running(command, cwd=tmp_path) as activator:
        # systemd-socket-activate starts the service on the first connection.
        deadline = time.monotonic() + 10
        while True:
            try:
                assert ask(port, timeout=10) == 7
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "nothing listening"
                time.sleep(0.05)
        waitForListening(log, activator)
        assert [ask(port) for _ in range(5)] == [7] * 5
        assert f"port {port}" in log.read_text()


# Put the socket at fd 3, set LISTEN_PID to this pid, exec the command.
LAUNCHER = """
import os, sys
if int(sys.argv[1]) != 3:
    os.dup2(int(sys.argv[1]), 3)
    os.close(int(sys.argv[1]))
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])
"""


def reusePortSocket(port: int) -> socket.socket:
    """
    A listening socket as systemd makes it for C{ReusePort=yes}.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


@contextmanager
def activated(
    sock: socket.socket, log: Path, *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    """
    Run twistd as systemd would for one socket: as fd 3, with LISTEN_FDS,
    LISTEN_FDNAMES and LISTEN_PID (the process's own pid, which only the
    process knows: a small launcher sets it and execs twistd in its place).
    """
    env = cleanEnvironment() | {"LISTEN_FDS": "1", "LISTEN_FDNAMES": "randnum"}
    fd = sock.fileno()
    command = [
        sys.executable,
        "-c",
        LAUNCHER,
        str(fd),
        *twistd(log, "--port", SYSTEMD_PORT, *args),
    ]
    with running(command, env=env, pass_fds=(fd,), cwd=log.parent) as process:
        waitForListening(log, process)
        yield process


def test_twoProcessesShareOnePortAndEitherCanStop(tmp_path: Path) -> None:
    port = freePort()
    first, second = reusePortSocket(port), reusePortSocket(port)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        activated(first, tmp_path / "a" / "twistd.log", "--min", "1", "--max", "1"),
        activated(
            second, tmp_path / "b" / "twistd.log", "--min", "2", "--max", "2"
        ) as b,
    ):
        # The sockets now live in the servers.
        first.close()
        second.close()
        # The kernel spreads connections over both processes.
        answers = {ask(port) for _ in range(200)}
        assert answers == {1, 2}
        # Stopping one leaves the port served by the other.
        b.terminate()
        b.wait(timeout=10)
        assert {ask(port) for _ in range(50)} == {1}


def test_systemdPortWithoutAnInheritedSocketIsAUsageError(tmp_path: Path) -> None:
    result = run("twistd", "-n", "randnum", "--port", SYSTEMD_PORT, cwd=tmp_path)
    assert result.returncode != 0
    assert "no such socket inherited from systemd" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
