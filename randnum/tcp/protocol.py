# -*- test-case-name: tests.tcp.test_protocol -*-
"""
The randnum wire protocol: requests in, random numbers out.

Data flows one way: received bytes are cut into requests (L{randnum.tcp.framing}),
answered a work budget at a time (L{randnum.tcp.answering}), and the replies
leave through the connection's L{ReplyWriter} (L{randnum.flow}).  This module
ties them together and applies the server's limits to each connection:
admission, timeouts, and how a connection ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IReactorTime,
    ITCPTransport,
    ITransport,
)
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface.interface import InterfaceClass

from randnum.flow import ReplyWriter
from randnum.generation.source import NumberSource
from randnum.limits import (
    BUSY,
    LINE_TOO_LONG,
    ConnectionCounter,
    Limits,
    peerHost,
)
from randnum.query import Query
from randnum.server import RandnumServer
from randnum.sharing import Waiting, clientKey
from randnum.stats import TcpStats
from randnum.tcp.answering import Answerer, Reply
from randnum.tcp.framing import Framing, LineReader, asFraming, hasLongLine
from randnum.tcp.mistaken import httpRefusal, isHttpRequestLine

__all__ = ["Framing", "RandnumFactory", "RandnumProtocol", "hasLongLine"]

#: Most turns of replies one connection may have waiting for their signed
#: records to be stored: enough for the audit store to commit one turn's
#: records while the next are signed, few enough to bound what waits.
HELD_TURNS = 4


class RandnumProtocol(Protocol, TimeoutMixin):
    """
    Answer requests on one connection, within the server's L{Limits}.

    Each turn of the reactor answers at most one work budget of the
    connection's requests; while more wait, reading is paused, and the rest
    is answered on later turns (at once when the peer has read everything,
    or once it has).

    @ivar lineMode: whether this connection is (now) line-framed.
    @ivar closing: whether no more requests are accepted: the peer has
        ended its input, the connection was refused, timed out, or sent a
        line too long.
    @ivar finished: whether the close has begun.
    """

    # Set by makeConnection before any data can arrive.
    transport: ITransport

    def __init__(self, server: RandnumServer, answerer: Answerer, framing: Framing):
        self.server = server
        self.answerer = answerer
        self.framing = framing
        self.stats = server.tcp
        self.limits = server.limits
        self.clock: IReactorTime = server.clock
        self.shares = server.shares
        self.idleTimers = server.idleTimers
        self.reader = LineReader(self.limits.maxLine)
        self.lineMode = framing is Framing.LINE
        self.closing = False
        self.finished = False
        self.admitted = False
        #: This connection's place among those of its address waiting for
        #: their share of a turn (L{randnum.sharing.Shares}).
        self._nextTurn: Waiting | None = None
        self._graceCall: IDelayedCall | None = None
        self._unsentNumbers = 0
        #: Replies in order, each L{None} while its signed records are
        #: being stored; nothing later is sent before them.
        self._held: deque[list[Reply | None]] = deque()
        self._serving = False
        #: Whether the connection's first line may still be an HTTP request
        #: line (L{randnum.tcp.mistaken}).
        self._firstLine = True
        #: Whether Nagle's algorithm is off (see L{_noDelayFromNow}), and
        #: whether a reply has been written.
        self._noDelay = False
        self._wroteOnce = False

    # Admission and the end of the connection.

    def connectionMade(self) -> None:
        """
        Admit the connection within the connection limits (or refuse it
        with C{ERR busy}), and start the idle timer.
        """
        self.writer = ReplyWriter(
            self.transport, drained=self._drained, progress=self._progress
        )
        peer = self.transport.getPeer()
        self.host = peerHost(peer)
        self.client = clientKey(peer)
        if not self.server.connections.admit(self.host):
            self._refuse("refused", BUSY)
            return
        self.admitted = True
        self.stats.open += 1
        self.stats.connections += 1
        self.setTimeout(self.limits.idleTimeout)  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Stop every timer and give the connection's place back.
        """
        self.setTimeout(None)  # type: ignore[no-untyped-call]
        self.closing = self.finished = True
        for call in (self._nextTurn, self._graceCall):
            if call is not None and call.active():
                call.cancel()
        self._nextTurn = self._graceCall = None
        self.writer.detach()
        if self._unsentNumbers and reason.check(ConnectionDone):
            # A clean close happens only once everything has been sent.
            self.stats.numbers += self._unsentNumbers
        self._unsentNumbers = 0
        if self.admitted:
            self.admitted = False
            self.stats.open -= 1
            self.server.connections.release(self.host)

    def __conform__(self, interface: InterfaceClass) -> RandnumProtocol | None:
        """
        Be an L{IHalfCloseableProtocol} only while the end of the peer's
        input leaves something to do.

        The transport asks at the moment the peer ends its input.  Usually
        every request has been answered and every reply has reached the
        kernel and been acknowledged: then the transport closes the socket
        at once, as for a protocol that cannot half-close, rather than on a
        later turn of the reactor after asking the poller whether the
        socket is writable (a third of the reactor's work on a
        connection-per-request client).  Otherwise the protocol is told
        (L{readConnectionLost}), answers what is left, and closes once the
        peer has it all.

        (Server transports adapt their protocol to the interface, as here;
        a client endpoint's wrapper asks C{providedBy} instead, and would
        not tell this protocol of a half-close.)
        """
        if interface is IHalfCloseableProtocol and self._inputEndLeavesWork():
            return self
        return None

    def _inputEndLeavesWork(self) -> bool:
        """
        Whether the end of the peer's input leaves anything to do: requests
        to answer, replies to send, or a close already under way.
        """
        reader = self.reader
        return bool(
            self.closing
            or reader.buffer
            or reader.answering
            or reader.tooLong
            or self._held
            or self._nextTurn is not None
            or self.writer.sending
        )

    def readConnectionLost(self) -> None:
        """
        The client has closed its side (as C{nc -N} or C{shutdown(SHUT_WR)}
        do): a last unterminated line counts as a request, every request is
        answered, and then the connection is closed normally.
        """
        if self.closing:
            return
        self.closing = True
        reader = self.reader
        if (
            not (reader.buffer or reader.answering or reader.tooLong or self._held)
            and self._nextTurn is None
        ):
            # Everything asked has been answered (the usual end): close.
            reader.ended = True
            self._finish()
            return
        reader.endInput()
        self._serve()

    def writeConnectionLost(self) -> None:
        """
        Replies can no longer be sent: close.
        """
        self.closing = True
        self._finish()

    def callLater(self, period: float, func: Callable[[], object]) -> IDelayedCall:
        """
        Schedule the idle timer: one of the server's L{IdleTimers}.
        """
        return self.idleTimers.callLater(period, func)

    def timeoutConnection(self) -> None:
        """
        Close a connection that has been idle, or that has not finished a
        request, or whose peer has not read any of its replies, for the idle
        timeout.  A peer that has stopped reading is aborted: waiting for it
        to read would wait forever.
        """
        writer = self.writer
        # Replies the peer has not made room for: here, or in the kernel
        # (they all fitted there, but the peer's window is shut).
        unread = writer.queued or writer.waitingForRoom
        if unread and not writer.queued and not writer.watching:
            # They all fitted in the kernel, so nobody has watched whether
            # the peer reads them: from now on, for one more timeout.
            writer.watchFromNow()
            self.setTimeout(self.limits.idleTimeout)  # type: ignore[no-untyped-call]
            return
        if (
            (unread and writer.peerHasRead())
            or (not unread and self.reader.pending)
            or self._held
        ):
            # Slow, but reading; or requests are still being answered, a
            # share of a turn at a time: not idle.  (TimeoutMixin has already let go of
            # the expired timer: a new one is needed, not a reset.)
            self.setTimeout(self.limits.idleTimeout)  # type: ignore[no-untyped-call]
            return
        self.closing = True
        self.server.reject(
            self.stats, "idleTimeouts", "idle timeout", self.transport.getPeer(), "TCP"
        )
        if unread:
            # A FIN would leave them to the kernel, which keeps trying to
            # deliver them (for minutes) after the descriptor is closed.
            self._abort()
        else:
            self._finish()

    def _refuse(self, kind: str, reason: str) -> None:
        """
        Reply C{ERR reason}, then close; count and (now and then) log it.
        """
        self.closing = True
        self.server.reject(self.stats, kind, reason, self.transport.getPeer(), "TCP")
        self.writer.write(b"ERR " + reason.encode("ascii") + b"\n")
        self._finish()

    def _finish(self) -> None:
        """
        Close once every reply is sent: the peer gets them all, then a FIN.
        """
        if self.finished:
            return
        self.finished = True
        self.setTimeout(None)  # type: ignore[no-untyped-call]
        self.writer.releaseInput()
        self.writer.finish()
        self._watchClose(first=True)

    def _watchClose(self, first: bool = False) -> None:
        """
        Abort a close that makes no progress: while replies are still on
        their way, for the idle timeout (the peer must keep reading); once
        none are, for the close grace (a TLS handshake that never ends, a
        peer that never acknowledges the end).
        """
        self._graceCall = None
        if first:
            sending = self.writer.watchFromNow()
        elif self.writer.peerHasRead():
            sending = self.writer.sending
        else:
            self._abort()
            return
        period = self.limits.closeGrace
        if first and not sending and self.writer.socket is not None:
            # Nothing is on its way and the kernel's buffer is empty, so the
            # socket is writable: the transport closes it on the reactor's
            # next turn, whatever the peer does.  (Most connections end
            # this way; a timer would only be cancelled.)
            return
        if sending:
            if self.limits.idleTimeout is None:
                return
            period = self.limits.idleTimeout
            if first:
                # Twisted closes the descriptor as soon as its own buffer
                # is empty: the kernel must give up by itself then.
                self.writer.giveUpAfter(period)
        self._graceCall = self.clock.callLater(period, self._watchClose)

    def _abort(self) -> None:
        """
        Close at once, discarding unsent replies.
        """
        self._graceCall = None
        self.finished = True
        self.setTimeout(None)  # type: ignore[no-untyped-call]
        self.writer.abort()

    # Reading and answering.

    def dataReceived(self, data: bytes) -> None:
        """
        Answer the requests C{data} completes, up to one work budget now.
        """
        if self.closing:
            return
        if self._firstLine and self._httpRequest(data):
            return
        if not self.lineMode:
            if self.framing is Framing.RAW or b"\n" not in data:
                self._send(self.answerer.raw(), 1)
                self.resetTimeout()  # type: ignore[no-untyped-call]
                return
            self.lineMode = True
        if (
            data[-1:] == b"\n"
            and not self.reader.buffer
            and not self._held
            and len(data) <= self.limits.maxLine
            and b"=" not in data
            and self.shares.mayWork(self.client)
        ):
            # The most common chunk of all: complete, short lines that ask
            # for the defaults.
            count = data.count(b"\n")
            self._write(self.answerer.defaultLines(count), count)
            self.shares.spend(self.client, count * self.answerer.defaultCost)
            self.resetTimeout()  # type: ignore[no-untyped-call]
            return
        self.reader.feed(data)
        self._serve()

    def _httpRequest(self, data: bytes) -> bool:
        """
        Whether C{data} ends a first line that is an HTTP request line (an
        HTTP client sent to this port): if so, answer with a plain HTTP
        error saying where HTTP is served, and close.
        """
        newline = data.find(b"\n")
        if newline < 0:
            # A line-framed first line may end in a later chunk; a raw
            # chunk is a request of its own, so there is no first line.
            self._firstLine = self.lineMode
            return False
        self._firstLine = False
        line = self.reader.buffer + data[:newline]
        if not isHttpRequestLine(line):
            return False
        self.closing = True
        self.writer.write(httpRefusal(line))
        self._finish()
        return True

    def _serve(self) -> None:
        """
        Answer one work budget of the waiting requests now if this client
        has its share of the turn left (else at its next share), and
        arrange for the rest to be answered at its later shares; close once
        nothing is left of an input that has ended or that held a line too
        long.
        """
        if self._nextTurn is None:
            self._serveTurn(self.shares.mayWork(self.client))

    def _shareCame(self) -> None:
        """
        This client's share of a turn has come, for this connection.
        """
        self._nextTurn = None
        self._serveTurn(True)

    def _serveTurn(self, mayWork: bool) -> None:
        """
        One turn of L{_serve}: answer if C{mayWork}.
        """
        if self.finished:
            return
        self._serving = True
        try:
            self._answer(mayWork)
        finally:
            self._serving = False

    @property
    def _mayAnswer(self) -> bool:
        """
        Whether a turn may answer more: no reply waits for the peer to read,
        and fewer than L{HELD_TURNS} turns wait for their records.
        """
        return not self.writer.queued and len(self._held) < HELD_TURNS

    def _answer(self, mayWork: bool) -> None:
        """
        Answer a budget of the waiting requests if C{mayWork}, and see what
        comes next.
        """
        reader = self.reader
        if reader.pending and self._mayAnswer and mayWork:
            answered = self.answerer.lines(reader, self.shares.share, self.client)
            self.shares.spend(self.client, self.answerer.lastCost)
            if isinstance(answered, Deferred):
                self._hold(answered)
            else:
                self._send(*answered)
            self.resetTimeout()  # type: ignore[no-untyped-call]
        if reader.pending:
            self.writer.holdInput()
            if self._mayAnswer:
                # Others' turn first; then this connection's next budget.
                self._nextTurn = self.shares.wait(self.client, self._shareCame)
            return
        if self._held:
            # Replies wait for their records to be stored: read on (their
            # answers wait behind them), but end nothing before they leave.
            if not (reader.tooLong or reader.ended):
                self.writer.releaseInput()
            return
        if reader.tooLong:
            self._refuse("linesTooLong", LINE_TOO_LONG)
        elif reader.ended:
            self._finish()
        else:
            self.writer.releaseInput()

    def _hold(self, answered: Deferred[Reply]) -> None:
        """
        Send these replies once their signed records are stored, and
        nothing after them before.
        """
        entry: list[Reply | None] = [None]
        self._held.append(entry)
        answered.addCallback(self._stored, entry)

    def _stored(self, reply: Reply, entry: list[Reply | None]) -> None:
        """
        Replies held for their records are ready: send every reply, in
        order, that no longer waits; then answer what waits.
        """
        entry[0] = reply
        held = self._held
        while held and held[0][0] is not None:
            ready = held.popleft()[0]
            assert ready is not None
            if not self.finished:
                self._write(*ready)
        if not (self.finished or self._serving) and self._nextTurn is None:
            self._serve()

    def _send(self, data: bytes, numbers: int) -> None:
        """
        Send replies holding C{numbers} numbers (after any held replies).
        """
        if self._held:
            self._held.append([(data, numbers)])
        else:
            self._write(data, numbers)

    def _write(self, data: bytes, numbers: int) -> None:
        """
        Write replies holding C{numbers} numbers; count them once sent.
        """
        if not self._noDelay:
            self._noDelayFromNow()
        if self.writer.write(data):
            self.stats.numbers += numbers
        else:
            self._unsentNumbers += numbers

    def _noDelayFromNow(self) -> None:
        """
        Turn Nagle's algorithm off before any write but the first.

        Replies can leave in several writes a few milliseconds apart (the
        rest of a turn's budget; records once they are stored): Nagle's
        algorithm would hold each later one back until the client's delayed
        acknowledgement, 40 ms on Linux.  It never holds back a
        connection's first write (nothing is unacknowledged before it), and
        most connections make only one: the system call waits for a second.
        """
        if self._wroteOnce:
            self._noDelay = True
            if ITCPTransport.providedBy(self.transport):
                try:
                    self.transport.setTcpNoDelay(True)
                except OSError:  # a UNIX socket
                    pass
        else:
            self._wroteOnce = True

    def _progress(self) -> None:
        """
        The peer has read some of its waiting replies: it is not idle.
        """
        if not self.finished:
            self.resetTimeout()  # type: ignore[no-untyped-call]
            # The timer starts again now, and so does the question whether
            # the peer reads: progress already counted must not count again
            # when the timer next expires.
            self.writer.peerHasRead()

    def _drained(self) -> None:
        """
        Every reply has been sent: count them, and answer what waits.
        """
        self.stats.numbers += self._unsentNumbers
        self._unsentNumbers = 0
        if self.reader.pending and self._nextTurn is None:
            self._serve()


