# -*- test-case-name: tests.test_tap -*-
"""
The C{twistd randnum} plugin: command-line options and the service they
describe.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar, NoReturn

from twisted.application.service import IService
from twisted.copyright import version as twistedVersion
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.python import usage

from randnum import __version__
from randnum.client.endpoints import endpointError
from randnum.composition import MainProcess, buildService
from randnum.config import DEFAULT_PORT, Config
from randnum.jsonrpc.allowances import UsageDatabaseError, readCounts
from randnum.jsonrpc.keys import KeysError, loadKeys
from randnum.limits import Limits
from randnum.listening import StartupFailed, sayStartupFailuresPlainly
from randnum.mistakes import (
    directoryProblem,
    hostAndPort,
    notAnEndpoint,
    profileIsAPort,
    tlsFileProblem,
    tlsKeyMissing,
    twistdOptionAfterPlugin,
)
from randnum.options import (
    countOption,
    endpointDescription,
    integerOption,
    rateOption,
    secondsOption,
    sizeOption,
)
from randnum.query import Query, QueryError, parseInteger
from randnum.signing.keys import KeyFileError, Signer
from randnum.signing.store import AuditStoreError, Signing, lockDatabase, openTail
from randnum.tcp.framing import Framing
from randnum.workers.sizing import usableCPUs

#: The port number of a tcp:, tcp6: or ssl: description.
_PORT_NUMBER = re.compile(r"(?:tcp6?|ssl):(?:port=)?([0-9]+)(?::|$)")

#: The most worker processes --workers starts.
MAX_WORKERS = 256

#: The smallest --max-line: room for the longest valid request,
#: "n=10000 min=-9223372036854775808 max=9223372036854775807 unique=false".
MIN_LINE = 80

__all__ = ["Options", "StartupFailed", "commandLine", "makeService"]


class Options(usage.Options):
    """
    Options for C{twistd randnum}.

    After parsing, C{self.config} is the L{Config} the options describe, and
    C{self.signing} the signing key and audit database, opened and checked
    (L{Signing}), or L{None} when draws are not signed.
    """

    synopsis = "[options]"
    longdesc = (
        "Serve random integers over the network. A client sends a line such as "
        "'n=3 min=1 max=6' and receives '4 1 6'; any other data gets one number "
        "in the default range. The docs' page on the TCP protocol (docs/ in "
        "randnum's source) gives all of it."
    )

    optParameters: ClassVar[list[list[str | None]]] = [
        ["min", None, "1", "Smallest number served by default."],
        ["max", None, "10000", "Largest number served by default."],
        [
            "seed",
            None,
            None,
            "Use a reproducible PRNG seeded with this integer. INSECURE: for "
            "tests and simulations only; the default is the OS CSPRNG.",
        ],
        [
            "framing",
            None,
            "auto",
            "How requests are framed: 'line' (one request per newline-terminated "
            "line), 'raw' (each chunk received is one request, answered with a "
            "bare number) or 'auto' (raw until the client sends a newline).",
        ],
        [
            "idle-timeout",
            None,
            "60",
            "Close a connection after this many seconds without a complete "
            "request and without the client reading any waiting reply (bytes "
            "of an unfinished request do not count). 0 for never.",
        ],
        [
            "max-connections",
            None,
            "10000",
            "Most connections open at once; more are answered 'ERR busy' and closed.",
        ],
        [
            "max-connections-per-ip",
            None,
            "1000",
            "Most connections open at once from one IP address (0 for no "
            "per-address limit, e.g. behind a proxy that hides client addresses).",
        ],
        [
            "max-line",
            None,
            "1024",
            "Longest request line in bytes (at least 80); a longer one is "
            "answered 'ERR line too long' and the connection closed.",
        ],
        [
            "log-interval",
            None,
            "60",
            "Seconds between summary log lines (connections, requests, "
            "rejections), and between two log lines for the same kind of "
            "rejection; 0 for no summaries.",
        ],
        [
            "workers",
            None,
            "1",
            "Serving processes sharing every --port and --http: a number, or "
            "'auto' for one per usable CPU. Each serves its share of "
            "--max-connections and of --max-connections-per-ip; signed draws "
            "are signed and stored by the main process.",
        ],
        [
            "signing-key",
            None,
            None,
            "Sign draws asked for with signed=true with this Ed25519 private key "
            "(PEM; make one with 'randnum keygen KEYFILE'). Needs --audit-db.",
        ],
        [
            "audit-db",
            None,
            None,
            "The SQLite database where every signed draw is stored, chained, "
            "before it is sent (created if missing). Needs --signing-key.",
        ],
        [
            "audit-max-size",
            None,
            "0",
            "Refuse signed draws ('ERR audit store full') once the audit "
            "database takes this much disk, e.g. 900M or 20G (0: no limit).",
        ],
        [
            "signed-rate",
            None,
            "100",
            "Signed draws a second each client address may ask for, in bursts "
            "of up to ten seconds' worth ('ERR rate limited, retry in N s'; "
            "HTTP 429). 0: no limit.",
        ],
        [
            "api-keys",
            None,
            None,
            "The JSON-RPC API's keys, each with a name and optional daily "
            "allowances of requests and bits (plain lines, or TOML if the name "
            "ends in .toml). Needs --json-rpc, and --audit-db or "
            "--api-usage-db to count in. Without it, any key is accepted.",
        ],
        [
            "api-usage-db",
            None,
            None,
            "The SQLite file where --api-keys' daily counts are kept (created "
            "if missing); the default is the audit database (--audit-db).",
        ],
    ]

    optFlags: ClassVar[list[list[str | None]]] = [
        [
            "pollen",
            None,
            "Also answer the pollen protocol at /pollen on every --http port, "
            "for pollinate (pollinate -s https://HOST/pollen).",
        ],
        [
            "json-rpc",
            None,
            "Also answer RANDOM.ORG's JSON-RPC API (Release 4: its basic and, "
            "with signing, signed methods, verifySignature, getResult and "
            "getUsage) at /json-rpc/4/invoke (and /json-rpc/2/invoke) on every "
            "--http port.",
        ],
    ]

    compData = usage.Completions(
        optActions={"framing": usage.CompleteList([f.value for f in Framing])}
    )

    def __init__(self, reactor: Any = None) -> None:
        """
        @param reactor: the reactor to serve on; the global one if not
            given, which also means that this is C{twistd}'s command line, so
            that a usage error prints one line and exits (status 2) rather
            than raising L{usage.UsageError}.
        """
        super().__init__()  # type: ignore[no-untyped-call]
        self["ports"] = []
        self["http"] = []
        self.reactor = reactor
        self.exitOnUsageError = reactor is None

    def parseOptions(self, options: list[str] | None = None) -> None:
        """
        Parse the command line.  From C{twistd}, a usage error is one line
        on stderr naming the option, then exit status 2 (twistd itself would
        print its whole usage before the line that matters).
        """
        try:
            super().parseOptions(options)  # type: ignore[no-untyped-call]
        except usage.UsageError as error:
            hint = twistdOptionAfterPlugin(str(error))
            if hint is not None:
                error = usage.UsageError(hint)
            if not self.exitOnUsageError:
                raise error from None
            print(
                f"twistd randnum: {error}\n"
                "Run 'twistd randnum --help' for every option.",
                file=sys.stderr,
            )
            raise SystemExit(2) from None

    opt_h = usage.Options.opt_help

    def parseArgs(self, *args: str) -> None:
        """
        Refuse arguments: every setting is an option.  A port number or an
        endpoint given alone likely meant C{--port}.
        """
        if not args:
            return
        given = args[0]
        if re.fullmatch(r"[0-9]+", given) or ":" in given:
            meant = hostAndPort(given) or given
            raise usage.UsageError(
                f"unexpected argument {given!r}: to listen there, say --port {meant}"
            )
        raise usage.UsageError(
            f"unexpected argument {given!r}: twistd randnum takes options only"
        )

    def opt_version(self) -> NoReturn:
        """
        Show randnum's and Twisted's versions and exit.
        """
        print(f"randnum {__version__} (Twisted {twistedVersion})")
        raise SystemExit(0)

    def opt_port(self, value: str) -> None:
        self["ports"].append(endpointDescription(value))

    opt_port.__doc__ = (
        "Where to listen: a port number (TCP on all interfaces) or a Twisted "
        "endpoint description such as tcp:5000:interface=127.0.0.1, "
        "ssl:5001:privateKey=key.pem:certKey=cert.pem or unix:/run/randnum.sock. "
        "Repeat to listen in several places. [default: tcp:5000]"
    )

    opt_p = opt_port

    def opt_http(self, value: str) -> None:
        self["http"].append(endpointDescription(value))

    opt_http.__doc__ = (
        "Also serve HTTP/JSON (GET /v1/random, /v1/bytes, /v1/draws, /v1/key, "
        "/healthz, /metrics) here: a port "
        "number or an endpoint description, as for --port. Repeatable. "
        "[default: no HTTP]"
    )

    def postOptions(self) -> None:
        """
        Check every option and build the L{Config} they describe, so that
        a bad value is a usage error naming the option rather than a
        failure at start: C{self.config}, and C{self.signing} (the key and
        audit database, opened) when draws are signed.
        """
        mistaken = profileIsAPort(getattr(self, "parent", None))
        if mistaken is not None:
            raise usage.UsageError(mistaken)
        low = integerOption("min", self["min"])
        high = integerOption("max", self["max"])
        try:
            Query(min=low, max=high).checked()
        except QueryError as error:
            raise usage.UsageError(f"--min/--max: {error.reason}") from None

        try:
            framing = Framing(self["framing"])
        except ValueError:
            choices = ", ".join(f.value for f in Framing)
            raise usage.UsageError(
                f"--framing must be one of {choices}, not {self['framing']!r}"
            ) from None

        idle = secondsOption("idle-timeout", self["idle-timeout"])
        limits = Limits(
            idleTimeout=idle or None,
            maxConnections=countOption("max-connections", self["max-connections"], 1),
            maxConnectionsPerHost=countOption(
                "max-connections-per-ip", self["max-connections-per-ip"], 0
            ),
            maxLine=countOption("max-line", self["max-line"], MIN_LINE),
        )
        logInterval = secondsOption("log-interval", self["log-interval"])
        workers = self._workers(limits)
        auditMaxSize = self._signing()
        seed = None if self["seed"] is None else integerOption("seed", self["seed"])
        signedRate = rateOption("signed-rate", self["signed-rate"])

        if self.reactor is None:
            # The twistd entry point: the one place that uses the global reactor.
            from twisted.internet import reactor

            self.reactor = reactor
        if self["pollen"] and not self["http"]:
            raise usage.UsageError(
                "--pollen is served on the HTTP face: it needs --http PORT"
            )
        if self["json-rpc"] and not self["http"]:
            raise usage.UsageError(
                "--json-rpc is served on the HTTP face: it needs --http PORT"
            )
        apiKeys, apiUsageDb = self._apiKeys()
        self["ports"] = self["ports"] or [DEFAULT_PORT]
        listening = [
            (f"--{option} {description}", self._parseEndpoint(option, description))
            for option, descriptions in (
                ("port", self["ports"]),
                ("http", self["http"]),
            )
            for description in descriptions
        ]
        _refuseTheSameAddressTwice(listening)
        self.config = Config(
            ports=tuple(self["ports"]),
            http=tuple(self["http"]),
            low=low,
            high=high,
            framing=framing,
            seed=seed,
            limits=limits,
            logInterval=logInterval,
            workers=workers,
            signingKey=self["signing-key"],
            auditDb=None if self.signing is None else os.path.abspath(self["audit-db"]),
            auditMaxSize=auditMaxSize,
            signedRate=signedRate,
            pollen=bool(self["pollen"]),
            jsonRpc=bool(self["json-rpc"]),
            apiKeys=apiKeys,
            apiUsageDb=apiUsageDb,
        )

    def _workers(self, limits: Limits) -> int:
        """
        Check C{--workers}: how many worker processes.
        """
        value = self["workers"]
        if value.strip().lower() == "auto":
            workers = min(usableCPUs(), MAX_WORKERS)
        else:
            try:
                workers = parseInteger("workers", value)
            except QueryError:
                workers = 0
            if not 1 <= workers <= MAX_WORKERS:
                raise usage.UsageError(
                    f"--workers must be a number from 1 to {MAX_WORKERS}, or "
                    f"auto, not {value!r}"
                )
        if workers > 1 and self["seed"] is not None:
            raise usage.UsageError(
                "--seed needs --workers 1: each worker would repeat the same "
                "numbers, and which worker answers is not reproducible"
            )
        perHost = limits.maxConnectionsPerHost
        if 0 < perHost < workers:
            raise usage.UsageError(
                f"--max-connections-per-ip ({perHost}) must be 0 or at least "
                f"--workers ({workers}): each worker admits its share"
            )
        if workers > limits.maxConnections:
            raise usage.UsageError(
                f"--max-connections ({limits.maxConnections}) must be at "
                f"least --workers ({workers}): each worker serves its share"
            )
        return workers

    def defaultOf(self, name: str) -> str | None:
        """
        The default value of the parameter C{name}.
        """
        for long, _, default, *_ in self.optParameters:
            if long == name:
                return default
        raise KeyError(name)

    def _signing(self) -> int:
        """
        Check the signing key and the audit database together, and open
        them (C{self.signing}); return C{--audit-max-size} in bytes.
        """
        self.signing: Signing | None = None
        key, database = self["signing-key"], self["audit-db"]
        if key is None and database is None:
            for name in ("audit-max-size", "signed-rate"):
                if self[name] != self.defaultOf(name):
                    raise usage.UsageError(
                        f"--{name} applies to signed draws: it needs "
                        "--signing-key KEYFILE and --audit-db PATH"
                    )
            return 0
        if database is None:
            raise usage.UsageError(
                "--signing-key needs --audit-db PATH: every signed draw is "
                "stored before it is sent"
            )
        if key is None:
            raise usage.UsageError(
                "--audit-db needs --signing-key KEYFILE (make one with "
                "'randnum keygen KEYFILE')"
            )
        try:
            signer = Signer.fromFile(key)
        except KeyFileError as error:
            raise usage.UsageError(f"--signing-key: {error}") from None
        maxSize = sizeOption("audit-max-size", self["audit-max-size"])
        path = os.path.abspath(database)
        problem = directoryProblem(path)
        if problem is not None:
            raise usage.UsageError(f"--audit-db {database!r}: {problem}")
        try:
            lock = lockDatabase(path)
            tail = openTail(path, signer)
        except AuditStoreError as error:
            raise usage.UsageError(f"--audit-db: {error}") from None
        self.signing = Signing(signer, lock, tail)
        return maxSize

    def _apiKeys(self) -> tuple[str | None, str | None]:
        """
        Check C{--api-keys} (read the file) and C{--api-usage-db}, and
        where the keys' counts are kept; return both as absolute paths.
        """
        keys, usageDb = self["api-keys"], self["api-usage-db"]
        if keys is None:
            if usageDb is not None:
                raise usage.UsageError(
                    "--api-usage-db counts the allowances of --api-keys: it "
                    "needs --api-keys FILE"
                )
            return None, None
        if not self["json-rpc"]:
            raise usage.UsageError(
                "--api-keys applies to the JSON-RPC API: it needs --json-rpc"
            )
        try:
            loadKeys(keys)
        except KeysError as error:
            raise usage.UsageError(f"--api-keys: {error}") from None
        if usageDb is None and self.signing is None:
            raise usage.UsageError(
                "--api-keys needs somewhere to count daily allowances: "
                "--api-usage-db FILE, or the audit database of signing "
                "(--audit-db PATH with --signing-key)"
            )
        if usageDb is None:
            return os.path.abspath(keys), None
        path = os.path.abspath(usageDb)
        problem = directoryProblem(path)
        if problem is not None:
            raise usage.UsageError(f"--api-usage-db {usageDb!r}: {problem}")
        if self.signing is None or path != os.path.abspath(self["audit-db"]):
            try:
                readCounts(path)
            except UsageDatabaseError as error:
                raise usage.UsageError(f"--api-usage-db: {error}") from None
        return os.path.abspath(keys), path

    def _parseEndpoint(self, option: str, description: str) -> IStreamServerEndpoint:
        port = _PORT_NUMBER.match(description)
        if port is not None and not 0 <= int(port.group(1)) <= 65535:
            raise usage.UsageError(
                f"--{option} {description!r}: a port number is 0-65535"
            )
        try:
            endpoint: IStreamServerEndpoint = serverFromString(
                self.reactor, description
            )
        except Exception as error:  # any failure here is a bad description
            meant = hostAndPort(description)
            if meant is not None:
                raise usage.UsageError(
                    notAnEndpoint(f"--{option} {description!r}", f"--{option} {meant}")
                ) from None
            # Without privateKey=, Twisted looked for server.pem, which the
            # user never named.
            problem = tlsKeyMissing(description) or _endpointProblem(description, error)
            raise usage.UsageError(f"--{option} {description!r}: {problem}") from None
        kind, path, _ = _address(endpoint) or ("", "", "")
        if kind == "unix" and not str(path).startswith(("\0", "@")):
            # Else Twisted says "'4948' -> b'/x/r.sock.lock'" when it listens.
            missing = directoryProblem(str(path))
            if missing is not None:
                raise usage.UsageError(f"--{option} {description!r}: {missing}")
        return endpoint


def _endpointProblem(description: str, error: Exception) -> str:
    """
    Why the server endpoint C{description} was refused with C{error}, in
    words.
    """
    if description.startswith("systemd:") and isinstance(error, (IndexError, KeyError)):
        return (
            "no such socket inherited from systemd (LISTEN_FDS, "
            "LISTEN_PID and LISTEN_FDNAMES describe what this process "
            "was given)"
        )
    if description.startswith("ssl:") and not isinstance(error, OSError):
        return tlsFileProblem(description) or endpointError(error)
    return endpointError(error)


#: An interface that means every one.
_EVERY_INTERFACE = ("", "0.0.0.0", "::")


def _address(endpoint: object) -> tuple[str, object, str] | None:
    """
    Where a TCP, TLS or UNIX server endpoint listens: its kind, port (or
    path) and interface; L{None} for one that says no fixed address (port
    0, systemd, anything else).
    """
    path = getattr(endpoint, "_address", None)
    if isinstance(path, str):
        return "unix", path, ""
    port = getattr(endpoint, "_port", None)
    if isinstance(port, int) and port:
        return "ip", port, getattr(endpoint, "_interface", "") or ""
    return None


def _refuseTheSameAddressTwice(listening: Sequence[tuple[str, object]]) -> None:
    """
    Refuse two options that would listen on one address, before either
    does: the second would fail with "Address already in use" after the
    first had started.
    """
    seen: list[tuple[str, tuple[str, object, str]]] = []
    for option, endpoint in listening:
        address = _address(endpoint)
        if address is None:
            continue
        for earlier, (kind, where, interface) in seen:
            if (kind, where) == address[:2] and (
                interface == address[2]
                or interface in _EVERY_INTERFACE
                or address[2] in _EVERY_INTERFACE
            ):
                raise usage.UsageError(
                    f"{earlier} and {option} would listen on the same address: "
                    "give each its own port"
                )
        seen.append((option, address))


def makeService(options: Options) -> IService:
    """
    The C{twistd randnum} service that parsed L{Options} describe
    (L{buildService}, with the main process's role).
    """
    twistd = getattr(options, "parent", None)
    if options.exitOnUsageError and twistd is not None and not twistd["nodaemon"]:
        # Only a daemonizing twistd waits for its daemon's start, and says
        # why it failed in a way this makes plain.
        sayStartupFailuresPlainly()
    role = MainProcess(options.signing, underTwistd=options.exitOnUsageError)
    return buildService(options.config, options.reactor, role)


def commandLine(config: Config) -> list[str]:
    """
    The options, after C{twistd randnum}, that describe C{config}:
    L{Options} parses them into C{config} again, with every check the
    command line gets.
    """
    limits = config.limits
    arguments = [f"--port={port}" for port in config.ports]
    arguments += [f"--http={http}" for http in config.http]
    arguments += [
        f"--min={config.low}",
        f"--max={config.high}",
        f"--framing={config.framing.value}",
        f"--idle-timeout={_decimal(limits.idleTimeout or 0)}",
        f"--max-connections={limits.maxConnections}",
        f"--max-connections-per-ip={limits.maxConnectionsPerHost}",
        f"--max-line={limits.maxLine}",
        f"--log-interval={_decimal(config.logInterval)}",
        f"--workers={config.workers}",
    ]
    if config.seed is not None:
        arguments.append(f"--seed={config.seed}")
    if config.signingKey is not None:
        arguments.append(f"--signing-key={config.signingKey}")
    if config.auditDb is not None:
        arguments.append(f"--audit-db={config.auditDb}")
    signing = config.signingKey is not None or config.auditDb is not None
    if signing or config.auditMaxSize != 0:
        arguments.append(f"--audit-max-size={config.auditMaxSize}")
    if signing or config.signedRate != Config.signedRate:
        arguments.append(f"--signed-rate={_decimal(config.signedRate)}")
    if config.pollen:
        arguments.append("--pollen")
    if config.jsonRpc:
        arguments.append("--json-rpc")
    if config.apiKeys is not None:
        arguments.append(f"--api-keys={config.apiKeys}")
    if config.apiUsageDb is not None:
        arguments.append(f"--api-usage-db={config.apiUsageDb}")
    return arguments


def _decimal(number: float) -> str:
    """
    C{number} in the options' decimal grammar: no exponent.
    """
    return format(Decimal(repr(number)), "f")
