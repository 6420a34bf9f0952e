"""
The C{twistd randnum} plugin: command-line options and the service they
describe.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from typing import Any, ClassVar, NoReturn

from twisted.application.internet import TimerService
from twisted.application.service import IService, MultiService, Service
from twisted.copyright import version as twistedVersion
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IReactorCore,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.python import usage
from twisted.python.failure import Failure

from randnum import __version__
from randnum.client.protocol import endpointError
from randnum.generation.source import seededSource, systemSource
from randnum.limits import Limits
from randnum.metrics import metricsRegistry
from randnum.options import (
    countOption,
    endpointDescription,
    integerOption,
    secondsOption,
    sizeOption,
)
from randnum.query import Query, QueryError, parseInteger
from randnum.server import RandnumServer
from randnum.signing.keys import KeyFileError, Signer, othersMayRead
from randnum.signing.store import AuditStoreError, lockDatabase, openStore, openTail
from randnum.tcp.protocol import Framing, RandnumFactory
from randnum.web.site import webSite
from randnum.workers.pool import (
    ReusePortEndpoint,
    WorkerPool,
    listenersOf,
    perAddressShare,
    usableCPUs,
)

DEFAULT_PORT = "tcp:5000"

#: The port number of a tcp:, tcp6: or ssl: description.
_PORT_NUMBER = re.compile(r"(?:tcp6?|ssl):(?:port=)?([0-9]+)(?::|$)")

#: The most worker processes --workers starts.
MAX_WORKERS = 256

#: The smallest --max-line: room for the longest valid request,
#: "n=10000 min=-9223372036854775808 max=9223372036854775807 unique=false".
MIN_LINE = 80

log = Logger(namespace="randnum")


class Options(usage.Options):
    """
    Options for C{twistd randnum}.

    After parsing, C{self["endpoints"]} holds one parsed server endpoint per
    C{--port}, C{self["defaults"]} the default L{Query}, C{self["framing"]}
    a L{Framing}, C{self["source"]} the L{NumberSource}, C{self["limits"]}
    the L{Limits} and C{self["log-interval"]} the summary period in seconds.
    """

    synopsis = "[options]"
    longdesc = (
        "Serve random integers over the network. A client sends a line such as "
        "'n=3 min=1 max=6' and receives '4 1 6'; any other data gets one number "
        "in the default range. See the README for the full protocol."
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
            if not self.exitOnUsageError:
                raise
            print(
                f"twistd randnum: {error}\n"
                "Run 'twistd randnum --help' for every option.",
                file=sys.stderr,
            )
            raise SystemExit(2) from None

    opt_h = usage.Options.opt_help

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
        Check every option and build what it describes, so that a bad value
        is a usage error naming the option rather than a failure at start.
        """
        low = integerOption("min", self["min"])
        high = integerOption("max", self["max"])
        try:
            self["defaults"] = Query(min=low, max=high).checked()
        except QueryError as error:
            raise usage.UsageError(f"--min/--max: {error.reason}") from None

        try:
            self["framing"] = Framing(self["framing"])
        except ValueError:
            choices = ", ".join(f.value for f in Framing)
            raise usage.UsageError(
                f"--framing must be one of {choices}, not {self['framing']!r}"
            ) from None

        idle = secondsOption("idle-timeout", self["idle-timeout"])
        self["limits"] = Limits(
            idleTimeout=idle or None,
            maxConnections=countOption("max-connections", self["max-connections"], 1),
            maxConnectionsPerHost=countOption(
                "max-connections-per-ip", self["max-connections-per-ip"], 0
            ),
            maxLine=countOption("max-line", self["max-line"], MIN_LINE),
        )
        self["log-interval"] = secondsOption("log-interval", self["log-interval"])
        self._workers()

        self._signing()

        if self["seed"] is None:
            self["source"] = systemSource()
        else:
            self["source"] = seededSource(integerOption("seed", self["seed"]))

        if self.reactor is None:
            # The twistd entry point: the one place that uses the global reactor.
            from twisted.internet import reactor

            self.reactor = reactor
        self["ports"] = self["ports"] or [DEFAULT_PORT]
        self["endpoints"] = [self._parseEndpoint("port", d) for d in self["ports"]]
        self["httpEndpoints"] = [self._parseEndpoint("http", d) for d in self["http"]]

    def _workers(self) -> None:
        """
        Check C{--workers}: after this, C{self["workers"]} is a number.
        """
        value = self["workers"]
        if value.strip().lower() == "auto":
            self["workers"] = min(usableCPUs(), MAX_WORKERS)
        else:
            try:
                self["workers"] = parseInteger("workers", value)
            except QueryError:
                self["workers"] = 0
            if not 1 <= self["workers"] <= MAX_WORKERS:
                raise usage.UsageError(
                    f"--workers must be a number from 1 to {MAX_WORKERS}, or "
                    f"auto, not {value!r}"
                )
        workers = self["workers"]
        if workers > 1 and self["seed"] is not None:
            raise usage.UsageError(
                "--seed needs --workers 1: each worker would repeat the same "
                "numbers, and which worker answers is not reproducible"
            )
        perHost = self["limits"].maxConnectionsPerHost
        if 0 < perHost < workers:
            raise usage.UsageError(
                f"--max-connections-per-ip ({perHost}) must be 0 or at least "
                f"--workers ({workers}): each worker admits its share"
            )
        if workers > self["limits"].maxConnections:
            raise usage.UsageError(
                f"--max-connections ({self['limits'].maxConnections}) must be at "
                f"least --workers ({workers}): each worker serves its share"
            )

    def _signing(self) -> None:
        """
        Check the signing key and the audit database together: after this,
        C{self["signer"]} is a L{Signer} (or L{None}) and C{self["tail"]}
        the audit chain's last serial and digest.
        """
        self["signer"] = self["tail"] = self["audit-lock"] = None
        key, database = self["signing-key"], self["audit-db"]
        if key is None and database is None:
            return
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
            self["signer"] = Signer.fromFile(key)
        except KeyFileError as error:
            raise usage.UsageError(f"--signing-key: {error}") from None
        self["audit-max-size"] = sizeOption("audit-max-size", self["audit-max-size"])
        self["audit-db"] = os.path.abspath(database)
        try:
            self["audit-lock"] = lockDatabase(self["audit-db"])
            self["tail"] = openTail(self["audit-db"], self["signer"])
        except AuditStoreError as error:
            raise usage.UsageError(f"--audit-db: {error}") from None

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
            return endpoint
        except Exception as error:  # any failure here is a bad description
            reason = endpointError(error)
            if description.startswith("systemd:") and isinstance(
                error, (IndexError, KeyError)
            ):
                reason = (
                    "no such socket inherited from systemd (LISTEN_FDS, "
                    "LISTEN_PID and LISTEN_FDNAMES describe what this process "
                    "was given)"
                )
            raise usage.UsageError(f"--{option} {description!r}: {reason}") from None


