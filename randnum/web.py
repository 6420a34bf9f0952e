"""
The HTTP/JSON face, served with C{twisted.web}.

    GET /v1/random?n=&min=&max=&unique=[&format=json|text]
    GET /healthz
    GET /metrics

Requests are validated by the same L{parseParameters} as TCP request lines,
so both faces accept the same queries and give the same error reasons.
Every error is JSON: C{{"error": "<reason>"}} with status 400, 404 or 405.
"""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from twisted.internet.interfaces import IAddress, IProtocol, IProtocolFactory
from twisted.internet.protocol import Protocol
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.web import http
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from randnum import __version__
from randnum.limits import ConnectionCounter, HttpStats, peerHost
from randnum.query import Query, QueryError, parseParameters
from randnum.source import NumberSource

#: Methods every resource here answers.
ALLOWED = (b"GET", b"HEAD")
FORMATS = ("json", "text")


def respond(
    request: Request, code: int, body: bytes, contentType: bytes = b"application/json"
) -> bytes:
    """
    Set the status and content type; return the body.
    """
    request.setResponseCode(code)
    request.setHeader(b"content-type", contentType)
    return body


def jsonBody(value: Any) -> bytes:
    """
    C{value} as a JSON document with a trailing newline.
    """
    return json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\n"


def jsonError(request: Request, code: int, reason: str) -> bytes:
    """
    An error response: C{{"error": reason}}.
    """
    return respond(request, code, jsonBody({"error": reason}))


class JSONResource(Resource):
    """
    A resource that answers only GET and HEAD, refuses other methods with a
    JSON 405, and has no children but those put there (a JSON 404 for any
    other path).
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def render(self, request: Request) -> bytes:
        """
        Refuse methods other than GET and HEAD; render the rest as usual.
        """
        if request.method not in ALLOWED:
            request.setHeader(b"allow", b", ".join(ALLOWED))
            return jsonError(
                request, 405, f"method {request.method.decode('latin-1')} not allowed"
            )
        if self.isLeaf and any(request.postpath or ()):
            # /healthz/anything is not /healthz.
            return jsonError(request, 404, "not found")
        rendered: bytes = super().render(request)  # type: ignore[no-untyped-call]
        return rendered

    def render_HEAD(self, request: Request) -> bytes:
        """
        The headers a GET would get, with the length of its body.
        """
        body = self.render_GET(request)
        request.setHeader(b"content-length", b"%d" % len(body))
        return b""

    def render_GET(self, request: Request) -> bytes:
        """
        By default, nothing is here.
        """
        return jsonError(request, 404, "not found")

    def getChild(self, path: bytes, request: Request) -> IResource:
        """
        Anything not put here is not found.
        """
        return NotFound()


class NotFound(JSONResource):
    """
    A JSON 404 for any path and method.
    """

    isLeaf = True

    def render(self, request: Request) -> bytes:
        """
        Not found, whatever the method.
        """
        return jsonError(request, 404, "not found")


class RandomResource(JSONResource):
    """
    C{/v1/random}: numbers for the query string's parameters.
    """

    isLeaf = True

    def __init__(self, source: NumberSource, defaults: Query, stats: HttpStats) -> None:
        super().__init__()
        self.source = source
        self.defaults = defaults
        self.stats = stats

    def render_GET(self, request: Request) -> bytes:
        """
        Answer the query, or say why it cannot be answered.
        """
        # Random numbers must never be served from a cache.
        request.setHeader(b"cache-control", b"no-store")
        stats = self.stats
        stats.requests += 1
        try:
            form, query = self.parse(request.args or {})
        except QueryError as error:
            stats.errors += 1
            stats.errorKinds[error.kind] += 1
            return jsonError(request, 400, error.reason)
        numbers = self.source.answer(query)
        stats.numbers += len(numbers)
        if form == "text":
            stats.textRequests += 1
            body = "".join(f"{number}\n" for number in numbers).encode("ascii")
            return respond(request, 200, body, b"text/plain; charset=utf-8")
        return respond(
            request,
            200,
            jsonBody({"numbers": numbers, "min": query.min, "max": query.max}),
        )

    def parse(self, args: dict[bytes, list[bytes]]) -> tuple[str, Query]:
        """
        The response format and the L{Query} that C{args} ask for.

        @raise QueryError: as L{parseParameters} does, or for a bad C{format}.
        """
        pairs = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in args.items()
            for value in values
        ]
        formats = [value for name, value in pairs if name == "format"]
        if len(formats) > 1:
            raise QueryError("repeated parameter format", "repeated_parameter")
        form = formats[0] if formats else "json"
        if form not in FORMATS:
            raise QueryError("format must be json or text", "bad_format")
        query = parseParameters(
            ((name, value) for name, value in pairs if name != "format"),
            self.defaults,
        )
        return form, query


class HealthResource(JSONResource):
    """
    C{/healthz}: 200 C{ok} while the process serves.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        """
        Say so.
        """
        request.setHeader(b"cache-control", b"no-store")
        return respond(request, 200, b"ok\n", b"text/plain; charset=utf-8")


