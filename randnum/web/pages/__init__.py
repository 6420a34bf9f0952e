"""
The pages people use, served on every HTTP port beside the JSON API:

    GET /verify           check a signed draw's record in the browser
    GET /draw             run a public drawing (L{randnum.web.pages.drawing})
    GET /draws/SERIAL     one signed draw, shown and verified on load (JSON
                          for clients that do not prefer HTML)

Each page is one self-contained HTML document (L{randnum.web.pages.page}):
its stylesheet and script (C{assets/pages.css}, C{assets/verify.js}) are
inlined and its data embedded, so that a page saved to disk works offline.
"""

from __future__ import annotations

from twisted.web.resource import Resource

from randnum.server import RandnumServer
from randnum.web.answers import AnswerCache
from randnum.web.pages.drawing import DrawingFormPage
from randnum.web.pages.draws import DrawPage
from randnum.web.pages.verify import VerifyPage


def putPages(
    root: Resource, server: RandnumServer, answers: AnswerCache | None = None
) -> None:
    """
    Put the pages into the tree at C{root}.

    @param answers: where the pages of draws are kept once made.
    """
    root.putChild(b"verify", VerifyPage(server))
    root.putChild(b"draws", DrawPage(server, answers))
    root.putChild(b"draw", DrawingFormPage(server))
