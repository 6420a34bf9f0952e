"""
The C{randnum} command: C{randnum get} fetches numbers from a server,
C{randnum bench} measures one.

Exit status: 0 success; 1 the server refused the request (its reason on
stderr); 2 usage error; 3 the server could not be reached or stopped
answering.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

from OpenSSL import SSL
from twisted.internet import defer
from twisted.internet import error as error_
from twisted.internet.defer import ensureDeferred
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import react
from twisted.python import usage

from randnum import __version__
from randnum.cli.load import (
    Load,
    formatSummary,
    jsonSummary,
    parseEndpoint,
    printProgress,
    runLoad,
    summary,
)
from randnum.client.protocol import (
    RandnumClientProtocol,
    RandnumError,
    UnexpectedReply,
    clientEndpoint,
    endpointError,
    trustRoot,
)
from randnum.query import MAX_STREAM, QueryError, parseDecimal, parseInteger
from randnum.signing.keys import KeyFileError, generateKey, keepKey, loadPublicKey
from randnum.signing.records import RecordError, canonical, verifyChains
from randnum.signing.verifying import (
    FetchError,
    Server,
    describe,
    keysById,
    readFiles,
    readRecords,
)

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

    # As curl and most commands have it (-H is the host, as in redis-cli's
    # -h, which help has here).
    opt_h = usage.Options.opt_help


#: Where the server is: shared by every subcommand that talks to one.  The
#: defaults come from the environment (see L{serverLocation}).
SERVER_PARAMETERS: list[list[str | None]] = [
    [
        "host",
        "H",
        None,
        "Server host: a name, an IPv4 address or an IPv6 address (bare or in "
        "brackets). [default: $RANDNUM_HOST, else 127.0.0.1]",
    ],
    ["port", "p", None, "Server TCP port. [default: $RANDNUM_PORT, else 5000]"],
]

#: The environment variables that name the server, when no option does.
ENVIRONMENT = ("RANDNUM_ENDPOINT", "RANDNUM_HOST", "RANDNUM_PORT", "RANDNUM_CAFILE")


@dataclass(frozen=True)
class ServerLocation:
    """
    Where the server is: an endpoint description, or a host and port (with
    TLS if C{tls}, trusting C{cafile} or else the system's CAs).
    """

    endpoint: str | None
    host: str
    port: int
    tls: bool = False
    cafile: str | None = None

    @property
    def shown(self) -> str:
        """
        The location as a person writes it: C{host:port}, C{[::1]:5000}, or
        the endpoint description.
        """
        if self.endpoint is not None:
            return self.endpoint
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'tls://' if self.tls else ''}{host}:{self.port}"

    @property
    def description(self) -> str:
        """
        A Twisted client endpoint description of the location (TLS aside).
        """
        if self.endpoint is not None:
            return self.endpoint
        host = self.host.replace("\\", "\\\\").replace(":", "\\:")
        return f"tcp:host={host}:port={self.port}"


def _host(value: str, origin: str) -> str:
    host = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    if not host or any(c in host for c in "[]/ \t"):
        raise usage.UsageError(
            f"{origin} must be a host name or address, not {value!r}"
        )
    return host


def _port(value: str, origin: str) -> int:
    try:
        port = parseInteger("port", value)
    except QueryError:
        port = 0
    if not 1 <= port <= 65535:
        raise usage.UsageError(
            f"{origin} must be a port number (1-65535), not {value!r}"
        )
    return port


def serverLocation(
    options: usage.Options, environ: Mapping[str, str] | None = None
) -> ServerLocation:
    """
    The server that the options name, or else the environment
    (C{RANDNUM_ENDPOINT}, or C{RANDNUM_HOST} and C{RANDNUM_PORT}, and
    C{RANDNUM_CAFILE}), or else 127.0.0.1:5000.  Options take precedence
    over the environment.

    @raise usage.UsageError: for a bad value, or for an endpoint given
        together with a host, port or TLS option.
    """
    env = os.environ if environ is None else environ
    flags = {
        name: options[name]
        for name in ("endpoint", "host", "port", "cafile")
        if options.get(name) is not None
    }
    tls = bool(options.get("tls"))
    if "endpoint" in flags:
        clash = [f"--{name}" for name in ("host", "port", "cafile") if name in flags]
        clash += ["--tls"] if tls else []
        if clash:
            raise usage.UsageError(
                f"--endpoint names the server on its own: give it or "
                f"{'/'.join(clash)}, not both"
            )
        return ServerLocation(str(flags["endpoint"]), "", 0)
    if not {"host", "port"} & flags.keys() and env.get("RANDNUM_ENDPOINT"):
        clash = [name for name in ("RANDNUM_HOST", "RANDNUM_PORT") if env.get(name)]
        if clash:
            raise usage.UsageError(
                f"RANDNUM_ENDPOINT and {'/'.join(clash)} are both set: unset one"
            )
        return ServerLocation(env["RANDNUM_ENDPOINT"], "", 0)
    if "host" in flags:
        host = _host(flags["host"], "--host")
    else:
        host = _host(env.get("RANDNUM_HOST") or "127.0.0.1", "RANDNUM_HOST")
    if "port" in flags:
        port = _port(flags["port"], "--port")
    else:
        port = _port(env.get("RANDNUM_PORT") or "5000", "RANDNUM_PORT")
    cafile = flags.get("cafile") or env.get("RANDNUM_CAFILE") or None
    if cafile is not None:
        try:
            trustRoot(cafile)
        except ValueError as error:
            origin = "--cafile" if "cafile" in flags else "RANDNUM_CAFILE"
            raise usage.UsageError(f"{origin}: {error}") from None
    return ServerLocation(None, host, port, tls or cafile is not None, cafile)


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
        self["n"] = _integer("count", self["count"])
        self["min"] = _integer("min", self["min"])
        self["max"] = _integer("max", self["max"])
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
        self["timeout"] = _positive("timeout", self["timeout"], float)
        self["location"] = serverLocation(self)


class BenchOptions(_CommandOptions):
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
        self["duration"] = value

    # -t: --duration's short name before randnum 0.2; --timeout elsewhere.
    opt_t = opt_seconds

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
        endpoint = serverLocation(self).description
        try:
            parseEndpoint(endpoint)
        except (ValueError, OSError) as error:
            raise usage.UsageError(f"--endpoint {endpoint!r}: {error}") from None
        self["load"] = Load(
            endpoint=endpoint,
            mode=self["mode"],
            connections=_positive("connections", self["connections"]),
            pipeline=_positive("pipeline", self["pipeline"]),
            seconds=_positive("duration", self["duration"], float),
            request=data,
        )


class BytesOptions(_CommandOptions):
    """
    Options for C{randnum bytes}.
    """

    synopsis = "[--url URL] [--length N | -]"
    longdesc = (
        "Write raw random bytes from a randnum server's HTTP face (/v1/bytes) "
        "to stdout: N bytes, or without --length (or with -) an endless "
        "stream until whoever reads it stops, e.g. "
        "'randnum bytes --length 100000000 | rngtest'. The server is --url, "
        "else $RANDNUM_URL, else http://127.0.0.1:8080. Exit status: 0 "
        "success (or the reader stopped), 1 refused, 2 usage error, 3 the "
        "server cannot be reached or the stream broke off."
    )
    optParameters: ClassVar[list[list[str | None]]] = [
        ["url", None, None, "The server's HTTP face. [default: $RANDNUM_URL]"],
        ["length", "l", None, "How many bytes (1..2**48); endless if not given."],
        ["timeout", "t", "10", "Seconds to wait for the server."],
    ]

    def parseArgs(self, *args: str) -> None:
        """
        C{-} is an endless stream, as no C{--length} is.
        """
        if args not in ((), ("-",)):
            raise usage.UsageError(f"unexpected argument {args[0]!r}")
        self["endless"] = bool(args)

    def postOptions(self) -> None:
        """
        Check the values' forms; the server checks their meaning.
        """
        length = self["length"]
        if self.get("endless") and length is not None:
            raise usage.UsageError("give --length N or -, not both")
        self["length"] = None if length in (None, "-") else _integer("length", length)
        if sys.stdout.isatty():
            raise usage.UsageError(
                "stdout is a terminal: pipe the bytes into a program or a file"
            )
        self["timeout"] = _positive("timeout", self["timeout"], float)
        url = self["url"] or os.environ.get("RANDNUM_URL") or "http://127.0.0.1:8080"
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise usage.UsageError(
                f"--url must be an http:// or https:// URL, not {url!r}"
            )
        self["url"] = parsed


def streamBytes(options: BytesOptions) -> int:
    """
    Copy random bytes from the server to stdout.
    """
    url: urllib.parse.SplitResult = options["url"]
    length: int | None = options["length"]
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection
        if url.scheme == "https"
        else http.client.HTTPConnection
    )(url.hostname or "", url.port, timeout=options["timeout"])
    out = sys.stdout.buffer
    base = url.path.rstrip("/")
    try:
        while True:
            # An endless stream is one longest stream after another.
            ask = MAX_STREAM if length is None else length
            connection.request("GET", f"{base}/v1/bytes?length={ask}")
            response = connection.getresponse()
            if response.status != 200:
                body = response.read()
                try:
                    reason = json.loads(body)["error"]
                except (ValueError, KeyError, TypeError):
                    reason = f"HTTP {response.status}"
                fail(EXIT_REFUSED, reason)
            got = 0
            while chunk := response.read1(1 << 16):
                try:
                    out.write(chunk)
                except BrokenPipeError:
                    raise
                except OSError as error:
                    fail(EXIT_UNREACHABLE, f"cannot write the bytes: {error.strerror}")
                got += len(chunk)
            if got != ask:
                fail(EXIT_UNREACHABLE, f"the stream broke off after {got} bytes")
            if length is not None:
                out.flush()
                return EXIT_OK
    except http.client.BadStatusLine:
        fail(
            EXIT_UNREACHABLE,
            f"{url.geturl()} does not speak HTTP (is it randnum's TCP port?)",
        )
    except (OSError, http.client.HTTPException) as error:
        if isinstance(error, BrokenPipeError):
            raise
        fail(EXIT_UNREACHABLE, f"cannot stream from {url.geturl()}: {error}")


class KeygenOptions(_CommandOptions):
    """
    Options for C{randnum keygen}.
    """

    synopsis = "[--if-missing] KEYFILE"
    longdesc = (
        "Make a new Ed25519 signing key for 'twistd randnum --signing-key': the "
        "private key in KEYFILE (PEM, mode 0600) and the public key in "
        "KEYFILE.pub; print the key id (the hex SHA-256 of the raw public "
        "key). Existing files are never overwritten. Exit status: 0 made (or "
        "kept), 1 not made, 2 usage error."
    )
    optFlags: ClassVar[list[list[str | None]]] = [
        [
            "if-missing",
            None,
            "If KEYFILE exists, keep it (and print its id) rather than fail: "
            "for a container's first start.",
        ],
    ]

    def parseArgs(self, *args: str) -> None:
        """
        One argument: where the key goes.
        """
        if len(args) != 1:
            raise usage.UsageError("give one KEYFILE")
        self["keyfile"] = args[0]


class VerifyOptions(_CommandOptions):
    """
    Options for C{randnum verify}.
    """

    synopsis = "[--key PUBFILE ... | --url BASE] [--all] [--complete] [FILE ... | -]"
    longdesc = (
        "Verify signed draws: each record's signature and key id, and, for "
        "records of one chain given in order, that each one following the "
        "serial before links to it (prev). Records are JSON lines from the "
        "FILEs, read one after another as one stream (e.g. an archive, then "
        "a later export), or standard input (-, the default), or, with --url "
        "and --all, the server's whole audit store. Keys are --key PEM files "
        "(repeat for several chains) or the server's (--url, GET /v1/key). "
        "Exit status: 0 everything verifies, 1 a record does not (the first bad serial "
        "and why), 2 usage error, 3 the server cannot be asked."
    )
    optParameters: ClassVar[list[list[str | None]]] = [
        ["url", None, None, "A randnum server's HTTP face: use its key."],
        ["cafile", None, None, "With an https:// --url, trust this CA file."],
        ["timeout", "t", "10", "Seconds to wait for the server."],
    ]
    optFlags: ClassVar[list[list[str | None]]] = [
        ["all", None, "With --url: verify the server's whole chain."],
        [
            "complete",
            None,
            "Serials missing between the records given are an error.",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["keys"] = []

    def opt_key(self, path: str) -> None:
        self["keys"].append(path)

    opt_key.__doc__ = "A public key (PEM, e.g. KEYFILE.pub) to verify with. Repeatable."

    def parseArgs(self, *args: str) -> None:
        """
        The FILEs (C{-}: standard input), read in turn.
        """
        self["files"] = list(args)

    def postOptions(self) -> None:
        """
        One source of keys, one source of records.
        """
        if bool(self["keys"]) == bool(self["url"]):
            raise usage.UsageError("give --key PUBFILE or --url BASE (one of them)")
        if self["all"]:
            if not self["url"]:
                raise usage.UsageError("--all needs --url")
            if self["files"]:
                raise usage.UsageError("--all reads the server's records: no FILE")
        elif not self["files"]:
            self["files"] = ["-"]
        self["timeout"] = _positive("timeout", self["timeout"], float)
        if self["url"]:
            try:
                self["server"] = Server(self["url"], self["timeout"], self["cafile"])
            except ValueError as error:
                raise usage.UsageError(str(error)) from None


def keygen(options: KeygenOptions) -> int:
    """
    Make the key; print its id.
    """
    path = options["keyfile"]
    try:
        if options["if-missing"] and os.path.lexists(path):
            identity = keepKey(path)
            print(f"randnum: keeping the key in {path}", file=sys.stderr)
        else:
            identity = generateKey(path)
            print(
                f"randnum: wrote {path} (private, mode 0600) and {path}.pub",
                file=sys.stderr,
            )
    except KeyFileError as error:
        fail(EXIT_REFUSED, str(error))
    print(identity)
    return EXIT_OK


def verify(options: VerifyOptions) -> int:
    """
    Verify the records; say what was verified, or the first that was not.
    """
    server: Server | None = options.get("server")
    try:
        if server is not None:
            keys = keysById([server.key()])
        else:
            keys = keysById(loadPublicKey(path) for path in options["keys"])
    except KeyFileError as error:
        fail(EXIT_USAGE, f"--key: {error}")
    except FetchError as error:
        fail(EXIT_UNREACHABLE, str(error))
    if options["all"]:
        assert server is not None
        records = readRecords(server.records(), server.url)
    else:
        records = readFiles(options["files"], sys.stdin.buffer)
    try:
        report = verifyChains(
            records, keys, complete=options["complete"] or options["all"]
        )
    except RecordError as error:
        fail(EXIT_REFUSED, f"serial {error.serial}: {error.reason}")
    except FetchError as error:
        fail(EXIT_UNREACHABLE, str(error))
    except OSError as error:
        fail(EXIT_USAGE, f"cannot read {error.filename}: {error.strerror}")
    if not report.records:
        fail(EXIT_REFUSED, "no records to verify")
    print(describe(report))
    return EXIT_OK


class ExportOptions(_CommandOptions):
    """
    Options for C{randnum export}.
    """

    synopsis = "--url BASE [--after S] [--through N]"
    longdesc = (
        "Write a signing server's stored records (GET /v1/draws, a page at a "
        "time) to stdout as JSON lines, in serial order: those after serial S "
        "(default 0) up to and including serial N (default: the last). For "
        "archives: 'randnum verify' checks them. Exit status: 0 written, 2 "
        "usage error, 3 the server cannot be asked."
    )
    optParameters: ClassVar[list[list[str | None]]] = [
        ["url", None, None, "The signing server's HTTP face."],
        ["after", None, "0", "Start after this serial."],
        ["through", None, None, "Stop after this serial."],
        ["cafile", None, None, "With an https:// --url, trust this CA file."],
        ["timeout", "t", "10", "Seconds to wait for the server."],
    ]

    def postOptions(self) -> None:
        """
        A server to ask, and serials that are serials.
        """
        if not self["url"]:
            raise usage.UsageError("--url BASE is needed")
        self["after"] = _integer("after", self["after"])
        self["through"] = _integer("through", self["through"])
        if self["after"] is not None and self["after"] < 0:
            raise usage.UsageError("--after must be 0 or more")
        self["timeout"] = _positive("timeout", self["timeout"], float)
        try:
            self["server"] = Server(self["url"], self["timeout"], self["cafile"])
        except ValueError as error:
            raise usage.UsageError(str(error)) from None


def export(options: ExportOptions) -> int:
    """
    Copy the records to stdout.
    """
    server: Server = options["server"]
    out = sys.stdout.buffer
    try:
        for line in server.records(options["after"], options["through"]):
            out.write(line + b"\n")
    except FetchError as error:
        fail(EXIT_UNREACHABLE, str(error))
    out.flush()
    return EXIT_OK


class Options(_CommandOptions):
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


def fail(code: int, message: str) -> NoReturn:
    """
    Print one line to stderr and exit with C{code}.
    """
    print(f"randnum: {message}", file=sys.stderr)
    raise SystemExit(code)


def explain(error: BaseException, location: ServerLocation, timeout: float) -> str:
    """
    What went wrong, in words, for a person: no Python internals.
    """
    where = location.shown
    text = str(error)
    if isinstance(error, (defer.TimeoutError, defer.CancelledError)):
        hint = "" if location.tls else " (a TLS port? add --tls or --cafile FILE)"
        return f"no answer from {where} within {timeout:g} s{hint}"
    if isinstance(error, (ConnectionRefusedError, error_.ConnectionRefusedError)):
        return f"connection refused by {where}: is randnum running there?"
    if isinstance(error, error_.DNSLookupError):
        return f"cannot find the host {location.host or where}"
    if isinstance(error, SSL.Error) or "certificate verify failed" in text:
        if "certificate verify failed" in text or "verify" in text:
            return (
                f"the TLS certificate of {where} is not trusted: give the CA "
                "certificate that signed it with --cafile FILE"
            )
        return f"the TLS handshake with {where} failed: is it a TLS port?"
    if isinstance(error, (error_.ConnectionDone, error_.ConnectionLost)):
        return f"{where} closed the connection without answering"
    if isinstance(error, (OSError, error_.ConnectError)):
        reason = getattr(error, "strerror", None) or error.__class__.__name__
        return f"cannot connect to {where}: {reason}"
    return f"cannot get an answer from {where}: {text or error.__class__.__name__}"


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
            fail(
                EXIT_USAGE, f"--endpoint {location.endpoint!r}: {endpointError(error)}"
            )
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
            f"no replies from {load.endpoint} ({tally.errors} connection errors): "
            "is randnum (without TLS) running there?",
        )
    print(jsonSummary(figures) if options["json"] else formatSummary(figures))
    return EXIT_OK


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
    The C{randnum} console script.
    """
    try:
        _main(argv)
    except BrokenPipeError:
        readerGone()


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
    command = REACTOR_COMMANDS[name]
    react(lambda reactor: ensureDeferred(command(reactor, options.subOptions)))