class MetricsResource(JSONResource):
    """
    C{/metrics}: the Prometheus text exposition of a registry.
    """

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.registry = registry

    def render_GET(self, request: Request) -> bytes:
        """
        Collect and render every metric.
        """
        return respond(
            request,
            200,
            generate_latest(self.registry),
            CONTENT_TYPE_LATEST.encode("ascii"),
        )


class IndexResource(JSONResource):
    """
    C{/}: what is served here, for whoever looks.
    """

    def getChild(self, path: bytes, request: Request) -> IResource:
        """
        C{/} itself is this resource; other paths are not found.
        """
        return self if path == b"" else NotFound()

    def render_GET(self, request: Request) -> bytes:
        """
        The service's name, version and paths.
        """
        return respond(
            request,
            200,
            jsonBody(
                {
                    "service": "randnum",
                    "version": __version__,
                    "paths": ["/v1/random", "/healthz", "/metrics"],
                }
            ),
        )


def resourceTree(
    source: NumberSource,
    defaults: Query,
    stats: HttpStats,
    registry: CollectorRegistry,
) -> IResource:
    """
    The whole HTTP face: C{/v1/random}, C{/healthz}, C{/metrics} and C{/}.
    """
    root = IndexResource()
    version = JSONResource()
    version.putChild(b"random", RandomResource(source, defaults, stats))
    root.putChild(b"v1", version)
    root.putChild(b"healthz", HealthResource())
    root.putChild(b"metrics", MetricsResource(registry))
    return root


class QuietSite(Site):
    """
    A L{Site} without an access-log line per request: randnum logs periodic
    summaries, and Prometheus has the counts.
    """

    displayTracebacks = False

    def log(self, request: http.Request) -> None:
        """
        Log nothing per request.
        """


#: The reply to an HTTP connection over a connection limit.
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 17\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b'{"error":"busy"}\n'
)


class BusyHTTP(Protocol):
    """
    Answer 503 busy to a connection over the limits, and close it.
    """

    def connectionMade(self) -> None:
        """
        Say so at once; the request is never read.
        """
        self.transport.write(BUSY_RESPONSE)  # type: ignore[union-attr]
        self.transport.loseConnection()  # type: ignore[union-attr]


class ConnectionLimitedFactory(WrappingFactory):
    """
    Admit a wrapped factory's connections only within the limits of a
    L{ConnectionCounter} (shared with the TCP face, so C{--max-connections}
    bounds both together), counting them in L{HttpStats}.

    (A wrapping factory is fine here: unlike the TCP protocol's replies,
    twisted.web's writes gain nothing from the bare socket.)
    """

    noisy = False

    def __init__(
        self,
        wrappedFactory: IProtocolFactory,
        counter: ConnectionCounter,
        stats: HttpStats,
    ) -> None:
        super().__init__(wrappedFactory)  # type: ignore[no-untyped-call]
        self.counter = counter
        self.stats = stats
        self.hosts: dict[IProtocol, str | None] = {}

    def buildProtocol(self, addr: IAddress | None) -> ProtocolWrapper:
        """
        The wrapped protocol for an admitted connection; L{BusyHTTP} for one
        over the limits.
        """
        host = None if addr is None else peerHost(addr)
        if not self.counter.admit(host):
            self.stats.refused += 1
            return ProtocolWrapper(self, BusyHTTP())
        protocol = super().buildProtocol(addr)
        self.hosts[protocol] = host
        self.stats.open += 1
        self.stats.connections += 1
        return protocol

    def unregisterProtocol(self, p: IProtocol) -> None:
        """
        An admitted connection has closed: give its place back.
        """
        super().unregisterProtocol(p)  # type: ignore[no-untyped-call]
        if p in self.hosts:
            self.counter.release(self.hosts.pop(p))
            self.stats.open -= 1


def webSite(
    resource: IResource,
    idleTimeout: float | None,
    counter: ConnectionCounter,
    stats: HttpStats,
) -> IProtocolFactory:
    """
    The HTTP server factory for C{resource}: connections idle for
    C{idleTimeout} seconds (or never, for C{None}) are closed, and
    connections are admitted within C{counter}'s limits.
    """
    site = QuietSite(resource, timeout=idleTimeout)  # type: ignore[no-untyped-call]
    site.noisy = False
    return ConnectionLimitedFactory(site, counter, stats)
