"""
Helpers for the signed-draw tests: an audit store on a real SQLite
database whose commits happen when the test says so.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from randnum.generation.source import seededSource
from randnum.query import Query
from randnum.server import RandnumServer
from randnum.signing.keys import Signer
from randnum.signing.store import AuditStore, openTail


class ManualPool:
    """
    C{adbapi.ConnectionPool.runInteraction} on a real SQLite connection,
    except that each interaction runs (and commits) only when L{runNext}
    is called: the test plays the database thread.

    @ivar breakNext: how many of the next interactions fail, as a full
        disk would, without touching the database.
    """

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path)
        self.connection.execute("PRAGMA synchronous=FULL")
        self.pending: deque[tuple[Callable[..., Any], tuple[Any, ...], Deferred[Any]]]
        self.pending = deque()
        self.breakNext = 0
        self.sizes: list[int] = []

    def runInteraction(
        self, interaction: Callable[..., Any], *args: Any
    ) -> Deferred[Any]:
        """
        Queue an interaction.
        """
        done: Deferred[Any] = Deferred()
        self.pending.append((interaction, args, done))
        return done

    def runNext(self) -> None:
        """
        Run the oldest queued interaction, and commit it (or roll it back
        if it fails).
        """
        interaction, args, done = self.pending.popleft()
        if args and isinstance(args[0], list):
            self.sizes.append(len(args[0]))
        if self.breakNext:
            self.breakNext -= 1
            done.errback(sqlite3.OperationalError("database or disk is full"))
            return
        cursor = self.connection.cursor()
        try:
            result = interaction(cursor, *args)
            self.connection.commit()
        except sqlite3.Error as error:
            self.connection.rollback()
            done.errback(error)
            return
        done.callback(result)

    def runAll(self) -> None:
        """
        Run every interaction queued, including those queued meanwhile.
        """
        while self.pending:
            self.runNext()


def newSigner() -> Signer:
    """
    A signer with a fresh key.
    """
    return Signer(Ed25519PrivateKey.generate())


def makeStore(
    tmp: Path, clock: Clock, signer: Signer | None = None
) -> tuple[AuditStore, ManualPool]:
    """
    An audit store on C{tmp}/audit.db, committed by hand.
    """
    path = str(tmp / "audit.db")
    signer = signer or newSigner()
    tail = openTail(path, signer)
    pool = ManualPool(path)
    return AuditStore(path, signer, pool, clock, tail), pool


def signingServer(tmp: Path, seed: int = 1) -> tuple[RandnumServer, ManualPool, Clock]:
    """
    A server (seeded source, its own clock) that signs into a hand-committed
    audit store.
    """
    clock = Clock()
    clock.advance(1_764_000_000)
    store, pool = makeStore(tmp, clock)
    server = RandnumServer(source=seededSource(seed), clock=clock, audit=store)
    return server, pool, clock


def drawn(store: AuditStore, count: int, query: Query | None = None) -> list[bytes]:
    """
    Issue C{count} records (values 1, 2, ...) and commit them; their lines.
    """
    query = query or Query(signed=True)
    lines: list[bytes] = []
    for value in range(count):
        store.issue(query, [value + 1], None).addCallback(lines.append)
    assert isinstance(store.clock, Clock) and isinstance(store.pool, ManualPool)
    store.clock.advance(0)
    store.pool.runAll()
    assert len(lines) == count
    return lines
