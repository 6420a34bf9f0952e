"""
The randnum wire protocol: requests in, random numbers out.

Three framings are offered (see L{Framing}).  In every one, data flows one
way: received bytes are cut into requests, each request becomes a L{Query},
the number source answers it, and the rendered replies for everything that
one chunk completed leave in a single write.
"""

from __future__ import annotations

import enum

from twisted.internet.interfaces import IAddress, ITransport
from twisted.internet.protocol import Factory, Protocol

from randnum.flow import ReplyWriter
from randnum.query import Query, QueryError, parseLine
from randnum.source import NumberSource, systemSource


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


class RandnumProtocol(Protocol):
    """
    Answer requests on one connection.

    @ivar lineMode: whether this connection is (now) line-framed.
    """

    # Set by makeConnection before any data can arrive.
    transport: ITransport

    def __init__(self, source: NumberSource, defaults: Query, framing: Framing) -> None:
        self.source = source
        self.defaults = defaults
        self.framing = framing
        self.lineMode = framing is Framing.LINE
        self._buffer = b""

    def connectionMade(self) -> None:
        """
        Set up the writer that sends replies and applies backpressure.
        """
        self.writer = ReplyWriter(self.transport)

    def dataReceived(self, data: bytes) -> None:
        """
        Answer every request that C{data} completes.
        """
        if not self.lineMode:
            if self.framing is Framing.RAW or b"\n" not in data:
                self.writer.write(self._defaultNumbers(1)[0])
                return
            self.lineMode = True
        self._linesReceived(data)

    def _linesReceived(self, data: bytes) -> None:
        """
        Answer the complete lines in the buffer plus C{data}, in one write.
        """
        buffer = self._buffer + data
        end = buffer.rfind(b"\n")
        if end < 0:
            self._buffer = buffer
            return
        complete, self._buffer = buffer[:end], buffer[end + 1 :]
        if b"=" not in complete:
            # No parameter request among these lines: the common pipelined
            # case, answered with one bulk draw.
            replies = self._defaultNumbers(complete.count(b"\n") + 1)
        else:
            replies = self._replies(complete.split(b"\n"))
        self.writer.write(b"\n".join(replies) + b"\n")

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
        defaults = iter(self._defaultNumbers(sum(a is self.defaults for a in answers)))
        replies = []
        for answer in answers:
            if answer is self.defaults:
                replies.append(next(defaults))
            elif isinstance(answer, Query):
                replies.append(b" ".join(self.source.renderAnswer(answer)))
            else:
                replies.append(answer)
        return replies

    def _defaultNumbers(self, count: int) -> list[bytes]:
        """
        C{count} renderings of one number each in the default range.
        """
        return self.source.render(self.defaults.min, self.defaults.max, count)


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
    @raise QueryError: if C{low..high} is not a valid range.
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
    ) -> None:
        self.defaults = Query(min=low, max=high).checked()
        self.source = systemSource() if source is None else source
        self.source.prepare(low, high)
        self.framing = framing

    def buildProtocol(self, addr: IAddress | None) -> RandnumProtocol:
        """
        Make the protocol for one new connection.
        """
        protocol = RandnumProtocol(self.source, self.defaults, self.framing)
        protocol.factory = self
        return protocol
