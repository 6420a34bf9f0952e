"""
The C{randnum} console script, run as a user runs it, against a real
C{twistd randnum} on loopback: that the installed command works, exits with
its status, and goes quietly when its reader leaves.  What the command and
the clients do is tested in this process (C{tests/cli}, C{test_blocking}).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from servers import BIN, Server, cleanEnvironment, run

pytestmark = pytest.mark.live

LOCAL = "tcp:0:interface=127.0.0.1"


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "a command is needed"),
        (["get", "-n", "x"], "--count must be an integer, not 'x'"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_usageErrorsExitTwo(args: list[str], message: str, tmp_path: Path) -> None:
    result = run("randnum", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


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
