"""
The blocking client and the C{randnum} command against a real
C{twistd randnum} on loopback.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import BIN, Server, cleanEnvironment, freePort, run

import randnum

LOCAL = "tcp:0:interface=127.0.0.1"


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
        (["get", "-n", "x"], "--count must be an integer, not 'x'"),
        (["get", "--n", "x"], "--count must be an integer, not 'x'"),
        (["get", "--port", "http"], "--port must be a port number (1-65535)"),
        (["get", "--port", "99999"], "--port must be a port number (1-65535)"),
        (["get", "--port", "5_000"], "--port must be a port number (1-65535)"),
        (["get", "--host", "::1", "--endpoint", "tcp:x:1"], "--endpoint names"),
        (
            ["get", "--cafile", "/nonexistent.pem"],
            "--cafile: cannot read '/nonexistent.pem'",
        ),
        (["get", "--timeout", "1_0"], "--timeout must be a positive number"),
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
    assert result.stderr.startswith("randnum: connection refused by 127.0.0.1:")
    assert result.stderr.endswith(": is randnum running there?\n")


def test_silentServerExitsThreeAfterTheTimeout(
    silentServer: int, tmp_path: Path
) -> None:
    result = run(
        "randnum", "get", "--port", str(silentServer), "--timeout", "0.3", cwd=tmp_path
    )
    assert result.returncode == 3
    assert result.stderr == (
        f"randnum: no answer from 127.0.0.1:{silentServer} within 0.3 s "
        "(a TLS port? add --tls or --cafile FILE)\n"
    )


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


def test_getOverIpv6WithAnyHostSpelling(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve("--port", "tcp:0:interface=\\:\\:1")
    for host in ("::1", "[::1]"):
        result = run(
            "randnum",
            "get",
            "--host",
            host,
            "--port",
            str(server.port),
            "-n",
            "2",
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.split()) == 2


def test_getOverTlsTrustingACaFile(
    serve: Callable[..., Server],
    certificate: tuple[Path, Path],
    tlsPort: str,
    tmp_path: Path,
) -> None:
    _, cert = certificate
    server = serve("--port", tlsPort)
    port = str(server.port)
    trusted = run(
        "randnum",
        "get",
        "--host",
        "localhost",
        "--port",
        port,
        "--cafile",
        str(cert),
        "-n",
        "3",
        "--json",
        cwd=tmp_path,
    )
    assert trusted.returncode == 0, trusted.stderr
    assert len(json.loads(trusted.stdout)["numbers"]) == 3
    untrusted = run(
        "randnum",
        "get",
        "--host",
        "localhost",
        "--port",
        port,
        "--tls",
        cwd=tmp_path,
    )
    assert untrusted.returncode == 3
    assert untrusted.stderr == (
        f"randnum: the TLS certificate of tls://localhost:{port} is not trusted: "
        "give the CA certificate that signed it with --cafile FILE\n"
    )
    # The Python clients: the same CA file.
    with randnum.connect("localhost", server.port, cafile=str(cert)) as client:
        assert len(client.get(n=4)) == 4


def test_getJsonForScripts(serve: Callable[..., Server], tmp_path: Path) -> None:
    server = serve("--port", LOCAL)
    port = str(server.port)
    result = run(
        "randnum",
        "get",
        "-p",
        port,
        "-n",
        "3",
        "--min",
        "5",
        "--max",
        "5",
        "--json",
        cwd=tmp_path,
    )
    assert result.stdout == '{"numbers":[5,5,5],"min":5,"max":5}\n'
    refused = run("randnum", "get", "-p", port, "-n", "0", "--json", cwd=tmp_path)
    assert refused.returncode == 1
    assert json.loads(refused.stdout) == {"error": "n must be between 1 and 10000"}


def test_environmentNamesTheServerAndFlagsWin(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve("--port", LOCAL)
    port = str(server.port)
    assert run("randnum", "get", env={"RANDNUM_PORT": port}, cwd=tmp_path).stdout
    endpoint = {"RANDNUM_ENDPOINT": f"tcp:host=127.0.0.1:port={port}"}
    assert run("randnum", "get", env=endpoint, cwd=tmp_path).returncode == 0
    # The option wins over the environment.
    wrong = {"RANDNUM_PORT": str(freePort()), "RANDNUM_HOST": "127.0.0.1"}
    assert run("randnum", "get", "-p", port, env=wrong, cwd=tmp_path).returncode == 0
    both = run("randnum", "get", env={**endpoint, **wrong}, cwd=tmp_path)
    assert both.returncode == 2
    assert "RANDNUM_ENDPOINT and RANDNUM_HOST/RANDNUM_PORT are both set" in both.stderr


def test_aReaderThatLeavesEarlyGetsNoTraceback(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve("--port", LOCAL)
    for command in (
        f"randnum get -p {server.port} -n 10000 | head -1",
        "randnum get --help | head -1",
    ):
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=tmp_path,
            env={**cleanEnvironment(), "PATH": f"{BIN}:/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.stdout.count("\n") == 1
        assert result.stderr == ""
        assert result.returncode == 0
