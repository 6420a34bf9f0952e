# -*- test-case-name: tests.workers.test_pool -*-
"""
The main process's audit store, as a worker sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from randnum.generation.source import NumberSource
from randnum.generation.values import UUID7Clock
from randnum.query import Query
from randnum.signing.store import Pool, readDrawing, readPage, readRecord
from randnum.workers import messages as cluster

#: Seconds a signed draw may wait for the main process to sign and store
#: it (a stalled disk, a stopped process): then it is refused, as when the
#: store is unavailable, rather than held for ever.
SIGN_TIMEOUT = 10.0


@dataclass(frozen=True)
class KeyInfo:
    """
    The public half of the main process's signing key.
    """

    keyId: str
    publicPem: str


class SharedAuditStore:
    """
    The main process's audit store, as a worker sees it: draws are signed
    and stored by the main process (one chain, one writer), and records are
    read back from the database directly, in a thread of this worker (the
    write-ahead log lets readers read while the main process commits).
    """

    def __init__(
        self,
        path: str,
        signer: KeyInfo,
        readPool: Pool,
        link: cluster.Conversation,
        clock: IReactorTime,
    ) -> None:
        self.path = path
        self.signer = signer
        self.readPool = readPool
        self.link = link
        self.clock = clock
        self.full = False
        self.committed = 0

    def draw(
        self,
        query: Query,
        source: NumberSource,
        uuid7: UUID7Clock,
        drawing: bytes | None = None,
    ) -> Deferred[bytes]:
        """
        Ask the main process to draw, sign and store C{query}'s record
        (with a public drawing's entrant list, if C{drawing}).  Its values
        come from the main process's source, like its serial.
        """
        arguments: dict[str, Any] = {"query": cluster.queryText(query)}
        if drawing is not None:
            arguments["drawing"] = drawing
        asked = self.link.call(cluster.SignDraw, **arguments).addTimeout(
            SIGN_TIMEOUT, self.clock
        )
        return asked.addCallback(lambda answer: answer["record"])

    def issueRecord(
        self, request: dict[str, Any], values: list[Any]
    ) -> Deferred[bytes]:
        """
        Ask the main process to sign and store C{values}, drawn here, in
        the next record, for C{request}.
        """
        asked = self.link.call(
            cluster.SignRecord,
            request=json.dumps(request),
            values=json.dumps(values).encode("utf-8"),
        ).addTimeout(SIGN_TIMEOUT, self.clock)
        return asked.addCallback(lambda answer: answer["record"])

    def endorse(self, record: bytes) -> Deferred[str]:
        """
        Ask the main process, which holds the key, to sign the RANDOM.ORG
        object of a record it signed (L{randnum.jsonrpc.signatures}).
        """
        asked = self.link.call(cluster.EndorseRecord, record=record).addTimeout(
            SIGN_TIMEOUT, self.clock
        )
        return asked.addCallback(lambda answer: answer["signature"])

    def record(self, serial: int) -> Deferred[bytes | None]:
        """
        The stored record C{serial}, or L{None}.
        """
        return readRecord(self.readPool, serial)

    def page(self, after: int, limit: int) -> Deferred[list[bytes]]:
        """
        Stored records after C{after} (L{readPage}).
        """
        return readPage(self.readPool, after, limit)

    def drawing(self, serial: int) -> Deferred[bytes | None]:
        """
        The public drawing stored with record C{serial}, or L{None}
        (L{readDrawing}).
        """
        return readDrawing(self.readPool, serial)