def _listenError(failure: Failure) -> str:
    """
    Why listening failed, briefly: C{Address already in use} rather than
    C{Couldn't listen on any:5000: [Errno 98] Address already in use.}.
    """
    error = failure.value
    if isinstance(error, CannotListenError) and isinstance(error.socketError, OSError):
        return error.socketError.strerror or str(error.socketError)
    return failure.getErrorMessage()


class StartupFailed(SystemExit, Exception):
    """
    The service cannot start: exit with this one line.

    It is a L{SystemExit}, so that C{twistd -n} prints the line alone (no
    traceback) and exits with status 1; and an L{Exception}, so that a
    daemonizing C{twistd} (which only reports an C{Exception} from the
    daemon to the waiting parent) removes its pid file, prints the line on
    the terminal and exits with status 1 rather than waiting forever.
    """


class ListeningService(Service):
    """
    Listen on one endpoint while running, and log where.

    Unlike L{twisted.application.internet.StreamServerEndpointService}, a
    failure to listen is reported as one clear line: at startup by exiting
    twistd with that line, later by logging it and stopping the reactor.
    """

    def __init__(
        self,
        description: str,
        endpoint: IStreamServerEndpoint,
        factory: IProtocolFactory,
        reactor: IReactorCore,
        face: str = "",
    ) -> None:
        """
        @param face: what is served, for the log (C{""} for the TCP
            protocol, C{"HTTP"}).
        """
        self.face = face
        self.description = description
        self.endpoint = endpoint
        self.factory = factory
        self.reactor = reactor
        self.port: IListeningPort | None = None
        self._listening: Deferred[IListeningPort] | None = None

    def privilegedStartService(self) -> None:
        """
        Start listening now, so that privileged ports can be bound before
        twistd drops privileges.
        """
        super().privilegedStartService()  # type: ignore[no-untyped-call]
        self._listen()

    def startService(self) -> None:
        """
        Start listening, unless L{privilegedStartService} already has.
        """
        super().startService()  # type: ignore[no-untyped-call]
        if self._listening is None:
            self._listen()

    def _listen(self) -> None:
        atStartup: list[Failure] = []
        starting = True

        def failed(failure: Failure) -> None:
            if starting:
                atStartup.append(failure)
            elif not failure.check(CancelledError):
                self._failedLater(failure)

        self._listening = self.endpoint.listen(self.factory)
        self._listening.addCallbacks(self._listened, failed)
        starting = False
        if atStartup:
            # The reason first: a daemonizing twistd shows the terminal only
            # the first 100 bytes.
            raise StartupFailed(
                f"randnum: {_listenError(atStartup[0])} "
                f"(cannot listen on {self.description})"
            )

    def _listened(self, port: IListeningPort) -> IListeningPort:
        self.port = port
        log.info(
            f"randnum {self.face} listening on {{description}} ({{address}})"
            if self.face
            else "randnum listening on {description} ({address})",
            face=self.face or "TCP",
            description=self.description,
            address=port.getHost(),
        )
        return port

    def _failedLater(self, failure: Failure) -> None:
        log.error(
            "randnum: cannot listen on {description}: {reason}",
            description=self.description,
            reason=failure.getErrorMessage(),
        )
        self.reactor.stop()

    def stopService(self) -> Deferred[None] | None:
        """
        Stop listening.
        """
        super().stopService()  # type: ignore[no-untyped-call]
        listening, self._listening = self._listening, None
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        if listening is not None:
            listening.cancel()
        return None


