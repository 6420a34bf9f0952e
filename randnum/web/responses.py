# -*- test-case-name: tests.web.test_responses -*-
"""
The pieces every page here answers with: JSON bodies and errors, the
resource that answers only GET and HEAD, the JSON 404, and the one way a
response is written once its answer is ready (charged to its client's
share of the turn, and written a piece at a time while the client reads
when it is large).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request

#: Methods every resource here answers.
ALLOWED = (b"GET", b"HEAD")

#: The reason phrases of the statuses answered here that twisted.web does
#: not know (it would say "Unknown Status").
REASONS = {
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
}

#: The largest answer written at once: a larger one is written a piece of
#: this size a reactor turn, while the client reads (L{writeAnswer}).
ANSWER_PIECE = 64 * 1024


def setStatus(request: Request, code: int) -> None:
    """
    Set C{request}'s status, with its reason phrase (L{REASONS} for those
    twisted.web does not know).
    """
    request.setResponseCode(code, REASONS.get(code))


def respond(
    request: Request, code: int, body: bytes, contentType: bytes = b"application/json"
) -> bytes:
    """
    Set the status and content type; return the body.
    """
    setStatus(request, code)
    request.setHeader(b"content-type", contentType)
    return body


def charge(request: Request, cost: int) -> None:
    """
    Charge C{request}'s client C{cost} (in bytes of an ordinary reply) of
    work done to answer it, in its share of the turn
    (L{randnum.sharing.Shares}): with the request's own cost while it is
    processed, at once when the work comes later (an answer read from the
    audit store).  Nothing for a request made outside a site (a test's).
    """
    charged = getattr(request, "charge", None)
    if charged is not None:
        charged(cost)


def writeAnswer(request: Request, body: bytes) -> None:
    """
    Write C{body}, the whole of C{request}'s response (status and headers
    set), with its length, and finish it; charge its client for it.

    A body over L{ANSWER_PIECE} is written a piece at a time, each at the
    client's share of a turn and charged there, and only while the client
    reads (L{randnum.web.streaming.SharedBody}): a client that never reads
    holds a piece or two in memory, not the whole body, and is let go
    after the idle timeout; an address's connections writing such bodies
    take its shares in turn.  The pieces are sliced from C{body} as they
    go: an answer shared by many responses
    (L{randnum.web.answers.AnswerCache}) is held once.
    """
    request.setHeader(b"content-length", b"%d" % len(body))
    channel = getattr(request, "channel", None)
    if request.method != b"HEAD" and len(body) > ANSWER_PIECE:
        # Here, not at the top: the channel's module needs this one.
        from randnum.web.channel import RandnumChannel
        from randnum.web.streaming import SharedBody

        if isinstance(channel, RandnumChannel):
            SharedBody(
                request,
                body,
                ANSWER_PIECE,
                channel,
                channel.server.limits.idleTimeout,
            )
            return
    charge(request, len(body))
    request.write(body)
    request.finish()


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


_T = TypeVar("_T")


def respondWhenReady(
    request: Request,
    answer: Deferred[_T],
    render: Callable[[_T], bytes],
    failed: Callable[[Failure], bytes],
) -> int:
    """
    Write C{request}'s response once C{answer} fires, and finish it: the
    body C{render} makes of its result, or C{failed} of its failure
    (L{writeAnswer}: charged to the client, in pieces if large).  If the
    client has gone by then, nothing is rendered (and nothing written):
    the one place that asks.

    @param render: sets the status and headers, and returns the body.
    @param failed: likewise, for a failure.
    @return: L{NOT_DONE_YET}, for a C{render} method to return.
    """
    gone: list[bool] = []
    request.notifyFinish().addErrback(lambda _: gone.append(True))

    def respondNow(outcome: _T | Failure) -> None:
        if gone:
            return
        if isinstance(outcome, Failure):
            body = failed(outcome)
        else:
            body = render(outcome)
        writeAnswer(request, body)

    answer.addBoth(respondNow)
    return NOT_DONE_YET


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
