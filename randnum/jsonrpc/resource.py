# -*- test-case-name: tests.jsonrpc.test_resource -*-
"""
C{POST /json-rpc/4/invoke} (and C{/json-rpc/2/invoke}), with C{--json-rpc}:
RANDOM.ORG's JSON-RPC API over HTTP, as RANDOM.ORG serves it.  Only
C{POST} (405 otherwise), only C{application/json} (415 otherwise), and
every call's answer, error or not, in a 200 response.

The request was admitted and read like any other (L{randnum.web.site}):
within the connection limits, at its client's share of the turn, and with
a body of at most L{MAX_BODY} bytes (413 above).  A generating call is
checked and costed before anything is drawn, charged to its client's
share by that cost, and a large answer is made and sent a piece a reactor
turn, as C{/v1/random}'s are (L{randnum.web.streaming}).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, fail, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import IResource
from twisted.web.server import NOT_DONE_YET, Request

from randnum.jsonrpc import signatures
from randnum.jsonrpc.methods import METHODS, Plan, plan, timestamp
from randnum.jsonrpc.params import Params
from randnum.jsonrpc.protocol import (
    Call,
    CallError,
    RpcError,
    errorResponse,
    internalError,
    methodNotFound,
    parseCall,
    resultResponse,
    serverError,
)
from randnum.jsonrpc.results import basicResult, signedResult
from randnum.limits import WORK_BUDGET
from randnum.query import QueryError
from randnum.rates import RateLimited
from randnum.server import RandnumServer
from randnum.stats import HttpStats
from randnum.web.channel import REQUEST_COST
from randnum.web.responses import JSONResource, jsonError
from randnum.web.streaming import StreamedBody

log = Logger(namespace="randnum")

#: The paths it answers at: Release 4's, and Release 2's (where the npm
#: C{random-org} client sends by default).
PATHS = (b"/json-rpc/4/invoke", b"/json-rpc/2/invoke")

#: The most bytes of a request body.  A call to RANDOM.ORG's
#: C{verifySignature} carries a whole signed result: about 60 KB for 10,000
#: integers.
MAX_BODY = 128 * 1024

#: The one method it answers.
METHOD = b"POST"

#: How many times a basic call's cost a signed one costs: its values are
#: read back, checked and signed into a record, then its C{random} object
#: is rebuilt, put in canonical form and signed (measured: about 10 ms for
#: 5,461 integers, five times the basic call's 2 ms).
SIGNED_SCALE = 5

#: Work a second of answering is worth, in bytes of an ordinary reply:
#: randnum's scale, where twisted.web's 100 µs for a request are worth
#: REQUEST_COST.  Work that cannot be costed before it is done (checking a
#: signature over whatever object a client sends) is charged by the time it
#: took.
WORK_A_SECOND = round(REQUEST_COST / 100e-6)


@dataclass(frozen=True)
class Streamed:
    """
    An answer too large to make at once: its pieces, to be made and sent a
    piece a turn, and what to do once they all are.
    """

    pieces: Iterator[bytes]
    done: Callable[[], object]


#: What a call's answer is: the whole body, or its pieces.
Answer = bytes | Streamed


def _isJson(contentType: bytes | None) -> bool:
    """
    Whether a C{Content-Type} is C{application/json} (with any
    parameters, such as a charset).
    """
    if contentType is None:
        return False
    return contentType.split(b";", 1)[0].strip().lower() == b"application/json"


class InvokeResource(JSONResource):
    """
    The JSON-RPC endpoint: one call a request.
    """

    isLeaf = True

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server

    @property
    def stats(self) -> HttpStats:
        """
        The HTTP face's counts, where calls are counted.
        """
        return self.randnum.http

    def _count(self, method: str, outcome: str) -> None:
        label = method if method in METHODS else "unknown"
        self.stats.jsonRpcCalls[f"{label} {outcome}"] += 1

    def render(self, request: Request) -> bytes | int:
        """
        Answer a C{POST}ed call; refuse anything else over HTTP.
        """
        if request.postpath:
            return jsonError(request, 404, "not found")
        if request.method != METHOD:
            self._count("unknown", "http_405")
            request.setHeader(b"allow", METHOD)
            return jsonError(
                request,
                405,
                f"method {request.method.decode('latin-1')} not allowed: "
                "JSON-RPC calls are POSTed",
            )
        if not _isJson(request.getHeader(b"content-type")):
            self._count("unknown", "http_415")
            return jsonError(
                request, 415, "a JSON-RPC call's Content-Type is application/json"
            )
        self.stats.requests += 1
        assert request.content is not None
        body = request.content.read()
        # What it costs its client's share of the turn (RandnumChannel): its
        # call read, then its answer (a generating call's, by its cost).
        request.workSize = len(body)  # type: ignore[attr-defined]
        try:
            call = parseCall(body)
        except CallError as refused:
            self._count("unknown", str(refused.error.code))
            return self._send(request, errorResponse(refused.id, refused.error))
        if call.notification:
            # Nothing would be read: nothing is drawn.
            self._count(call.method, "notification")
            request.setResponseCode(204)
            return b""
        try:
            answer = self._answer(request, call)
        except RpcError as error:
            return self._send(request, self._refused(call, error))
        except Exception:
            # Whatever else it raises is the server's fault: logged, and
            # answered as one.
            answer = fail()
        return self._whenAnswered(request, call, answer)

    def _send(self, request: Request, body: bytes) -> bytes:
        request.workSize += len(body)  # type: ignore[attr-defined]
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"application/json")
        return body

    def _refused(self, call: Call, error: RpcError) -> bytes:
        self._count(call.method, str(error.code))
        self.stats.countError("jsonrpc")
        return errorResponse(call.id, error)

    def _whenAnswered(
        self, request: Request, call: Call, answer: Deferred[Answer]
    ) -> int:
        """
        Send C{answer} once it comes: whole, or a piece a turn.
        """
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))

        def send(body: Answer) -> None:
            if gone:
                return
            request.setResponseCode(200)
            request.setHeader(b"content-type", b"application/json")
            if isinstance(body, bytes):
                request.write(body)
                request.finish()
                return
            StreamedBody(
                request,
                body.pieces,
                self.randnum.clock,
                body.done,
                self.randnum.limits.idleTimeout,
            )

        def failed(failure: Failure) -> Answer:
            if isinstance(failure.value, RpcError):
                return self._refused(call, failure.value)
            log.failure("JSON-RPC call {method} failed", failure, method=call.method)
            return self._refused(call, internalError())

        answer.addErrback(failed).addCallback(send).addErrback(
            lambda failure: log.failure("JSON-RPC answer not sent", failure)
        )
        return NOT_DONE_YET

    def _answer(self, request: Request, call: Call) -> Deferred[Answer]:
        """
        The answer to C{call}, once it is ready.

        @raise RpcError: if it is refused at once.
        """
        method = call.method
        if method == "getUsage":
            return self._usage(call)
        if method == "verifySignature":
            return self._verify(request, call)
        if method == "getResult":
            return self._result(call)
        planned = plan(method, call.params)
        scale = SIGNED_SCALE if planned.signed else 1
        request.workSize += scale * planned.drawing.workSize  # type: ignore[attr-defined]
        client = getattr(request.channel, "client", "local")
        if planned.signed:
            return self._signed(call, planned, client)
        return self._basic(call, planned)

    def _basic(self, call: Call, planned: Plan) -> Deferred[Answer]:
        """
        A basic call's answer: its values, drawn as they are sent.
        """
        drawing = planned.drawing
        server = self.randnum

        def sent() -> None:
            self._count(call.method, "ok")
            server.http.numbers += drawing.count

        def draw(figures: Any) -> Answer:
            pieces = basicResult(
                call.id,
                drawing.pieces(server.source),
                timestamp(server.clock.seconds()),
                drawing.bitsUsed,
                figures,
            )
            if drawing.workSize > WORK_BUDGET:
                # More than one piece: made a piece a turn, never at once.
                return Streamed(pieces, sent)
            sent()
            return b"".join(pieces)

        taken = server.allowances.take(planned.apiKey, drawing.bitsUsed)
        return taken.addCallback(draw)

    def _signing(self, client: str | None) -> Any:
        """
        The audit store, if a signed result may be made now.

        @raise RpcError: if it may not.
        """
        try:
            return self.randnum.mayIssue(client)
        except RateLimited as limited:
            raise serverError(
                "too many signed results from your address: "
                f"retry in {limited.retryAfter} s",
                -32001,
            ) from None
        except QueryError as error:
            if error.kind == "signing_disabled":
                raise methodNotFound(
                    "signed methods", "signing is not enabled on this server"
                ) from None
            raise serverError(error.reason) from None

    def _signed(
        self, call: Call, planned: Plan, client: str | None
    ) -> Deferred[Answer]:
        """
        A signed call's answer: its values drawn, signed into the audit
        chain as one record, and RANDOM.ORG's C{random} object of that
        record, signed.
        """
        audit = self._signing(client)
        server = self.randnum
        drawing = planned.drawing

        def issue(figures: Any) -> Deferred[Answer]:
            record = signatures.issue(audit, planned, server.source)
            return record.addCallback(respond, figures)

        def respond(endorsed: signatures.Endorsed, figures: Any) -> Answer:
            self._count(call.method, "ok")
            server.http.numbers += drawing.count
            return signedResult(
                call.id,
                endorsed.random,
                endorsed.signature,
                drawing.bitsUsed,
                figures,
            )

        taken = server.allowances.take(planned.apiKey, drawing.bitsUsed)
        return taken.addCallback(issue)

    def _usage(self, call: Call) -> Deferred[Answer]:
        """
        C{getUsage}: the key's figures.
        """
        apiKey = Params(call.params, ("apiKey",)).string("apiKey", 128)

        def respond(usage: Any) -> Answer:
            self._count(call.method, "ok")
            return resultResponse(
                call.id,
                {
                    "status": usage.status,
                    "creationTime": timestamp(usage.creationTime),
                    "bitsLeft": usage.bitsLeft,
                    "requestsLeft": usage.requestsLeft,
                    "totalBits": usage.totalBits,
                    "totalRequests": usage.totalRequests,
                    "advisoryDelay": 0,
                },
            )

        return self.randnum.allowances.usage(apiKey).addCallback(respond)

    def _verify(self, request: Request, call: Call) -> Deferred[Answer]:
        """
        C{verifySignature}: whether a C{random} object is this server's,
        whatever its members' order or spacing.  No key is needed.
        """
        audit = self.randnum.audit
        if audit is None:
            raise methodNotFound(call.method, "signing is not enabled on this server")
        params = Params(call.params, ("random", "signature"))
        random = params.raw("random")
        signature = params.raw("signature")
        started = time.perf_counter()
        authentic = signatures.authenticFor(audit, random, signature)
        spent = time.perf_counter() - started
        request.workSize += round(spent * WORK_A_SECOND)  # type: ignore[attr-defined]
        self._count(call.method, "ok")
        return maybeDeferred(
            resultResponse, call.id, {"authenticity": authentic, "advisoryDelay": 0}
        )

    def _result(self, call: Call) -> Deferred[Answer]:
        """
        C{getResult}: a signed result made with the same key, from the
        audit store.
        """
        audit = self.randnum.audit
        if audit is None:
            raise methodNotFound(call.method, "signing is not enabled on this server")
        params = Params(call.params, ("apiKey", "serialNumber"))
        apiKey = params.string("apiKey", 128)
        serial = params.integer("serialNumber", 1, 2**53 - 1)
        server = self.randnum

        def respond(endorsed: signatures.Endorsed, figures: Any) -> Answer:
            self._count(call.method, "ok")
            return signedResult(
                call.id, endorsed.random, endorsed.signature, 0, figures
            )

        def find(figures: Any) -> Deferred[Answer]:
            stored = signatures.stored(audit, serial, apiKey)
            return stored.addCallback(respond, figures)

        # The key first: an unknown one is 400, as for every other method.
        return server.allowances.usage(apiKey).addCallback(find)


def invokeTree(server: RandnumServer) -> IResource:
    """
    C{/json-rpc}: C{4/invoke} and C{2/invoke}, one endpoint at both.
    """
    invoke = InvokeResource(server)
    tree = JSONResource()
    for release in (b"4", b"2"):
        child = JSONResource()
        child.putChild(b"invoke", invoke)
        tree.putChild(release, child)
    return tree
