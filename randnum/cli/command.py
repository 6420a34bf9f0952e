# -*- test-case-name: tests.cli.test_main -*-
"""
What every subcommand of the C{randnum} command shares: its exit statuses,
L{fail} (one line on stderr, then exit, or quietly once the user has stopped
the command: L{stopBy}), and L{CommandOptions} (C{--version}, C{-h}).
"""

from __future__ import annotations

import signal
import sys
from typing import NoReturn

from twisted.python import usage

from randnum import __version__

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
#: Stopped by Ctrl-C (SIGINT), as a shell reports it: 128 + the signal.
EXIT_INTERRUPTED = 128 + signal.SIGINT
#: Stopped by SIGTERM.
EXIT_TERMINATED = 128 + signal.SIGTERM

#: The signal that stopped the command, once one has (see L{stopBy}).
_stoppedBy: list[int] = []


class CommandOptions(usage.Options):
    """
    Options shared by the command and its subcommands.
    """

    def opt_version(self) -> NoReturn:
        """
        Show randnum's version and exit.
        """
        print(f"randnum {__version__}")
        sys.exit(EXIT_OK)

    # As curl and most commands have it (-H is the host, as in redis-cli's
    # -h, which help has here).
    opt_h = usage.Options.opt_help

    def getSynopsis(self) -> str:
        """
        C{Usage: randnum get ...} for a subcommand, not Twisted's
        C{Usage: randnum COMMAND [options] get ...}.
        """
        if self.parent is None:
            return str(super().getSynopsis())
        synopsis = getattr(self, "synopsis", "[options]")
        return f"Usage: randnum {self.parent.subCommand} {synopsis}".rstrip()


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """
    C{count} and C{noun}, plural unless one: C{1 error}, C{2 errors}.
    """
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def moved(old: str, new: str) -> None:
    """
    Say on stderr, in one line, that option C{old} is now C{new}.
    """
    print(f"randnum: {old} is now {new}", file=sys.stderr)


def stopBy(signum: int | None) -> None:
    """
    Note that signal C{signum} (SIGINT, SIGTERM) stopped the command (or,
    with L{None}, that nothing has yet).
    """
    _stoppedBy[:] = [] if signum is None else [signum]


def stoppedStatus() -> int | None:
    """
    The exit status of a command stopped by a signal (128 + the signal), or
    L{None} if none stopped it.
    """
    return 128 + _stoppedBy[0] if _stoppedBy else None


def fail(code: int, message: str) -> NoReturn:
    """
    Print one line to stderr and exit with C{code}; but once the user has
    stopped the command (L{stopBy}), exit quietly with the stop's status:
    the connection that the stop broke is not the server's fault.
    """
    stopped = stoppedStatus()
    if stopped is not None:
        raise SystemExit(stopped)
    print(f"randnum: {message}", file=sys.stderr)
    raise SystemExit(code)
