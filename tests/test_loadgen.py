"""
benchmarks/loadgen.c, the C load generator behind C{compare.py --client c}:
it compiles, speaks both loads to a real randnum, and counts what it gets
(short runs, no timed assertion).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from servers import Server

# Every test here starts real processes.
pytestmark = pytest.mark.live

SOURCE = Path(__file__).resolve().parent.parent / "benchmarks" / "loadgen.c"
LOCAL = "tcp:0:interface=127.0.0.1"


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler: compare.py --client c cannot run here either")
    binary = tmp_path_factory.mktemp("loadgen") / "loadgen"
    subprocess.run(
        [compiler, "-O2", "-Wall", "-Werror", "-o", str(binary), str(SOURCE)],
        check=True,
    )
    return binary


def generate(loadgen: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(loadgen), *args], capture_output=True, text=True, timeout=30, check=True
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def test_persistentConnectionsKeepTheirRequestsInFlight(
    loadgen: Path, serve: Callable[..., Server]
) -> None:
    server = serve("--port", LOCAL)
    figures = generate(loadgen, str(server.port), "line", "4", "3", "0.5", "n=3")
    assert figures["errors"] == 0
    assert figures["requests"] > 0
    assert figures["numbers"] == 3 * figures["requests"]
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p99_ms"]


def test_aConnectionPerRequestReadsOneReplyEach(
    loadgen: Path, serve: Callable[..., Server]
) -> None:
    server = serve("--port", LOCAL)
    figures = generate(loadgen, str(server.port), "connect", "4", "1", "0.5")
    assert figures["errors"] == 0
    assert figures["requests"] > 0
    assert figures["numbers"] == figures["requests"]


def test_errorRepliesAreCounted(loadgen: Path, serve: Callable[..., Server]) -> None:
    server = serve("--port", LOCAL)
    figures = generate(loadgen, str(server.port), "connect", "2", "1", "0.3", "n=0")
    assert figures["requests"] > 0
    assert figures["errors"] == figures["requests"]


def test_aReplyMayEndWithTheConnection(loadgen: Path) -> None:
    # The original server's way: a number without a newline, then a close.
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serveSerially() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(1024)
                connection.sendall(b"4242")

    server = threading.Thread(target=serveSerially)
    server.start()
    try:
        port = str(listener.getsockname()[1])
        figures = generate(loadgen, port, "connect", "2", "1", "0.3")
    finally:
        stop.set()
        server.join()
        listener.close()
    assert figures["errors"] == 0
    assert figures["requests"] > 0
    assert figures["numbers"] == figures["requests"]


def test_aRefusingPortIsErrorsNotASpin(loadgen: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = str(closed.getsockname()[1])  # bound, never listening
        figures = generate(loadgen, port, "connect", "4", "1", "0.5")
    assert figures["requests"] == 0
    assert figures["errors"] > 0
    # New attempts wait 10 ms after a failure: at most a few hundred.
    assert figures["errors"] < 4 * 100


def test_badArgumentsGetAUsageMessage(loadgen: Path) -> None:
    done = subprocess.run([str(loadgen), "1"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "usage:" in done.stderr
    # More than one send may carry: refused, not sent in part.
    big = [str(loadgen), "1", "line", "1", "4000", "1", "x" * 10]
    done = subprocess.run(big, capture_output=True, text=True)
    assert done.returncode == 2
    assert "at most 16384 bytes" in done.stderr
