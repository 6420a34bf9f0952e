"""
Clients for the randnum line protocol.

L{RandnumClientProtocol} is the Twisted client: each L{request
<RandnumClientProtocol.request>} returns a L{Deferred} that fires with a list
of ints, and any number of requests may be outstanding at once (they are
pipelined and answered in order).  L{connect} opens one from a client
endpoint description.

The blocking client for code that does not use Twisted is in
L{randnum.blocking}; both encode requests and decode replies with the
functions here, and both raise L{RandnumError}.
"""

from __future__ import annotations

from collections import deque

from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.interfaces import IReactorCore, ITransport
from twisted.internet.protocol import connectionDone
from twisted.protocols.basic import LineOnlyReceiver
from twisted.python.failure import Failure

from randnum.query import MAX_COUNT

#: The longest reply line a client accepts: MAX_COUNT numbers of up to 20
#: characters (a signed 64-bit value) plus separators.
MAX_REPLY = MAX_COUNT * 21 + 64


class RandnumError(Exception):
    """
    The server could not answer a request.

    @ivar reason: why, in the server's words.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnexpectedReply(RandnumError):
    """
    The server's reply is not one the protocol allows.
    """


def requestLine(
    n: int = 1, min: int | None = None, max: int | None = None, unique: bool = False
) -> bytes:
    """
    Encode one parameter request.  Bounds not given are left to the server's
    defaults; the server validates everything.
    """
    fields = [f"n={n}"]
    if min is not None:
        fields.append(f"min={min}")
    if max is not None:
        fields.append(f"max={max}")
    if unique:
        fields.append("unique=true")
    return " ".join(fields).encode("ascii") + b"\n"


def parseReply(line: bytes) -> list[int]:
    """
    Decode one reply line (without its newline).

    @raise RandnumError: for an C{ERR} reply.
    @raise UnexpectedReply: for anything else that is not numbers.
    """
    line = line.rstrip(b"\r")
    if line.startswith(b"ERR "):
        raise RandnumError(line[4:].decode("utf-8", "replace"))
    try:
        return [int(field) for field in line.split(b" ")]
    except ValueError:
        raise UnexpectedReply(f"unexpected reply {line[:80]!r}") from None


class RandnumClientProtocol(LineOnlyReceiver):
    """
    A connection to a randnum server, speaking line framing.
    """

    delimiter = b"\n"
    MAX_LENGTH = MAX_REPLY

    # Set by makeConnection before any request can be made.
    transport: ITransport

    def __init__(self) -> None:
        self._waiting: deque[Deferred[list[int]]] = deque()
        self._lost: Failure | None = None

    def request(
        self,
        n: int = 1,
        min: int | None = None,
        max: int | None = None,
        unique: bool = False,
    ) -> Deferred[list[int]]:
        """
        Ask for C{n} numbers in C{min..max} (the server's defaults where not
        given), distinct if C{unique}.

        @return: a L{Deferred} firing with the numbers, or failing with
            L{RandnumError} if the server refuses the request, or with the
            reason the connection was lost.
        """
        if self._lost is not None:
            return fail(self._lost)
        waiting: Deferred[list[int]] = Deferred()
        self._waiting.append(waiting)
        self.transport.write(requestLine(n, min, max, unique))
        return waiting

    def lineReceived(self, line: bytes) -> None:
        """
        Fire the oldest outstanding request with its reply.
        """
        if not self._waiting:
            # A reply nobody asked for: this is not a randnum server.
            self.transport.loseConnection()
            return
        waiting = self._waiting.popleft()
        try:
            numbers = parseReply(line)
        except RandnumError as error:
            waiting.errback(error)
        else:
            waiting.callback(numbers)

    def lineLengthExceeded(self, line: bytes) -> None:
        """
        A reply longer than any valid one: give up on this connection.
        """
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Fail every outstanding request with C{reason}.
        """
        self._lost = reason
        waiting, self._waiting = self._waiting, deque()
        for pending in waiting:
            pending.errback(reason)


def connect(reactor: IReactorCore, description: str) -> Deferred[RandnumClientProtocol]:
    """
    Connect to a randnum server.

    @param description: a Twisted client endpoint description, such as
        C{tcp:host=127.0.0.1:port=5000}, C{tls:randnum.example:5001} or
        C{unix:path=/run/randnum.sock}.
    """
    endpoint = clientFromString(reactor, description)
    connecting: Deferred[RandnumClientProtocol] = connectProtocol(
        endpoint, RandnumClientProtocol()
    )
    return connecting
