"""
The C{randnum} command: C{randnum get} fetches numbers from a server,
C{randnum bench} measures one.

Exit status: 0 success; 1 the server refused the request (its reason on
stderr); 2 usage error; 3 the server could not be reached or stopped
answering.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, ClassVar, NoReturn

from twisted.internet.defer import ensureDeferred
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import react
from twisted.python import usage

from randnum import __version__
from randnum.bench import (
    Load,
    formatSummary,
    jsonSummary,
    parseEndpoint,
    printProgress,
    runLoad,
    summary,
)
from randnum.client import RandnumClientProtocol, RandnumError
from randnum.query import QueryError, parseDecimal, parseInteger

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def _integer(name: str, value: str | None) -> int | None:
    # The wire protocol's integer grammar, not all that int() accepts.
    if value is None:
        return None
    try:
        return parseInteger(name, value)
    except QueryError:
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


#: Where the server is: shared by every subcommand that talks to one.
SERVER_PARAMETERS: list[list[str | None]] = [
    ["host", "H", "127.0.0.1", "Server host name or address."],
    ["port", "p", "5000", "Server TCP port."],
    [
        "endpoint",
        "e",
        None,
        "A Twisted client endpoint description instead of --host/--port, "
        "e.g. tls:randnum.example:5001 or unix:path=/run/randnum.sock.",
    ],
]


def _serverEndpoint(options: usage.Options) -> str:
    """
    The client endpoint description that --host/--port/--endpoint name.
    """
    if options["endpoint"] is not None:
        return str(options["endpoint"])
    port = _integer("port", options["port"])
    return f"tcp:host={options['host']}:port={port}"


def _positive(name: str, value: str, kind: type[int] | type[float] = int) -> Any:
    try:
        number = (parseInteger if kind is int else parseDecimal)(name, value)
    except QueryError:
        number = 0
    if number <= 0:
        raise usage.UsageError(f"--{name} must be a positive number, not {value!r}")
    return number


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
        *SERVER_PARAMETERS,
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
        self["timeout"] = _positive("timeout", self["timeout"], float)
        self["endpoint"] = _serverEndpoint(self)


class BenchOptions(_CommandOptions):
    """
    Options for C{randnum bench}.
    """

    synopsis = (
        "[--host HOST] [--port PORT | --endpoint DESC] [-c CONNECTIONS] "
        "[-P PIPELINE] [-t SECONDS] [--mode line|connect] [--processes N] "
        "[--request TEXT] [--json]"
    )
    longdesc = (
        "Load a randnum server and report numbers/s, latency percentiles and "
        "errors. 'line' mode keeps PIPELINE requests in flight on each of "
        "CONNECTIONS connections; 'connect' mode opens a connection per request, "
        "like the original sample client. Progress goes to stderr once a second. "
        "Any server that answers one line per request line can be measured "
        "(e.g. --request PING against Redis). The load generator is a bare "
        "socket loop, so --endpoint takes tcp: and unix: descriptions only."
    )
    optParameters: ClassVar[list[list[str | None]]] = [
        *SERVER_PARAMETERS,
        [
            "connections",
            "c",
            "50",
            "Concurrent connections (or workers in connect mode).",
        ],
        ["pipeline", "P", "1", "Requests in flight per connection (line mode)."],
        ["seconds", "t", "5", "How long to run."],
        ["mode", "m", "line", "'line' (persistent connections) or 'connect'."],
        ["processes", None, "1", "Client processes to spread the load over."],
        [
            "request",
            "r",
            None,
            "What to send per request. Line mode appends a newline. "
            "[default: an empty line; 'Example request' in connect mode]",
        ],
    ]
    optFlags: ClassVar[list[list[str | None]]] = [
        ["json", None, "Print the result as one line of JSON, without progress."],
    ]

    def postOptions(self) -> None:
        """
        Check the values and build the L{Load}.
        """
        if self["mode"] not in ("line", "connect"):
            raise usage.UsageError(
                f"--mode must be line or connect, not {self['mode']!r}"
            )
        request = self["request"]
        if request is None:
            request = "" if self["mode"] == "line" else "Example request"
        data = request.encode("utf-8")
        if self["mode"] == "line":
            data += b"\n"
        elif not data:
            raise usage.UsageError("--request must not be empty in connect mode")
        self["processes"] = _positive("processes", self["processes"])
        endpoint = _serverEndpoint(self)
        try:
            parseEndpoint(endpoint)
        except (ValueError, OSError) as error:
            raise usage.UsageError(f"--endpoint {endpoint!r}: {error}") from None
        self["load"] = Load(
            endpoint=endpoint,
            mode=self["mode"],
            connections=_positive("connections", self["connections"]),
            pipeline=_positive("pipeline", self["pipeline"]),
            seconds=_positive("seconds", self["seconds"], float),
            request=data,
        )


class Options(_CommandOptions):
    """
    Options for the C{randnum} command.
    """

    synopsis = "Usage: randnum"
    longdesc = "Run 'randnum COMMAND --help' for a command's options."
    subCommands: ClassVar[list[list[object]]] = [
        ["get", None, GetOptions, "Get random numbers from a randnum server."],
        ["bench", None, BenchOptions, "Measure a server's throughput and latency."],
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


def bench(options: BenchOptions) -> int:
    """
    Run the load in child processes and print the figures.
    """
    load: Load = options["load"]
    if not options["json"]:
        print(
            f"randnum bench: {load.mode} load on {load.endpoint} for {load.seconds} s",
            file=sys.stderr,
        )
    try:
        tally = runLoad(
            load,
            options["processes"],
            report=None if options["json"] else printProgress,
        )
    except Exception as error:
        fail(EXIT_UNREACHABLE, f"benchmark failed: {error}")
    figures = summary(load, options["processes"], tally)
    if not tally.replies:
        fail(
            EXIT_UNREACHABLE, f"no replies from {load.endpoint} ({tally.errors} errors)"
        )
    print(jsonSummary(figures) if options["json"] else formatSummary(figures))
    return EXIT_OK


#: Commands that run on the reactor.
REACTOR_COMMANDS = {"get": get}
#: Commands that manage their own processes.
PLAIN_COMMANDS = {"bench": bench}


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
    name = str(options.subCommand)
    if name in PLAIN_COMMANDS:
        sys.exit(PLAIN_COMMANDS[name](options.subOptions))
    command = REACTOR_COMMANDS[name]
    react(lambda reactor: ensureDeferred(command(reactor, options.subOptions)))
