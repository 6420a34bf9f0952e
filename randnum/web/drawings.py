# -*- test-case-name: tests.web.test_drawings -*-
"""
Public drawings over HTTP (L{randnum.signing.drawings}):

    POST /v1/drawings         {"entrants": [...] | "entrantsText": "...",
                               "winners": k, "title"?: "..."}
    GET  /v1/drawings/SERIAL  the drawing signed as record SERIAL

Both answer C{{"serial", "permalink", "record", "title", "entrants",
"winners": [{"index", "entrant"}]}}; errors are JSON, 4xx (503 when the
audit store cannot take or give records).  A drawing's answer never
changes once it is stored: it is made once, kept in the site's
L{AnswerCache} (by one client address at a time, charged to it before it
is made) and charged to each client it is written to.
"""

from __future__ import annotations

import json
import re
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.server import Request

from randnum.query import QueryError
from randnum.rates import RateLimited
from randnum.server import RandnumServer
from randnum.signing.drawings import Drawing, DrawingError, drawCost, parseRequest
from randnum.signing.store import SignedDraws
from randnum.web.answering import cachedAnswer, respondWhenReady
from randnum.web.answers import AnswerCache
from randnum.web.draws import parseSerial
from randnum.web.responses import JSONResource, jsonError, respond

#: The path drawings are POSTed to.
PATH = b"/v1/drawings"

#: The Content-Type a drawing is POSTed with.
JSON_TYPE = b"application/json"


def drawingAnswer(record: bytes, stored: bytes) -> bytes:
    """
    The JSON body answering for a drawing: its record (as stored, byte for
    byte), its entrants and title, and its winners.

    @param record: the record's canonical JSON.
    @param stored: the drawing as stored with it
        (L{randnum.signing.drawings.Drawing.stored}).
    """
    parsed = json.loads(record)
    serial = parsed["serial"]
    head = b'{"serial":%d,"permalink":"/draws/%d","record":' % (serial, serial)
    members = _storedMembers(stored)
    if members is None:
        return head + record + b"," + _encodedTail(parsed, stored)[1:]
    entrants, title = members
    names = _encodedStrings(entrants)
    winners = b",".join(
        [b'{"index":%d,"entrant":"%b"}' % (i, names[i - 1]) for i in parsed["values"]]
    )
    # The record exactly as signed and stored: its bytes are what verifies.
    return b"".join(
        [
            head,
            record,
            b',"title":',
            title,
            b',"entrants":',
            entrants,
            b',"winners":[',
            winners,
            b"]}\n",
        ]
    )


#: How a drawing's stored form begins (L{Drawing.stored}: canonical JSON,
#: its members in order).
_STORED_HEAD = b'{"entrants":['
#: What follows its entrants when it has a title.
_STORED_TITLE = b'],"title":'


#: A JSON string as canonical JSON writes it: its contents (escapes kept).
_JSON_STRING = re.compile(rb'"((?:[^"\\]+|\\.)*)"', re.DOTALL)


def _encodedStrings(array: bytes) -> list[bytes]:
    """
    The elements of C{array}, the canonical JSON of a list of strings, as
    written there without their quotes.
    """
    if b"\\" not in array:
        # With no escape, a quote is one that opens or closes a string.
        return array[2:-2].split(b'","') if array != b"[]" else []
    return _JSON_STRING.findall(array)


def _storedMembers(stored: bytes) -> tuple[bytes, bytes] | None:
    """
    The JSON of a drawing's entrants and of its title (C{null} without
    one), cut from its stored form, which is canonical: each already as
    the answer writes it.  L{None} if C{stored} is not in that form.
    """
    if not stored.startswith(_STORED_HEAD) or not stored.endswith(b"}"):
        return None
    start = len(_STORED_HEAD) - 1
    # Inside a JSON string a quote is escaped: '],"title":' is structure.
    cut = stored.find(_STORED_TITLE)
    if cut == -1:
        return (stored[start:-1], b"null") if stored.endswith(b"]}") else None
    return stored[start : cut + 1], stored[cut + len(_STORED_TITLE) : -1]


