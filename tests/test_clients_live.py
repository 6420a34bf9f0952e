"""
The blocking client and the C{randnum} command against a real
C{twistd randnum} on loopback.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import Server, run

import randnum

LOCAL = "tcp:0:interface=127.0.0.1"


def freePort() -> int:
    """
    A loopback port with nothing listening on it.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silentServer() -> Iterator[int]:
    """
    A port that accepts connections and never answers.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:
        try:
            accepted.append(listener.accept()[0])
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    listener.close()
    for sock in accepted:
        sock.close()
    thread.join(timeout=5)


# The blocking client.


def test_blockingClientGetsNumbers(serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL)
    with randnum.connect("127.0.0.1", server.port) as client:
        dice = client.get(n=3, min=1, max=6)
        drawn = client.get(n=6, min=1, max=6, unique=True)
        default = client.get()
    assert len(dice) == 3 and all(1 <= d <= 6 for d in dice)
    assert sorted(drawn) == [1, 2, 3, 4, 5, 6]
    assert len(default) == 1 and 1 <= default[0] <= 10000


def test_blockingClientRaisesRandnumErrorAndStaysUsable(
    serve: Callable[..., Server],
) -> None:
    server = serve("--port", LOCAL)
    with randnum.connect("127.0.0.1", server.port) as client:
        with pytest.raises(randnum.RandnumError) as refused:
            client.get(n=0)
        assert refused.value.reason == "n must be between 1 and 10000"
        assert client.get(min=5, max=5) == [5]


def test_blockingClientOverUnixSocket(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    path = tmp_path / "r.sock"
    serve("--port", f"unix:{path}")
    with randnum.connectUnix(str(path)) as client:
        assert client.get(n=2, min=0, max=0) == [0, 0]


def test_blockingClientTimesOut(silentServer: int) -> None:
    with randnum.connect("127.0.0.1", silentServer, timeout=0.2) as client:
        with pytest.raises(TimeoutError):
            client.get()


def test_blockingClientCannotConnect() -> None:
    with pytest.raises(ConnectionRefusedError):
        randnum.connect("127.0.0.1", freePort())


# The randnum command.


def test_getPrintsOneNumberPerLine(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve("--port", LOCAL)
    command = f"randnum get --port {server.port} -n 5 --min 1 --max 6"
    result = run(*command.split(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert all(1 <= int(line) <= 6 for line in lines)
    assert result.stderr == ""


def test_getUniqueOverAnEndpoint(serve: Callable[..., Server], tmp_path: Path) -> None:
    path = tmp_path / "r.sock"
    serve("--port", f"unix:{path}")
    command = f"randnum get --endpoint unix:path={path} -n 6 --min 1 --max 6 --unique"
    result = run(*command.split(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(int(line) for line in result.stdout.split()) == [1, 2, 3, 4, 5, 6]


def test_getExitsOneWithTheServersReason(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve("--port", LOCAL)
    command = f"randnum get --port {server.port} -n 7 --max 6 --unique"
    result = run(*command.split(), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        result.stderr == "randnum: unique needs n <= 6, the count of values in 1..6\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "a command is needed"),
        (["get", "-n", "x"], "--n must be an integer, not 'x'"),
        (["get", "--port", "http"], "--port must be an integer"),
        (["get", "--timeout", "soon"], "--timeout must be a positive number"),
        (["get", "--bogus"], "bogus"),
        (["frobnicate"], "frobnicate"),
        (
            ["get", "--endpoint", "bogus:x"],
            "--endpoint 'bogus:x': Unknown endpoint type",
        ),
    ],
)
def test_usageErrorsExitTwo(args: list[str], message: str, tmp_path: Path) -> None:
    result = run("randnum", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachableServerExitsThreeWithOneLine(tmp_path: Path) -> None:
    result = run("randnum", "get", "--port", str(freePort()), cwd=tmp_path)
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "randnum: cannot reach a randnum server at tcp:host=127.0.0.1"
    )


def test_silentServerExitsThreeAfterTheTimeout(
    silentServer: int, tmp_path: Path
) -> None:
    result = run(
        "randnum", "get", "--port", str(silentServer), "--timeout", "0.3", cwd=tmp_path
    )
    assert result.returncode == 3
    assert result.stderr.startswith("randnum: no answer from")
    assert "Traceback" not in result.stderr


def test_helpDocumentsEverything(tmp_path: Path) -> None:
    top = run("randnum", "--help", cwd=tmp_path)
    assert top.returncode == 0
    assert "get" in top.stdout
    get = run("randnum", "get", "--help", cwd=tmp_path)
    assert get.returncode == 0
    for option in (
        "--host",
        "--port",
        "--endpoint",
        "-n",
        "--min",
        "--max",
        "--unique",
        "--timeout",
    ):
        assert option in get.stdout
    assert "Exit status: 0 success, 1 the server refused" in " ".join(
        get.stdout.split()
    )
