"""
The HTTP/JSON face, served with C{twisted.web}.

    GET /v1/random?n=&min=&max=&unique=[&format=json|text]
    GET /v1/random?type=decimal|gaussian|string|uuid|bytes&...[&format=json|text]
    GET /v1/bytes?length=N
    GET /healthz
    GET /metrics

Requests are validated by the same L{parseParameters} as TCP request lines,
so both faces accept the same queries and give the same error reasons.
Every error is JSON: C{{"error": "<reason>"}} with status 400, 404 or 405.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IPushProducer,
    IReactorTime,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.http import HTTPChannel
from twisted.web.http_headers import Headers
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer

from randnum import __version__
from randnum.flow import peerProgress, progressNeeded, socketOf
from randnum.generation.source import NumberSource
from randnum.generation.values import UUID7Clock, batches
from randnum.limits import WORK_BUDGET, peerHost
from randnum.query import (
    INT64_MAX,
    Query,
    QueryError,
    dataText,
    parseInteger,
    parseParameters,
    parseStreamLength,
)
from randnum.server import RandnumServer
from randnum.signing.store import PAGE_RECORDS
from randnum.tcp.answering import STREAM_ABOVE, UNAVAILABLE

#: Methods every resource here answers.
ALLOWED = (b"GET", b"HEAD")
FORMATS = ("json", "text")
#: Most query strings whose parsed queries a L{RandomResource} keeps, and
#: the longest it keeps (so that they take at most 64 KiB).
PARSED_QUERIES = 256
PARSED_QUERY_LENGTH = 256


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

    #: Whether a leaf reads the rest of the path itself.
    takesPath = False

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def render(self, request: Request) -> bytes | int:
        """
        Refuse methods other than GET and HEAD; render the rest as usual.
        """
        if request.method not in ALLOWED:
            request.setHeader(b"allow", b", ".join(ALLOWED))
            return jsonError(
                request, 405, f"method {request.method.decode('latin-1')} not allowed"
            )
        if self.isLeaf and request.postpath and not self.takesPath:
            # /healthz/anything, and /healthz/ too, are not /healthz.
            return jsonError(request, 404, "not found")
        # Only GET and HEAD get here, and both are always defined: called
        # directly, not looked up by name as Resource.render would.
        if request.method == b"HEAD":
            return self.render_HEAD(request)
        return self.render_GET(request)

    def render_HEAD(self, request: Request) -> bytes:
        """
        The headers a GET would get, with the length of its body.
        """
        body = self.render_GET(request)
        assert isinstance(body, bytes)  # bodies made as sent are not measured
        request.setHeader(b"content-length", b"%d" % len(body))
        return b""

    def render_GET(self, request: Request) -> bytes | int:
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

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.source = server.source
        self.defaults = server.defaults
        self.stats = server.http
        self.uuid7 = server.uuid7
        self.randnum = server
        #: L{parse}'s answers, by query string (see L{parsed}).
        self._parsed: dict[bytes, tuple[str, Query] | QueryError] = {}

    @property
    def clock(self) -> IReactorTime:
        """
        The server's clock (resolved when first used).
        """
        return self.randnum.clock

    def render_GET(self, request: Request) -> bytes | int:
        """
        Answer the query, or say why it cannot be answered.
        """
        stats = self.stats
        stats.requests += 1
        parsed = self.parsed(request)
        if isinstance(parsed, QueryError):
            stats.countError(parsed.kind)
            return jsonError(request, 400, parsed.reason)
        form, query = parsed
        if form == "text":
            stats.textRequests += 1
        if query.signed:
            return self._signed(request, form, query)
        if query.type != "int":
            return self._values(request, form, query)
        # As ASCII decimal: drawn, for the server's default range, from the
        # pool of numbers drawn and rendered ahead that the TCP face draws
        # from too (see NumberSource.prepare).
        if query.unique:
            numbers = [b"%d" % number for number in self.source.answer(query)]
        else:
            numbers = self.source.render(query.min, query.max, query.n)
        self._count(request, len(numbers))
        if form == "text":
            body = b"".join([number + b"\n" for number in numbers])
            return respond(request, 200, body, b"text/plain; charset=utf-8")
        # jsonBody's bytes for {"numbers": numbers, "min": ..., "max": ...}
        # (integers are spelled alike), made without json.dumps.
        return respond(
            request,
            200,
            b'{"numbers":[%s],"min":%d,"max":%d}\n'
            % (b",".join(numbers), query.min, query.max),
        )

    def render_HEAD(self, request: Request) -> bytes:
        """
        The headers a GET would get, without drawing anything: a random
        body's length is that of one draw only, and drawing values only to
        throw them away would let HEAD requests cost the server work that no
        client ever reads (and so that no backpressure ever bounds).
        """
        self.stats.requests += 1
        parsed = self.parsed(request)
        if isinstance(parsed, QueryError):
            self.stats.countError(parsed.kind)
            body = jsonError(request, 400, parsed.reason)
            request.setHeader(b"content-length", b"%d" % len(body))
            return b""
        form = parsed[0]
        if form == "text":
            self.stats.textRequests += 1
        request.setResponseCode(200)
        request.setHeader(b"content-type", self._contentType(request))
        return b""

    def _count(self, request: Request, values: int) -> None:
        """
        Count C{values} values as sent (HEAD responses send none).
        """
        if request.method != b"HEAD":
            self.stats.numbers += values
            if isinstance(request.channel, RandnumChannel):
                request.channel.undelivered += values

    def _signed(self, request: Request, form: str, query: Query) -> bytes | int:
        """
        A signed draw: its record, as JSON, once it is stored.
        """
        stats = self.stats
        try:
            if form == "text":
                raise QueryError(
                    "a signed draw is a JSON record: format=text does not apply",
                    "not_for_type",
                )
            record = self.randnum.signedDraw(query)
        except QueryError as error:
            stats.countError(error.kind)
            # A full store is the server's state, not the request's fault.
            code = 503 if error.kind == "audit_full" else 400
            return jsonError(request, code, error.reason)
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))

        def stored(line: bytes) -> None:
            if gone:
                return
            self._count(request, query.n)
            request.write(respond(request, 200, line + b"\n"))
            request.finish()

        def failed(_: Failure) -> None:
            stats.countError(UNAVAILABLE.kind)
            if not gone:
                request.write(jsonError(request, 503, UNAVAILABLE.reason))
                request.finish()

        record.addCallbacks(stored, failed)
        return NOT_DONE_YET

    def _contentType(self, request: Request) -> bytes:
        args = request.args or {}
        if b"text" in args.get(b"format", []):
            return b"text/plain; charset=utf-8"
        return b"application/json"

    def _values(self, request: Request, form: str, query: Query) -> bytes | int:
        """
        Values of a type other than integers: C{{"type": ..., "values":
        [...]}} (every value a JSON string), or one value per line.  A large
        body is made and sent a piece a turn, while the client reads.
        """
        request.setResponseCode(200)
        request.setHeader(b"content-type", self._contentType(request))
        pieces = _bodyPieces(self.source, query, self.uuid7, form)
        if query.workSize() <= STREAM_ABOVE:
            self._count(request, query.n)
            return b"".join(pieces)
        StreamedBody(
            request,
            pieces,
            self.clock,
            lambda: self._count(request, query.n),
            self.randnum.limits.idleTimeout,
        )
        return NOT_DONE_YET

    def parsed(self, request: Request) -> tuple[str, Query] | QueryError:
        """
        L{parse}'s answer for C{request}'s query string: the format and the
        query, or the error (returned, not raised).

        The answer is a function of the query string alone (C{request.args}
        is parsed from it, and the defaults are the server's), and most
        requests ask the same few things, so answers are remembered: at
        most L{PARSED_QUERIES} of them, all forgotten when that many are
        (so that a client sending ever new queries costs only the parsing
        it would cost anyway), for query strings of at most
        L{PARSED_QUERY_LENGTH} bytes.
        """
        # twisted.web parses request.args from what follows the first "?".
        key = request.uri.partition(b"?")[2]
        answer = self._parsed.get(key)
        if answer is None:
            try:
                answer = self.parse(request.args or {})
            except QueryError as error:
                # Kept, never raised again: without the traceback that
                # would hold this request's frames.
                answer = error.with_traceback(None)
            if len(key) <= PARSED_QUERY_LENGTH:
                if len(self._parsed) >= PARSED_QUERIES:
                    self._parsed.clear()
                self._parsed[key] = answer
        return answer

    def parse(self, args: dict[bytes, list[bytes]]) -> tuple[str, Query]:
        """
        The response format and the L{Query} that C{args} ask for.  On HTTP,
        C{format} is C{json} or C{text} (the response), or C{hex} or
        C{base64} (the encoding of C{type=bytes}); each may be given once.

        @raise QueryError: as L{parseParameters} does, or for a bad C{format}.
        """
        pairs = [
            (
                name.decode("latin-1"),
                value.decode("latin-1") if name != b"data" else dataText(value),
            )
            for name, values in args.items()
            for value in values
        ]
        forms = [v for n, v in pairs if n == "format" and v not in ("hex", "base64")]
        if len(forms) > 1:
            raise QueryError("repeated parameter format", "repeated_parameter")
        form = forms[0] if forms else "json"
        if form not in FORMATS:
            raise QueryError(
                "format must be json or text (or, for bytes, hex or base64)",
                "bad_format",
            )
        query = parseParameters(
            ((n, v) for n, v in pairs if n != "format" or v in ("hex", "base64")),
            self.defaults,
        )
        return form, query


def _bodyPieces(
    source: NumberSource, query: Query, uuid7: UUID7Clock, form: str
) -> Iterator[bytes]:
    """
    The body for C{query}'s values, in pieces of about one work budget.
    """
    # A budget of work a piece: fewer values where each costs more.
    values = batches(
        source, query, uuid7, WORK_BUDGET * query.replySize() // query.workSize()
    )
    if form == "text":
        for batch in values:
            yield b"\n".join(batch) + b"\n"
        return
    # Strings from a literal alphabet may hold characters JSON escapes.
    escape = query.type == "string" and any(c in query.alphabet for c in '"\\')
    yield b'{"type":"' + query.type.encode("ascii") + b'","values":['
    first = True
    for batch in values:
        if escape:
            quoted = [json.dumps(v.decode("ascii")).encode("ascii") for v in batch]
        else:
            quoted = [b'"' + v + b'"' for v in batch]
        yield (b"" if first else b",") + b",".join(quoted)
        first = False
    yield b"]}\n"


@implementer(IPushProducer)
class StreamedBody:
    """
    Write a response body a piece per reactor turn, pausing while the
    client is behind, then finish the response and call C{done}.
    """

    def __init__(
        self,
        request: Request,
        pieces: Iterator[bytes],
        clock: IReactorTime,
        done: Callable[[], object],
        timeout: float | None = None,
    ) -> None:
        """
        @param timeout: abort the connection when the client has read
            nothing for this long (twisted.web puts its own idle timeout
            aside while a response is being written).
        """
        self.request = request
        self.pieces = pieces
        self.clock = clock
        self.done = done
        self.timeout = timeout
        self.paused = False
        self.stallCall: IDelayedCall | None = None
        self.socket = socketOf(request.channel.transport)
        self.baseline: int | None = None
        self.needed = 0
        self.call: IDelayedCall | None = clock.callLater(0, self._step)
        request.registerProducer(self, True)
        request.notifyFinish().addErrback(lambda _: self.stopProducing())

    def _step(self) -> None:
        self.call = None
        piece = next(self.pieces, None)
        if piece is None:
            self.request.unregisterProducer()
            self.done()
            self.request.finish()
            return
        self.request.write(piece)
        if not self.paused and self.call is None:
            self.call = self.clock.callLater(0, self._step)

    def pauseProducing(self) -> None:
        """
        The client is behind: stop writing.
        """
        self.paused = True
        if self.call is not None:
            self.call.cancel()
            self.call = None
        if self.timeout and self.stallCall is None:
            self.baseline = peerProgress(self.socket)
            self.needed = progressNeeded(self.socket)
            self.stallCall = self.clock.callLater(self.timeout, self._stalled)

    def resumeProducing(self) -> None:
        """
        The client has caught up: go on.
        """
        self.paused = False
        self._cancelStall()
        if self.call is None:
            self.call = self.clock.callLater(0, self._step)

    def _cancelStall(self) -> None:
        if self.stallCall is not None:
            if self.stallCall.active():
                self.stallCall.cancel()
            self.stallCall = None

    def _stalled(self) -> None:
        """
        The client has read nothing for the timeout: abort, as for any
        connection whose responses are not read.
        """
        self.stallCall = None
        now = peerProgress(self.socket)
        if self.timeout and now is not None and self.baseline is not None:
            if now >= self.baseline + self.needed:
                # Reading, a TCP window at a time, though the transport has
                # not drained yet: not stalled.
                self.baseline = now
                self.stallCall = self.clock.callLater(self.timeout, self._stalled)
                return
        channel = self.request.channel
        if isinstance(channel, RandnumChannel):
            channel._timedOut("responses not read")
        else:
            self.request.transport.abortConnection()  # type: ignore[union-attr]

    def stopProducing(self) -> None:
        """
        The connection is gone: make nothing more.
        """
        self.pieces = iter(())
        if self.call is not None and self.call.active():
            self.call.cancel()
        self.call = None
        self._cancelStall()


class BytesResource(JSONResource):
    """
    C{/v1/bytes?length=N}: exactly N raw random bytes, streamed a work
    budget a turn while the client reads (memory stays flat however long
    the stream), with their C{Content-Length}.
    """

    isLeaf = True

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server

    def _length(self, request: Request) -> int | bytes:
        """
        The length asked for, or the error response.
        """
        stats = self.randnum.http
        stats.requests += 1
        stats.streamRequests += 1
        pairs = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in (request.args or {}).items()
            for value in values
        ]
        try:
            length = parseStreamLength(pairs)
        except QueryError as error:
            stats.countError(error.kind)
            return jsonError(request, 400, error.reason)
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"application/octet-stream")
        request.setHeader(b"content-length", b"%d" % length)
        return length

    def render_GET(self, request: Request) -> bytes | int:
        """
        Stream the bytes, or say why not.
        """
        length = self._length(request)
        if isinstance(length, bytes):
            return length
        stats = self.randnum.http
        randomBytes = self.randnum.source.randomBytes

        def pieces() -> Iterator[bytes]:
            left = length
            while left:
                piece = randomBytes(min(left, WORK_BUDGET))
                left -= len(piece)
                # Counted as they are handed over (the rest never is).
                stats.streamedBytes += len(piece)
                yield piece

        StreamedBody(
            request,
            pieces(),
            self.randnum.clock,
            lambda: None,
            self.randnum.limits.idleTimeout,
        )
        return NOT_DONE_YET

    def render_HEAD(self, request: Request) -> bytes:
        """
        The headers a GET would get, its length included.
        """
        length = self._length(request)
        if isinstance(length, bytes):
            request.setHeader(b"content-length", b"%d" % len(length))
        return b""


def _signingDisabled(request: Request) -> bytes:
    return jsonError(request, 404, "signing is not enabled")


class KeyResource(JSONResource):
    """
    C{/v1/key}: the key signed draws are signed with, C{{"key": id,
    "publicKey": PEM}}.
    """

    isLeaf = True

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server

    def render_GET(self, request: Request) -> bytes:
        """
        The key id and the public key, or 404 when signing is not enabled.
        """
        audit = self.randnum.audit
        if audit is None:
            return _signingDisabled(request)
        signer = audit.signer
        return respond(
            request,
            200,
            jsonBody({"key": signer.keyId, "publicKey": signer.publicPem}),
        )


class DrawsResource(JSONResource):
    """
    The audit store's records, as they were sent:

        GET /v1/draws/SERIAL            one record (JSON)
        GET /v1/draws?after=S&limit=L   records after serial S, one per line
                                        (at most L, and about 256 KiB)
    """

    isLeaf = True
    takesPath = True

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server

    def render_GET(self, request: Request) -> bytes | int:
        """
        One record, or a page of them.
        """
        audit = self.randnum.audit
        if audit is None:
            return _signingDisabled(request)
        path = request.postpath or []
        try:
            if not path:
                after, limit = self._page(request.args or {})
                if request.method == b"HEAD":
                    # The headers only: no page is read to be thrown away.
                    return respond(request, 200, b"", b"application/x-ndjson")
                reading = audit.page(after, limit).addCallback(
                    lambda records: respond(
                        request,
                        200,
                        b"".join(record + b"\n" for record in records),
                        b"application/x-ndjson",
                    )
                )
            elif len(path) == 1 and path[0]:
                serial = _serial("serial", path[0].decode("latin-1"))
                reading = audit.record(serial).addCallback(
                    lambda record: (
                        jsonError(request, 404, f"no record with serial {serial}")
                        if record is None
                        else respond(request, 200, record + b"\n")
                    )
                )
            else:
                return jsonError(request, 404, "not found")
        except QueryError as error:
            return jsonError(request, 400, error.reason)
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))

        def answer(body: bytes) -> None:
            if not gone:
                request.write(body)
                request.finish()

        reading.addErrback(
            lambda failure: jsonError(request, 503, "audit store unavailable")
        ).addCallback(answer)
        return NOT_DONE_YET

    render_HEAD = render_GET  # type: ignore[assignment]

    def _page(self, args: dict[bytes, list[bytes]]) -> tuple[int, int]:
        """
        C{after} (default 0) and C{limit} (default and most L{PAGE_RECORDS}).

        @raise QueryError: for anything else, or a value out of range.
        """
        values = {"after": 0, "limit": PAGE_RECORDS}
        for name, given in args.items():
            text = name.decode("latin-1")
            if text not in values:
                raise QueryError(
                    f"unknown parameter {text!r} (after and limit are)",
                    "unknown_parameter",
                )
            if len(given) > 1:
                raise QueryError(f"repeated parameter {text}", "repeated_parameter")
            values[text] = _serial(text, given[0].decode("latin-1"))
        if values["after"] < 0:
            raise QueryError("after must be 0 or more", "out_of_range")
        if not 1 <= values["limit"] <= PAGE_RECORDS:
            raise QueryError(
                f"limit must be between 1 and {PAGE_RECORDS}", "out_of_range"
            )
        return values["after"], values["limit"]


def _serial(name: str, text: str) -> int:
    """
    A serial (or C{after}): a decimal integer that SQLite can hold.

    @raise QueryError: otherwise.
    """
    value = parseInteger(name, text)
    if value > INT64_MAX:
        raise QueryError(f"{name} must be at most {INT64_MAX}", "out_of_range")
    return value


class HealthResource(JSONResource):
    """
    C{/healthz}: 200 C{ok} while the process serves.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        """
        Say so.
        """
        return respond(request, 200, b"ok\n", b"text/plain; charset=utf-8")


class MetricsResource(JSONResource):
    """
    C{/metrics}: the Prometheus text exposition of a registry, once the
    server's totals are gathered (L{RandnumServer.gather}: with
    C{--workers}, from every worker), or a 503 if they cannot be.
    """

    isLeaf = True

    def __init__(self, registry: CollectorRegistry, server: RandnumServer) -> None:
        super().__init__()
        self.registry = registry
        self.randnum = server

    def render_GET(self, request: Request) -> int:
        """
        Gather the totals, then collect and render every metric.
        """
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))

        def render(_: object) -> None:
            if gone:
                return
            body = generate_latest(self.registry)
            # Sent as one piece with its length, not chunked; a HEAD
            # request gets the length and no body.
            request.setHeader(b"content-length", b"%d" % len(body))
            request.write(respond(request, 200, body, CONTENT_TYPE_LATEST.encode()))
            request.finish()

        def unavailable(_: Failure) -> None:
            if gone:
                return
            body = jsonError(
                request, 503, "metrics unavailable: the main process did not answer"
            )
            request.setHeader(b"content-length", b"%d" % len(body))
            request.write(body)
            request.finish()

        self.randnum.gather().addCallbacks(render, unavailable)
        return NOT_DONE_YET

    render_HEAD = render_GET  # type: ignore[assignment]


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
                    "paths": [
                        "/v1/random",
                        "/v1/bytes",
                        "/v1/draws",
                        "/v1/key",
                        "/healthz",
                        "/metrics",
                    ],
                }
            ),
        )


