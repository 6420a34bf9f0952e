# -*- test-case-name: tests.web.pages.test_verify -*-
"""
C{GET /verify}: check a signed draw's record in the browser.
"""

from __future__ import annotations

from twisted.web.server import Request

from randnum.server import RandnumServer
from randnum.web.pages.page import PageResource, renderPage, sendPage


class VerifyPage(PageResource):
    """
    The verify page: a record and a public key pasted (or given in the
    link's fragment, C{#record=...&key=...}), checked by the page's script.
    With signing enabled, the server's key is filled in.
    """

    def __init__(self, server: RandnumServer) -> None:
        super().__init__(server)

    def render_GET(self, request: Request) -> bytes:
        """
        The page, with this server's public key if it signs.
        """
        audit = self.randnum.audit
        data: dict[str, object] = {"publicKey": None, "keyId": None}
        if audit is not None:
            data = {"publicKey": audit.signer.publicPem, "keyId": audit.signer.keyId}
        return sendPage(
            request,
            200,
            renderPage(
                "verify.html", "Verify a signed draw", data, signing=audit is not None
            ),
        )
