# -*- test-case-name: tests.web.test_site -*-
"""
The HTTP/JSON face of a L{RandnumServer}, served with C{twisted.web}: the
site (L{webSite}), whose pages are L{randnum.web.resources}' tree and whose
connections are L{randnum.web.channel}'s.
"""

from __future__ import annotations

import io
import time

from prometheus_client import CollectorRegistry
from twisted.internet.interfaces import IAddress, IDelayedCall
from twisted.internet.protocol import Protocol
from twisted.web import http
from twisted.web.resource import IResource
from twisted.web.server import Request, Site

from randnum.jsonrpc import resource
from randnum.jsonrpc.protocol import errorResponse, methodNotFound
from randnum.limits import peerHost
from randnum.server import RandnumServer
from randnum.sharing import clientKey
from randnum.signing.drawings import MAX_BODY as MAX_DRAWING_BODY
from randnum.web import drawings, pollen
from randnum.web.answers import AnswerCache
from randnum.web.bodies import BodyRoom
from randnum.web.channel import BusyHTTP, RandnumChannel
from randnum.web.random import RandomResource
from randnum.web.resources import resourceTree


class NoStoreRequest(Request):
    """
    A request whose response, whatever it is, may not be cached: random
    numbers least of all, and no other response here either.
    """

    #: What answering it costs, in bytes of an ordinary reply, besides its
    #: head (L{randnum.web.random.RandomResource} sets it).
    workSize = 0
    #: Whether it is being processed (its cost not charged yet).
    _processing = False

    def gotLength(self, length: int | None) -> None:
        """
        Keep the body in memory: bodies are small (at most
        L{RandnumSite.bodyLimit}), and the large ones few at a time
        (L{randnum.web.bodies}), where twisted.web would give each one of
        100,000 bytes or more a temporary file, a descriptor a connection.
        """
        self.content = io.BytesIO()

    def process(self) -> None:
        """
        Mark the response, then process it at its client's share of the
        turn (L{RandnumChannel.whenShared}).
        """
        self.setHeader(b"cache-control", b"no-store")  # type: ignore[no-untyped-call]
        channel = self.channel
        if isinstance(channel, RandnumChannel):
            channel.whenShared(self)
        else:
            self.processNow()

    def processNow(self) -> None:
        """
        Process it now, as twisted.web does.
        """
        self._processing = True
        try:
            super().process()  # type: ignore[no-untyped-call]
        finally:
            self._processing = False

    def charge(self, cost: int) -> None:
        """
        Its client did C{cost} more work (in bytes of an ordinary reply)
        to be answered: counted in L{workSize} while it is processed (its
        channel charges that once it is), and charged to its client's
        share at once when the work comes later (an answer read from the
        audit store, written in a later turn).
        """
        if self._processing:
            self.workSize += cost
            return
        channel = self.channel
        if isinstance(channel, RandnumChannel):
            channel.server.shares.spend(channel.client, cost)


