"""
Sending replies: soon, in order, and never faster than the peer reads.

Twisted's C{transport.write} queues data and sends it on a later turn of the
reactor, after asking the poller to report the socket writable (two extra
C{epoll_ctl} calls and one extra loop turn per reply).  For a request/reply
service that is most of the cost of a small reply.  L{ReplyWriter} instead
calls C{send()} on the socket at once whenever nothing is queued in the
transport, which keeps the bytes in order, and hands only what the kernel
would not take to C{transport.write}.

The same bookkeeping gives backpressure: while anything is queued (the
peer is not reading), the writer stops reading from the peer, and resumes
when Twisted reports the queue drained.  A client that pipelines requests
and never reads therefore holds at most one chunk's replies in server memory.

Only public Twisted interfaces are used: the socket comes from
L{ISystemHandle.getHandle}, and the "queue drained" signal is the
C{resumeProducing} call that a transport makes to a registered pull
producer (L{IConsumer.registerProducer} with C{streaming=False}).  Other
transports (TLS, in-memory ones) get plain C{transport.write}, with a push
producer for backpressure.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from twisted.internet import tcp
from twisted.internet.interfaces import IPullProducer, IPushProducer, ITransport
from zope.interface import implementer


@implementer(IPullProducer, IPushProducer)
class ReplyWriter:
    """
    Write to one connection, sending at once when the transport's queue is
    empty and pausing the peer's input while it is not.

    Register it right after the connection is made; close the connection
    through L{loseConnection}, not the transport's, so that the producer is
    unregistered first (a transport does not close while a producer is
    registered).
    """

    def __init__(
        self, transport: ITransport, drained: Callable[[], object] = lambda: None
    ) -> None:
        """
        @param drained: called each time the transport's queue drains, that
            is, whenever the peer is seen reading again.
        """
        self.transport = transport
        self.drained = drained
        # Plain TCP and UNIX server or client connections: bytes written to
        # the socket are what the peer receives.  (A TLS transport is not a
        # tcp.Connection, so its plaintext can never reach the socket here.)
        self.socket: socket.socket | None = (
            transport.getHandle() if isinstance(transport, tcp.Connection) else None
        )
        self.queued = False
        self.readingPaused = False
        self.transport.registerProducer(self, self.socket is None)  # type: ignore[attr-defined]

    def write(self, data: bytes) -> None:
        """
        Send C{data} after everything written before it.
        """
        if self.socket is None or self.queued:
            self.transport.write(data)
            return
        try:
            sent = self.socket.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            # Let the transport meet the error and report the lost
            # connection in its usual way.
            sent = 0
        if sent < len(data):
            self.queued = True
            self._pauseReading()
            self.transport.write(data[sent:])

    def loseConnection(self) -> None:
        """
        Close the connection once everything written has been sent.
        """
        self.transport.unregisterProducer()  # type: ignore[attr-defined]
        self.transport.loseConnection()

    def closeAfterEndOfInput(self) -> None:
        """
        Close a connection whose peer has finished sending (and all of
        whose input has been read), once everything written has been sent.

        When nothing waits in the transport, everything written is already
        in the kernel, which delivers it before the FIN whether the socket
        is closed now or later; so it is closed now, which saves the reactor
        turn that C{loseConnection} spends waiting for the socket to be
        writable.  (With unread input, closing at once would send a reset
        instead; hence only after the end of input.)
        """
        if self.socket is None or self.queued:
            self.loseConnection()
            return
        self.transport.unregisterProducer()  # type: ignore[attr-defined]
        self.transport.abortConnection()  # type: ignore[attr-defined]

    # IPullProducer, for a socket we write to: called when the transport's
    # queue has drained.
    def resumeProducing(self) -> None:
        """
        The transport has sent everything queued (or, for the push producer
        of a transport without a socket, drained below its high-water mark).
        """
        self.queued = False
        self._resumeReading()
        self.drained()

    # IPushProducer, for other transports.
    def pauseProducing(self) -> None:
        """
        The transport's queue is over its high-water mark.
        """
        self.queued = True
        self._pauseReading()

    def stopProducing(self) -> None:
        """
        The connection is gone.
        """
        self.socket = None

    def _pauseReading(self) -> None:
        if not self.readingPaused:
            self.readingPaused = True
            self.transport.pauseProducing()  # type: ignore[attr-defined]

    def _resumeReading(self) -> None:
        if self.readingPaused:
            self.readingPaused = False
            self.transport.resumeProducing()  # type: ignore[attr-defined]
