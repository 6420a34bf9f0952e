"""
The randnum wire protocol: requests in, random numbers out.

Three framings are offered (see L{Framing}).  In every one, data flows one
way: received bytes are cut into requests, each request becomes a L{Query},
the number source answers it, and the rendered replies for everything that
one chunk completed leave in a single write.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IReactorTime,
    ITransport,
)
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import implementer

from randnum.flow import ReplyWriter
from randnum.limits import (
    BUSY,
    LINE_TOO_LONG,
    ConnectionCounter,
    Limits,
    ServerStats,
    peerHost,
)
from randnum.query import Query, QueryError, parseLine
from randnum.source import NumberSource, systemSource

DEFAULT_LIMITS = Limits()

log = Logger(namespace="randnum")


def hasLongLine(data: bytes, limit: int) -> bool:
    """
    Whether some line of C{data} (split at newlines) is over C{limit}
    bytes long.

    Each step jumps to the last newline within C{limit} bytes, so a 64 KiB
    chunk costs about a hundred C{rfind}s whatever its lines look like,
    rather than a Python step per line.
    """
    start, end = 0, len(data)
    while end - start > limit:
        newline = data.rfind(b"\n", start, start + limit + 1)
        if newline < 0:
            return True
        start = newline + 1
    return False


class Framing(enum.Enum):
    """
    How a connection's byte stream is cut into requests.
    """

    #: Each chunk of data received is one request, answered with one bare
    #: number and no newline: the original service's behaviour.
    RAW = "raw"
    #: Newline-terminated request lines, one reply line each, in order.
    LINE = "line"
    #: L{RAW} until the client first sends a newline, L{LINE} from then on.
    AUTO = "auto"


@implementer(IHalfCloseableProtocol)
class RandnumProtocol(Protocol, TimeoutMixin):
    """
    Answer requests on one connection, within the server's L{Limits}.

    @ivar lineMode: whether this connection is (now) line-framed.
    @ivar closing: whether the connection is being closed; nothing more is
        read from it.
    """

    # Set by makeConnection before any data can arrive.
    transport: ITransport

    #: What times the idle timeout; the global reactor if C{None}.
    clock: IReactorTime | None = None

    def __init__(
        self,
        source: NumberSource,
        defaults: Query,
        framing: Framing,
        limits: Limits = DEFAULT_LIMITS,
        stats: ServerStats | None = None,
        counter: ConnectionCounter | None = None,
    ) -> None:
        self.source = source
        self.defaults = defaults
        self.framing = framing
        self.limits = limits
        self.stats = ServerStats() if stats is None else stats
        self.counter = counter
        self.maxLine = limits.maxLine
        self._renderDefaults = source.renderer(defaults.min, defaults.max)
        self._renderOne = source.oneRenderer(defaults.min, defaults.max)
        self.lineMode = framing is Framing.LINE
        self.closing = False
        self.admitted = False
        self._buffer = b""

    def connectionMade(self) -> None:
        """
        Admit the connection within the connection limits (or refuse it
        with C{ERR busy}), set up the writer that sends replies and applies
        backpressure, and start the idle timer.
        """
        self.writer = ReplyWriter(self.transport, drained=self.resetTimeout)
        self.host = peerHost(self.transport.getPeer())
        if self.counter is not None and not self.counter.admit(self.host):
            self._reject("refused", BUSY)
            return
        self.admitted = True
        self.stats.open += 1
        self.stats.connections += 1
        self.setTimeout(self.limits.idleTimeout)  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Stop the idle timer and give the connection's place back.
        """
        self.setTimeout(None)  # type: ignore[no-untyped-call]
        self.closing = True
        if self.admitted:
            self.admitted = False
            self.stats.open -= 1
            if self.counter is not None:
                self.counter.release(self.host)

    def readConnectionLost(self) -> None:
        """
        The client has closed its side (as C{nc -N} or C{shutdown(SHUT_WR)}
        do): a last unterminated line counts as a request, and the
        connection closes once every reply has been sent.
        """
        if self.closing:
            return
        self.closing = True
        if self.lineMode and self._buffer:
            self._linesReceived(b"\n")
        if self.transport.disconnecting:  # type: ignore[attr-defined]
            return  # that last line was refused, and the connection is closing
        self.writer.closeAfterEndOfInput()

    def writeConnectionLost(self) -> None:
        """
        Replies can no longer be sent: close.
        """
        self.closing = True
        self.writer.loseConnection()

    def callLater(self, period: float, func: Callable[[], object]) -> IDelayedCall:
        """
        Schedule the idle timer on L{clock}.
        """
        if self.clock is None:
            return super().callLater(period, func)  # type: ignore[no-any-return,no-untyped-call]
        return self.clock.callLater(period, func)

    def timeoutConnection(self) -> None:
        """
        Close a connection idle for longer than the limit.  If replies are
        still waiting for a client that has stopped reading, abort rather
        than wait for it to read them.
        """
        self.stats.idleTimeouts += 1
        self.closing = True
        if self.writer.queued:
            self.transport.abortConnection()  # type: ignore[attr-defined]
        else:
            self.writer.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        Answer every request that C{data} completes.
        """
        if self.closing:
            return
        self.resetTimeout()  # type: ignore[no-untyped-call]
        if self.lineMode:
            if (
                data[-1:] == b"\n"
                and not self._buffer
                and len(data) <= self.maxLine
                and b"=" not in data
            ):
                # The most common chunk of all: complete, short lines that
                # ask for the defaults.
                self._answerDefaults(data.count(b"\n"))
                return
        elif self.framing is Framing.RAW or b"\n" not in data:
            stats = self.stats
            stats.requests += 1
            stats.rawRequests += 1
            stats.numbers += 1
            self.writer.write(self._renderOne())
            return
        else:
            self.lineMode = True
        self._linesReceived(data)

    def _linesReceived(self, data: bytes) -> None:
        """
        Answer the complete lines in the buffer plus C{data}, in one write.
        """
        buffer = self._buffer + data
        end = buffer.rfind(b"\n")
        limit = self.maxLine
        if end < 0:
            self._buffer = buffer
            if len(buffer) > limit:
                self._lineTooLong([])
            return
        complete, self._buffer = buffer[:end], buffer[end + 1 :]
        if len(buffer) > limit and (
            len(self._buffer) > limit or hasLongLine(complete, limit)
        ):
            lines = complete.split(b"\n")
            first = next((i for i, line in enumerate(lines) if len(line) > limit), None)
            self._lineTooLong(lines[:first])
            return
        if b"=" not in complete:
            # No parameter request among these lines: the common pipelined
            # case, answered with one bulk draw.
            self._answerDefaults(complete.count(b"\n") + 1)
        else:
            replies = self._replies(complete.split(b"\n"))
            self.writer.write(b"\n".join(replies) + b"\n")

    def _answerDefaults(self, count: int) -> None:
        """
        Answer C{count} lines that ask for the defaults, in one write.
        """
        stats = self.stats
        stats.requests += count
        stats.numbers += count
        if count == 1:
            self.writer.write(self._renderOne() + b"\n")
        else:
            self.writer.write(b"\n".join(self._renderDefaults(count)) + b"\n")

    def _lineTooLong(self, before: list[bytes]) -> None:
        """
        Answer the C{before} lines that preceded a line over the limit, then
        say so and close: the rest of the stream cannot be framed reliably.
        """
        replies = self._replies(before) if before else []
        self.writer.write(b"".join(reply + b"\n" for reply in replies))
        self._buffer = b""
        self._reject("linesTooLong", LINE_TOO_LONG)

    def _reject(self, kind: str, reason: str) -> None:
        """
        Reply C{ERR reason}, close, count and (at most once per summary
        period for each kind) log it.
        """
        self.closing = True
        self.stats.count(kind)
        if self.stats.shouldLog(kind):
            log.info(
                "randnum closed a connection from {peer}: {reason} "
                "(more are counted in the next summary)",
                peer=self.transport.getPeer(),
                reason=reason,
                kind=kind,
            )
        self.writer.write(b"ERR " + reason.encode("ascii") + b"\n")
        self.writer.loseConnection()

    def _replies(self, lines: list[bytes]) -> list[bytes]:
        """
        One reply per line.  Lines that ask for the defaults share one bulk
        draw; the others are answered one by one.
        """
        answers: list[Query | bytes] = []
        for line in lines:
            try:
                answers.append(parseLine(line, self.defaults))
            except QueryError as error:
                answers.append(b"ERR " + error.reason.encode("utf-8", "replace"))
                self.stats.errorKinds[error.kind] += 1
        defaults = iter(self._renderDefaults(sum(a is self.defaults for a in answers)))
        replies = []
        numbers = errors = 0
        for answer in answers:
            if answer is self.defaults:
                replies.append(next(defaults))
                numbers += 1
            elif isinstance(answer, Query):
                replies.append(b" ".join(self.source.renderAnswer(answer)))
                numbers += answer.n
            else:
                replies.append(answer)
                errors += 1
        stats = self.stats
        stats.requests += len(answers)
        stats.numbers += numbers
        stats.errors += errors
        return replies


class RandnumFactory(Factory):
    """
    Build L{RandnumProtocol}s that share one source and configuration.

    Embed it in any Twisted program::

        factory = RandnumFactory(low=1, high=6)
        serverFromString(reactor, "tcp:5000").listen(factory)

    @param low: smallest number served by default.
    @param high: largest number served by default.
    @param source: where numbers come from; the OS CSPRNG by default.
    @param framing: how requests are framed; L{Framing.AUTO} by default.
    @param limits: connection, line and idle limits; L{Limits}' defaults
        unless given.
    @param clock: what times idle connections; the global reactor if not
        given (when the first connection is made).
    @raise QueryError: if C{low..high} is not a valid range.

    @ivar stats: what the connections have done (L{ServerStats}).
    @ivar connections: the open-connection counts (L{ConnectionCounter}).
    """

    # The service logs where it listens; the per-port start/stop lines of
    # a noisy factory would only repeat that.
    noisy = False

    def __init__(
        self,
        low: int = 1,
        high: int = 10000,
        source: NumberSource | None = None,
        framing: Framing = Framing.AUTO,
        limits: Limits = DEFAULT_LIMITS,
        clock: IReactorTime | None = None,
    ) -> None:
        self.defaults = Query(min=low, max=high).checked()
        self.source = systemSource() if source is None else source
        self.source.prepare(low, high)
        self.framing = framing
        self.limits = limits
        self.clock = clock
        self.stats = ServerStats()
        self.connections = ConnectionCounter(limits)

    def buildProtocol(self, addr: IAddress | None) -> RandnumProtocol:
        """
        Make the protocol for one new connection.
        """
        protocol = RandnumProtocol(
            self.source,
            self.defaults,
            self.framing,
            self.limits,
            self.stats,
            self.connections,
        )
        protocol.factory = self
        protocol.clock = self.clock
        return protocol
