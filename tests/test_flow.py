# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
The reply writer's own contract, on both of its paths: a socket transport
(Twisted's own TCP transport, over a socket whose sends the test decides)
and a push-producer transport (an in-memory one).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import socket
import struct
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import RefusingSocket, refusingTransport
from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor, StringTransport

from randnum.flow import (
    ADVMSS,
    BYTES_SENT,
    PROGRESS,
    SIOCOUTQNSD,
    SLICE,
    PeerReading,
    ReplyWriter,
    peerProgress,
    progressNeeded,
    unacknowledged,
    unsent,
)


def socketWriter(
    room: int | None = 0, error: type[OSError] = BlockingIOError
) -> tuple[ReplyWriter, tcp.Server, RefusingSocket]:
    transport, sock = refusingTransport(Protocol(), room, error)
    return ReplyWriter(transport), transport, sock


def test_onASocketTheWriterIsAPullProducer() -> None:
    _, transport, _ = socketWriter()
    assert transport.streamingProducer is False


def buffered(transport: tcp.Server) -> bytes:
    return transport.dataBuffer[transport.offset :] + b"".join(
        transport._tempDataBuffer
    )


@pytest.mark.parametrize("error", [BlockingIOError, InterruptedError, OSError])
def test_aRefusedSendLosesNothing(error: type[OSError]) -> None:
    writer, transport, _ = socketWriter(None, error)
    assert writer.write(b"abc") is False
    assert writer.queued
    assert buffered(transport) == b"abc"


def test_whatTheSocketTookIsNotSentAgain() -> None:
    writer, transport, sock = socketWriter(room=2)
    assert writer.write(b"ab") is True
    assert writer.write(b"cdef") is False
    assert sock.sent == [b"ab", b"cd"]
    assert buffered(transport) == b"ef"


def test_waitingDataIsHandedOverASliceAtATimeInOrder() -> None:
    writer, transport, _ = socketWriter(None)
    first, second = b"a" * (SLICE + 100), b"b" * 10
    writer.write(first)
    writer.write(second)
    assert buffered(transport) == first[:SLICE]
    transport.dataBuffer, transport._tempDataBuffer = b"", []
    transport.offset = transport._tempDataLen = 0
    writer.resumeProducing()  # the transport has sent that slice
    assert buffered(transport) == first[SLICE:]
    transport.dataBuffer, transport._tempDataBuffer = b"", []
    transport._tempDataLen = 0
    writer.resumeProducing()
    assert buffered(transport) == second
    drained: list[bool] = []
    writer.drained = lambda: drained.append(True)
    writer.resumeProducing()
    assert drained == [True] and not writer.queued


def test_readingPausesWhileAnythingWaitsOrInputIsHeld() -> None:
    transport = StringTransport()
    writer = ReplyWriter(transport)
    writer.holdInput()
    assert transport.producerState == "paused"
    writer.pauseProducing()
    writer.releaseInput()
    assert transport.producerState == "paused"  # replies still wait
    writer.resumeProducing()
    assert transport.producerState == "producing"


def test_progressIsCountedFromWhenRepliesBeginToWait() -> None:
    transport = StringTransport()
    writer = ReplyWriter(transport)
    writer.pauseProducing()
    assert writer.peerHasRead() is False
    writer.resumeProducing()
    assert writer.queued is False
    assert writer.peerHasRead() is True  # the transport drained: it read
    assert writer.peerHasRead() is False  # ... once
    writer.pauseProducing()
    writer.resumeProducing()
    writer.pauseProducing()  # waiting again: an earlier drain does not count
    assert writer.peerHasRead() is False


def test_aNewWriterHasNothingWaitingAndHasSeenNoReading() -> None:
    for writer in (ReplyWriter(StringTransport()), socketWriter()[0]):
        assert (writer.closed, writer.queued, writer.peerHasRead()) == (
            False,
            False,
            False,
        )
        assert writer.closed is writer.queued is writer.peerHasRead() is False


class CountingTransport(StringTransport):
    """
    An in-memory transport that records each pause and resume of reading.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")
        super().pauseProducing()

    def resumeProducing(self) -> None:
        self.calls.append("resume")
        super().resumeProducing()


def test_theTransportHearsOnlyOfChangesInReading() -> None:
    transport = CountingTransport()
    writer = ReplyWriter(transport)
    writer.releaseInput()  # reading already
    writer.write(b"sent at once")
    assert transport.calls == []
    writer.holdInput()
    writer.pauseProducing()  # replies wait too
    writer.write(b"waits")
    writer.releaseInput()
    writer.holdInput()
    assert transport.calls == ["pause"]
    writer.releaseInput()
    writer.resumeProducing()
    writer.releaseInput()
    assert transport.calls == ["pause", "resume"]
    writer.finish()
    writer.holdInput()  # after the end, reading is the transport's business
    assert transport.calls == ["pause", "resume"]


def test_nothingIsWrittenAfterTheEnd() -> None:
    for end in ("finish", "abort", "stopProducing"):
        transport = StringTransport()
        writer = ReplyWriter(transport)
        if end == "stopProducing":
            transport.unregisterProducer()  # as a transport does when lost
        getattr(writer, end)()
        assert writer.closed
        assert writer.write(b"late") is False
        assert transport.value() == b""
        # And closing again is harmless.
        writer.abort()


def test_finishHandsOverEverythingThenCloses() -> None:
    writer, transport, _ = socketWriter(None)
    writer.write(b"x" * (SLICE * 2))
    writer.finish()
    assert buffered(transport) == b"x" * (SLICE * 2)
    assert transport.disconnecting and transport.producer is None


@pytest.fixture
def paired() -> Iterator[tuple[ReplyWriter, socket.socket, socket.socket]]:
    """
    A writer on Twisted's TCP transport over one end of a real socket pair
    (in a reactor that never runs), that end, and the peer's end.
    """
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    transport = tcp.Server(ours, Protocol(), ("127.0.0.1", 1), None, 1, MemoryReactor())  # type: ignore[arg-type]
    yield ReplyWriter(transport), ours, theirs
    theirs.close()
    ours.close()


def test_theKernelShowsAReaderOnlyAWindowAtATime(
    paired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    writer, _, theirs = paired
    assert not writer.sending
    # More than the socket holds: the rest waits.
    assert writer.write(b"x" * (1 << 20)) is False
    assert writer.queued and writer.sending
    # Counted from when the replies began to wait, even before any look.
    theirs.recv(PROGRESS * 2)
    assert writer.peerHasRead()
    assert not writer.peerHasRead()  # nothing read since
    theirs.recv(PROGRESS // 2)
    assert not writer.peerHasRead()  # too little to count
    theirs.recv(PROGRESS)
    assert writer.peerHasRead()  # now a window's worth, in all
    assert not writer.peerHasRead()  # and only once


def test_theKernelsProgressIsMeasuredFromTheLastProgress(
    paired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    # The kernel frees a UNIX socket's queue a buffer (tens of KB) at a
    # time; read a little at a time and compare with the rule: progress is
    # a rise of PROGRESS bytes since the baseline, which moves only when
    # progress is seen.
    writer, _, theirs = paired
    writer.write(b"x" * (1 << 20))
    baseline = writer._kernelMark()
    assert baseline is not None
    seen: list[int] = []
    while len(seen) < 3:
        theirs.recv(4096)
        now = writer._kernelMark()
        assert now is not None
        expected = now >= baseline + PROGRESS
        assert writer.peerHasRead() is expected
        if expected:
            seen.append(now - baseline)
            baseline = now
    # Each progress took more than one look (the kernel frees less than
    # PROGRESS at once), so the looks in between must not move the baseline.
    assert all(PROGRESS <= rise < 2 * PROGRESS for rise in seen)


def test_theKernelTakingMoreIsProgressToo(
    paired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    # After a close, the transport hands what it still holds to the kernel
    # as the peer reads: a UNIX socket's queue grows though the peer reads.
    writer, ours, theirs = paired
    writer.write(b"x" * (1 << 20))
    assert writer.peerHasRead() is False
    full = unacknowledged(ours)
    assert full is not None
    while unacknowledged(ours) > full - 2 * PROGRESS:  # type: ignore[operator]
        theirs.recv(1 << 16)
    assert writer.peerHasRead() is True  # a window's worth (and more) read
    ours.send(b"y" * 4096)  # the kernel takes more: the peer made room
    assert writer.peerHasRead() is True
    assert writer.peerHasRead() is False  # and nothing since


@pytest.fixture
def tcpPaired() -> Iterator[tuple[ReplyWriter, socket.socket, socket.socket]]:
    """
    As L{paired}, over a real TCP connection on 127.0.0.1.
    """
    with socket.create_server(("127.0.0.1", 0)) as listener:
        theirs = socket.create_connection(listener.getsockname())
        ours, address = listener.accept()
    ours.setblocking(False)
    transport = tcp.Server(ours, Protocol(), address, None, 1, MemoryReactor())  # type: ignore[arg-type]
    yield ReplyWriter(transport), ours, theirs
    theirs.close()
    ours.close()


def settled(sock: socket.socket, quiet: float = 0.3, limit: float = 5.0) -> None:
    """
    Wait until C{sock}'s unacknowledged queue has not changed for C{quiet}
    seconds: every delayed acknowledgement has come.
    """
    deadline = time.monotonic() + limit
    last, since = unacknowledged(sock), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.01)
        now = unacknowledged(sock)
        if now != last:
            last, since = now, time.monotonic()


def test_aDelayedAcknowledgementIsNotReading(
    tcpPaired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    # The peer's kernel acknowledges what it received tens of milliseconds
    # later (longer on a loaded machine): the unacknowledged queue shrinks
    # by up to a window though nothing is read.
    writer, ours, _ = tcpPaired
    writer.write(b"x" * (8 << 20))
    settled(ours)
    assert writer.peerHasRead() is False
    mark = peerProgress(ours)
    assert mark is not None and mark > 0  # the first window was sent


def test_aTCPReaderIsSeenAWindowAtATime(
    tcpPaired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    writer, ours, theirs = tcpPaired
    writer.write(b"x" * (8 << 20))
    settled(ours)
    start = peerProgress(ours)
    assert start is not None
    needed = progressNeeded(ours)
    # Two segments: the peer's kernel may open its window by one on its own
    # (on loopback, whose MTU is 64 KiB, a segment is nearly that).
    if Path("/sys/class/net/lo/mtu").read_text().strip() == "65536":
        assert 2 * 65000 < needed < 3 * 65000
    assert writer.needed == needed  # what the writer counts with
    theirs.setblocking(False)
    read = 0
    deadline = time.monotonic() + 5
    while peerProgress(ours) < start + needed and time.monotonic() < deadline:  # type: ignore[operator]
        with contextlib.suppress(BlockingIOError):
            read += len(theirs.recv(1 << 16))
        time.sleep(0.001)
    # The mark rose (it is the bytes sent, which only rise) ...
    assert peerProgress(ours) >= start + needed  # type: ignore[operator]
    assert writer.peerHasRead() is True
    assert read >= needed  # ... after the peer had read
    settled(ours)
    assert writer.peerHasRead() is False  # and nothing since


def test_aClosedSocketTellsNothing() -> None:
    for sock in (socket.socket(), socket.socketpair()[0]):
        sock.close()
        assert peerProgress(sock) is None
        assert progressNeeded(sock) == PROGRESS
    assert peerProgress(None) is None
    assert progressNeeded(None) == PROGRESS


def readExactly(sock: socket.socket, size: int) -> None:
    sock.settimeout(2)  # what the kernel holds (about 200 KB), never more
    while size > 0:
        size -= len(sock.recv(size))


def test_progressIsCountedFromTheWatch(
    paired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    writer, _, theirs = paired
    writer.write(b"x" * (1 << 20))
    readExactly(theirs, 2 * PROGRESS)  # before the watch: not counted after
    assert writer.watchFromNow() is True
    assert writer.peerHasRead() is False
    read = 0
    while not writer.peerHasRead():
        readExactly(theirs, 4096)
        read += 4096
    assert read < 2 * PROGRESS  # a window or so, in the kernel's chunks


def test_nothingOnItsWayIsNothingToWatch(
    paired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    writer, _, theirs = paired
    assert writer.write(b"x" * 100) is True
    readExactly(theirs, 100)
    looks: list[int | None] = []
    kernelMark = writer._kernelMark

    def counted() -> int | None:
        looks.append(kernelMark())
        return looks[-1]

    writer._kernelMark = counted  # type: ignore[method-assign]
    assert writer.watchFromNow() is False
    assert looks == []  # the kernel was not asked for a mark
    assert writer.peerHasRead() is False


def test_theWatchTakesTheMarkItself(
    paired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    writer, _, theirs = paired
    writer.write(b"x" * (1 << 20))
    assert writer.watchFromNow() is True
    start = writer._kernelMark()
    assert start is not None
    while writer._kernelMark() < start + PROGRESS:  # type: ignore[operator]
        readExactly(theirs, 4096)
    # The first question after the watch already sees the progress.
    assert writer.peerHasRead() is True


def test_onTCPTheMarkIsTheBytesSent(
    tcpPaired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    _, ours, theirs = tcpPaired
    assert peerProgress(ours) == 0
    ours.send(b"x" * 1000)
    readExactly(theirs, 1000)
    assert peerProgress(ours) == 1000


def test_theKernelIsToldWhenToGiveUp(
    tcpPaired: tuple[ReplyWriter, socket.socket, socket.socket],
    paired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    writer, ours, _ = tcpPaired
    writer.giveUpAfter(2.5)
    assert ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 2500
    paired[0].giveUpAfter(2.5)  # a UNIX socket: nothing to tell, no error


def test_whatWaitsForRoomOnTCPIsWhatIsNotSent(
    tcpPaired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    writer, ours, _ = tcpPaired
    assert unsent(ours) == 0 and not writer.waitingForRoom
    writer.write(b"x" * (8 << 20))
    settled(ours)
    # The peer's window is full: most of the queue is not sent yet (what
    # is sent waits only for acknowledgement, if at all).
    waiting, queue = unsent(ours), unacknowledged(ours)
    assert waiting is not None and queue is not None
    assert queue - 1024 * 1024 < waiting <= queue
    assert writer.waitingForRoom


def test_whatWaitsForRoomOnAUNIXSocketIsWhatIsNotRead(
    paired: tuple[ReplyWriter, socket.socket, socket.socket],
) -> None:
    writer, ours, theirs = paired
    writer.write(b"x" * 1000)
    assert unsent(ours) == unacknowledged(ours) and unsent(ours)
    assert writer.waitingForRoom
    readExactly(theirs, 1000)
    assert unsent(ours) == 0 and not writer.waitingForRoom


class ScriptedReading(PeerReading):
    """
    A L{PeerReading} whose kernel reading is set by the test.
    """

    now: int | None = 0

    def current(self) -> int | None:
        return self.now


def test_progressOfExactlyTheThresholdIsReading() -> None:
    reading = ScriptedReading(None)
    reading.now = 1000
    reading.markNow()
    reading.needed = 500
    reading.now = 1499
    assert not reading.hasRead()
    assert reading.mark == 1000
    reading.now = 1500
    assert reading.hasRead()
    assert reading.mark == 1500


# The kernel's answers, played by a stub: what loopback never shows (a
# retransmission, bytes sent and not yet acknowledged) or a kernel older than
# the test machines' (a shorter struct tcp_info).


class TcpInfoSocket:
    """
    A socket whose C{TCP_INFO} is C{size} bytes of a C{struct tcp_info}
    holding C{advmss}, C{bytes_sent} and C{bytes_retrans}.
    """

    def __init__(self, size: int, advmss: int = 0, sent: int = 0, retrans: int = 0):
        info = bytearray(max(size, 216))
        struct.pack_into("I", info, ADVMSS, advmss)
        struct.pack_into("QQ", info, BYTES_SENT, sent, retrans)
        self.info = bytes(info[:size])

    def getsockopt(self, level: int, option: int, length: int) -> bytes:
        assert (level, option) == (socket.IPPROTO_TCP, socket.TCP_INFO)
        return self.info[:length]


def test_retransmittedBytesAreNotProgress() -> None:
    stub = TcpInfoSocket(232, sent=10_000, retrans=3_000)
    assert peerProgress(stub) == 7_000  # type: ignore[arg-type]


def test_aKernelWithoutTheByteCountsShowsNoProgress() -> None:
    # Linux before 4.19: struct tcp_info ends before tcpi_bytes_sent.
    assert peerProgress(TcpInfoSocket(200, sent=10_000)) is None  # type: ignore[arg-type]


def test_aKernelWithoutTheSegmentSizeNeedsTheUsualProgress() -> None:
    assert progressNeeded(TcpInfoSocket(232, advmss=65_483)) == 2 * 65_483  # type: ignore[arg-type]
    assert progressNeeded(TcpInfoSocket(84, advmss=65_483)) == PROGRESS  # type: ignore[arg-type]


def test_unsentCountsOnlyWhatIsNotSentYet(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel holds 300 bytes: 100 not sent yet, 200 sent and waiting for
    # their acknowledgement.  The ioctls write the count into the buffer
    # they are given; without one, the kernel would write to address 0.
    def ioctl(fd: int, request: int, buffer: bytes | None = None) -> bytes:
        if not isinstance(buffer, bytes) or len(buffer) != 4:
            raise OSError(errno.EFAULT, "Bad address")
        return struct.pack("i", {SIOCOUTQNSD: 100, termios.TIOCOUTQ: 300}[request])

    monkeypatch.setattr(fcntl, "ioctl", ioctl)
    with socket.socket() as sock:
        assert unsent(sock) == 100
        assert unacknowledged(sock) == 300
