# -*- test-case-name: tests.web.pages.test_page -*-
"""
What every page here is made of: one self-contained HTML document.

A page is a template from C{assets/} (plain HTML with C{{{name}}}
placeholders) put into C{assets/layout.html}, with C{pages.css} and
C{verify.js} inlined and the page's data embedded as JSON in a
C{<script type="application/json" id="page-data">} element.  Nothing is
fetched to show it: a page saved to disk works offline.

Data never becomes HTML on the server: it is embedded as JSON (with C{<},
C{>} and C{&} escaped, so that no string in it can close the script
element), and the page's script shows it with C{textContent}.  The few
words the server puts into HTML itself (a title, an error's reason) are
escaped with L{html.escape}.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from randnum.server import RandnumServer
from randnum.web.answering import charge
from randnum.web.responses import ALLOWED, setStatus

#: The policy every page is served with: its own inline script and style,
#: requests only to this server, no frames, no plugins, no base tag.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

#: The headers of every page.
PAGE_HEADERS = {
    b"content-type": b"text/html; charset=utf-8",
    b"content-security-policy": CONTENT_SECURITY_POLICY.encode("ascii"),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
}

#: The id of the element that holds a page's data.
DATA_ID = "page-data"

_PLACEHOLDER = re.compile(r"\{\{([a-z]+)\}\}")

# What may not appear raw in JSON inside a script element: "<" ("</script>",
# "<!--"), and ">" and "&" for good measure; U+2028 and U+2029, which older
# JavaScript took for line ends.
_SCRIPT_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


@functools.cache
def asset(name: str) -> str:
    """
    The text of C{assets/NAME}, shipped with the package (read once).
    """
    return (resources.files(__package__) / "assets" / name).read_text("utf-8")


def embedJSON(value: Any) -> str:
    """
    C{value} as JSON text that may stand inside a C{<script>} element: no
    C{<}, C{>} or C{&} in it (escaped as C{\\u003c} and so on, which JSON
    reads back as the same characters).
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(
        _SCRIPT_ESCAPES
    )


def fill(template: str, values: Mapping[str, str]) -> str:
    """
    Put C{values} in place of C{template}'s C{{{name}}} placeholders, in one
    pass (a value that holds C{{{...}}} is left as it is).

    @raise KeyError: for a placeholder without a value.
    """
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


#: The navigation's link to C{/draw}, on a server that signs (and so can
#: run a drawing).
DRAW_LINK = '    <a href="/draw" class="online">Public drawing</a>\n'

#: The foot of a page that checks records.
VERIFIES_HERE = (
    "Every check on this page runs in your browser. Saved to disk, the page "
    "still works offline: paste a record and the public key you trust."
)


#: The foot of a page that only says something.
SAYS_ONLY = "randnum: random numbers, and signed draws anyone can check."


def renderPage(
    template: str,
    title: str,
    data: Mapping[str, Any],
    text: Mapping[str, str] | None = None,
    footer: str = VERIFIES_HERE,
    signing: bool = True,
    verifier: bool = True,
) -> bytes:
    """
    The page made of C{assets/TEMPLATE}: its body in the layout, the
    stylesheet and the verifier inlined, C{data} embedded.

    @param title: plain text (escaped here).
    @param data: what the page's script reads (L{embedJSON}).
    @param text: plain text for the template's own placeholders (each
        escaped here).
    @param footer: plain text for the page's foot.
    @param signing: whether the server signs: without signing, the
        navigation has no link to C{/draw}, which could not run a drawing.
    @param verifier: whether the page needs the verifier's script (a page
        that only says something does not: 43 KB less).
    """
    script = asset("verify.js") if verifier else ""
    # Inlined, the script must not end its own element.
    assert "</script" not in script.lower()
    page = fill(
        asset("layout.html"),
        {
            "title": html.escape(title),
            "footer": html.escape(footer),
            "policy": html.escape(_META_POLICY),
            "css": asset("pages.css"),
            "verify": script,
            "dataid": DATA_ID,
            "drawlink": DRAW_LINK if signing else "",
            "data": embedJSON(dict(data)),
            "body": fill(
                asset(template),
                {name: html.escape(value) for name, value in (text or {}).items()},
            ),
        },
    )
    return page.encode("utf-8")


# Kept in the document itself, so that a saved page keeps its policy (a
# meta element cannot say frame-ancestors; the header does).
_META_POLICY = CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", "")


def sendPage(request: Request, code: int, body: bytes) -> bytes:
    """
    Set C{request}'s status and the page headers; return C{body}.
    """
    setStatus(request, code)
    for name, value in PAGE_HEADERS.items():
        request.setHeader(name, value)
    return body


def messagePage(
    request: Request, code: int, title: str, message: str, signing: bool = True
) -> bytes:
    """
    A page that says one thing: why there is nothing else here.

    @param signing: as L{renderPage}'s.
    """
    return sendPage(
        request,
        code,
        renderPage(
            "message.html",
            title,
            {},
            {"title": title, "message": message},
            footer=SAYS_ONLY,
            signing=signing,
            verifier=False,
        ),
    )


class PageResource(Resource):
    """
    A page: answers GET and HEAD (any other method gets a page saying it is
    not allowed), and has no children.
    """

    isLeaf = True

    #: Whether the page reads the rest of the path itself.
    takesPath = False

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.randnum = server

    @property
    def signing(self) -> bool:
        """
        Whether the server signs draws (its pages' navigation says so).
        """
        return self.randnum.audit is not None

    def render(self, request: Request) -> bytes | int:
        """
        Refuse other methods and paths below this one; render the rest.
        A page made now is charged to its client by its size (one made
        later is charged when it is written:
        L{randnum.web.answering.respondWhenReady}).
        """
        page = self._renderNow(request)
        if isinstance(page, bytes):
            charge(request, len(page))
        return page

    def _renderNow(self, request: Request) -> bytes | int:
        if request.method not in ALLOWED:
            request.setHeader(b"allow", b", ".join(ALLOWED))
            method = request.method.decode("latin-1")
            return messagePage(
                request,
                405,
                "Method not allowed",
                f"{method} is not allowed here.",
                self.signing,
            )
        if request.postpath and not self.takesPath:
            return notFound(request, self.signing)
        if request.method == b"HEAD":
            return self.render_HEAD(request)
        return self.render_GET(request)

    def render_HEAD(self, request: Request) -> bytes | int:
        """
        The headers a GET would get, with the length of its body.
        """
        body = self.render_GET(request)
        if isinstance(body, bytes):
            request.setHeader(b"content-length", b"%d" % len(body))
            return b""
        return body  # written later: twisted.web writes no body for HEAD

    def render_GET(self, request: Request) -> bytes | int:
        """
        By default, nothing is here.
        """
        return notFound(request, self.signing)

    def getChild(self, path: bytes, request: Request) -> IResource:
        """
        Never called for a leaf; here for the interface.
        """
        return self


def notFound(request: Request, signing: bool = True) -> bytes:
    """
    The page for a path with nothing at it.

    @param signing: as L{renderPage}'s.
    """
    return messagePage(request, 404, "Not found", "There is no page here.", signing)
