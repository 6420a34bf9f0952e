"""
The C{randnum} command as a whole: its commands, C{--help}, C{--version},
and how a usage error is told.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from inprocess import Ran

from randnum import __version__
from randnum.cli.command import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    counted,
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