class RandnumFactory(Factory):
    """
    Build L{RandnumProtocol}s that serve one L{RandnumServer}.

    Embed it in any Twisted program::

        factory = RandnumFactory(low=1, high=6)
        serverFromString(reactor, "tcp:5000").listen(factory)

    @param low: smallest number served by default.
    @param high: largest number served by default.
    @param source: where numbers come from; the OS CSPRNG by default.
    @param framing: how requests are framed: a L{Framing} or its name
        (C{"line"}); the server's configured framing (L{Framing.AUTO} unless
        configured) by default.
    @param limits: connection, line and idle limits; L{Limits}' defaults
        unless given.
    @param clock: what times idle connections and turns of work; the global
        reactor if not given (when the first connection is made).
    @param server: the server to serve, shared with other faces (the HTTP
        site); when given, C{low}, C{high}, C{source}, C{limits} and
        C{clock} are the server's and must not be given too.
    @raise QueryError: if C{low..high} is not a valid range.
    @raise TypeError: if C{framing} is neither a L{Framing} nor its name,
        or if C{server} is given with any of the server's own arguments.

    @ivar server: the L{RandnumServer} served.
    @ivar stats: the TCP face's counts (L{randnum.stats.TcpStats}).
    @ivar connections: the open-connection counts of every face.
    """

    # The service logs where it listens; the per-port start/stop lines of
    # a noisy factory would only repeat that.
    noisy = False

    def __init__(
        self,
        low: int | None = None,
        high: int | None = None,
        source: NumberSource | None = None,
        framing: Framing | str | None = None,
        limits: Limits | None = None,
        clock: IReactorTime | None = None,
        server: RandnumServer | None = None,
    ) -> None:
        if server is None:
            server = RandnumServer(
                low=low, high=high, source=source, limits=limits, clock=clock
            )
        else:
            given = [
                name
                for name, value in (
                    ("low", low),
                    ("high", high),
                    ("source", source),
                    ("limits", limits),
                    ("clock", clock),
                )
                if value is not None
            ]
            if given:
                raise TypeError(
                    f"RandnumFactory: {', '.join(given)} given with server=: "
                    "they are the server's (give them to RandnumServer)"
                )
        self.server = server
        self.framing = server.config.framing if framing is None else asFraming(framing)
        self.answerer = Answerer(
            server.source,
            server.defaults,
            server.tcp,
            server.uuid7,
            server.signedDraw,
        )

    @property
    def stats(self) -> TcpStats:
        """
        The TCP face's counts.
        """
        return self.server.tcp

    @property
    def connections(self) -> ConnectionCounter:
        """
        The server's open-connection counts.
        """
        return self.server.connections

    @property
    def defaults(self) -> Query:
        """
        The default query.
        """
        return self.server.defaults

    @property
    def source(self) -> NumberSource:
        """
        The server's number source.
        """
        return self.server.source

    @property
    def limits(self) -> Limits:
        """
        The server's limits.
        """
        return self.server.limits

    def buildProtocol(self, addr: IAddress | None) -> RandnumProtocol:
        """
        Make the protocol for one new connection.
        """
        protocol = RandnumProtocol(self.server, self.answerer, self.framing)
        protocol.factory = self
        return protocol
