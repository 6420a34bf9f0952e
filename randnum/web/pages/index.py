# -*- test-case-name: tests.web.pages.test_index -*-
"""
C{GET /} for a browser: what is here, as a page (programs get the JSON
index, L{randnum.web.resources.IndexResource}).
"""

from __future__ import annotations

from twisted.web.server import Request

from randnum.server import RandnumServer
from randnum.web.pages.page import SAYS_ONLY, renderPage, sendPage


def indexPage(request: Request, server: RandnumServer) -> bytes:
    """
    The page at C{/}: links to the pages people use on this server (to
    C{/draw} only if it signs, and so can run a drawing).
    """
    signing = server.audit is not None
    page = renderPage(
        "index.html",
        "randnum",
        {},
        {"drawitem": "" if signing else "hidden"},
        footer=SAYS_ONLY,
        signing=signing,
        verifier=False,
    )
    return sendPage(request, 200, page)
