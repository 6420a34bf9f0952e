# -*- test-case-name: tests.web.test_random -*-
"""
C{/v1/random}: numbers, and values of every other type, for a query
string's parameters.

Requests are validated by the same L{parseParameters} as TCP request lines,
so both faces accept the same queries and give the same error reasons.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.server import NOT_DONE_YET, Request

from randnum.query import Query, QueryError, dataText, parseParameters
from randnum.rates import RateLimited
from randnum.server import RandnumServer
from randnum.tcp.answering import STREAM_ABOVE, UNAVAILABLE
from randnum.web.answering import respondWhenReady
from randnum.web.arguments import queryStringArguments
from randnum.web.channel import RandnumChannel
from randnum.web.responses import JSONResource, jsonError, respond
from randnum.web.streaming import StreamedBody, bodyPieces

#: What C{format} may ask of a response (C{hex} and C{base64} encode bytes).
FORMATS = ("json", "text")
#: Most query strings whose parsed queries a L{RandomResource} keeps, and
#: the longest it keeps (so that they take at most 64 KiB).
PARSED_QUERIES = 256
PARSED_QUERY_LENGTH = 256


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
        # What it costs its client's share of the turn (see RandnumChannel).
        request.workSize = query.workSize()  # type: ignore[attr-defined]
        if form == "text":
            stats.textRequests += 1
        if query.signed:
            return self._signed(request, form, query)
        if query.type != "int":
            return self._values(request, form, query)
        contentType, body, count = self._integers(form, query)
        self._count(request, count)
        return respond(request, 200, body, contentType)

    def _integers(self, form: str, query: Query) -> tuple[bytes, bytes, int]:
        """
        The content type and body answering an unsigned C{query} of
        integers in C{form}, and how many values it holds.
        """
        # As ASCII decimal: drawn, for the server's default range, from the
        # pool of numbers drawn and rendered ahead that the TCP face draws
        # from too (see NumberSource.prepare).
        if query.unique:
            numbers = [b"%d" % number for number in self.source.answer(query)]
        else:
            numbers = self.source.render(query.min, query.max, query.n)
        if form == "text":
            body = b"".join([number + b"\n" for number in numbers])
            return b"text/plain; charset=utf-8", body, len(numbers)
        # jsonBody's bytes for {"numbers": numbers, "min": ..., "max": ...}
        # (integers are spelled alike), made without json.dumps.
        body = b'{"numbers":[%s],"min":%d,"max":%d}\n' % (
            b",".join(numbers),
            query.min,
            query.max,
        )
        return b"application/json", body, len(numbers)

    def plainAnswer(self, query: bytes) -> tuple[bytes, bytes, int, int] | None:
        """
        The answer to C{GET /v1/random?}C{query} if it is integers, unsigned
        (as nearly every request is), counted as L{render_GET} counts it:
        its content type, its body, how many values it holds and its work
        size; or L{None}, counting nothing, for any other query (an error
        too), which only L{render_GET} answers.  For
        L{randnum.web.channel.RandnumChannel}'s plain requests.
        """
        parsed = self.parsedQuery(query, lambda: http.parse_qs(query, 1))
        if isinstance(parsed, QueryError):
            return None
        form, found = parsed
        if found.signed or found.type != "int":
            return None
        stats = self.stats
        stats.requests += 1
        if form == "text":
            stats.textRequests += 1
        contentType, body, count = self._integers(form, found)
        stats.numbers += count
        return contentType, body, count, found.workSize()

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
            client = getattr(request.channel, "client", "local")
            record = self.randnum.signedDraw(query, client)
        except RateLimited as error:
            stats.countError(error.kind)
            request.setHeader(b"retry-after", b"%d" % error.retryAfter)
            return jsonError(request, 429, error.reason)
        except QueryError as error:
            stats.countError(error.kind)
            # A full store is the server's state, not the request's fault.
            code = 503 if error.kind == "audit_full" else 400
            return jsonError(request, code, error.reason)

        def stored(line: bytes) -> bytes:
            self._count(request, query.n)
            return respond(request, 200, line + b"\n")

        def unavailable(failure: Failure) -> Failure:
            # Counted whether or not the client is still there to be told.
            stats.countError(UNAVAILABLE.kind)
            return failure

        return respondWhenReady(
            request,
            record.addErrback(unavailable),
            stored,
            lambda _: jsonError(request, 503, UNAVAILABLE.reason),
        )

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
        pieces = bodyPieces(self.source, query, self.uuid7, form)
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
        # The arguments are parsed from what follows the first "?".
        query = request.uri.partition(b"?")[2]
        return self.parsedQuery(query, lambda: request.args or {})

    def parsedQuery(
        self, query: bytes, args: Callable[[], dict[bytes, list[bytes]]]
    ) -> tuple[str, Query] | QueryError:
        """
        L{parsed}'s answer for the query string C{query}, whose arguments
        (as twisted.web parses them) C{args} gives if they must be parsed.
        """
        answer = self._parsed.get(query)
        if answer is None:
            try:
                answer = self.parse(queryStringArguments(query, args()))
            except QueryError as error:
                # Kept, never raised again: without the traceback that
                # would hold this request's frames.
                answer = error.with_traceback(None)
            if len(query) <= PARSED_QUERY_LENGTH:
                if len(self._parsed) >= PARSED_QUERIES:
                    self._parsed.clear()
                self._parsed[query] = answer
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