class HangUpService(Service):
    """
    Stop the reactor cleanly on C{SIGHUP}, as on C{SIGTERM}, rather than
    die at once (Python's default): the terminal of a foreground server went
    away, or someone asked it to stop.
    """

    def __init__(self, reactor: IReactorCore) -> None:
        self.reactor = reactor
        self._previous: Any = None

    def startService(self) -> None:
        """
        Handle C{SIGHUP} while running.
        """
        super().startService()  # type: ignore[no-untyped-call]
        self._previous = signal.signal(signal.SIGHUP, self._hungUp)

    def stopService(self) -> None:
        """
        Give C{SIGHUP} back.
        """
        super().stopService()  # type: ignore[no-untyped-call]
        if self._previous is not None:
            signal.signal(signal.SIGHUP, self._previous)
            self._previous = None

    def _hungUp(self, number: int, frame: object) -> None:
        log.info("randnum received SIGHUP: stopping")
        self.reactor.callFromThread(self.reactor.stop)  # type: ignore[attr-defined]


def makeService(options: Options) -> IService:
    """
    Build the C{twistd randnum} service from parsed L{Options}: one
    L{RandnumServer}, and a listening service per endpoint of each face.
    """
    defaults: Query = options["defaults"]
    audit = None
    if options["signer"] is not None:
        audit = openStore(
            options["audit-db"], options["signer"], options.reactor, options["tail"]
        )
        audit.maxSize = options["audit-max-size"]
        audit.checkSize()
        audit.lock = options["audit-lock"]
    server = RandnumServer(
        low=defaults.min,
        high=defaults.max,
        source=options["source"],
        limits=options["limits"],
        clock=options.reactor,
        logWindow=options["log-interval"] or 60.0,
        audit=audit,
    )
    logStartup(server, options["framing"], options["workers"])
    if audit is not None and othersMayRead(options["signing-key"]):
        log.warn(
            "randnum's signing key {path} may be read by other users: anyone "
            "who reads it can sign records as this server (chmod 600 it)",
            path=options["signing-key"],
        )
    service = MultiService()
    workers: int = options["workers"]
    pool = None
    if workers > 1:
        pool = WorkerPool(
            workers,
            lambda: listenersOf(listening),
            workerConfig(options, server),
            server,
            options.reactor,
        )
        # Only twistd's process exits with status 1 if no worker can start.
        pool.exitFailing = options.exitOnUsageError
    if options["log-interval"]:
        summary = TimerService(
            options["log-interval"],
            server.logSummary if pool is None else pool.logSummary,
        )
        summary.clock = options.reactor
        summary.setServiceParent(service)
    if hasattr(signal, "SIGHUP") and options.exitOnUsageError:
        # Only under twistd (the global reactor), never in a test's reactor.
        HangUpService(options.reactor).setServiceParent(service)  # type: ignore[no-untyped-call]
    factory = RandnumFactory(framing=options["framing"], server=server)
    listeners: list[tuple[str, IStreamServerEndpoint, IProtocolFactory, str]] = [
        (description, endpoint, factory, "")
        for description, endpoint in zip(
            options["ports"], options["endpoints"], strict=True
        )
    ]
    if options["http"]:
        site = webSite(server, metricsRegistry(server))
        listeners += [
            (description, endpoint, site, "HTTP")
            for description, endpoint in zip(
                options["http"], options["httpEndpoints"], strict=True
            )
        ]
    if workers > 1:
        listeners = [
            (
                description,
                ReusePortEndpoint(endpoint, workers, options.reactor)
                if ReusePortEndpoint.handles(endpoint)
                else endpoint,
                factory,
                face,
            )
            for description, endpoint, factory, face in listeners
        ]
    listening = [
        ListeningService(description, endpoint, factory, options.reactor, face=face)
        for description, endpoint, factory, face in listeners
    ]
    for child in listening:
        child.setServiceParent(service)  # type: ignore[no-untyped-call]
    if pool is not None:
        # After the ports: it starts once they listen, and stops (its
        # workers first) before they close.
        pool.setServiceParent(service)  # type: ignore[no-untyped-call]
    return service


