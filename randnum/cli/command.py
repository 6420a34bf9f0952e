# -*- test-case-name: tests.cli.test_main -*-
"""
What every subcommand of the C{randnum} command shares: its exit statuses,
L{fail} (one line on stderr, then exit), and L{CommandOptions} (C{--version},
C{-h}).
"""

from __future__ import annotations

import sys
from typing import NoReturn

from twisted.python import usage

from randnum import __version__

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


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


def fail(code: int, message: str) -> NoReturn:
    """
    Print one line to stderr and exit with C{code}.
    """
    print(f"randnum: {message}", file=sys.stderr)
    raise SystemExit(code)