def resourceTree(server: RandnumServer, registry: CollectorRegistry) -> IResource:
    """
    The whole HTTP face: C{/v1/random}, C{/v1/bytes}, C{/healthz},
    C{/metrics} and C{/}.
    """
    root = IndexResource()
    version = JSONResource()
    version.putChild(b"random", RandomResource(server))
    version.putChild(b"bytes", BytesResource(server))
    version.putChild(b"draws", DrawsResource(server))
    version.putChild(b"key", KeyResource(server))
    root.putChild(b"v1", version)
    root.putChild(b"healthz", HealthResource())
    root.putChild(b"metrics", MetricsResource(registry, server))
    return root


#: Most pipelined requests of one connection answered in one reactor turn.
REQUESTS_PER_TURN = 16


class RandnumChannel(HTTPChannel):
    """
    twisted.web's HTTP/1.1 channel, within the server's limits:

     - a request head must be complete within the idle timeout of its
       first byte (trickling a header never holds a connection);
     - a request with a body is refused (413, or 405 for a method other
       than GET or HEAD) as soon as its head is read, and the connection is
       closed without reading the body;
     - pipelined requests wait while the client is not reading the
       responses to earlier ones, and a client that reads nothing for the
       idle timeout is aborted;
     - at most L{REQUESTS_PER_TURN} pipelined requests are answered per
       reactor turn, so a flood of cheap requests cannot hold the reactor;
     - timeouts are counted (and now and then logged), not logged one by
       one.
    """

    server: RandnumServer
    randnumSite: RandnumSite
    host: str | None = None
    admitted = False
    #: Whether a request head has begun and is not complete yet.
    _inHead = False
    #: The head deadline: left pending once a head is complete (it does
    #: nothing then), and moved on at the next head's first byte.
    _headCall: IDelayedCall | None = None
    _stallCall: IDelayedCall | None = None
    _graceCall: IDelayedCall | None = None
    _heldRequest: Request | None = None
    #: Whether the site will call L{turnEnded} when this turn ends.
    _inTurn = False
    _requestsThisTurn = 0
    _gone = False
    #: The idle timer (see L{setTimeout}), and whether it is counting.
    _idleCall: IDelayedCall | None = None
    _idleCounting = False
    #: Numbers in responses rendered since the transport last drained.
    undelivered = 0

    def setTimeout(self, period: float | None) -> float | None:
        """
        As L{TimeoutMixin.setTimeout}, with one timer for the connection's
        life.  twisted.web puts the idle timeout aside while it handles
        each request and takes it up again after: with L{TimeoutMixin},
        a timer cancelled and another made for every request.  Here, put
        aside, the timer is left pending and does nothing if it comes due;
        taken up again, it is moved on, which is what a new timer would be.
        """
        previous = self.timeOut
        # Seconds, a float where the limit is (TimeoutMixin says int).
        self.timeOut = period  # type: ignore[assignment]
        if period is None:
            self._idleCounting = False
        else:
            self._idleCounting = True
            if self._idleCall is None:
                self._idleCall = self.callLater(  # type: ignore[no-untyped-call]
                    period, self._idleTimedOut
                )
            else:
                self._idleCall.reset(period)
        return previous

    def resetTimeout(self) -> None:
        """
        As L{TimeoutMixin.resetTimeout}: start the idle timeout afresh,
        unless it is put aside or has already run out.
        """
        if self._idleCounting and self._idleCall is not None:
            self._idleCall.reset(self.timeOut)  # type: ignore[arg-type]

    def _idleTimedOut(self) -> None:
        self._idleCall = None
        if self._idleCounting:
            self._idleCounting = False
            self.timeoutConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        Start the head deadline at the first byte of a request.
        """
        if (
            not self._handlingRequest
            and not self._inHead
            and self.timeOut
            and not self.transport.disconnecting  # type: ignore[union-attr]
        ):
            self._inHead = True
            # One timer a connection, moved on (cheap: no new timer, no
            # cancelled one left in the reactor's heap) rather than one
            # made and cancelled for each request.
            if self._headCall is None:
                self._headCall = self.callLater(  # type: ignore[no-untyped-call]
                    self.timeOut, self._headTimedOut
                )
            else:
                self._headCall.reset(self.timeOut)
        super().dataReceived(data)  # type: ignore[no-untyped-call]

    def allHeadersReceived(self) -> None:
        """
        The head is complete: refuse a body, or go on as usual.
        """
        self._inHead = False
        # A length, or None for a chunked body.  ("Transfer-Encoding:
        # identity" alone means no body, as twisted.web reads it.)
        if self.length != 0:
            self._refuseBody(self._command)
            # Whatever follows is not read: no request is made of it.
            self.length = None
            return
        super().allHeadersReceived()  # type: ignore[no-untyped-call]

    def _refuseBody(self, method: bytes) -> None:
        if method in ALLOWED:
            code, reason, extra = 413, "request bodies are not accepted", b""
        else:
            name = method.decode("latin-1")
            code, reason, extra = (
                405,
                f"method {name} not allowed",
                b"Allow: GET, HEAD\r\n",
            )
        body = jsonBody({"error": reason})
        phrase = http.RESPONSES[code]
        self.transport.write(  # type: ignore[union-attr]
            b"HTTP/1.1 %d %s\r\n%sContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nCache-Control: no-store\r\n"
            b"Connection: close\r\n\r\n%s" % (code, phrase, extra, len(body), body)
        )
        self.server.reject(
            self.server.http,
            "bodiesRefused",
            reason,
            self.getPeer(),  # type: ignore[no-untyped-call]
            "HTTP",
        )
        self._close()

    def rawDataReceived(self, data: bytes) -> None:
        """
        Buffer what a client pipelines behind the request being handled, as
        twisted.web does, but stop reading once that passes its small limit
        even while the client is not reading its responses: twisted.web
        stops reading only while the client is (its HTTPChannel reads on
        into memory, without end, once the responses wait for the client).
        """
        super().rawDataReceived(data)
        if (
            self._handlingRequest
            and sum(map(len, self._dataBuffer)) > self._optimisticEagerReadSize
        ):
            self._networkProducer.pauseProducing()

    def requestDone(self, request: Request) -> None:
        """
        A response is complete.  If the client is not reading, answer its
        next pipelined request only once it has read this one; and answer
        at most L{REQUESTS_PER_TURN} of its requests in one reactor turn.
        """
        self._requestsThisTurn += 1
        if not self._inTurn:
            self._inTurn = True
            self.randnumSite.answeredThisTurn(self)
        if self.persistent and self._waitingForTransport:
            self._heldRequest = request
            # While a request is handled, the idle timeout is put aside.
            timeout = self._savedTimeOut
            if timeout:
                self._stallCall = self.callLater(  # type: ignore[no-untyped-call]
                    timeout, self._stalled
                )
            return
        if self.persistent and self._requestsThisTurn >= REQUESTS_PER_TURN:
            self._heldRequest = request  # until the next turn
            return
        super().requestDone(request)  # type: ignore[no-untyped-call]

    def turnEnded(self) -> None:
        """
        The reactor turn in which this channel answered requests has ended:
        count afresh, and answer a request held for the turn's limit.
        """
        self._inTurn = False
        self._requestsThisTurn = 0
        if not self._waitingForTransport and not self._gone:
            self._release()

    def resumeProducing(self) -> None:
        """
        The client has read what was waiting: go on with the next request.
        """
        super().resumeProducing()  # type: ignore[no-untyped-call]
        # What was rendered before has left for the kernel.
        self.undelivered = 0
        self._release()

    def _release(self) -> None:
        held, self._heldRequest = self._heldRequest, None
        if held is not None:
            self._cancel("_stallCall")
            super().requestDone(held)  # type: ignore[no-untyped-call]

    def timeoutConnection(self) -> None:
        """
        Idle for the timeout: close, counting (not logging) it.
        """
        self._timedOut("idle timeout")

    def _headTimedOut(self) -> None:
        self._headCall = None
        if self._inHead:
            self._timedOut("request head not complete in time")

    def _stalled(self) -> None:
        self._stallCall = None
        self._timedOut("responses not read")

    def _timedOut(self, reason: str) -> None:
        self.server.reject(
            self.server.http,
            "idleTimeouts",
            reason,
            self.getPeer(),  # type: ignore[no-untyped-call]
            "HTTP",
        )
        if self._waitingForTransport or self._heldRequest is not None:
            # The numbers in the responses that now never leave were not sent.
            self.server.http.numbers -= self.undelivered
            self.undelivered = 0
            self.transport.abortConnection()  # type: ignore[union-attr]
        else:
            self._close()

    def _close(self) -> None:
        """
        Close once what was written is sent; abort after the close grace.
        """
        self.setTimeout(None)
        self._cancel("_headCall")
        self.loseConnection()  # type: ignore[no-untyped-call]
        if self._graceCall is None:
            self._graceCall = self.callLater(  # type: ignore[no-untyped-call]
                self.server.limits.closeGrace,
                self.transport.abortConnection,  # type: ignore[union-attr]
            )

    def writeHeaders(
        self, version: bytes, code: bytes, reason: bytes, headers: object
    ) -> None:
        """
        Write the status line and headers as twisted.web does, in one
        piece: its C{writeSequence} of some thirty small strings, each
        checked, cost more than the join.
        """
        if not isinstance(headers, Headers):
            super().writeHeaders(version, code, reason, headers)  # type: ignore[no-untyped-call]
            return
        parts = [version, b" ", code, b" ", reason, b"\r\n"]
        for name, values in headers.getAllRawHeaders():
            for value in values:
                parts += (name, b": ", value, b"\r\n")
        parts.append(b"\r\n")
        self.transport.write(b"".join(parts))  # type: ignore[union-attr]

    def _cancel(self, name: str) -> None:
        call = getattr(self, name)
        if call is not None:
            setattr(self, name, None)
            if call.active():
                call.cancel()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Stop every timer and give the connection's place back.
        """
        self._gone = True
        for name in ("_headCall", "_stallCall", "_graceCall", "_idleCall"):
            self._cancel(name)
        super().connectionLost(reason)  # type: ignore[no-untyped-call]
        if self.admitted:
            self.admitted = False
            self.server.http.open -= 1
            self.server.connections.release(self.host)