def _encodedTail(parsed: dict[str, Any], stored: bytes) -> bytes:
    """
    The answer's members after its record, encoded afresh from the
    drawing parsed (for a stored form L{_storedMembers} does not know).
    """
    drawing = Drawing.fromStored(stored)
    tail = json.dumps(
        {
            "title": drawing.title,
            "entrants": list(drawing.entrants),
            "winners": drawing.winners(parsed["values"]),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return tail.encode("utf-8") + b"\n"


def readDrawingAnswer(audit: SignedDraws, serial: int) -> Deferred[bytes | None]:
    """
    Read drawing C{serial} from C{audit} and make its answer
    (L{drawingAnswer}); L{None} if that serial is no drawing (or its
    record is gone).
    """
    found: Deferred[bytes | None] = audit.drawing(serial)

    def withRecord(stored: bytes | None) -> Deferred[bytes | None] | None:
        if stored is None:
            return None
        return audit.record(serial).addCallback(
            lambda record: None if record is None else drawingAnswer(record, stored)
        )

    return found.addCallback(withRecord)


def answerKey(serial: int) -> tuple[str, int]:
    """
    The key of drawing C{serial}'s answer in an L{AnswerCache}.
    """
    return ("drawing", serial)


def _rateLimited(request: Request, error: RateLimited) -> bytes:
    request.setHeader(b"retry-after", b"%d" % error.retryAfter)
    return jsonError(request, 429, error.reason)


def _unavailable(request: Request, failure: Failure) -> bytes:
    # The store could not commit the record (it was never sent), or a
    # worker's main process did not answer, or the database could not be
    # read: the server's state, not the request's fault.
    return jsonError(request, 503, "audit store unavailable")


class DrawingsResource(JSONResource):
    """
    C{/v1/drawings}: run a public drawing (C{POST}), or read one back
    (C{GET /v1/drawings/SERIAL}).
    """

    isLeaf = True
    takesPath = True

    def __init__(
        self, server: RandnumServer, answers: AnswerCache | None = None
    ) -> None:
        """
        @param answers: where drawings' answers are kept (a cache of this
            resource's own unless given).
        """
        super().__init__()
        self.randnum = server
        self.answers = AnswerCache() if answers is None else answers

    def render(self, request: Request) -> bytes | int:
        """
        C{POST} a drawing to C{/v1/drawings}; C{GET} or C{HEAD} one at
        C{/v1/drawings/SERIAL}.
        """
        path = request.postpath or []
        if not path:
            if request.method != b"POST":
                request.setHeader(b"allow", b"POST")
                return jsonError(
                    request,
                    405,
                    f"method {request.method.decode('latin-1')} not allowed: "
                    "a drawing is POSTed (read one at /v1/drawings/SERIAL)",
                )
            return self.render_POST(request)
        if request.method == b"POST":
            request.setHeader(b"allow", b"GET, HEAD")
            return jsonError(request, 405, "a drawing is POSTed to /v1/drawings")
        return super().render(request)

    def render_GET(self, request: Request) -> bytes | int:
        """
        The drawing signed as record SERIAL; 404 if that record is no
        drawing.
        """
        audit = self.randnum.audit
        if audit is None:
            return jsonError(request, 404, "signing is not enabled")
        path = request.postpath or []
        if len(path) != 1 or not path[0]:
            return jsonError(request, 404, "not found")
        try:
            serial = parseSerial("serial", path[0].decode("latin-1"))
        except QueryError as error:
            return jsonError(request, 400, error.reason)
        return respondWhenReady(
            request,
            cachedAnswer(
                request,
                self.answers,
                answerKey(serial),
                lambda: readDrawingAnswer(audit, serial),
            ),
            lambda body: (
                jsonError(request, 404, f"no drawing with serial {serial}")
                if body is None
                else respond(request, 200, body)
            ),
            lambda failure: _unavailable(request, failure),
        )

    def render_HEAD(self, request: Request) -> bytes | int:  # type: ignore[override]
        """
        As C{GET}, without the body (its length is said once the drawing
        is read).
        """
        return self.render_GET(request)

    def render_POST(self, request: Request) -> bytes | int:
        """
        Draw the winners of the drawing POSTed, sign and store it with its
        entrants, and answer with all of it.
        """
        server = self.randnum
        if server.audit is None:
            return jsonError(request, 404, "signing is not enabled")
        contentType = request.getHeader(b"content-type") or b""
        if contentType.split(b";", 1)[0].strip().lower() != JSON_TYPE:
            return jsonError(
                request, 415, "a drawing is POSTed as JSON (application/json)"
            )
        client = getattr(request.channel, "client", "local")
        try:
            # Before the list is read: a client over its rate costs no parse.
            server.signedRates.check(client)
        except RateLimited as error:
            return _rateLimited(request, error)
        assert request.content is not None
        body = request.content.read()
        # What it costs its client's share of the turn (RandnumChannel).
        request.workSize = len(body)  # type: ignore[attr-defined]
        try:
            drawing, winners = parseRequest(body)
            query = drawing.query(winners)
        except DrawingError as error:
            return jsonError(request, 400, error.reason)
        stored = drawing.stored()
        request.workSize += query.workSize() + len(stored)  # type: ignore[attr-defined]
        try:
            record = server.signedDraw(query, client, stored, drawCost(stored))
        except RateLimited as error:
            return _rateLimited(request, error)
        except QueryError as error:
            code = 503 if error.kind == "audit_full" else 400
            return jsonError(request, code, error.reason)

        def answer(line: bytes) -> Any:
            return respond(request, 200, drawingAnswer(line, stored))

        return respondWhenReady(
            request, record, answer, lambda failure: _unavailable(request, failure)
        )
