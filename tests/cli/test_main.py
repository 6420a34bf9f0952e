"""
The C{randnum} command as a whole: its commands, C{--help}, C{--version},
and how a usage error is told.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from inprocess import Ran

from randnum import __version__
from randnum.cli.command import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    counted,
    fail,
    stopBy,
)

Randnum = Callable[..., Ran]

COMMANDS = ("get", "bench", "bytes", "keygen", "verify", "export")


def test_theExitStatuses() -> None:
    assert (EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE) == (0, 1, 2, 3)


def test_aCommandIsNeeded(randnum: Randnum) -> None:
    assert randnum() == Ran(
        2,
        "",
        "randnum: a command is needed, such as 'get'\n"
        "Run 'randnum --help' for usage.\n",
    )


def test_anUnknownCommand(randnum: Randnum) -> None:
    assert randnum("frobnicate") == Ran(
        2, "", "randnum: Unknown command: frobnicate\nRun 'randnum --help' for usage.\n"
    )


@pytest.mark.parametrize("where", [[], ["get"], ["keygen"]])
def test_version(randnum: Randnum, where: list[str]) -> None:
    assert randnum(*where, "--version") == Ran(0, f"randnum {__version__}\n", "")


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_helpListsEveryCommand(randnum: Randnum, flag: str) -> None:
    ran = randnum(flag)
    assert (ran.status, ran.err) == (0, "")
    assert ran.out.startswith("Usage: randnum COMMAND [options]")
    for command in COMMANDS:
        assert f"  {command} " in ran.out


@pytest.mark.parametrize("command", COMMANDS)
def test_eachCommandHasHelp(randnum: Randnum, command: str) -> None:
    ran = randnum(command, "--help")
    assert (ran.status, ran.err) == (0, "")
    assert ran.out.startswith(f"Usage: randnum {command} ")
    assert "  -h, --help " in ran.out
    assert "--version " in ran.out


@pytest.mark.parametrize("command", COMMANDS)
def test_anUnknownOptionNamesTheCommand(randnum: Randnum, command: str) -> None:
    assert randnum(command, "--bogus") == Ran(
        2,
        "",
        f"randnum: option --bogus not recognized\n"
        f"Run 'randnum {command} --help' for usage.\n",
    )


def test_countsAgreeWithTheirNouns() -> None:
    assert counted(1, "error") == "1 error"
    assert counted(0, "error") == "0 errors"
    assert counted(1200, "process", "processes") == "1,200 processes"


@pytest.mark.live
def test_pythonDashMRandnumIsTheCommand() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "randnum", "get", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout.startswith("Usage: randnum get ")
    version = subprocess.run(
        [sys.executable, "-m", "randnum", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert version.stdout == f"randnum {__version__}\n"


@pytest.mark.parametrize("command", ["bench", "bytes", "keygen", "verify", "export"])
def test_ctrlCStopsACommandQuietlyWith130(
    randnum: Randnum, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    def interrupted(options: object) -> int:
        raise KeyboardInterrupt

    module = importlib.import_module("randnum.cli.main")
    monkeypatch.setitem(module.PLAIN_COMMANDS, command, interrupted)
    args = {"bench": [], "keygen": ["k.pem"], "verify": ["--key", "k.pub"]}
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert randnum(command, *args.get(command, ["--url", "http://x"])) == Ran(
        130, "", ""
    )


@pytest.fixture
def stopped() -> Iterator[None]:
    """
    The command has been stopped by SIGTERM, for the length of the test.
    """
    stopBy(signal.SIGTERM)
    yield
    stopBy(None)


def test_aFailureAfterTheUserStoppedTheCommandIsQuiet(
    stopped: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        fail(EXIT_UNREACHABLE, "127.0.0.1:5000 closed the connection")
    assert exited.value.code == 143
    assert capsys.readouterr() == ("", "")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """
    A loopback port that accepts connections and never answers.
    """
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        listening.settimeout(30)
        yield listening


def stopWhenConnected(
    listening: socket.socket, args: list[str], signum: int
) -> subprocess.CompletedProcess[str]:
    """
    Run C{randnum ARGS} (in a process group of its own, as a terminal's
    foreground job), wait until it connects to C{listening}, then send the
    group C{signum}, as Ctrl-C does.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "randnum", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # As a terminal's job: a shell without job control starts its
        # background jobs (a CI script's, say) with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        connection, _ = listening.accept()
        with connection:
            os.killpg(process.pid, signum)
            out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    return subprocess.CompletedProcess(args, process.returncode, out, err)


@pytest.mark.live
@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_stoppingGetDoesNotBlameTheServer(
    listener: socket.socket, signum: int, status: int
) -> None:
    port = str(listener.getsockname()[1])
    ran = stopWhenConnected(listener, ["get", "-p", port, "-t", "60"], signum)
    assert (ran.returncode, ran.stdout, ran.stderr) == (status, "", "")


@pytest.mark.live
@pytest.mark.parametrize(
    "args",
    [
        ["bytes", "--url", "http://127.0.0.1:{port}", "-t", "60"],
        ["bench", "-p", "{port}", "-d", "10", "-c", "1"],
    ],
)
def test_ctrlCStopsAStreamOrABenchmarkWithoutATraceback(
    listener: socket.socket, args: list[str]
) -> None:
    port = str(listener.getsockname()[1])
    words = [word.format(port=port) for word in args]
    ran = stopWhenConnected(listener, words, signal.SIGINT)
    assert ran.returncode == 130
    assert "Traceback" not in ran.stderr
    assert "KeyboardInterrupt" not in ran.stderr
