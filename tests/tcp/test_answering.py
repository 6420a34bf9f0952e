"""
Answering complete request lines a budget at a time, without a connection.
"""

from __future__ import annotations

from randnum.generation.source import seededSource
from randnum.query import Query
from randnum.stats import TcpStats
from randnum.tcp.answering import PARSE_COST, STREAM_ABOVE, Answerer, Reply
from randnum.tcp.framing import LineReader

#: 8,193 strings of 31 characters and their separators: just over
#: L{STREAM_ABOVE}, so its reply is streamed.
STREAMED = b"type=string n=8193 length=31\n"


def answering(lines: bytes) -> tuple[Answerer, LineReader]:
    """
    An answerer without a signer, and a reader holding C{lines}.
    """
    reader = LineReader(maxLine=1024)
    reader.feed(lines)
    return Answerer(seededSource(1), Query(), TcpStats()), reader


def answered(answerer: Answerer, reader: LineReader, budget: int) -> Reply:
    """
    One call's replies, which must not wait for a record.
    """
    reply = answerer.lines(reader, budget)
    assert isinstance(reply, tuple)
    return reply


def test_withoutASignerSignedRequestsAreRefused() -> None:
    answerer, reader = answering(b"signed=true\n")
    assert answered(answerer, reader, 65536) == (b"ERR signing is not enabled\n", 0)
    assert answerer.stats.errorKinds == {"signing_disabled": 1}


def test_aStreamedReplyComesABudgetAtATime() -> None:
    answerer, reader = answering(STREAMED)
    # 8 KiB of work: 256 strings of 32 bytes.
    piece, count = answered(answerer, reader, 8192)
    assert (len(piece), count) == (8192, 256)


def test_aStreamedGaussianPieceIsABudgetOfWork() -> None:
    # Each of its bytes costs four: a piece holds a quarter of the bytes.
    answerer, reader = answering(b"type=gaussian n=10000 digits=17\n")
    query, _ = answerer._parse(b"type=gaussian n=10000 digits=17")
    assert query.workSize() == 4 * query.replySize() > STREAM_ABOVE
    _, count = answered(answerer, reader, 65536)
    assert count == 65536 // 4 // 42


def test_eachStreamedRequestIsCountedOnce() -> None:
    answerer, reader = answering(STREAMED * 2)
    values = 0
    while reader.pending:
        values += answered(answerer, reader, 65536)[1]
    assert values == 2 * 8193
    assert answerer.stats.requests == 2


def test_linesBeforeAStreamedReplyAreAnsweredFirst() -> None:
    # With a budget larger than the streaming threshold, a streamed reply can
    # follow other lines within one budget: they are answered first, alone.
    answerer, reader = answering(b"n=2 min=5 max=5\n" + STREAMED)
    assert answered(answerer, reader, 1 << 20) == (b"5 5\n", 2)
    piece, _ = answered(answerer, reader, 1 << 20)
    assert len(piece) == 8193 * 32 and piece.endswith(b"\n")


def test_aParameterLineCostsFourBytesOfReplyPerByteAtLeast() -> None:
    # A kilobyte of parameters takes as long to parse as 4 KB of numbers to
    # make, valid or not: a turn holds no more of them than that.
    junk = b"x=" + b"y" * 1020 + b"\n"
    answerer, reader = answering(junk * 100)
    replies, _ = answered(answerer, reader, 65536)
    assert replies.count(b"\n") == 65536 // (4 * 1022)
    assert answerer.lastCost == 16 * 4 * 1022
    # Short lines cost PARSE_COST.
    answerer, reader = answering(b"n=1 max=7\n" * 1000)
    replies, _ = answered(answerer, reader, 65536)
    assert replies.count(b"\n") == 65536 // PARSE_COST