#: The reply to an HTTP connection over a connection limit.
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 17\r\n"
    b"Retry-After: 1\r\n"
    b"Cache-Control: no-store\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b'{"error":"busy"}\n'
)


class BusyHTTP(Protocol):
    """
    Answer 503 busy to a connection over the limits, and close it (at once
    if the close takes longer than the close grace, as a TLS handshake that
    never completes would).
    """

    def __init__(self, clock: IReactorTime, grace: float) -> None:
        self.clock = clock
        self.grace = grace
        self._graceCall: IDelayedCall | None = None

    def connectionMade(self) -> None:
        """
        Say so at once; the request is never read.
        """
        assert self.transport is not None
        self.transport.write(BUSY_RESPONSE)
        self.transport.loseConnection()
        self._graceCall = self.clock.callLater(
            self.grace,
            self.transport.abortConnection,  # type: ignore[attr-defined]
        )

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Closed: stop the timer.
        """
        if self._graceCall is not None and self._graceCall.active():
            self._graceCall.cancel()


class NoStoreRequest(Request):
    """
    A request whose response, whatever it is, may not be cached: random
    numbers least of all, and no other response here either.
    """

    def process(self) -> None:
        """
        Mark the response, then process as usual.
        """
        self.setHeader(b"cache-control", b"no-store")  # type: ignore[no-untyped-call]
        super().process()  # type: ignore[no-untyped-call]


class RandnumSite(Site):
    """
    The HTTP face of one L{RandnumServer}: its connections are admitted
    within the server's connection limits (shared with the TCP face),
    counted in its L{HttpStats}, and served by L{RandnumChannel}s.  There is
    no access-log line per request: randnum logs periodic summaries, and
    Prometheus has the counts.
    """

    displayTracebacks = False
    noisy = False
    protocol = RandnumChannel  # type: ignore[assignment]

    def __init__(self, resource: IResource, server: RandnumServer) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            resource,
            requestFactory=NoStoreRequest,
            timeout=server.limits.idleTimeout,
            reactor=server.clock,
        )
        self.server = server
        #: The channels that answered requests in this reactor turn.
        self._answering: list[RandnumChannel] = []
        self._turnCall: IDelayedCall | None = None

    def acceptableProtocols(self) -> list[bytes]:
        """
        HTTP/1.1 only, whatever TLS's ALPN offers: the limits above are
        HTTP/1.1's.
        """
        return [b"http/1.1"]

    def buildProtocol(self, addr: IAddress) -> Protocol | None:  # type: ignore[override]
        """
        A channel for an admitted connection; L{BusyHTTP} for one over the
        limits.
        """
        server = self.server
        host = peerHost(addr)
        if not server.connections.admit(host):
            server.reject(server.http, "refused", "busy", addr, "HTTP")
            return BusyHTTP(server.clock, server.limits.closeGrace)
        channel = super().buildProtocol(addr)  # type: ignore[no-untyped-call]
        assert isinstance(channel, RandnumChannel)
        channel.server = server
        channel.randnumSite = self
        channel.host = host
        channel.admitted = True
        server.http.open += 1
        server.http.connections += 1
        return channel

    def log(self, request: http.Request) -> None:
        """
        Log nothing per request.
        """

    def answeredThisTurn(self, channel: RandnumChannel) -> None:
        """
        C{channel} answered its first request of this reactor turn: call
        its L{RandnumChannel.turnEnded} when the turn ends.  One timer for
        every channel, not one each: with many connections, a timer made
        and run for every request was a large part of a cheap request's
        cost.
        """
        self._answering.append(channel)
        if self._turnCall is None:
            self._turnCall = self.server.clock.callLater(0, self._turnEnded)

    def _turnEnded(self) -> None:
        self._turnCall = None
        channels, self._answering = self._answering, []
        for channel in channels:
            channel.turnEnded()


def webSite(server: RandnumServer, registry: CollectorRegistry) -> RandnumSite:
    """
    The HTTP/JSON face of C{server}: C{/v1/random}, C{/healthz},
    C{/metrics} (from C{registry}) and C{/}.
    """
    return RandnumSite(resourceTree(server, registry), server)
