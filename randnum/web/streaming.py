# -*- test-case-name: tests.web.test_streaming,tests.tcp.test_byte_stream -*-
"""
Bodies too large to make at once: made and written a piece per reactor
turn while the client reads, and given up when it stops reading.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from twisted.logger import Logger
from twisted.web.server import Request
from zope.interface import implementer

from randnum.flow import PeerReading, socketOf
from randnum.generation.source import NumberSource
from randnum.generation.values import UUID7Clock, batches
from randnum.limits import WORK_BUDGET
from randnum.query import Query
from randnum.sharing import Waiting
from randnum.web.channel import RandnumChannel

log = Logger(namespace="randnum")


def bodyPieces(
    source: NumberSource, query: Query, uuid7: UUID7Clock, form: str
) -> Iterator[bytes]:
    """
    The body for C{query}'s values, in pieces of about one work budget.
    """
    # A budget of work a piece: fewer values where each costs more.
    values = batches(
        source, query, uuid7, WORK_BUDGET * query.replySize() // query.workSize()
    )
    if form == "text":
        for batch in values:
            yield b"\n".join(batch) + b"\n"
        return
    # Strings from a literal alphabet may hold characters JSON escapes.
    escape = query.type == "string" and any(c in query.alphabet for c in '"\\')
    yield b'{"type":"' + query.type.encode("ascii") + b'","values":['
    first = True
    for batch in values:
        if escape:
            quoted = [json.dumps(v.decode("ascii")).encode("ascii") for v in batch]
        else:
            quoted = [b'"' + v + b'"' for v in batch]
        yield (b"" if first else b",") + b",".join(quoted)
        first = False
    yield b"]}\n"


@implementer(IPushProducer)
class StreamedBody:
    """
    Write a response body a piece per reactor turn, pausing while the
    client is behind, then finish the response and call C{done}.
    """

    def __init__(
        self,
        request: Request,
        pieces: Iterator[bytes],
        clock: IReactorTime,
        done: Callable[[], object],
        timeout: float | None = None,
    ) -> None:
        """
        @param timeout: abort the connection when the client has read
            nothing for this long (twisted.web puts its own idle timeout
            aside while a response is being written).
        """
        self.request = request
        self.pieces = pieces
        self.clock = clock
        self.done = done
        self.timeout = timeout
        self.paused = False
        self.stallCall: IDelayedCall | None = None
        #: Whether the client reads, while the stream waits for it.
        self.reading = PeerReading(socketOf(request.channel.transport))
        self.call: IDelayedCall | Waiting | None = self._later()
        request.registerProducer(self, True)
        request.notifyFinish().addErrback(lambda _: self.stopProducing())

    def _later(self) -> IDelayedCall | Waiting:
        """
        Write the next piece at the next reactor turn.
        """
        return self.clock.callLater(0, self._step)

    def _step(self) -> None:
        self.call = None
        try:
            piece = next(self.pieces, None)
        except Exception:
            # A bug making the body: the client must not wait for the rest.
            log.failure("a streamed body failed")
            self.stopProducing()
            self.request.unregisterProducer()
            self.request.transport.abortConnection()  # type: ignore[union-attr]
            return
        if piece is None:
            self.request.unregisterProducer()
            self.done()
            self.request.finish()
            return
        self.request.write(piece)
        if not self.paused and self.call is None:
            self.call = self._later()

    def pauseProducing(self) -> None:
        """
        The client is behind: stop writing.
        """
        self.paused = True
        if self.call is not None:
            self.call.cancel()
            self.call = None
        if self.timeout and self.stallCall is None:
            self.reading.markNow()
            self.stallCall = self.clock.callLater(self.timeout, self._stalled)

    def resumeProducing(self) -> None:
        """
        The client has caught up: go on.
        """
        self.paused = False
        self._cancelStall()
        if self.call is None:
            self.call = self._later()

    def _cancelStall(self) -> None:
        if self.stallCall is not None:
            if self.stallCall.active():
                self.stallCall.cancel()
            self.stallCall = None

    def _stalled(self) -> None:
        """
        The client has read nothing for the timeout: abort, as for any
        connection whose responses are not read.
        """
        self.stallCall = None
        if self.timeout and self.reading.hasRead():
            # Reading, a TCP window at a time, though the transport has not
            # drained yet: not stalled.
            self.stallCall = self.clock.callLater(self.timeout, self._stalled)
            return
        channel = self.request.channel
        if isinstance(channel, RandnumChannel):
            channel._timedOut("responses not read")
        else:
            self.request.transport.abortConnection()  # type: ignore[union-attr]

    def stopProducing(self) -> None:
        """
        The connection is gone: make nothing more.
        """
        self.pieces = iter(())
        if self.call is not None and self.call.active():
            self.call.cancel()
        self.call = None
        self._cancelStall()


@implementer(IPushProducer)
class SharedBody(StreamedBody):
    """
    Write a body already made (an answer shared by many responses, say) a
    piece at a time, each at its client's share of a turn
    (L{randnum.sharing.Shares}) and charged to it there: an address's
    connections take its shares in turn, with its requests, however many
    of them are writing such bodies.
    """

    def __init__(
        self,
        request: Request,
        body: bytes,
        piece: int,
        channel: RandnumChannel,
        timeout: float | None = None,
    ) -> None:
        """
        @param piece: the size of a piece.
        @param channel: C{request}'s channel.
        """
        self.channel = channel
        self.shares = channel.server.shares
        super().__init__(
            request,
            self._pieces(body, piece),
            channel.server.clock,
            lambda: None,
            timeout,
        )

    def _pieces(self, body: bytes, size: int) -> Iterator[bytes]:
        for start in range(0, len(body), size):
            piece = body[start : start + size]
            self.shares.spend(self.channel.client, len(piece))
            yield piece

    def _later(self) -> Waiting:
        """
        Write the next piece at the client's next share.
        """
        return self.shares.wait(self.channel.client, self._step)
