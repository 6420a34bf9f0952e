# -*- test-case-name: tests.cli.test_get -*-
"""
C{randnum get}: ask a server for values once, over the TCP protocol, and
print them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.interfaces import IReactorTime
from twisted.python import usage

from randnum.cli.command import (
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CommandOptions,
    fail,
)
from randnum.cli.location import (
    SERVER_PARAMETERS,
    ServerLocation,
    explain,
    serverLocation,
)
from randnum.client.endpoints import clientEndpoint, endpointError
from randnum.client.lines import RandnumError, UnexpectedReply
from randnum.client.protocol import RandnumClientProtocol
from randnum.mistakes import clientHostAndPort, notAnEndpoint, trustRootsProblem
from randnum.options import optionalIntegerOption, positiveNumberOption
from randnum.signing.records import canonical


class GetOptions(CommandOptions):
    """
    Options for C{randnum get}.
    """

    synopsis = (
        "[--host HOST] [--port PORT] [--tls] [--cafile FILE] [--endpoint DESC] "
        "[-n N] [--min A] [--max B] [--unique] [--timeout SECONDS] [--json]\n"
        "       [--type decimal|gaussian|string|uuid|bytes] [--places P] "
        "[--mean M] [--sd S] [--digits D] [--length L] [--chars SET] "
        "[--uuid-version 4|7] [--format hex|base64] [--signed [--data TEXT]]"
    )
    longdesc = (
        "Ask a randnum server for numbers and print them, one per line (or, "
        "with --json, one JSON document). Bounds not given are the server's "
        "defaults (1..10000 unless it was started otherwise). The server is "
        "--host/--port, or --endpoint, or else $RANDNUM_ENDPOINT, "
        "$RANDNUM_HOST/$RANDNUM_PORT and $RANDNUM_CAFILE. Exit status: 0 "
        "success, 1 the server refused the request, 2 usage error, 3 the "
        "server cannot be reached or did not answer in time."
    )

    optParameters: ClassVar[list[list[str | None]]] = [
        *SERVER_PARAMETERS,
        [
            "cafile",
            None,
            None,
            "Connect with TLS, trusting the CA certificate(s) in this PEM file "
            "(e.g. a self-signed server's certificate). [default: $RANDNUM_CAFILE]",
        ],
        [
            "endpoint",
            "e",
            None,
            "A Twisted client endpoint description instead of --host/--port, "
            "e.g. unix:path=/run/randnum.sock or "
            "tls:randnum.example:5001:trustRoots=/etc/ssl/randnum. "
            "[default: $RANDNUM_ENDPOINT]",
        ],
        ["count", "n", "1", "How many numbers (1..10000)."],
        ["min", None, None, "Smallest number (server default if not given)."],
        ["max", None, None, "Largest number (server default if not given)."],
        [
            "type",
            None,
            "int",
            "What kind of value: int, decimal, gaussian, string, uuid or bytes.",
        ],
        ["places", None, None, "decimal: digits after the point (1..15; 6)."],
        ["mean", None, None, "gaussian: the mean (0)."],
        ["sd", None, None, "gaussian: the standard deviation (1)."],
        ["digits", None, None, "gaussian: significant digits (2..17; 10)."],
        [
            "length",
            None,
            None,
            "string: characters (1..1024; 16); bytes: bytes (1..65536; 32).",
        ],
        [
            "chars",
            None,
            None,
            "string: alnum, alpha, lower, upper, digits, hex, or ':' and the "
            "characters (alnum).",
        ],
        ["uuid-version", None, None, "uuid: 4 or 7 (4)."],
        ["format", None, None, "bytes: hex or base64 (hex)."],
        [
            "data",
            None,
            None,
            "With --signed: text bound into the record, e.g. a raffle id "
            "(up to 256 printable characters).",
        ],
        [
            "timeout",
            "t",
            "10",
            "Seconds to wait for the connection, and again for the reply.",
        ],
    ]

    optFlags: ClassVar[list[list[str | None]]] = [
        ["unique", "u", "Distinct numbers (n may not exceed max-min+1)."],
        ["tls", None, "Connect with TLS, trusting the system's CAs."],
        [
            "signed",
            None,
            "Ask for a signed draw: print its record (one JSON line), which "
            "'randnum verify' checks.",
        ],
        [
            "json",
            None,
            'Print one JSON document, {"numbers":[...]} (with "min" and "max" '
            'where given), or {"error":"..."} when refused.',
        ],
    ]

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        """
        Parse, accepting C{--n N}: C{-n}'s long name before randnum 0.2.
        """
        if options is not None:
            options = [
                "--count" + word[3:]
                if word == "--n" or word.startswith("--n=")
                else word
                for word in options
            ]
        super().parseOptions(options)  # type: ignore[no-untyped-call]

    def postOptions(self) -> None:
        """
        Check the values' forms; the server checks their meaning.
        """
        self["n"] = optionalIntegerOption("count", self["count"])
        self["min"] = optionalIntegerOption("min", self["min"])
        self["max"] = optionalIntegerOption("max", self["max"])
        # The server validates the rest, and says what is wrong.
        self["parameters"] = {
            name: value
            for name, value in (
                ("min", self["min"]),
                ("max", self["max"]),
                ("unique", True if self["unique"] else None),
                ("places", self["places"]),
                ("mean", self["mean"]),
                ("sd", self["sd"]),
                ("digits", self["digits"]),
                ("length", self["length"]),
                ("chars", self["chars"]),
                ("version", self["uuid-version"]),
                ("format", self["format"]),
            )
            if value is not None
        }
        if self["data"] is not None and not self["signed"]:
            raise usage.UsageError("--data needs --signed")
        if self["data"] == "":
            raise usage.UsageError("--data: give 1 to 256 printable characters")
        if self["type"] == "int":
            others = set(self["parameters"]) - {"min", "max", "unique"}
            for name in sorted(others):
                option = "uuid-version" if name == "version" else name
                raise usage.UsageError(f"--{option} does not apply to --type int")
        for name, value in self["parameters"].items():
            if isinstance(value, str) and (
                not value or any(c.isspace() for c in value)
            ):
                raise usage.UsageError(f"--{name}: no spaces, and not empty")
        self["timeout"] = positiveNumberOption("timeout", self["timeout"])
        self["location"] = serverLocation(self)


async def get(reactor: IReactorTime, options: GetOptions) -> None:
    """
    Connect, ask once, print the numbers.
    """
    location: ServerLocation = options["location"]
    timeout: float = options["timeout"]
    if location.endpoint is not None:
        try:
            endpoint = clientFromString(reactor, location.endpoint)
        except Exception as error:  # any failure here is a bad description
            given = f"--endpoint {location.endpoint!r}"
            meant = clientHostAndPort(location.endpoint)
            if meant is not None:
                fail(EXIT_USAGE, notAnEndpoint(given, f"--endpoint {meant}"))
            problem = trustRootsProblem(location.endpoint) or endpointError(error)
            fail(EXIT_USAGE, f"{given}: {problem}")
    else:
        try:
            endpoint = clientEndpoint(
                reactor,
                location.host,
                location.port,
                tls=location.tls,
                cafile=location.cafile,
                timeout=timeout,
            )
        except ValueError as error:
            fail(EXIT_USAGE, str(error))

    connecting = connectProtocol(endpoint, RandnumClientProtocol())
    try:
        client: RandnumClientProtocol = await connecting.addTimeout(timeout, reactor)
    except Exception as error:
        fail(EXIT_UNREACHABLE, explain(error, location, timeout))

    kind = options["type"]
    try:
        if options["signed"]:
            record = await client.values(
                kind,
                options["n"],
                signed=True,
                data=options["data"],
                **options["parameters"],
            ).addTimeout(timeout, reactor)
        elif kind == "int":
            numbers = await client.request(
                n=options["n"],
                min=options["min"],
                max=options["max"],
                unique=options["unique"],
            ).addTimeout(timeout, reactor)
        else:
            shown = await client.texts(
                kind, options["n"], **options["parameters"]
            ).addTimeout(timeout, reactor)
    except UnexpectedReply as error:
        fail(
            EXIT_UNREACHABLE,
            f"{location.shown} does not speak randnum's protocol: {error.reason}",
        )
    except ValueError as error:  # a value that cannot be sent
        fail(EXIT_USAGE, str(error))
    except RandnumError as error:
        if options["json"]:
            print(json.dumps({"error": error.reason}, separators=(",", ":")))
        fail(EXIT_REFUSED, error.reason)
    except Exception as error:
        fail(EXIT_UNREACHABLE, explain(error, location, timeout))
    finally:
        client.transport.loseConnection()
    if options["signed"]:
        print(canonical(record).decode("utf-8"))
        return
    if kind != "int":
        if options["json"]:
            print(json.dumps({"type": kind, "values": shown}, separators=(",", ":")))
        else:
            sys.stdout.write("".join(f"{value}\n" for value in shown))
        return
    if options["json"]:
        document: dict[str, Any] = {"numbers": numbers}
        document.update(
            {
                name: options[name]
                for name in ("min", "max")
                if options[name] is not None
            }
        )
        print(json.dumps(document, separators=(",", ":")))
    else:
        sys.stdout.write("".join(f"{number}\n" for number in numbers))
