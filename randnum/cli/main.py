# -*- test-case-name: tests.cli.test_main -*-
"""
The C{randnum} command: C{randnum get} fetches numbers from a server,
C{randnum bench} measures one.  Each subcommand is a module of
L{randnum.cli}; this one parses the command line and runs the subcommand.

Exit status: 0 success; 1 the server refused the request (its reason on
stderr); 2 usage error; 3 the server could not be reached or stopped
answering; 130 stopped by Ctrl-C (SIGINT), 143 by SIGTERM, quietly.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, ClassVar, NoReturn

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.error import ReactorNotRunning
from twisted.internet.task import react
from twisted.python import usage

from randnum.cli.bench import BenchOptions, bench
from randnum.cli.bytes import BytesOptions, streamBytes
from randnum.cli.command import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandOptions,
    fail,
    stopBy,
    stoppedStatus,
)
from randnum.cli.export import ExportOptions, export
from randnum.cli.get import GetOptions, get
from randnum.cli.keygen import KeygenOptions, keygen
from randnum.cli.verify import VerifyOptions, verify


class Options(CommandOptions):
    """
    Options for the C{randnum} command.
    """

    synopsis = "Usage: randnum COMMAND [options]"
    longdesc = "Run 'randnum COMMAND --help' for a command's options."
    subCommands: ClassVar[list[list[object]]] = [
        ["get", None, GetOptions, "Get random numbers from a randnum server."],
        ["bench", None, BenchOptions, "Measure a server's throughput and latency."],
        ["bytes", None, BytesOptions, "Write raw random bytes to stdout."],
        ["keygen", None, KeygenOptions, "Make a signing key for signed draws."],
        ["verify", None, VerifyOptions, "Verify signed draws' records."],
        ["export", None, ExportOptions, "Write a server's signed records out."],
    ]

    def postOptions(self) -> None:
        """
        Insist on a command.
        """
        if self.subCommand is None:
            raise usage.UsageError("a command is needed, such as 'get'")


#: Commands that run on the reactor.
REACTOR_COMMANDS = {"get": get}
#: Commands that manage their own processes.
PLAIN_COMMANDS: dict[str, Callable[[Any], int]] = {
    "bench": bench,
    "bytes": streamBytes,
    "keygen": keygen,
    "verify": verify,
    "export": export,
}


def readerGone() -> NoReturn:
    """
    Whoever reads our output has gone (C{randnum get | head -1}): stop
    quietly, as a command line tool does, rather than with a traceback.
    """
    # Python would complain again when it flushes stdout at exit.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(EXIT_OK)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """
    The C{randnum} console script.  Ctrl-C is how a person stops it (the
    endless C{randnum bytes}, a long C{bench}): it exits 130, quietly.
    """
    stopBy(None)
    try:
        _main(argv)
    except BrokenPipeError:
        readerGone()
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED) from None


def stopOnSignals(reactor: Any) -> None:
    """
    Make SIGINT and SIGTERM stop C{reactor}, as Twisted's own handlers do,
    noting which signal it was (L{stopBy}): the command then exits quietly
    with 130 or 143 rather than blame the server for the broken connection.
    A signal that was ignored when the command started stays ignored.
    """

    def stop() -> None:
        try:
            reactor.stop()
        except ReactorNotRunning:  # a second signal while stopping
            pass

    def handle(signum: int, frame: FrameType | None) -> None:
        stopBy(signum)
        reactor.callFromThread(stop)

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, handle)


def runOnReactor(command: Callable[[Any, Any], Any], options: Any) -> NoReturn:
    """
    Run C{command(reactor, options)} on the reactor and exit with its
    status, or with a stopping signal's.
    """

    def run(reactor: Any) -> Deferred[None]:
        # After Twisted's handlers, which it installs during startup.
        reactor.addSystemEventTrigger("after", "startup", stopOnSignals, reactor)
        return ensureDeferred(command(reactor, options))

    try:
        react(run)
    except SystemExit:
        stopped = stoppedStatus()
        if stopped is None:
            raise
        raise SystemExit(stopped) from None
    # react always exits; this is for the type checker.
    raise SystemExit(EXIT_OK)  # pragma: no cover


def _main(argv: Sequence[str] | None) -> NoReturn:
    options = Options()  # type: ignore[no-untyped-call]
    try:
        options.parseOptions(sys.argv[1:] if argv is None else list(argv))  # type: ignore[no-untyped-call]
    except usage.UsageError as error:
        words = ["randnum", *([options.subCommand] if options.subCommand else [])]
        fail(EXIT_USAGE, f"{error}\nRun '{' '.join(words)} --help' for usage.")
    name = str(options.subCommand)
    if name in PLAIN_COMMANDS:
        sys.exit(PLAIN_COMMANDS[name](options.subOptions))
    runOnReactor(REACTOR_COMMANDS[name], options.subOptions)
