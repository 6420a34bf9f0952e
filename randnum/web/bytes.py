# -*- test-case-name: tests.web.test_bytes,tests.tcp.test_byte_stream -*-
"""
C{/v1/bytes}: a stream of raw random bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

from twisted.web.server import NOT_DONE_YET, Request

from randnum.limits import WORK_BUDGET
from randnum.query import QueryError, parseStreamLength
from randnum.server import RandnumServer
from randnum.web.arguments import queryArguments
from randnum.web.responses import JSONResource, jsonError
from randnum.web.streaming import StreamedBody


class BytesResource(JSONResource):
    """
    C{/v1/bytes?length=N}: exactly N raw random bytes, streamed a work
    budget a turn while the client reads (memory stays flat however long
    the stream), with their C{Content-Length}.
    """

    isLeaf = True

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server

    def _length(self, request: Request) -> int | bytes:
        """
        The length asked for, or the error response.
        """
        stats = self.randnum.http
        stats.requests += 1
        stats.streamRequests += 1
        pairs = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in queryArguments(request).items()
            for value in values
        ]
        try:
            length = parseStreamLength(pairs)
        except QueryError as error:
            stats.countError(error.kind)
            return jsonError(request, 400, error.reason)
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"application/octet-stream")
        request.setHeader(b"content-length", b"%d" % length)
        return length

    def render_GET(self, request: Request) -> bytes | int:
        """
        Stream the bytes, or say why not.
        """
        length = self._length(request)
        if isinstance(length, bytes):
            return length
        stats = self.randnum.http
        randomBytes = self.randnum.source.randomBytes

        def pieces() -> Iterator[bytes]:
            left = length
            while left:
                piece = randomBytes(min(left, WORK_BUDGET))
                left -= len(piece)
                # Counted as they are handed over (the rest never is).
                stats.streamedBytes += len(piece)
                yield piece

        StreamedBody(
            request,
            pieces(),
            self.randnum.clock,
            lambda: None,
            self.randnum.limits.idleTimeout,
        )
        return NOT_DONE_YET

    def render_HEAD(self, request: Request) -> bytes:
        """
        The headers a GET would get, its length included.
        """
        length = self._length(request)
        if isinstance(length, bytes):
            request.setHeader(b"content-length", b"%d" % len(length))
        return b""