class RandnumSite(Site):
    """
    The HTTP face of one L{RandnumServer}: its connections are admitted
    within the server's connection limits (shared with the TCP face),
    counted in its L{HttpStats}, and served by L{RandnumChannel}s.  There is
    no access-log line per request: randnum logs periodic summaries, and
    Prometheus has the counts.
    """

    displayTracebacks = False
    noisy = False
    protocol = RandnumChannel  # type: ignore[assignment]

    def __init__(self, resource: IResource, server: RandnumServer) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            resource,
            requestFactory=NoStoreRequest,
            timeout=server.limits.idleTimeout,
            reactor=server.clock,
            # twisted.web would read every POST's Content-Type with the email
            # package (about 175 µs a request) to look for a form: only
            # /pollen reads one, itself (randnum.web.pollen.formField).
            parsePOSTFormSubmission=False,
        )
        self.server = server
        #: Room for large request bodies (L{randnum.web.bodies}).
        self.bodyRoom = BodyRoom()
        #: What answers plain C{GET /v1/random} requests (see
        #: L{RandnumChannel._answerPlain}), if anything does.
        self.plainRandom: RandomResource | None = None
        #: The HTTP date of the second it was made, and that second.
        self._date = (-1, b"")
        #: The channels that answered requests in this reactor turn.
        self._answering: list[RandnumChannel] = []
        self._turnCall: IDelayedCall | None = None

    def bodyLimit(self, method: bytes, path: bytes) -> int | None:
        """
        The most bytes of a request body that C{method} on C{path} (the
        request line's target) may send; L{None} where bodies are refused.
        """
        if method != b"POST":
            return None
        path = path.split(b"?", 1)[0]
        config = self.server.config
        if config.pollen and path == pollen.PATH:
            return pollen.MAX_BODY
        if config.jsonRpc and path in resource.PATHS:
            return resource.MAX_BODY
        if path == drawings.PATH:
            return MAX_DRAWING_BODY
        return None

    def misdirected(self, method: bytes, path: bytes) -> bytes | None:
        """
        What to answer a JSON-RPC call sent where none is served (another
        path under C{/json-rpc}, or a server without C{--json-rpc}): a
        JSON-RPC error object, which RANDOM.ORG's clients read whatever
        the status, saying where calls go; L{None} for any other request.
        """
        if method != b"POST" or not path.startswith(b"/json-rpc"):
            return None
        if self.server.config.jsonRpc:
            reason = "JSON-RPC calls go to /json-rpc/4/invoke"
        else:
            reason = "JSON-RPC is not served here: start the server with --json-rpc"
        return errorResponse(None, methodNotFound(path.decode("latin-1"), reason))

    def acceptableProtocols(self) -> list[bytes]:
        """
        HTTP/1.1 only, whatever TLS's ALPN offers: the limits above are
        HTTP/1.1's.
        """
        return [b"http/1.1"]

    def buildProtocol(self, addr: IAddress) -> Protocol | None:  # type: ignore[override]
        """
        A channel for an admitted connection; L{BusyHTTP} for one over the
        limits.
        """
        server = self.server
        host = peerHost(addr)
        if not server.connections.admit(host):
            server.reject(server.http, "refused", "busy", addr, "HTTP")
            return BusyHTTP(server.clock, server.limits.closeGrace)
        channel = super().buildProtocol(addr)  # type: ignore[no-untyped-call]
        assert isinstance(channel, RandnumChannel)
        channel.server = server
        channel.randnumSite = self
        channel.host = host
        channel.client = clientKey(addr)
        channel.admitted = True
        server.http.open += 1
        server.http.connections += 1
        return channel

    def log(self, request: http.Request) -> None:
        """
        Log nothing per request.
        """

    def httpDate(self) -> bytes:
        """
        The C{Date} header's value now (as twisted.web gives it: the
        system's time), made once a second.
        """
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, http.datetimeToString(now))
        return self._date[1]

    def answeredThisTurn(self, channel: RandnumChannel) -> None:
        """
        C{channel} answered its first request of this reactor turn: call
        its L{RandnumChannel.turnEnded} when the turn ends.  One timer for
        every channel, not one each: with many connections, a timer made
        and run for every request was a large part of a cheap request's
        cost.
        """
        self._answering.append(channel)
        if self._turnCall is None:
            self._turnCall = self.server.clock.callLater(0, self._turnEnded)

    def _turnEnded(self) -> None:
        self._turnCall = None
        channels, self._answering = self._answering, []
        for channel in channels:
            channel.turnEnded()


def webSite(
    server: RandnumServer,
    registry: CollectorRegistry,
    answers: AnswerCache | None = None,
) -> RandnumSite:
    """
    The HTTP/JSON face of C{server}: C{/v1/random}, C{/healthz},
    C{/metrics} (from C{registry}) and C{/}.

    @param answers: where answers made once and served many times are kept
        (L{resourceTree}).
    """
    root = resourceTree(server, registry, answers)
    site = RandnumSite(root, server)
    node: object = root
    for name in (b"v1", b"random"):
        node = getattr(node, "children", {}).get(name)
    if isinstance(node, RandomResource):
        site.plainRandom = node
    return site
