# -*- test-case-name: tests.web.test_responses -*-
"""
The pieces every page here answers with: statuses, JSON bodies and errors,
the resource that answers only GET and HEAD, and the JSON 404.  (An answer
that comes later is written by L{randnum.web.answering}.)
"""

from __future__ import annotations

import json
from typing import Any

from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

#: Methods every resource here answers.
ALLOWED = (b"GET", b"HEAD")

#: The reason phrases of the statuses answered here that twisted.web does
#: not know (it would say "Unknown Status").
REASONS = {
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
}


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
