"""
The C{randnum} command: C{randnum get} fetches numbers from a server.

Exit status: 0 success; 1 the server refused the request (its reason on
stderr); 2 usage error; 3 the server could not be reached or stopped
answering.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import ClassVar, NoReturn

from twisted.internet.defer import ensureDeferred
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import react
from twisted.python import usage

from randnum import __version__
from randnum.client import RandnumClientProtocol, RandnumError

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def _integer(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise usage.UsageError(f"--{name} must be an integer, not {value!r}") from None


class _CommandOptions(usage.Options):
    """
    Options shared by the command and its subcommands.
    """

    def opt_version(self) -> NoReturn:
        """
        Show randnum's version and exit.
        """
        print(f"randnum {__version__}")
        sys.exit(EXIT_OK)


class GetOptions(_CommandOptions):
    """
    Options for C{randnum get}.
    """

    synopsis = (
        "[--host HOST] [--port PORT | --endpoint DESC] [-n N] [--min A] [--max B] "
        "[--unique] [--timeout SECONDS]"
    )
    longdesc = (
        "Ask a randnum server for numbers and print them, one per line. Bounds "
        "not given are the server's defaults (1..10000 unless it was started "
        "otherwise). Exit status: 0 success, 1 the server refused the request, "
        "2 usage error, 3 the server cannot be reached."
    )
    optParameters: ClassVar[list[list[str | None]]] = [
        ["host", "H", "127.0.0.1", "Server host name or address."],
        ["port", "p", "5000", "Server TCP port."],
        [
            "endpoint",
            "e",
            None,
            "A Twisted client endpoint description instead of --host/--port, "
            "e.g. tls:randnum.example:5001 or unix:path=/run/randnum.sock.",
        ],
        ["n", "n", "1", "How many numbers (1..10000)."],
        ["min", None, None, "Smallest number (server default if not given)."],
        ["max", None, None, "Largest number (server default if not given)."],
        ["timeout", "t", "10", "Seconds to wait for the connection and the reply."],
    ]
    optFlags: ClassVar[list[list[str | None]]] = [
        ["unique", "u", "Distinct numbers (n may not exceed max-min+1)."],
    ]

    def postOptions(self) -> None:
        """
        Check the values' forms; the server checks their meaning.
        """
        self["n"] = _integer("n", self["n"])
        self["min"] = _integer("min", self["min"])
        self["max"] = _integer("max", self["max"])
        port = _integer("port", self["port"])
        try:
            self["timeout"] = float(self["timeout"])
        except ValueError:
            raise usage.UsageError(
                f"--timeout must be a number of seconds, not {self['timeout']!r}"
            ) from None
        if self["endpoint"] is None:
            self["endpoint"] = f"tcp:host={self['host']}:port={port}"


class Options(_CommandOptions):
    """
    Options for the C{randnum} command.
    """

    synopsis = "Usage: randnum"
    longdesc = "Run 'randnum COMMAND --help' for a command's options."
    subCommands: ClassVar[list[list[object]]] = [
        ["get", None, GetOptions, "Get random numbers from a randnum server."],
    ]

    def postOptions(self) -> None:
        """
        Insist on a command.
        """
        if self.subCommand is None:
            raise usage.UsageError("a command is needed, such as 'get'")


def fail(code: int, message: str) -> NoReturn:
    """
    Print one line to stderr and exit with C{code}.
    """
    print(f"randnum: {message}", file=sys.stderr)
    raise SystemExit(code)


async def get(reactor: IReactorTime, options: GetOptions) -> None:
    """
    Connect, ask once, print the numbers.
    """
    description = options["endpoint"]
    try:
        endpoint = clientFromString(reactor, description)
    except Exception as error:  # any failure here is a bad description
        fail(EXIT_USAGE, f"--endpoint {description!r}: {error}")

    connecting = connectProtocol(endpoint, RandnumClientProtocol())
    try:
        client: RandnumClientProtocol = await connecting.addTimeout(
            options["timeout"], reactor
        )
    except Exception as error:
        fail(
            EXIT_UNREACHABLE, f"cannot reach a randnum server at {description}: {error}"
        )

    try:
        numbers = await client.request(
            n=options["n"],
            min=options["min"],
            max=options["max"],
            unique=options["unique"],
        ).addTimeout(options["timeout"], reactor)
    except RandnumError as error:
        fail(EXIT_REFUSED, error.reason)
    except Exception as error:
        fail(EXIT_UNREACHABLE, f"no answer from {description}: {error}")
    finally:
        client.transport.loseConnection()
    sys.stdout.write("".join(f"{number}\n" for number in numbers))


COMMANDS = {"get": get}


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """
    The C{randnum} console script.
    """
    options = Options()  # type: ignore[no-untyped-call]
    try:
        options.parseOptions(sys.argv[1:] if argv is None else list(argv))  # type: ignore[no-untyped-call]
    except usage.UsageError as error:
        words = ["randnum", *([options.subCommand] if options.subCommand else [])]
        fail(EXIT_USAGE, f"{error}\nRun '{' '.join(words)} --help' for usage.")
    command = COMMANDS[str(options.subCommand)]
    react(lambda reactor: ensureDeferred(command(reactor, options.subOptions)))
