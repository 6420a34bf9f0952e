# -*- test-case-name: tests.test_flow,tests.test_each_client_costs_itself -*-
"""
Sending replies: soon, in order, never faster than the peer reads, and with
an honest close.

L{ReplyWriter} is the one way a connection's protocol talks to its
transport: every byte it sends, every pause and resume of reading, and its
close go through it.  Its invariant:

    Bytes reach the peer in the order they were written.  A write goes
    straight to the socket only while nothing written earlier is still
    waiting (in the writer or in the transport); otherwise it waits in the
    writer, which hands it to the transport a slice at a time, each slice
    once the previous one has been sent.  Reading from the peer is paused
    while anything waits, and while the protocol holds its input.

Why the socket: Twisted's C{transport.write} queues data and sends it on a
later turn of the reactor, after asking the poller to report the socket
writable (two extra C{epoll_ctl} calls and one extra loop turn per reply;
Twisted's issue #5303).  For a request/reply service that is most of the
cost of a small reply, so for plain TCP and UNIX connections the writer
calls C{send()} at once.  Only public Twisted interfaces are used: the socket
is L{ISystemHandle.getHandle}, and "the transport has sent everything" is
the C{resumeProducing} call that a transport makes to a registered pull
producer (L{IConsumer.registerProducer} with C{streaming=False}) whenever its
buffer drains.  Other transports (TLS, in-memory ones) get C{transport.write}
with the writer registered as a push producer, paused and resumed by the
transport at its high-water mark.

Handing queued data over a slice at a time makes every slice the peer reads
visible as progress, so the protocol can tell a slow reader (never cut off
while it keeps reading) from a stalled one; and it keeps the writer's own
memory per connection at about one turn of replies, because the protocol
generates nothing more while anything waits.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import termios
from collections import deque
from collections.abc import Callable

from twisted.internet import tcp
from twisted.internet.interfaces import IPullProducer, IPushProducer, ITransport
from zope.interface import implementer

#: Most bytes handed to the transport at once while a peer is behind.
SLICE = 16 * 1024

#: How far L{peerProgress} must rise between two looks for a peer to count
#: as reading, at least (see L{progressNeeded}).
PROGRESS = 64 * 1024


def unacknowledged(sock: socket.socket | None) -> int | None:
    """
    Bytes in C{sock}'s send queue not yet acknowledged by the peer, where
    the platform tells (Linux's C{SIOCOUTQ}); L{None} where it does not, or
    for no socket.
    """
    if sock is None:
        return None
    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
    except (OSError, ValueError):
        return None
    queued: int = struct.unpack("i", raw)[0]
    return queued


#: Linux's C{SIOCOUTQNSD} (not in L{termios}): the bytes in a TCP socket's
#: send queue not yet sent.
SIOCOUTQNSD = 0x894B


def unsent(sock: socket.socket | None) -> int | None:
    """
    Bytes in C{sock}'s send queue that the peer has not made room for yet,
    where the platform tells: on TCP those not yet sent (Linux's
    C{SIOCOUTQNSD}; those sent may only wait for a delayed ACK), on a UNIX
    socket those not yet read (C{SIOCOUTQ}); L{None} where it does not, or
    for no socket.
    """
    if sock is None:
        return None
    try:
        raw = fcntl.ioctl(sock.fileno(), SIOCOUTQNSD, b"\0" * 4)
    except (OSError, ValueError):
        # Not TCP: nothing is sent before it is read.
        return unacknowledged(sock)
    queued: int = struct.unpack("i", raw)[0]
    return queued


#: Where Linux's C{struct tcp_info} holds C{tcpi_bytes_sent} and
#: C{tcpi_bytes_retrans} (u64s, since Linux 4.19).
BYTES_SENT = 200
BYTES_RETRANS = 208


def peerProgress(sock: socket.socket | None) -> int | None:
    """
    A mark that rises as the peer reads what C{sock} holds for it, where
    the platform tells (Linux); L{None} where it does not, or for no socket.

    On TCP it is the bytes sent so far (retransmissions aside), acknowledged
    or not: what the peer's window has let go, and that opens as its
    application reads.  (Not the bytes left unacknowledged: a peer's kernel
    acknowledges what it has received a delayed ACK later, tens of
    milliseconds or more on a loaded machine, though its application reads
    nothing.)  It comes from one C{TCP_INFO}, so it never goes back.  On a
    UNIX socket it is minus the kernel memory the peer has not read yet
    (C{SIOCOUTQ}): it rises as the peer reads, and falls back as the kernel
    takes more from the transport, which it does only once the peer has
    read.
    """
    if sock is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, BYTES_RETRANS + 8)
    except (OSError, ValueError, AttributeError):
        # Not TCP (or not Linux).
        queued = unacknowledged(sock)
        return None if queued is None else -queued
    if len(info) < BYTES_RETRANS + 8:
        return None
    sent, retransmitted = struct.unpack_from("QQ", info, BYTES_SENT)
    mark: int = sent - retransmitted
    return mark


#: Where Linux's C{struct tcp_info} holds C{tcpi_advmss} (a u32): the
#: largest segment this end takes, and on a symmetric path the peer's.
ADVMSS = 84


def progressNeeded(sock: socket.socket | None) -> int:
    """
    How far L{peerProgress} must rise for the peer to count as reading:
    L{PROGRESS}, or on TCP two of the path's largest segments if that is
    more.  A receiver's kernel frees a little room on its own, without the
    application reading (by compacting its queue, or rounding its window up
    to a whole segment, 64 KiB on loopback).
    """
    if sock is None:
        return PROGRESS
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, ADVMSS + 4)
    except (OSError, ValueError, AttributeError):
        return PROGRESS  # not TCP, or not Linux
    if len(info) < ADVMSS + 4:
        return PROGRESS
    segment: int = struct.unpack_from("I", info, ADVMSS)[0]
    return max(PROGRESS, 2 * segment)


def socketOf(transport: object) -> socket.socket | None:
    """
    The socket under a plain TCP or UNIX transport (not TLS, whose socket
    carries ciphertext), or L{None}.
    """
    if isinstance(transport, tcp.Connection):
        handle: socket.socket = transport.getHandle()
        return handle
    return None


class PeerReading:
    """
    Whether a peer is reading what a socket holds for it, as the kernel
    shows it: L{peerProgress} counted from a mark.  The one such check,
    for every face: the TCP face's L{ReplyWriter} and the HTTP face's
    streamed bodies both ask it.

    The kernel lets the sender see a reader's progress only a TCP window
    update at a time, so the mark must rise by L{progressNeeded} to count;
    a mark that has fallen (UNIX sockets) means the kernel has taken more
    of what the transport held, which it does as the peer reads: progress
    too.
    """

    def __init__(self, sock: socket.socket | None) -> None:
        """
        @param sock: the socket (see L{socketOf}), or L{None} where there is
            none to ask: then the peer never shows progress here.
        """
        self.socket = sock
        #: The mark progress is counted from, or L{None} when none is taken.
        self.mark: int | None = None
        #: How far L{mark} must rise to count.
        self.needed = PROGRESS

    def current(self) -> int | None:
        """
        The socket's L{peerProgress} now, where the platform tells.
        """
        return peerProgress(self.socket)

    def markNow(self) -> None:
        """
        Count the peer's progress from now on: take the kernel's mark, and
        how far it must rise.
        """
        self.mark = self.current()
        if self.mark is not None:
            self.needed = progressNeeded(self.socket)

    def forget(self) -> None:
        """
        Count nothing until the next L{markNow} (or L{hasRead}, which takes
        a mark when there is none).
        """
        self.mark = None

    def hasRead(self, seen: bool = False) -> bool:
        """
        Whether the peer has read since the mark; the mark moves on to now
        when it has (and is taken when there is none).

        @param seen: progress already seen some other way (a transport that
            drained): then the answer is yes, and the mark moves on.
        """
        progressed = seen
        now = self.current()
        if now is not None and self.mark is not None:
            base = self.mark
            progressed = progressed or now >= base + self.needed or now < base
        if progressed or self.mark is None:
            self.mark = now
        return progressed


def _nothing() -> None:
    """
    Do nothing: what a detached L{ReplyWriter} calls back.
    """


@implementer(IPullProducer, IPushProducer)
class ReplyWriter(PeerReading):
    """
    Write to one connection (see the module's invariant) and close it.

    Register it as soon as the connection is made, and never write to or
    close the transport but through it.
    """

    def __init__(
        self,
        transport: ITransport,
        drained: Callable[[], object] = lambda: None,
        progress: Callable[[], object] = lambda: None,
    ) -> None:
        """
        @param drained: called when everything written has been sent after
            some of it had to wait.
        @param progress: called each time some waiting data has been sent:
            the peer is reading.
        """
        self.transport = transport
        self.drained = drained
        self.progress = progress
        # Plain TCP and UNIX connections: bytes written to the socket are
        # what the peer receives.  (A TLS transport is not a tcp.Connection,
        # so its plaintext can never reach the socket here.)
        # The socket under a plain TCP or UNIX transport (see L{socketOf}),
        # until the connection is gone (L{None} otherwise), and whether its
        # peer reads: the writer is its own L{PeerReading}, one object a
        # connection rather than two.
        PeerReading.__init__(self, socketOf(transport))
        #: Data waiting in the writer, oldest first, with how much of the
        #: oldest has been handed over.
        self._waiting: deque[bytes] = deque()
        self._offset = 0
        #: Whether the transport holds data of ours that it has not sent (a
        #: socket transport), or has asked us to pause (any other).
        self._transportBusy = False
        self._inputHeld = False
        self._readingPaused = False
        self.closed = False
        self._peerReadSinceCheck = False
        self._registered = False
        if self.socket is None:
            # Other transports pause and resume the writer as their buffer
            # fills and drains: from the start.
            self._register()

    @property
    def queued(self) -> bool:
        """
        Whether anything written is still waiting to be sent.
        """
        return bool(self._waiting) or self._transportBusy

    @property
    def sending(self) -> bool:
        """
        Whether anything written is still on its way: waiting here, in the
        transport, or (where the platform tells) in the kernel.
        """
        return self.queued or bool(unacknowledged(self.socket))

    @property
    def watching(self) -> bool:
        """
        Whether the peer's progress is being counted from a mark the kernel
        gave (see L{peerHasRead}).
        """
        return self.mark is not None

    @property
    def waitingForRoom(self) -> bool:
        """
        Whether the kernel holds replies that the peer has not made room
        for (where the platform tells): they wait there rather than here.
        """
        return bool(unsent(self.socket))

    def write(self, data: bytes) -> bool:
        """
        Send C{data} after everything written before it.

        @return: whether it was sent at once (rather than left waiting).
        """
        if self.closed:
            return False
        if not self.queued:
            if self.socket is None:
                self.transport.write(data)
                return not self._transportBusy
            try:
                sent = self.socket.send(data)
            except OSError:
                # Full (BlockingIOError), interrupted, or an error that the
                # transport will meet and report as a lost connection in
                # its usual way: the data waits.
                sent = 0
            if sent == len(data):
                return True
            data = data[sent:]
        if not self.queued:
            self._peerReadSinceCheck = False
            self._watch()
        self._waiting.append(data)
        self._handOver()
        self._updateReading()
        return False

    def peerHasRead(self) -> bool:
        """
        Whether the peer has read any of its waiting replies since this was
        last asked (or since they began to wait).

        Reading shows as the transport draining, or, on a socket, as the
        kernel's L{peerProgress} rising by L{progressNeeded}; the kernel
        lets the sender see a reader's progress only a TCP window update at
        a time.
        """
        seen = self._peerReadSinceCheck
        self._peerReadSinceCheck = False
        return self.hasRead(seen)

    def watchFromNow(self) -> bool:
        """
        Count the peer's progress from now on (as L{peerHasRead} does when
        asked), and tell whether anything written is still on its way
        (L{sending}).  When nothing is, there is no progress left to see,
        and the kernel is asked once rather than several times: this runs
        on every connection's close.
        """
        self._peerReadSinceCheck = False
        sending = self.sending
        if sending:
            self._watch()
        else:
            self.forget()
        return sending

    def giveUpAfter(self, seconds: float) -> None:
        """
        Have the kernel drop the connection if the peer makes no room for
        what it still holds within C{seconds}, where the platform can
        (Linux's C{TCP_USER_TIMEOUT}).  Once the descriptor is closed the
        kernel goes on delivering on its own, for minutes, to a peer that
        may never read.
        """
        if self.socket is None:
            return
        try:
            self.socket.setsockopt(
                socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(seconds * 1000)
            )
        except (OSError, AttributeError):
            pass  # not TCP, or not Linux

    def _watch(self) -> None:
        """
        Take the kernel's mark (and how far it must rise), to count the
        peer's progress from.
        """
        self.markNow()

    def _kernelMark(self) -> int | None:
        """
        The socket's L{peerProgress}, where the platform tells.
        """
        return self.current()

    def holdInput(self) -> None:
        """
        Stop reading from the peer until L{releaseInput}: the protocol has
        requests of its own to answer first.
        """
        self._inputHeld = True
        self._updateReading()

    def releaseInput(self) -> None:
        """
        Read from the peer again, unless replies are waiting for it.
        """
        self._inputHeld = False
        self._updateReading()

    def finish(self) -> None:
        """
        Close the connection once everything written has been sent: the
        peer gets every byte, then a normal end of stream (FIN).
        """
        if self.closed:
            return
        self.closed = True
        while self._waiting:
            self.transport.write(self._take(len(self._waiting[0])))
        self._unregister()
        self.transport.loseConnection()

    def abort(self) -> None:
        """
        Close the connection at once, discarding whatever has not been sent
        (the peer sees a reset).
        """
        self._waiting.clear()
        self.closed = True
        self._unregister()
        self.transport.abortConnection()  # type: ignore[attr-defined]

    def detach(self) -> None:
        """
        The connection is gone: call its protocol back no more.  The
        writer's callbacks are the protocol's methods, so until then the
        protocol, the writer and the transport hold each other in a cycle,
        which only the cycle collector would free; without it, reference
        counting frees a connection's objects as soon as it closes.
        """
        self.drained = self.progress = _nothing

    def _register(self) -> None:
        """
        Register with the transport: as a push producer where there is no
        socket, else as a pull producer, only once data is handed over to
        the transport (most connections never hand any: the registration,
        and undoing it, would be a cost on every connection).
        """
        if not self._registered:
            self._registered = True
            self.transport.registerProducer(self, self.socket is None)  # type: ignore[attr-defined]

    def _unregister(self) -> None:
        # A transport does not close while a producer is registered.
        if self._registered:
            self._registered = False
            self.transport.unregisterProducer()  # type: ignore[attr-defined]

    def _take(self, size: int) -> bytes:
        """
        The next C{size} bytes (at most) of waiting data.
        """
        oldest = self._waiting[0]
        offset = self._offset
        piece = oldest[offset : offset + size]
        if offset + len(piece) == len(oldest):
            self._waiting.popleft()
            self._offset = 0
        else:
            self._offset = offset + len(piece)
        return piece

    def _handOver(self) -> None:
        """
        Give the transport the next slices of waiting data, until it is
        busy.
        """
        while self._waiting and not self._transportBusy:
            if self.socket is not None:
                # The pull-producer registration reports when it is sent.
                self._register()
                if self.closed:
                    return  # the connection was already gone
                self._transportBusy = True
            self.transport.write(self._take(SLICE))

    def _updateReading(self) -> None:
        paused = self._inputHeld or self.queued
        if paused != self._readingPaused and not self.closed:
            self._readingPaused = paused
            if paused:
                self.transport.pauseProducing()  # type: ignore[attr-defined]
            else:
                self.transport.resumeProducing()  # type: ignore[attr-defined]

    # IPullProducer (socket transports: called whenever the transport's
    # buffer has drained) and IPushProducer (others: called when it is
    # below its high-water mark again).
    def resumeProducing(self) -> None:
        """
        The transport has sent what it held: hand over more, or report that
        everything is sent.
        """
        if not self._transportBusy:
            # A pull producer is also asked once when it is registered.
            return
        self._transportBusy = False
        self._peerReadSinceCheck = True
        self.progress()
        self._handOver()
        if not self.queued:
            self._updateReading()
            self.drained()

    def pauseProducing(self) -> None:
        """
        The transport's buffer is over its high-water mark (push producers
        only).
        """
        if not self.queued:
            # Progress is counted from now on.  (There is no socket, so
            # this is the only sign of it.)
            self._peerReadSinceCheck = False
        self._transportBusy = True
        self._updateReading()

    def stopProducing(self) -> None:
        """
        The connection is gone.
        """
        self._registered = False
        self.socket = None
        self.closed = True
        self._waiting.clear()
