# Twisted's test doubles (StringTransport) are not annotated.
# mypy: disallow-untyped-calls=False
"""
Signed draws on the TCP face: asked for like any request, answered with a
record once it is stored, in order with everything else on the connection.
"""

from __future__ import annotations

import itertools
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loopback import Loopback, TurnClock
from signers import ManualPool, makeStore, newSigner, signingServer
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from randnum.client.lines import valuesLine
from randnum.generation.source import seededSource
from randnum.limits import WORK_BUDGET
from randnum.query import MAX_DATA, Query, QueryError, parseLine
from randnum.server import RandnumServer
from randnum.signing.records import verifyDraw
from randnum.signing.store import AuditStore, openTail
from randnum.tcp.answering import PARSE_COST, SIGN_COST, SIGNED_WEIGHT
from randnum.tcp.protocol import HELD_TURNS, Framing, RandnumFactory, RandnumProtocol

PEER = IPv4Address("TCP", "127.0.0.1", 40000)


def connect(server: RandnumServer) -> tuple[RandnumProtocol, StringTransport]:
    protocol = RandnumFactory(server=server).buildProtocol(PEER)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


def replies(transport: StringTransport) -> list[bytes]:
    value: bytes = transport.value()
    return value.splitlines()


# The request.


def test_signedAndDataAreParameters() -> None:
    query = parseLine(b"n=3 max=6 signed=true data=raffle%2012%20%E2%82%AC", Query())
    assert query.signed and query.data == "raffle 12 \u20ac"
    assert query == Query(n=3, max=6, signed=True, data="raffle 12 \u20ac")
    assert not parseLine(b"n=3 signed=false", Query()).signed
    # The largest signed reply: 10,000 numbers of five digits.
    assert parseLine(b"n=10000 max=99999 signed=true", Query()).signed


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"signed=yes", "signed must be true or false"),
        (b"data=x", "data needs signed=true"),
        (b"signed=false data=x", "data needs signed=true"),
        (b"signed=true data=%FF", "data must be UTF-8 text"),
        (b"signed=true data=a%09b", "data must be printable characters"),
        (b"signed=true data=a%0Ab", "data must be printable characters"),
        (b"signed=true data=" + b"x" * (MAX_DATA + 1), "at most 256 characters"),
        (b"signed=true type=bytes length=65536 n=10", "too large for a signed draw"),
        (b"signed=true n=10000 min=-10000 max=10000", "too large for a signed draw"),
        (b"signed=true data=", "empty value for data"),
        (b"signed=true data=raffle 12", "a signed request must be only key=value"),
        (b"hello signed=true", "a signed request must be only key=value"),
        (b"signed =true", "no spaces around =: signed=true"),
        (b"Signed =yes", "a signed request must be only key=value"),
    ],
)
def test_badSignedRequestsAreRefused(line: bytes, reason: str) -> None:
    with pytest.raises(QueryError, match=reason):
        parseLine(line, Query())


@given(st.text(min_size=1, max_size=MAX_DATA).filter(str.isprintable))
def test_theClientsDataArrivesAsWritten(data: str) -> None:
    line = valuesLine("int", 1, signed=True, data=data).rstrip(b"\n")
    assert parseLine(line, Query()).data == data


def test_dataTakesFewBytesOfTheLine() -> None:
    # Text in any script is sent as UTF-8; only what would end the token
    # (or be taken for an escape) is percent-encoded.
    assert valuesLine("int", 1, signed=True, data="é 100%") == (
        "type=int n=1 signed=true data=é%20100%25\n".encode()
    )
    with pytest.raises(ValueError, match="data must not be empty"):
        valuesLine("int", 1, signed=True, data="")


def test_otherFreeTextIsStillARequestForTheDefaults() -> None:
    assert parseLine(b"hello unsigned=1 world", Query()) == Query()


# Answers.


def test_withoutAKeySignedRequestsAreRefused() -> None:
    protocol, transport = connect(RandnumServer(clock=Clock()))
    protocol.dataReceived(b"signed=true\n5\n")
    assert replies(transport)[0] == b"ERR signing is not enabled"
    assert len(replies(transport)) == 2


