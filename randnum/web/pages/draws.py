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
import sqlite3
from typing import Any

from twisted.internet.defer import Deferred, FirstError, gatherResults, succeed
from twisted.python.failure import Failure
from twisted.web.server import Request

from randnum.query import QueryError
from randnum.server import RandnumServer
from randnum.web.draws import _DAMAGE, DrawsResource, _serial
from randnum.web.pages.negotiation import prefersHTML
from randnum.web.pages.page import (
    PageResource,
    messagePage,
    notFound,
    renderPage,
    sendPage,
)
from randnum.web.responses import respondWhenReady


class DrawPage(PageResource):
    """
    C{/draws/SERIAL}: a page for a browser, C{/v1/draws/SERIAL}'s JSON for
    anyone else (and C{/draws}, C{/v1/draws}'s).
    """

    takesPath = True

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server
        self.api = DrawsResource(server)

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
        The draw's page, once its record (and the records either side) are
        read.
        """
        audit = self.randnum.audit
        if audit is None:
            return messagePage(
                request,
                404,
                "Signing is not enabled",
                "This server does not sign draws, so it has no signed draws to "
                "show. Its operator enables signing with --signing-key and "
                "--audit-db.",
                signing=False,
            )
        path = request.postpath or []
        if len(path) != 1 or not path[0]:
            return notFound(request)
        try:
            serial = _serial("serial", path[0].decode("latin-1"))
        except QueryError as error:
            return messagePage(request, 400, "Not a serial", f"{error.reason}.")
        if serial < 1:
            return messagePage(
                request, 404, "No such draw", f"There is no draw with serial {serial}."
            )
        reads: list[Deferred[bytes | None]] = [
            audit.record(serial - 1) if serial > 1 else succeed(None),
            audit.record(serial),
            audit.record(serial + 1),
            audit.drawing(serial),
        ]

        def render(records: list[bytes | None]) -> bytes:
            before, record, after, drawing = records
            if record is None:
                return messagePage(
                    request,
                    404,
                    "No such draw",
                    f"There is no draw with serial {serial}.",
                )
            return sendPage(
                request,
                200,
                renderPage(
                    "record.html",
                    f"Draw #{serial}",
                    pageData(
                        json.loads(record),
                        None if before is None else json.loads(before),
                        serial + 1 if after is not None else None,
                        audit.signer.publicPem,
                        audit.signer.keyId,
                        None if drawing is None else json.loads(drawing),
                    ),
                    footer="Every check on this page runs in your browser. "
                    "Saved to disk, the page checks the draw again offline, "
                    "with the key it was saved with.",
                ),
            )

        def unavailable(failure: Failure) -> bytes:
            error = failure.value
            if isinstance(error, sqlite3.DatabaseError) and any(
                sign in str(error) for sign in _DAMAGE
            ):
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

        # One failure is the answer: the others' are not left unhandled.
        def firstFailure(failure: Failure) -> Failure:
            error = failure.value
            assert isinstance(error, FirstError)
            return error.subFailure

        both = gatherResults(reads, consumeErrors=True)
        both.addErrback(firstFailure)
        return respondWhenReady(request, both, render, unavailable)


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
