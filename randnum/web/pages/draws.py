# -*- test-case-name: tests.web.pages.test_draws -*-
"""
C{GET /draws/SERIAL}: one signed draw, for people and for programs.

A browser (whose C{Accept} prefers C{text/html}) gets a page that shows
the draw and verifies it on load, against the server's public key and the
record before it, both embedded in the page.  Any other client gets
exactly what C{/v1/draws/SERIAL} gives.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import Deferred, FirstError, gatherResults, succeed
from twisted.python.failure import Failure
from twisted.web.server import Request

from randnum.query import INT64_MAX, QueryError
from randnum.server import RandnumServer
from randnum.signing.store import SignedDraws
from randnum.web.answering import cachedAnswer, respondWhenReady
from randnum.web.answers import AnswerCache
from randnum.web.draws import DrawsResource, parseSerial, storeDamaged
from randnum.web.pages.negotiation import prefersHTML
from randnum.web.pages.page import (
    PageResource,
    messagePage,
    notFound,
    renderPage,
    sendPage,
)

#: The foot of a draw's page.
FOOTER = (
    "Every check on this page runs in your browser. Saved to disk, the page "
    "checks the draw again offline, with the key it was saved with."
)


class DrawPage(PageResource):
    """
    C{/draws/SERIAL}: a page for a browser, C{/v1/draws/SERIAL}'s JSON for
    anyone else (and C{/draws}, C{/v1/draws}'s).
    """

    takesPath = True

    def __init__(
        self, server: RandnumServer, answers: AnswerCache | None = None
    ) -> None:
        """
        @param answers: where the pages made are kept (a cache of this
            page's own unless given).
        """
        super().__init__(server)
        self.api = DrawsResource(server)
        self.answers = AnswerCache() if answers is None else answers

    def render(self, request: Request) -> bytes | int:
        """
        The page or the JSON, as the request prefers.
        """
        request.setHeader(b"vary", b"Accept")
        if not prefersHTML(request):
            return self.api.render(request)
        return super().render(request)

    def render_GET(self, request: Request) -> bytes | int:
        """
        The draw's page, once it is made (or found made), or a page saying
        why there is none.
        """
        audit = self.randnum.audit
        if audit is None:
            return signingDisabled(request)
        serial = pageSerial(request)
        if isinstance(serial, bytes):
            return serial
        return respondWhenReady(
            request,
            readDrawPage(request, audit, serial, self.answers),
            lambda page: (
                noSuchDraw(request, serial)
                if page is None
                else sendPage(request, 200, page)
            ),
            lambda failure: unavailable(request, failure),
        )


def pageSerial(request: Request) -> int | bytes:
    """
    The serial of the draw C{request} asks for; or, if it asks for none
    there can be, the page that says so.
    """
    path = request.postpath or []
    if len(path) != 1 or not path[0]:
        return notFound(request)
    text = path[0].decode("latin-1")
    try:
        serial = parseSerial("serial", text)
    except QueryError:
        if text.isascii() and text.isdigit():
            return noSuchDraw(request, int(text))  # beyond any store's serials
        shown = text[:40]
        return messagePage(
            request,
            400,
            "Not a serial",
            f"\u201c{shown}\u201d is not a serial: the serial of a draw is a "
            "whole number, as in /draws/12.",
        )
    if serial < 1:
        return noSuchDraw(request, serial)
    return serial


def readDrawPage(
    request: Request, audit: SignedDraws, serial: int, answers: AnswerCache
) -> Deferred[bytes | None]:
    """
    The page of draw C{serial}, from C{answers} or made (and kept there)
    for C{request}'s client (L{cachedAnswer}: one at a time, charged
    first); L{None} if there is no such draw.

    A record never changes once stored, nor does the one before it; but
    the link to the next draw appears once there is one.  So a page is
    kept under its serial and whether it links to a next draw: one that
    does is final, and one that does not is served only while there is
    still no next draw.
    """
    final = answers.get(pageKey(serial, True))
    if final is not None:
        return succeed(final)

    def knowing(hasNext: bool) -> Deferred[bytes | None]:
        return cachedAnswer(
            request,
            answers,
            pageKey(serial, hasNext),
            lambda: makeDrawPage(audit, serial, hasNext),
        )

    return nextExists(audit, serial).addCallback(knowing)


def pageKey(serial: int, hasNext: bool) -> tuple[str, int, bool]:
    """
    The key of draw C{serial}'s page in an L{AnswerCache}.
    """
    return ("page", serial, hasNext)


def nextExists(audit: SignedDraws, serial: int) -> Deferred[bool]:
    """
    Whether C{audit} holds a record after C{serial} (none can follow the
    largest serial SQLite can hold).
    """
    if serial >= INT64_MAX:
        return succeed(False)
    return audit.record(serial + 1).addCallback(lambda record: record is not None)


def makeDrawPage(
    audit: SignedDraws, serial: int, hasNext: bool
) -> Deferred[bytes | None]:
    """
    Read draw C{serial}'s record, the one before it and its drawing (if
    it is a public drawing's), and render its page; L{None} if there is
    no record C{serial}.
    """
    reads: list[Deferred[bytes | None]] = [
        audit.record(serial - 1) if serial > 1 else succeed(None),
        audit.record(serial),
        audit.drawing(serial),
    ]

    def render(found: list[bytes | None]) -> bytes | None:
        before, record, drawing = found
        if record is None:
            return None
        return renderDrawPage(
            serial,
            pageData(
                json.loads(record),
                None if before is None else json.loads(before),
                serial + 1 if hasNext else None,
                audit.signer.publicPem,
                audit.signer.keyId,
                None if drawing is None else json.loads(drawing),
            ),
        )

    # One failure is the answer: the others' are not left unhandled.
    def firstFailure(failure: Failure) -> Failure:
        error = failure.value
        assert isinstance(error, FirstError)
        return error.subFailure

    return gatherResults(reads, consumeErrors=True).addCallbacks(render, firstFailure)


def renderDrawPage(serial: int, data: dict[str, Any]) -> bytes:
    """
    The page of draw C{serial}, showing and verifying C{data}
    (L{pageData}).
    """
    return renderPage(
        "record.html", f"Draw #{serial}", data, {"serial": str(serial)}, FOOTER
    )


def signingDisabled(request: Request) -> bytes:
    """
    The page saying that this server signs no draws.
    """
    return messagePage(
        request,
        404,
        "Signing is not enabled",
        "This server does not sign draws, so it has no signed draws to "
        "show. Its operator enables signing with --signing-key and "
        "--audit-db.",
        signing=False,
    )


def noSuchDraw(request: Request, serial: int) -> bytes:
    """
    The page saying that there is no draw C{serial}.
    """
    return messagePage(
        request, 404, "No such draw", f"There is no draw with serial {serial}."
    )


def unavailable(request: Request, failure: Failure) -> bytes:
    """
    The page saying that the audit store could not be read: damaged (500)
    or, for now, unavailable (503).
    """
    if storeDamaged(failure):
        return messagePage(
            request,
            500,
            "Record unreadable",
            "The server's store of signed draws is damaged: this record "
            "cannot be read.",
        )
    return messagePage(
        request,
        503,
        "Try again later",
        "The server's store of signed draws is unavailable just now.",
    )


def pageData(
    record: dict[str, Any],
    previous: dict[str, Any] | None,
    nextSerial: int | None,
    publicKey: str,
    keyId: str,
    drawing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """
    What the draw's page embeds: the record, the one before it (to check
    the chain's link), the serials to link to, and the key to verify with.

    The C{drawing} member is a public drawing's entrants and title
    (L{randnum.signing.drawings.Drawing.stored}), when the record is one;
    L{None} otherwise.
    """
    serial = record["serial"]
    return {
        "record": record,
        "previous": previous,
        "previousSerial": serial - 1 if previous is not None else None,
        "nextSerial": nextSerial,
        "publicKey": publicKey,
        "keyId": keyId,
        "drawing": drawing,
    }