def test_aSignedRequestIsAnsweredWithItsStoredRecord(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"n=3 min=1 max=6 signed=true data=raffle%2012\n")
    clock.advance(0)
    assert transport.value() == b""  # not before it is stored
    pool.runAll()
    (line,) = replies(transport)
    record = json.loads(line)
    assert record["request"] == {
        "type": "int",
        "n": 3,
        "min": 1,
        "max": 6,
        "unique": False,
    }
    assert record["data"] == "raffle 12"
    assert len(record["values"]) == 3 and all(1 <= v <= 6 for v in record["values"])
    assert isinstance(server.audit, AuditStore)
    verifyDraw(record, server.audit.signer.publicKey)
    assert server.tcp.numbers == 3


def test_everyTypeCanBeSigned(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    lines = [
        b"type=decimal places=3 n=2 signed=true",
        b"type=gaussian signed=true",
        b'type=string length=4 chars=:"\\ n=3 signed=true',
        b"type=uuid version=7 signed=true",
        b"type=bytes length=4 format=base64 signed=true",
        b"min=0 max=18446744073 n=2 signed=true",
        b"min=0 max=9223372036854775807 signed=true",
    ]
    protocol.dataReceived(b"\n".join(lines) + b"\n")
    clock.advance(0)
    pool.runAll()
    records = [json.loads(line) for line in replies(transport)]
    assert [r["request"]["type"] for r in records] == [
        "decimal",
        "gaussian",
        "string",
        "uuid",
        "bytes",
        "int",
        "int",
    ]
    assert all(isinstance(v, str) for r in records[:5] for v in r["values"])
    assert all(isinstance(v, int) for v in records[5]["values"])
    assert isinstance(records[6]["values"][0], str)
    assert records[6]["request"]["max"] == "9223372036854775807"
    assert all(len(v) == 4 for v in records[2]["values"])
    assert isinstance(server.audit, AuditStore)
    for record in records:
        verifyDraw(record, server.audit.signer.publicKey)


def test_repliesKeepTheirOrderAroundSignedOnes(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"min=1 max=1\nsigned=true\nmin=2 max=2\n")
    clock.advance(0)
    # Later requests, in a later chunk: they wait behind the record too.
    protocol.dataReceived(b"min=3 max=3\n")
    protocol.dataReceived(b"4\n")
    clock.advance(0)
    assert transport.value() == b""
    pool.runAll()
    clock.advance(0)
    got = replies(transport)
    assert got[0] == b"1" and got[2] == b"2" and got[3] == b"3"
    assert json.loads(got[1])["serial"] == 1
    assert len(got) == 5 and got[4].isdigit()


def test_requestsBehindARecordBeingStoredAreNotRead(tmp_path: Path) -> None:
    # What waits behind a record is bounded like any other reply: a client
    # pipelining cheap requests behind it is not read while they wait.
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n")
    clock.advance(0)
    assert transport.producerState == "producing"  # reading goes on
    for _ in range(HELD_TURNS + 1):
        # Each chunk's answers are held behind the record.
        protocol.dataReceived(b"\n" * 1000)
        clock.advance(0)
    assert transport.producerState == "paused"
    pool.runAll()
    for _ in range(20):
        clock.advance(0)
    assert len(replies(transport)) == 1 + 1000 * (HELD_TURNS + 1)
    assert transport.producerState == "producing"


def test_aRecordThatCannotBeStoredIsNeverSent(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\nmin=5 max=5\nsigned=true\n")
    clock.advance(0)
    pool.breakNext = 1
    pool.runAll()
    clock.advance(0)
    assert replies(transport) == [
        b"ERR audit store unavailable",
        b"5",
        b"ERR audit store unavailable",
    ]
    assert server.tcp.errorKinds["audit_unavailable"] == 2
    assert (server.tcp.errors, server.tcp.numbers) == (2, 1)
    # The store reads its chain again; signing goes on from there.
    protocol.dataReceived(b"signed=true\n")
    clock.advance(0)
    pool.runAll()
    assert json.loads(replies(transport)[-1])["serial"] == 1
    assert not transport.disconnecting


def test_oneConnectionSignsAtMostAFewTurnsAhead(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n" * 1000)
    for _ in range(20):
        clock.advance(0)
    perTurn = WORK_BUDGET // (SIGNED_WEIGHT * PARSE_COST + SIGN_COST)
    assert isinstance(server.audit, AuditStore)
    assert server.audit.serial == HELD_TURNS * perTurn  # and no more
    assert transport.producerState == "paused"  # reading waits too
    assert transport.value() == b""
    # As the store catches up, everything is answered, in order.
    for _ in range(1000):
        if len(replies(transport)) == 1000:
            break
        pool.runAll()
        clock.advance(0)
    serials = [json.loads(line)["serial"] for line in replies(transport)]
    assert serials == list(range(1, 1001))
    assert max(pool.sizes) > perTurn  # group commit: turns shared a commit


def test_aHalfCloseWaitsForStoredRecords(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n7")
    protocol.readConnectionLost()
    clock.advance(0)
    assert not transport.disconnecting
    pool.runAll()
    clock.advance(0)
    got = replies(transport)
    assert json.loads(got[0])["serial"] == 1 and got[1].isdigit()
    assert transport.disconnecting


def test_aLineTooLongComesAfterTheRecordsBeforeIt(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n" + b"x" * 2000 + b"\n")
    clock.advance(0)
    assert transport.value() == b""
    pool.runAll()
    clock.advance(0)
    got = replies(transport)
    assert json.loads(got[0])["serial"] == 1
    assert got[1] == b"ERR line too long"
    assert transport.disconnecting


def test_recordsWaitingForTheStoreDoNotTimeTheClientOut(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n")
    clock.advance(0)
    idle = server.limits.idleTimeout
    assert idle is not None
    clock.advance(idle + 1)  # a very slow disk
    assert not transport.disconnecting
    pool.runAll()
    assert json.loads(replies(transport)[0])["serial"] == 1


def test_aClosedConnectionsRecordsAreStoredNotSent(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n")
    clock.advance(0)
    protocol.connectionLost(Exception("gone"))  # type: ignore[arg-type]
    pool.runAll()
    assert transport.value() == b""
    assert isinstance(server.audit, AuditStore) and server.audit.committed == 1


def kinds(server: RandnumServer) -> dict[str, Any]:
    return dict(server.tcp.errorKinds)


def test_signingErrorsAreCountedByKind(tmp_path: Path) -> None:
    protocol, transport = connect(server := RandnumServer(clock=Clock()))
    protocol.dataReceived(b"signed=true\nsigned=true data=\xff\n")
    assert kinds(server)["signing_disabled"] == 1
    assert kinds(server)["bad_data"] == 1
    assert replies(transport)[1] == b"ERR data must be UTF-8 text"


def test_recordsLeaveTheMomentTheyAreStored(tmp_path: Path) -> None:
    # On a real socket: a turn's records leave in a write of their own once
    # stored, a few milliseconds after the write before; Nagle's algorithm
    # must not hold them for the client's delayed acknowledgement.  (It is
    # turned off before a connection's second write: it never holds the
    # first back, and most connections make only one.)
    clock = TurnClock()
    store, pool = makeStore(tmp_path, clock)
    server = RandnumServer(clock=clock, audit=store)
    loopback = Loopback(RandnumFactory(framing=Framing.LINE, server=server), clock)
    try:
        client = loopback.connect()
        handle = loopback.protocols[-1].transport.getHandle()  # type: ignore[attr-defined]
        assert not handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        client.send(b"signed=true\n" * 32)
        for _ in range(20):
            loopback.turn()
            pool.runAll()
        lines = client.read().splitlines()
        assert [json.loads(line)["serial"] for line in lines] == list(range(1, 33))
        assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        loopback.close()


def test_everyStoredValueIsCounted(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"n=3 signed=true\nn=2 signed=true\nn=4 min=1 max=1\n")
    clock.advance(0)
    pool.runAll()
    assert len(replies(transport)) == 3
    assert (server.tcp.numbers, server.tcp.requests, server.tcp.errors) == (9, 3, 0)


def test_aFullStoreRefusesSignedDrawsOnly(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    assert isinstance(server.audit, AuditStore)
    server.audit.maxSize = 1
    server.audit.checkSize()
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\nmin=4 max=4\n")
    clock.advance(0)
    assert replies(transport) == [b"ERR audit store full", b"4"]
    assert server.tcp.errorKinds["audit_full"] == 1
    server.audit.maxSize = 1 << 40
    server.audit.checkSize()
    protocol.dataReceived(b"signed=true\n")
    clock.advance(0)
    pool.runAll()
    assert json.loads(replies(transport)[-1])["serial"] == 1


@pytest.mark.parametrize(
    "line", [b"signed=true data=raffle 12", b"hello signed=true", b"Signed =true"]
)
def test_aMalformedSignedRequestIsRefusedInFull(line: bytes) -> None:
    with pytest.raises(QueryError) as raised:
        parseLine(line, Query())
    assert raised.value.reason == (
        "a signed request must be only key=value tokens "
        "(percent-encode spaces in data as %20)"
    )
    assert raised.value.kind == "bad_format"


class AtOncePool(ManualPool):
    """
    A pool whose interactions run, and commit, as soon as they are queued:
    a store that always keeps up.
    """

    def runInteraction(self, interaction: Any, *args: Any) -> Any:
        done = super().runInteraction(interaction, *args)
        self.runAll()
        return done


def test_recordsStoredAtOnceLeaveABudgetAtATime(tmp_path: Path) -> None:
    clock = TurnClock()
    signer = newSigner()
    path = str(tmp_path / "audit.db")
    tail = openTail(path, signer)
    store = AuditStore(path, signer, AtOncePool(path), clock, tail)
    server = RandnumServer(source=seededSource(1), clock=clock, audit=store)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n" * 100)
    perTurn = WORK_BUDGET // (SIGNED_WEIGHT * PARSE_COST + SIGN_COST)
    sent = [len(replies(transport))]
    for _ in range(100):
        clock.turn()
        sent.append(len(replies(transport)))
        if sent[-1] == 100:
            break
    steps = [b - a for a, b in itertools.pairwise(sent)]
    # A turn's worth of records at a time, however fast the store.
    assert sent[0] <= perTurn and max(steps) == perTurn
    assert sent[-1] == 100


def test_refusalsOfAnUnavailableStoreLeaveABudgetAtATime(tmp_path: Path) -> None:
    clock = TurnClock()
    store, pool = makeStore(tmp_path, clock)
    server = RandnumServer(source=seededSource(1), clock=clock, audit=store)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n")
    clock.turn()
    # The commit fails, and so does reading the chain again: the store stays
    # unavailable, and each record now fails at once, within its turn.
    pool.breakNext = 2
    pool.runAll()
    assert replies(transport) == [b"ERR audit store unavailable"]
    protocol.dataReceived(b"signed=true\n" * 100)
    perTurn = WORK_BUDGET // (SIGNED_WEIGHT * PARSE_COST + SIGN_COST)
    sent = [len(replies(transport)) - 1]
    while sent[-1] < 100 and len(sent) < 100:
        clock.turn()
        sent.append(len(replies(transport)) - 1)
    assert sent[0] == perTurn
    assert {b - a for a, b in itertools.pairwise(sent[:-1])} == {perTurn}
    assert set(replies(transport)) == {b"ERR audit store unavailable"}


def test_readingResumesBehindRecordsOnlyWhileTheInputGoesOn(tmp_path: Path) -> None:
    perTurn = WORK_BUDGET // (SIGNED_WEIGHT * PARSE_COST + SIGN_COST)
    # More than a turn's lines: reading pauses while they are answered, and
    # resumes once every line is, while their records are being stored.
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n" * (perTurn + 1))
    clock.advance(0)
    assert transport.value() == b""
    assert transport.producerState == "producing"
    # After a line too long nothing more is read: the refusal ends the
    # connection once the records before it are sent.
    (tmp_path / "again").mkdir()
    server, pool, clock = signingServer(tmp_path / "again")
    protocol, transport = connect(server)
    protocol.dataReceived(b"signed=true\n" * (perTurn + 1) + b"x" * 2000 + b"\n")
    clock.advance(0)
    assert transport.value() == b""
    assert transport.producerState == "paused"
    pool.runAll()
    clock.advance(0)
    assert replies(transport)[-1] == b"ERR line too long"


def test_recordsLeftWaitingForTheClientAreCountedOnceSent(tmp_path: Path) -> None:
    server, pool, clock = signingServer(tmp_path)
    protocol, transport = connect(server)
    protocol.dataReceived(b"n=3 signed=true\n")
    clock.advance(0)
    protocol.dataReceived(b"n=5 signed=true\n")
    clock.advance(0)
    # The client stops reading; then both records are stored, and written.
    protocol.writer.pauseProducing()
    pool.runAll()
    assert (transport.value(), server.tcp.numbers) == (b"", 0)
    protocol.writer.resumeProducing()
    assert len(replies(transport)) == 2
    assert server.tcp.numbers == 3 + 5
