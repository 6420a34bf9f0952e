# -*- test-case-name: tests.web.test_resources -*-
"""
The HTTP face's tree of pages:

    GET /v1/random?n=&min=&max=&unique=[&format=json|text]
    GET /v1/random?type=decimal|gaussian|string|uuid|bytes&...[&format=json|text]
    GET /v1/bytes?length=N
    GET /v1/draws[/SERIAL], /v1/key
    POST /v1/drawings, GET /v1/drawings/SERIAL (public drawings)
    GET /healthz
    GET /metrics
    GET /verify, /draws/SERIAL (pages for people: L{randnum.web.pages})
    POST /pollen (challenge=...), with --pollen
    POST /json-rpc/4/invoke, /json-rpc/2/invoke (RANDOM.ORG's API), with --json-rpc

and the small pages: C{/healthz}, C{/metrics} and C{/}.  Every error is
JSON: C{{"error": "<reason>"}} with status 400, 404, 405 or 503.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from twisted.python.failure import Failure
from twisted.web.resource import IResource
from twisted.web.server import Request

from randnum import __version__
from randnum.jsonrpc.resource import invokeTree
from randnum.server import RandnumServer
from randnum.web.answering import respondWhenReady
from randnum.web.answers import AnswerCache
from randnum.web.bytes import BytesResource
from randnum.web.drawings import DrawingsResource
from randnum.web.draws import DrawsResource, KeyResource
from randnum.web.pages import putPages
from randnum.web.pages.index import indexPage
from randnum.web.pages.negotiation import prefersHTML
from randnum.web.pollen import PATH, PollenResource
from randnum.web.random import RandomResource
from randnum.web.responses import (
    JSONResource,
    NotFound,
    jsonBody,
    jsonError,
    respond,
)


class HealthResource(JSONResource):
    """
    C{/healthz}: 200 C{ok} while the process serves.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        """
        Say so.
        """
        return respond(request, 200, b"ok\n", b"text/plain; charset=utf-8")


class MetricsResource(JSONResource):
    """
    C{/metrics}: the Prometheus text exposition of a registry, once the
    server's totals are gathered (L{RandnumServer.gather}: with
    C{--workers}, from every worker), or a 503 if they cannot be.
    """

    isLeaf = True

    def __init__(self, registry: CollectorRegistry, server: RandnumServer) -> None:
        super().__init__()
        self.registry = registry
        self.randnum = server

    def render_GET(self, request: Request) -> int:
        """
        Gather the totals, then collect and render every metric.
        """

        def render(_: object) -> bytes:
            body = generate_latest(self.registry)
            # Sent as one piece with its length, not chunked; a HEAD
            # request gets the length and no body.
            request.setHeader(b"content-length", b"%d" % len(body))
            return respond(request, 200, body, CONTENT_TYPE_LATEST.encode())

        def unavailable(_: Failure) -> bytes:
            body = jsonError(
                request, 503, "metrics unavailable: the main process did not answer"
            )
            request.setHeader(b"content-length", b"%d" % len(body))
            return body

        return respondWhenReady(request, self.randnum.gather(), render, unavailable)

    render_HEAD = render_GET  # type: ignore[assignment]


class IndexResource(JSONResource):
    """
    C{/}: what is served here, for whoever looks (a page, for a browser).
    """

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server

    def getChild(self, path: bytes, request: Request) -> IResource:
        """
        C{/} itself is this resource; other paths are not found.
        """
        return self if path == b"" else NotFound()

    def render_GET(self, request: Request) -> bytes:
        """
        The service's name, version, paths and pages; a browser gets a
        page with links to the pages.
        """
        # One answer for browsers, another for programs: caches must ask.
        request.setHeader(b"vary", b"Accept")
        if prefersHTML(request):
            return indexPage(request, self.randnum)
        return respond(
            request,
            200,
            jsonBody(
                {
                    "service": "randnum",
                    "version": __version__,
                    "paths": [
                        "/v1/random",
                        "/v1/bytes",
                        "/v1/draws",
                        "/v1/key",
                        "/v1/drawings",
                        "/healthz",
                        "/metrics",
                    ],
                    "pages": ["/verify", "/draws/SERIAL", "/draw"],
                }
            ),
        )


def resourceTree(
    server: RandnumServer,
    registry: CollectorRegistry,
    answers: AnswerCache | None = None,
) -> IResource:
    """
    The whole HTTP face: C{/v1/random}, C{/v1/bytes}, C{/healthz},
    C{/metrics}, the pages (L{putPages}) and C{/}.

    @param answers: where drawings' answers and draws' pages are kept once
        made (one cache for the tree unless given).
    """
    answers = AnswerCache() if answers is None else answers
    root = IndexResource(server)
    version = JSONResource()
    version.putChild(b"random", RandomResource(server))
    version.putChild(b"bytes", BytesResource(server))
    version.putChild(b"draws", DrawsResource(server))
    version.putChild(b"key", KeyResource(server))
    version.putChild(b"drawings", DrawingsResource(server, answers))
    root.putChild(b"v1", version)
    root.putChild(b"healthz", HealthResource())
    root.putChild(b"metrics", MetricsResource(registry, server))
    putPages(root, server, answers)
    if server.config.pollen:
        root.putChild(PATH[1:], PollenResource(server))
    if server.config.jsonRpc:
        root.putChild(b"json-rpc", invokeTree(server))
    return root
