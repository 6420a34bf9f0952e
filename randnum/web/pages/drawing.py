# -*- test-case-name: tests.web.pages.test_drawing -*-
"""
C{GET /draw}: run a public drawing (L{randnum.signing.drawings}).

A form (title, entrants one a line, number of winners) whose script POSTs
the drawing to C{/v1/drawings} as JSON and then opens its permalink,
C{/draws/SERIAL}.  Without signing, a page that says so.
"""

from __future__ import annotations

from typing import Any

from twisted.web.server import Request

from randnum.server import RandnumServer
from randnum.signing.drawings import (
    MAX_BODY,
    MAX_ENTRANT,
    MAX_ENTRANTS,
    MAX_LIST,
    MAX_TITLE,
)
from randnum.web.pages.page import PageResource, messagePage, renderPage, sendPage

#: What the page's script knows of the limits (to say so before sending).
LIMITS: dict[str, Any] = {
    "maxEntrants": MAX_ENTRANTS,
    "maxEntrant": MAX_ENTRANT,
    "maxTitle": MAX_TITLE,
    "maxBody": MAX_BODY,
    "maxList": MAX_LIST,
}


class DrawingFormPage(PageResource):
    """
    C{/draw}: the form of a public drawing.
    """

    def __init__(self, server: RandnumServer) -> None:
        super().__init__(server)

    def render_GET(self, request: Request) -> bytes:
        """
        The form; or, without signing, a page saying that the server does
        not sign and how that is turned on.
        """
        if self.randnum.audit is None:
            return messagePage(
                request,
                404,
                "Signing is not enabled",
                "This server does not sign draws, so it cannot run a public "
                "drawing. Its operator turns signing on with --signing-key and "
                "--audit-db: see Public drawings in randnum's documentation "
                "(docs/public-drawings.md).",
                signing=False,
            )
        return sendPage(
            request,
            200,
            renderPage(
                "draw.html",
                "Public drawing",
                {"limits": LIMITS, "keyId": self.randnum.audit.signer.keyId},
                # Written in, so that the hints read whole without the script.
                {
                    "maxentrants": f"{MAX_ENTRANTS:,}",
                    "maxentrant": str(MAX_ENTRANT),
                    "maxtitle": str(MAX_TITLE),
                },
                footer="The winners are drawn and signed by this server; the "
                "drawing's page lets anyone check them in their own browser.",
            ),
        )