def workerConfig(options: Options, server: RandnumServer) -> dict[str, Any]:
    """
    What every worker of C{--workers} is told (L{randnum.workers.child}), but its
    ports and its share of the limits, which L{WorkerPool} adds.
    """
    limits: Limits = options["limits"]
    audit = server.audit
    signing = None
    if audit is not None:
        signing = {
            "path": audit.path,
            "keyId": audit.signer.keyId,
            "publicPem": audit.signer.publicPem,
        }
    return {
        "min": server.defaults.min,
        "max": server.defaults.max,
        "framing": options["framing"].value,
        "limits": {
            "idleTimeout": limits.idleTimeout,
            "maxConnections": limits.maxConnections,
            "maxConnectionsPerHost": limits.maxConnectionsPerHost,
            "maxLine": limits.maxLine,
        },
        "logWindow": options["log-interval"] or 60.0,
        "signing": signing,
        "full": False,
        "committed": 0,
    }


def _shares(total: int, workers: int) -> str:
    least, most = total // workers, -(-total // workers)
    return f"{least} each" if least == most else f"{least} or {most} each"


def logStartup(server: RandnumServer, framing: Framing, workers: int = 1) -> None:
    """
    Log what the server serves, and within which limits.
    """
    defaults, limits, source = server.defaults, server.limits, server.source
    log.info(
        "randnum {version} serving {low}..{high}, framing {framing}, source: {source}",
        version=__version__,
        low=defaults.min,
        high=defaults.max,
        framing=framing.value,
        source=source.description,
    )
    log.info(
        "randnum limits: {maxConnections} connections, {perHost} per IP address, "
        "lines up to {maxLine} bytes, idle timeout {idle}",
        maxConnections=limits.maxConnections,
        perHost=limits.maxConnectionsPerHost or "no limit",
        maxLine=limits.maxLine,
        idle=f"{limits.idleTimeout:g} s" if limits.idleTimeout else "none",
    )
    if workers > 1:
        log.info(
            "randnum runs {workers} worker processes sharing every port; each "
            "admits at most its share of the connections ({each}) and "
            "{perHost} per IP address",
            workers=workers,
            each=_shares(limits.maxConnections, workers),
            perHost=perAddressShare(limits.maxConnectionsPerHost, workers)
            or "no limit",
        )
    if server.audit is not None:
        log.info(
            "randnum signs draws with key {key}; audit store {path}, "
            "{serial} records so far",
            key=server.audit.signer.keyId,
            path=server.audit.path,
            serial=server.audit.committed,
        )
    if not source.cryptographic:
        log.warn(
            "randnum is using a seeded PRNG: its numbers are predictable and "
            "must not be used for anything security-sensitive"
        )
