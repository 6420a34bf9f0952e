"""
The C{twistd randnum} plugin: command-line options and the service they
describe.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from twisted.application.service import IService, MultiService, Service
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import (
    IListeningPort,
    IReactorCore,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.python import usage
from twisted.python.failure import Failure

from randnum.protocol import Framing, RandnumFactory
from randnum.query import Query, QueryError
from randnum.source import NumberSource, seededSource, systemSource

DEFAULT_PORT = "tcp:5000"

log = Logger(namespace="randnum")


def _endpointDescription(value: str) -> str:
    """
    A bare port number means TCP on all interfaces; anything else is a
    Twisted endpoint description.
    """
    return f"tcp:{value}" if re.fullmatch(r"[0-9]+", value) else value


def _integerOption(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise usage.UsageError(f"--{name} must be an integer, not {value!r}") from None


class Options(usage.Options):
    """
    Options for C{twistd randnum}.

    After parsing, C{self["endpoints"]} holds one parsed server endpoint per
    C{--port}, C{self["defaults"]} the default L{Query}, C{self["framing"]}
    a L{Framing} and C{self["source"]} the L{NumberSource}.
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
    ]

    compData = usage.Completions(
        optActions={"framing": usage.CompleteList([f.value for f in Framing])}
    )

    def __init__(self, reactor: Any = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["ports"] = []
        self.reactor = reactor

    def opt_port(self, value: str) -> None:
        self["ports"].append(_endpointDescription(value))

    opt_port.__doc__ = (
        "Where to listen: a port number (TCP on all interfaces) or a Twisted "
        "endpoint description such as tcp:5000:interface=127.0.0.1, "
        "ssl:5001:privateKey=key.pem:certKey=cert.pem or unix:/run/randnum.sock. "
        "Repeat to listen in several places. [default: tcp:5000]"
    )

    opt_p = opt_port

    def postOptions(self) -> None:
        """
        Check every option and build what it describes, so that a bad value
        is a usage error naming the option rather than a failure at start.
        """
        low = _integerOption("min", self["min"])
        high = _integerOption("max", self["max"])
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

        if self["seed"] is None:
            self["source"] = systemSource()
        else:
            self["source"] = seededSource(_integerOption("seed", self["seed"]))

        if self.reactor is None:
            # The twistd entry point: the one place that uses the global reactor.
            from twisted.internet import reactor

            self.reactor = reactor
        self["ports"] = self["ports"] or [DEFAULT_PORT]
        self["endpoints"] = [self._parseEndpoint(port) for port in self["ports"]]

    def _parseEndpoint(self, description: str) -> IStreamServerEndpoint:
        try:
            endpoint: IStreamServerEndpoint = serverFromString(
                self.reactor, description
            )
            return endpoint
        except Exception as error:  # any failure here is a bad description
            raise usage.UsageError(f"--port {description!r}: {error}") from None


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
        factory: RandnumFactory,
        reactor: IReactorCore,
    ) -> None:
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
            raise SystemExit(
                f"randnum: cannot listen on {self.description}: "
                f"{atStartup[0].getErrorMessage()}"
            )

    def _listened(self, port: IListeningPort) -> IListeningPort:
        self.port = port
        log.info(
            "randnum listening on {description} ({address})",
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


def makeService(options: Options) -> IService:
    """
    Build the C{twistd randnum} service from parsed L{Options}.
    """
    source: NumberSource = options["source"]
    defaults: Query = options["defaults"]
    factory = RandnumFactory(
        low=defaults.min, high=defaults.max, source=source, framing=options["framing"]
    )
    log.info(
        "randnum serving {low}..{high}, framing {framing}, source: {source}",
        low=defaults.min,
        high=defaults.max,
        framing=options["framing"].value,
        source=source.description,
    )
    if not source.cryptographic:
        log.warn(
            "randnum is using a seeded PRNG: its numbers are predictable and "
            "must not be used for anything security-sensitive"
        )
    service = MultiService()
    for description, endpoint in zip(
        options["ports"], options["endpoints"], strict=True
    ):
        ListeningService(  # type: ignore[no-untyped-call]
            description, endpoint, factory, options.reactor
        ).setServiceParent(service)
    return service
