# -*- test-case-name: tests.web.test_http_limits,tests.web.test_site -*-
"""
One HTTP connection: twisted.web's HTTP/1.1 channel within the server's
limits, and the answer to a connection over them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from twisted.internet.interfaces import (
    IDelayedCall,
    IHalfCloseableProtocol,
    IReactorTime,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.http import HTTPChannel
from twisted.web.http_headers import Headers
from twisted.web.server import Request
from twisted.web.server import version as serverVersion
from zope.interface.interface import InterfaceClass

from randnum.server import RandnumServer
from randnum.sharing import Waiting
from randnum.web.bodies import LARGE_BODY, LARGE_BODY_SECONDS
from randnum.web.responses import ALLOWED, REASONS, jsonBody

if TYPE_CHECKING:
    from randnum.web.site import NoStoreRequest, RandnumSite


#: Most pipelined requests of one connection answered in one reactor turn.
REQUESTS_PER_TURN = 16

#: What can never be in a request head: a line feed without its carriage
#: return before it, or another control character (tab aside).  RFC 9112
#: allows a server to take a bare LF as a line end; randnum refuses it, as
#: twisted.web would never see the line end at all.
_BAD_HEAD = re.compile(rb"(?<!\r)\n|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: What can never be in one line of a request head, its CR LF taken off:
#: a line feed, or another control character (tab aside).
_BAD_LINE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

#: A whole plain request head: C{GET /v1/random} in HTTP/1.1, each header
#: field a token, a colon and a value of visible ASCII, spaces and tabs
#: (linear to match: no two ways to read a line), at most 32 of them (see
#: L{RandnumChannel._answerPlain}).  Group 1 is the query string, group 2
#: the header fields.
_PLAIN_GET = re.compile(
    rb"GET /v1/random(?:\?([\x21-\x7e]*))? HTTP/1\.1\r\n"
    rb"((?:[-!#$%&'*+.^_`|~0-9A-Za-z]+:[\t\x20-\x7e]*\r\n){0,32})\r\n"
)

#: The longest plain request head, in bytes.
_PLAIN_LENGTH = 4096

#: Header fields that make a head not plain: those bearing on the body, on
#: persistence, or on anything but the response's body (found anywhere in
#: the fields, a value too: then the head is read as usual).
_NOT_PLAIN = re.compile(
    rb"content-length|transfer-encoding|connection|expect|upgrade", re.IGNORECASE
)

#: The reasons of the refusals of a head (twisted.web knows not all).
_PHRASES = {
    400: b"Bad Request",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}

#: What reading, routing and answering one request costs besides its
#: values, in bytes of an ordinary reply: twisted.web takes about 100 µs
#: for a request, as long as a TCP reply of a few kilobytes.
REQUEST_COST = 2048

#: What a plain request (see L{RandnumChannel._answerPlain}) costs besides
#: its values: about half of twisted.web's (under C{wrk}, 37 µs of server
#: CPU a request against 70 to 85 µs).
PLAIN_REQUEST_COST = REQUEST_COST // 2


class RandnumChannel(HTTPChannel):
    """
    twisted.web's HTTP/1.1 channel, within the server's limits:

     - a request head must be complete within the idle timeout of its
       first byte (trickling a header never holds a connection);
     - a request with a body is refused (413, or 405 for a method other
       than GET or HEAD) as soon as its head is read, and the connection is
       closed without reading the body;
     - pipelined requests wait while the client is not reading the
       responses to earlier ones, and a client that reads nothing for the
       idle timeout is aborted;
     - at most L{REQUESTS_PER_TURN} pipelined requests are answered per
       reactor turn, so a flood of cheap requests cannot hold the reactor;
     - timeouts are counted (and now and then logged), not logged one by
       one.
    """

    server: RandnumServer
    randnumSite: RandnumSite
    host: str | None = None
    #: The client it belongs to (L{randnum.sharing.clientKey}).
    client = "local"
    #: Its place among its client's connections waiting for their share.
    _share: Waiting | None = None
    admitted = False
    #: Whether a request head has begun and is not complete yet.
    _inHead = False
    #: Lines of the current request head received so far.
    _headLines = 0
    #: Whether its head was refused: nothing more is read.
    _refused = False
    #: Whether the last bytes read ended with a carriage return.
    _endedWithCR = False
    #: The last bytes read in a head, for a blank line cut between reads.
    _headTail = b""
    #: The head deadline: left pending once a head is complete (it does
    #: nothing then), and moved on at the next head's first byte.
    _headCall: IDelayedCall | None = None
    _stallCall: IDelayedCall | None = None
    _graceCall: IDelayedCall | None = None
    _heldRequest: Request | None = None
    #: Whether the site will call L{turnEnded} when this turn ends.
    _inTurn = False
    _requestsThisTurn = 0
    _gone = False
    #: The idle timer (see L{setTimeout}), and whether it is counting.
    _idleCall: IDelayedCall | None = None
    _idleCounting = False
    #: Numbers in responses rendered since the transport last drained.
    undelivered = 0
    #: Whether the client has ended its input (a half-close), and the
    #: call that closes once every request it sent is answered.
    _inputEnded = False
    _endCall: IDelayedCall | None = None

    def __conform__(self, interface: InterfaceClass) -> RandnumChannel | None:
        """
        Be an L{IHalfCloseableProtocol} only while the end of the client's
        input leaves something to do: a request being answered, or a
        response not yet sent (written, but still in the transport's
        buffer).  Otherwise the transport closes at once, as for a protocol
        that cannot half-close: nothing is lost.

        (As L{randnum.tcp.protocol.RandnumProtocol.__conform__}: a client
        that sends its requests and then C{shutdown(SHUT_WR)}, as C{nc -N}
        does, gets every response, then a FIN.)
        """
        if interface is IHalfCloseableProtocol and self._inputEndLeavesWork():
            return self
        return None

    def _inputEndLeavesWork(self) -> bool:
        transport = self.transport
        unsent = (
            len(getattr(transport, "dataBuffer", b""))
            - getattr(transport, "offset", 0)
            + getattr(transport, "_tempDataLen", 0)
        )
        return bool(
            self._handlingRequest or self._heldRequest is not None or unsent > 0
        )

    def readConnectionLost(self) -> None:
        """
        The client has ended its input: answer the requests it sent, then
        close (L{_endIfAnswered}).
        """
        self._inputEnded = True
        self._endIfAnswered()

    def writeConnectionLost(self) -> None:
        """
        Responses can no longer be sent: close.
        """
        self._close()

    def _endIfAnswered(self) -> None:
        """
        Once the client's input has ended, close when no request is left
        to answer (a request cut short by the end never will be): looked at
        once what runs now is done, since a request answered at once is
        done while the requests pipelined behind it are still being read.
        """
        if self._inputEnded and self._endCall is None and not self._gone:
            self._endCall = self.callLater(  # type: ignore[no-untyped-call]
                0, self._endNow
            )

    def _endNow(self) -> None:
        self._endCall = None
        if not self._handlingRequest and self._heldRequest is None:
            self._close()

    def setTimeout(self, period: float | None) -> float | None:
        """
        As L{TimeoutMixin.setTimeout}, with one timer for the connection's
        life.  twisted.web puts the idle timeout aside while it handles
        each request and takes it up again after: with L{TimeoutMixin},
        a timer cancelled and another made for every request.  Here, put
        aside, the timer is left pending and does nothing if it comes due;
        taken up again, it is moved on, which is what a new timer would be.
        """
        previous = self.timeOut
        # Seconds, a float where the limit is (TimeoutMixin says int).
        self.timeOut = period  # type: ignore[assignment]
        if period is None:
            self._idleCounting = False
        else:
            self._idleCounting = True
            if self._idleCall is None:
                self._idleCall = self.callLater(  # type: ignore[no-untyped-call]
                    period, self._idleTimedOut
                )
            else:
                self._idleCall.reset(period)
        return previous

    def resetTimeout(self) -> None:
        """
        As L{TimeoutMixin.resetTimeout}: start the idle timeout afresh,
        unless it is put aside or has already run out.
        """
        if self._idleCounting and self._idleCall is not None:
            self._idleCall.reset(self.timeOut)  # type: ignore[arg-type]

    def _idleTimedOut(self) -> None:
        self._idleCall = None
        if self._idleCounting:
            self._idleCounting = False
            self.timeoutConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        Answer a plain request at once (L{_answerPlain}); else start the
        head deadline at the first byte of a request, and read it as
        twisted.web does.
        """
        if self._refused:
            return
        if (
            data[-4:] == b"\r\n\r\n"
            and not self._handlingRequest
            and not self._inHead
            and not self._buffer
            and self.line_mode
            and self.persistent
            and not self._waitingForTransport
            and not self.requests
            and not self.transport.disconnecting  # type: ignore[union-attr]
            and self._answerPlain(data)
        ):
            return
        if (
            not self._handlingRequest
            and not self._inHead
            and self.timeOut
            and not self.transport.disconnecting  # type: ignore[union-attr]
        ):
            self._inHead = True
            # One timer a connection, moved on (cheap: no new timer, no
            # cancelled one left in the reactor's heap) rather than one
            # made and cancelled for each request.
            if self._headCall is None:
                self._headCall = self.callLater(  # type: ignore[no-untyped-call]
                    self.timeOut, self._headTimedOut
                )
            else:
                self._headCall.reset(self.timeOut)
        if self.line_mode and self._badHead(data):
            # A bare LF, or a control character: not HTTP/1.1, and never
            # going to be; say so now rather than wait for the deadline.
            self._refuseHead(400, "malformed request head")
            return
        super().dataReceived(data)  # type: ignore[no-untyped-call]

    def _answerPlain(self, data: bytes) -> bool:
        """
        Answer C{data} if it is one whole plain request for integers (as
        nearly every request is: C{GET /v1/random?n=1}, say), the client has
        its share of this turn left, and the connection is idle; and say
        whether it was answered.

        Such a request is answered as twisted.web answers it, byte for byte,
        without its line by line reading, its L{Request}, its resource tree
        walk and its headers object: the half of a light request's cost.
        Anything else (another path or method, a body, C{Connection}, a
        header twisted.web might refuse, pipelined requests, a request in
        pieces, a client over its share, an error) is read and answered by
        twisted.web, within every limit above.
        """
        plain = self.randnumSite.plainRandom
        if plain is None or len(data) > _PLAIN_LENGTH:
            return False
        match = _PLAIN_GET.fullmatch(data)
        if match is None:
            return False
        if _NOT_PLAIN.search(match.group(2)) is not None:
            return False
        shares = self.server.shares
        if not shares.mayWork(self.client):
            return False
        answer = plain.plainAnswer(match.group(1) or b"")
        if answer is None:
            return False
        contentType, body, count, workSize = answer
        self.resetTimeout()
        self._endedWithCR = False
        self._headTail = b""
        self.undelivered += count
        self.transport.write(  # type: ignore[union-attr]
            b"HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nServer: %s\r\n"
            b"Date: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (
                serverVersion,
                self.randnumSite.httpDate(),
                contentType,
                len(body),
                body,
            )
        )
        shares.spend(self.client, PLAIN_REQUEST_COST + workSize)
        return True

    def _badHead(self, data: bytes) -> bool:
        """
        Whether C{data}, the next bytes of a request head, cannot be one.

        Only the head is judged: what follows its blank line in the same
        read (a body, which may hold any byte) is not.
        """
        seen = self._headTail + data
        end = seen.find(b"\r\n\r\n")
        head = data if end < 0 else data[: end + 4 - len(self._headTail)]
        bad = _BAD_HEAD.search(head)
        if bad is not None and bad.start() == 0 and self._endedWithCR:
            bad = _BAD_HEAD.search(head, 1)  # a CR LF cut between two reads
        self._endedWithCR = data[-1:] == b"\r"
        # A blank line may be cut between reads too.  (Stale bytes here can
        # only make the check see a head end early: less strict, never a
        # refusal of a good request.)
        self._headTail = seen[-3:]
        return bad is not None

    def lineReceived(self, line: bytes) -> None:
        """
        Count the lines of the head, so that an overlong one can be named;
        refuse a line that cannot be in a head (L{_badHead} sees only the
        first head of a read: a head pipelined behind it is read from
        twisted.web's buffer, line by line, without passing through
        L{dataReceived}).
        """
        self._headLines += 1
        if _BAD_LINE.search(line) is not None:
            self._refuseHead(400, "malformed request head")
            return
        super().lineReceived(line)  # type: ignore[no-untyped-call]

    def lineLengthExceeded(self, line: bytes) -> None:
        """
        A line of the head over twisted.web's limit (16 KiB): the request
        line (414) or a header (431), said at once.
        """
        if self._headLines == 0:
            self._refuseHead(414, "request line too long")
        else:
            self._refuseHead(431, "header line too long")

    def _respondToBadRequestAndDisconnect(self) -> None:
        # twisted.web's answer to a head it cannot take: a bare 400, for a
        # head over its size or header count, and for a malformed one (a
        # header without a colon, a bad name or value, a bad request line).
        if (
            self._receivedHeaderSize > self.totalHeadersSize
            or self._receivedHeaderCount > self.maxHeaders
        ):
            self._refuseHead(431, "request head too large")
        else:
            self._refuseHead(400, "malformed request head")

    def _refuseHead(self, code: int, reason: str) -> None:
        """
        Answer a head that cannot be read with C{code} and C{reason}, and
        close without reading more.
        """
        body = jsonBody({"error": reason})
        self.transport.write(  # type: ignore[union-attr]
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nCache-Control: no-store\r\n"
            b"Connection: close\r\n\r\n%s" % (code, _PHRASES[code], len(body), body)
        )
        self.server.http.countError("bad_head")
        self._refused = True
        self._close()

    def allHeadersReceived(self) -> None:
        """
        The head is complete: refuse a body, or go on as usual.
        """
        self._headLines = 0
        # A length, or None for a chunked body.  ("Transfer-Encoding:
        # identity" alone means no body, as twisted.web reads it.)
        if self.length != 0:
            limit = self.randnumSite.bodyLimit(self._command, self._path)
            refusal = _bodyRefusal(self._command, self.length, limit)
            if limit is None:
                misdirected = self.randnumSite.misdirected(self._command, self._path)
                if misdirected is not None:
                    refusal = (404, "not found", b"")
            else:
                misdirected = None
            if refusal is None and self.length and self.length > LARGE_BODY:
                refusal = self._roomForBody()
            if refusal is not None:
                self._inHead = False
                self._refuseBody(*refusal, body=misdirected)
                # Whatever follows is not read: no request is made of it.
                self.length = None
                return
            # A body accepted is small, and must come within the head's
            # deadline too: each byte of it would reset the idle timeout,
            # so a client trickling one would hold the connection for ever.
        else:
            self._inHead = False
        super().allHeadersReceived()  # type: ignore[no-untyped-call]

    def allContentReceived(self) -> None:
        """
        The request, body and all, came within its deadline.
        """
        self._inHead = False
        super().allContentReceived()  # type: ignore[no-untyped-call]

    def _roomForBody(self) -> tuple[int, str, bytes] | None:
        """
        Take a place for the large body about to be read (L{BodyRoom}),
        given back once its response is finished or its connection lost;
        or why there is none, as a refusal.
        """
        room = self.randnumSite.bodyRoom
        full = room.take(self.client)
        if full == "address":
            return (
                429,
                f"too many large requests from this address at once: at most "
                f"{room.perAddress}; retry when one is answered",
                b"Retry-After: 1\r\n",
            )
        if full == "server":
            return 503, "busy: too many large requests at once", b"Retry-After: 1\r\n"
        client = self.client
        self.requests[-1].notifyFinish().addBoth(lambda _: room.give(client))
        # Its place is held until it is answered: the body must come soon,
        # or a few addresses trickling bodies would hold every place.
        if self._headCall is not None and self.timeOut:
            self._headCall.reset(min(self.timeOut, LARGE_BODY_SECONDS))
        return None

    def _refuseBody(
        self, code: int, reason: str, extra: bytes, body: bytes | None = None
    ) -> None:
        if body is None:
            body = jsonBody({"error": reason})
        phrase = http.RESPONSES.get(code) or REASONS[code]
        self.transport.write(  # type: ignore[union-attr]
            b"HTTP/1.1 %d %s\r\n%sContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nCache-Control: no-store\r\n"
            b"Connection: close\r\n\r\n%s" % (code, phrase, extra, len(body), body)
        )
        # Nothing more is read: a body that comes in a later read (TLS
        # hands over each record as it is decrypted, even after the close
        # has begun) is not fed to a request that has no content.
        self._refused = True
        self.server.reject(
            self.server.http,
            "bodiesRefused",
            reason,
            self.getPeer(),  # type: ignore[no-untyped-call]
            "HTTP",
        )
        self._close()

    def rawDataReceived(self, data: bytes) -> None:
        """
        Buffer what a client pipelines behind the request being handled, as
        twisted.web does, but stop reading once that passes its small limit
        even while the client is not reading its responses: twisted.web
        stops reading only while the client is (its HTTPChannel reads on
        into memory, without end, once the responses wait for the client).
        """
        super().rawDataReceived(data)
        if (
            self._handlingRequest
            and sum(map(len, self._dataBuffer)) > self._optimisticEagerReadSize
        ):
            self._networkProducer.pauseProducing()

    def whenShared(self, request: NoStoreRequest) -> None:
        """
        Process C{request} now if its client has its share of this turn
        left, else at the client's next share; and charge the client for
        it.
        """
        if self.server.shares.mayWork(self.client):
            self._process(request)
        else:
            self._share = self.server.shares.wait(
                self.client, lambda: self._shareCame(request)
            )

    def _shareCame(self, request: NoStoreRequest) -> None:
        self._share = None
        if not self._gone:
            self._process(request)

    def _process(self, request: NoStoreRequest) -> None:
        request.processNow()
        self.server.shares.spend(self.client, REQUEST_COST + request.workSize)

    def requestDone(self, request: Request) -> None:
        """
        A response is complete.  If the client is not reading, answer its
        next pipelined request only once it has read this one; and answer
        at most L{REQUESTS_PER_TURN} of its requests in one reactor turn.
        """
        self._requestsThisTurn += 1
        if not self._inTurn:
            self._inTurn = True
            self.randnumSite.answeredThisTurn(self)
        if self.persistent and self._waitingForTransport:
            self._heldRequest = request
            # While a request is handled, the idle timeout is put aside.
            timeout = self._savedTimeOut
            if timeout:
                self._stallCall = self.callLater(  # type: ignore[no-untyped-call]
                    timeout, self._stalled
                )
            return
        if self.persistent and self._requestsThisTurn >= REQUESTS_PER_TURN:
            self._heldRequest = request  # until the next turn
            return
        super().requestDone(request)  # type: ignore[no-untyped-call]
        self._endIfAnswered()

    def turnEnded(self) -> None:
        """
        The reactor turn in which this channel answered requests has ended:
        count afresh, and answer a request held for the turn's limit.
        """
        self._inTurn = False
        self._requestsThisTurn = 0
        if not self._waitingForTransport and not self._gone:
            self._release()

    def resumeProducing(self) -> None:
        """
        The client has read what was waiting: go on with the next request.
        """
        super().resumeProducing()  # type: ignore[no-untyped-call]
        # What was rendered before has left for the kernel.
        self.undelivered = 0
        self._release()

    def _release(self) -> None:
        held, self._heldRequest = self._heldRequest, None
        if held is not None:
            self._cancel("_stallCall")
            super().requestDone(held)  # type: ignore[no-untyped-call]
            self._endIfAnswered()

    def timeoutConnection(self) -> None:
        """
        Idle for the timeout: close, counting (not logging) it.
        """
        self._timedOut("idle timeout")

    def _headTimedOut(self) -> None:
        self._headCall = None
        if self._inHead:
            self._timedOut("request head not complete in time")

    def _stalled(self) -> None:
        self._stallCall = None
        self._timedOut("responses not read")

    def _timedOut(self, reason: str) -> None:
        self.server.reject(
            self.server.http,
            "idleTimeouts",
            reason,
            self.getPeer(),  # type: ignore[no-untyped-call]
            "HTTP",
        )
        if self._waitingForTransport or self._heldRequest is not None:
            # The numbers in the responses that now never leave were not sent.
            self.server.http.numbers -= self.undelivered
            self.undelivered = 0
            self.transport.abortConnection()  # type: ignore[union-attr]
        else:
            self._close()

    def _close(self) -> None:
        """
        Close once what was written is sent; abort after the close grace.
        """
        self.setTimeout(None)
        self._cancel("_headCall")
        self.loseConnection()  # type: ignore[no-untyped-call]
        if self._graceCall is None:
            self._graceCall = self.callLater(  # type: ignore[no-untyped-call]
                self.server.limits.closeGrace,
                self.transport.abortConnection,  # type: ignore[union-attr]
            )

    def writeHeaders(
        self, version: bytes, code: bytes, reason: bytes, headers: object
    ) -> None:
        """
        Write the status line and headers as twisted.web does, in one
        piece: its C{writeSequence} of some thirty small strings, each
        checked, cost more than the join.
        """
        if not isinstance(headers, Headers):
            super().writeHeaders(version, code, reason, headers)  # type: ignore[no-untyped-call]
            return
        parts = [version, b" ", code, b" ", reason, b"\r\n"]
        for name, values in headers.getAllRawHeaders():
            for value in values:
                parts += (name, b": ", value, b"\r\n")
        parts.append(b"\r\n")
        self.transport.write(b"".join(parts))  # type: ignore[union-attr]

    def _cancel(self, name: str) -> None:
        call = getattr(self, name)
        if call is not None:
            setattr(self, name, None)
            if call.active():
                call.cancel()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Stop every timer and give the connection's place back.
        """
        self._gone = True
        for name in (
            "_headCall",
            "_stallCall",
            "_graceCall",
            "_idleCall",
            "_share",
            "_endCall",
        ):
            self._cancel(name)
        super().connectionLost(reason)  # type: ignore[no-untyped-call]
        if self.admitted:
            self.admitted = False
            self.server.http.open -= 1
            self.server.connections.release(self.host)


#: The reply to an HTTP connection over a connection limit.
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 17\r\n"
    b"Retry-After: 1\r\n"
    b"Cache-Control: no-store\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b'{"error":"busy"}\n'
)


class BusyHTTP(Protocol):
    """
    Answer 503 busy to a connection over the limits, and close it (at once
    if the close takes longer than the close grace, as a TLS handshake that
    never completes would).
    """

    def __init__(self, clock: IReactorTime, grace: float) -> None:
        self.clock = clock
        self.grace = grace
        self._graceCall: IDelayedCall | None = None

    def connectionMade(self) -> None:
        """
        Say so at once; the request is never read.
        """
        assert self.transport is not None
        self.transport.write(BUSY_RESPONSE)
        self.transport.loseConnection()
        self._graceCall = self.clock.callLater(
            self.grace,
            self.transport.abortConnection,  # type: ignore[attr-defined]
        )

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Closed: stop the timer.
        """
        if self._graceCall is not None and self._graceCall.active():
            self._graceCall.cancel()


def _bodyRefusal(
    method: bytes, length: int | None, limit: int | None
) -> tuple[int, str, bytes] | None:
    """
    Why a request body of C{length} bytes (L{None}: chunked) is refused,
    as a status, a reason and extra header lines, when the path takes
    bodies of at most C{limit} bytes (L{None}: none); L{None} if it is
    not.
    """
    if limit is None:
        if method in ALLOWED:
            return 413, "request bodies are not accepted", b""
        name = method.decode("latin-1")
        return 405, f"method {name} not allowed", b"Allow: GET, HEAD\r\n"
    if length is None:
        return 411, "a request body needs a Content-Length", b""
    if length > limit:
        return 413, f"request body too large: at most {limit} bytes here", b""
    return None
