# -*- test-case-name: tests.tcp.test_protocol,tests.test_limits -*-
"""
Framing: how a connection's byte stream is cut into requests.

L{LineReader} holds a line-framed connection's unanswered input, checked
against the line-length limit as it arrives, so that the protocol can answer
it a budget at a time.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator


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


def asFraming(framing: object) -> Framing:
    """
    C{framing}, a L{Framing} or the name of one (C{"line"}).

    @raise TypeError: if it is neither.
    """
    if isinstance(framing, Framing):
        return framing
    if isinstance(framing, str):
        try:
            return Framing(framing.lower())
        except ValueError:
            pass
    choices = ", ".join(repr(f.value) for f in Framing)
    raise TypeError(f"framing must be a Framing or one of {choices}, not {framing!r}")


def hasLongLine(
    data: bytes, limit: int, start: int = 0, end: int | None = None
) -> bool:
    """
    Whether some line of C{data[start:end]} (split at newlines) is over
    C{limit} bytes long.

    Each step jumps to the last newline within C{limit} bytes, so a 64 KiB
    chunk costs about a hundred C{rfind}s whatever its lines look like,
    rather than a Python step per line.
    """
    if end is None:
        end = len(data)
    while end - start > limit:
        newline = data.rfind(b"\n", start, start + limit + 1)
        if newline < 0:
            return True
        start = newline + 1
    return False


def _fits(data: bytes, start: int, end: int, limit: int) -> bool:
    """
    Whether C{data[start:end]}, one line without its C{\\n}, is within the
    limit (a C{\\r} ending it is part of the line ending, not the line).
    """
    length = end - start
    return length <= limit or (length == limit + 1 and data[end - 1 : end] == b"\r")


def firstLongLine(data: bytes, limit: int, start: int, end: int) -> int:
    """
    Where the first line of C{data[start:end]} over C{limit} bytes starts
    (a C{\\r} before its newline not counted), or -1 if there is none.
    """
    while start < end:
        newline = data.find(b"\n", start, end)
        stop = end if newline < 0 else newline
        if not _fits(data, start, stop, limit):
            return start
        start = stop + 1
    return -1


class LineReader:
    """
    A line-framed connection's unanswered input: complete lines, then at
    most one unfinished line.

    The complete lines are C{buffer[pos:end]}; whoever answers them moves
    C{pos} forward with L{consumed}.

    @ivar tooLong: whether a line over the limit follows the complete
        lines.  It, and everything after it, has been dropped, and nothing
        more is accepted.
    @ivar ended: whether the input has ended (nothing more is accepted).
    @ivar answering: the rest of the reply to a request already taken from
        the buffer, made a piece at a time (by L{randnum.tcp.answering}), or
        L{None}.
    """

    def __init__(self, maxLine: int) -> None:
        """
        @param maxLine: the longest line accepted, in bytes, not counting
            its line ending.
        """
        self.maxLine = maxLine
        self.buffer = b""
        self.pos = 0
        self.end = 0
        self.tooLong = False
        self.ended = False
        self.answering: Iterator[tuple[bytes, int]] | None = None

    @property
    def pending(self) -> bool:
        """
        Whether complete lines, or the rest of a reply, wait to be answered.
        """
        return self.pos < self.end or self.answering is not None

    @property
    def unfinished(self) -> bool:
        """
        Whether part of a line has been received.
        """
        return len(self.buffer) > self.end

    def feed(self, data: bytes) -> None:
        """
        Add received bytes; find the complete lines among them, and whether
        any line is over the limit.
        """
        if self.tooLong or self.ended:
            return
        buffer = self.buffer[self.pos :] + data if self.buffer else data
        start = self.end - self.pos
        self.pos = 0
        limit = self.maxLine
        newline = buffer.rfind(b"\n", start)
        end = newline + 1 if newline >= 0 else start
        if newline >= 0 and hasLongLine(buffer, limit, start, newline):
            bad = firstLongLine(buffer, limit, start, newline)
            if bad >= 0:
                self._cut(buffer, bad)
                return
        if len(buffer) - end > limit and not _fits(buffer, end, len(buffer), limit):
            self._cut(buffer, end)
            return
        self.buffer, self.end = buffer, end

    def _cut(self, buffer: bytes, at: int) -> None:
        """
        Keep the complete lines before C{at}, where a long line starts.
        """
        self.buffer, self.end = buffer[:at], at
        self.tooLong = True

    def consumed(self, pos: int) -> None:
        """
        The complete lines before C{pos} have been answered.
        """
        if pos == len(self.buffer):
            self.buffer = b""
            self.pos = self.end = 0
        else:
            self.pos = pos

    def endInput(self) -> None:
        """
        The peer has finished sending: an unfinished line is complete.
        """
        if not self.tooLong and self.unfinished:
            self.buffer += b"\n"
            self.end = len(self.buffer)
        self.ended = True
