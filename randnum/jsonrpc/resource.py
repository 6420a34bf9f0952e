# -*- test-case-name: tests.jsonrpc.test_resource -*-
"""
C{POST /json-rpc/4/invoke} (and C{/json-rpc/2/invoke}), with C{--json-rpc}:
RANDOM.ORG's JSON-RPC API over HTTP, as RANDOM.ORG serves it.  Only
C{POST} (405 otherwise), only C{application/json} (415 otherwise), and
every call's answer, error or not, in a 200 response.

The request was admitted and read like any other (L{randnum.web.site}):
within the connection limits, at its client's share of the turn, and with
a body of at most L{MAX_BODY} bytes (413 above).
"""

from __future__ import annotations

import time

from twisted.web.resource import IResource
from twisted.web.server import Request

from randnum.jsonrpc.methods import METHODS, Context, answer
from randnum.jsonrpc.protocol import (
    CallError,
    RpcError,
    errorResponse,
    parseCall,
    resultResponse,
)
from randnum.server import RandnumServer
from randnum.stats import HttpStats
from randnum.web.channel import REQUEST_COST
from randnum.web.responses import JSONResource, jsonError, respond

#: The paths it answers at: Release 4's, and Release 2's (where the npm
#: C{random-org} client sends by default).
PATHS = (b"/json-rpc/4/invoke", b"/json-rpc/2/invoke")

#: The most bytes of a request body.  A call to RANDOM.ORG's
#: C{verifySignature} carries a whole signed result: about 60 KB for 10,000
#: integers.
MAX_BODY = 128 * 1024

#: Work a second of answering is worth, in bytes of an ordinary reply:
#: randnum's scale, where twisted.web's 100 µs for a request are worth
#: REQUEST_COST.
WORK_A_SECOND = round(REQUEST_COST / 100e-6)

#: The one method it answers.
METHOD = b"POST"


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
        #: When it first answered: a key's creation time, in open mode.
        self._started: float | None = None

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
        call = request.content.read()
        started = time.perf_counter()
        body = self._respond(call)
        spent = time.perf_counter() - started
        # What it costs its client's share of the turn (RandnumChannel): its
        # call read, then its answer, by its length or by the time it took
        # (a Gaussian costs more than its digits), whichever is more.
        request.workSize = len(call) + max(  # type: ignore[attr-defined]
            len(body), round(spent * WORK_A_SECOND)
        )
        if not body:
            request.setResponseCode(204)
            return b""
        return respond(request, 200, body)

    def _respond(self, body: bytes) -> bytes:
        """
        The response to a body: a result, an error object, or nothing for
        a notification (a call without an C{id}).
        """
        try:
            call = parseCall(body)
        except CallError as refused:
            self._count("unknown", str(refused.error.code))
            return errorResponse(refused.id, refused.error)
        if call.notification:
            # Nothing would be read: nothing is drawn.
            self._count(call.method, "notification")
            return b""
        clock = self.randnum.clock
        if self._started is None:
            self._started = clock.seconds()
        context = Context(self.randnum.source, clock.seconds(), self._started)
        try:
            result, count = answer(call.method, call.params, context)
        except RpcError as error:
            self._count(call.method, str(error.code))
            self.stats.countError("jsonrpc")
            return errorResponse(call.id, error)
        self._count(call.method, "ok")
        self.stats.numbers += count
        return resultResponse(call.id, result)


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
