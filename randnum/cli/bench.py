# -*- test-case-name: tests.cli.test_bench -*-
"""
C{randnum bench}: load a server (with L{randnum.cli.load}) and report its
throughput, latency and errors.
"""

from __future__ import annotations

import sys
from typing import ClassVar

from twisted.python import usage

from randnum.cli.command import (
    EXIT_OK,
    EXIT_UNREACHABLE,
    CommandOptions,
    counted,
    fail,
    moved,
)
from randnum.cli.load import (
    Load,
    formatSummary,
    jsonSummary,
    parseEndpoint,
    printProgress,
    runLoad,
    summary,
)
from randnum.cli.location import SERVER_PARAMETERS, serverLocation
from randnum.options import positiveNumberOption, positiveOption


class BenchOptions(CommandOptions):
    """
    Options for C{randnum bench}.
    """

    synopsis = (
        "[--host HOST] [--port PORT | --endpoint DESC] [-c CONNECTIONS] "
        "[-P PIPELINE] [-d SECONDS] [--mode line|connect] [--processes N] "
        "[--request TEXT] [--json]"
    )
    longdesc = (
        "Load a randnum server and report numbers/s, latency percentiles and "
        "errors. 'line' mode keeps PIPELINE requests in flight on each of "
        "CONNECTIONS connections; 'connect' mode opens a connection per request, "
        "like the original sample client. Progress goes to stderr once a second. "
        "Any server that answers one line per request line can be measured "
        "(e.g. --request PING against Redis). The load generator is a bare "
        "socket loop, so --endpoint takes tcp: and unix: descriptions only "
        "(no TLS)."
    )
    optParameters: ClassVar[list[list[str | None]]] = [
        *SERVER_PARAMETERS,
        [
            "endpoint",
            "e",
            None,
            "A tcp: or unix: client endpoint description instead of "
            "--host/--port, e.g. unix:path=/run/randnum.sock. "
            "[default: $RANDNUM_ENDPOINT]",
        ],
        [
            "connections",
            "c",
            "50",
            "Concurrent connections (or workers in connect mode).",
        ],
        ["pipeline", "P", "1", "Requests in flight per connection (line mode)."],
        ["duration", "d", "5", "How long to run, in seconds."],
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

    def opt_seconds(self, value: str) -> None:
        """
        The same as --duration (its name before randnum 0.2).
        """
        moved("bench --seconds", "-d/--duration")
        self["duration"] = value

    def opt_t(self, value: str) -> None:
        """
        The same as -d (its name before randnum 0.2; -t is --timeout in the
        other commands).
        """
        moved("bench -t", "-d/--duration (-t is --timeout in the other commands)")
        self["duration"] = value

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
        self["processes"] = positiveOption("processes", self["processes"])
        endpoint = serverLocation(self).description
        try:
            parseEndpoint(endpoint)
        except (ValueError, OSError) as error:
            raise usage.UsageError(f"--endpoint {endpoint!r}: {error}") from None
        self["load"] = Load(
            endpoint=endpoint,
            mode=self["mode"],
            connections=positiveOption("connections", self["connections"]),
            pipeline=positiveOption("pipeline", self["pipeline"]),
            seconds=positiveNumberOption("duration", self["duration"]),
            request=data,
        )


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
            EXIT_UNREACHABLE,
            f"no replies from {load.endpoint} "
            f"({counted(tally.errors, 'connection error')}): "
            "is randnum (without TLS) running there?",
        )
    print(jsonSummary(figures) if options["json"] else formatSummary(figures))
    return EXIT_OK
