# -*- test-case-name: tests.test_stats,tests.test_limits,tests.workers.test_pool -*-
"""
What the server counts: each face's statistics (L{FaceStats}), which
refusals get a log line (L{RejectionLog}), and the whole server's
L{Totals}, which metrics and summaries report.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar


class Face(str, enum.Enum):
    """
    A way of speaking to randnum: its name in metrics, summaries and the
    messages between processes.
    """

    TCP = "tcp"
    HTTP = "http"


@dataclass(slots=True)
class FaceStats:
    """
    What one face's connections did since the server started.  Plain
    integer attributes, because every request updates them.
    """

    #: The running totals, in the order summaries report them.
    COUNTS: ClassVar[tuple[str, ...]] = (
        "connections",
        "requests",
        "numbers",
        "errors",
        "refused",
        "idleTimeouts",
    )
    #: The rejections (connections refused or closed by a limit) this face
    #: counts, by attribute, with their metric label.
    REJECTIONS: ClassVar[dict[str, str]] = {
        "refused": "busy",
        "idleTimeouts": "idle_timeout",
    }

    #: Connections open now.
    open: int = 0
    #: Connections admitted.
    connections: int = 0
    #: Requests answered (including with an error).
    requests: int = 0
    #: Numbers sent (handed to the kernel, or to the face's transport).
    numbers: int = 0
    #: Requests refused as invalid.
    errors: int = 0
    #: Connections refused as busy.
    refused: int = 0
    #: Connections closed for being idle, for an unfinished request, or for
    #: not reading their replies.
    idleTimeouts: int = 0
    #: Errors by L{randnum.query.QueryError.kind}.
    errorKinds: Counter[str] = field(default_factory=Counter)

    def countError(self, kind: str) -> None:
        """
        Count a request refused as invalid, of C{kind}
        (L{randnum.query.QueryError.kind}).
        """
        self.errors += 1
        self.errorKinds[kind] += 1

    def count(self, kind: str) -> None:
        """
        Add one to the total named C{kind}.
        """
        setattr(self, kind, getattr(self, kind) + 1)

    def totals(self) -> dict[str, int]:
        """
        The running totals, by name.
        """
        return {kind: getattr(self, kind) for kind in self.COUNTS}


@dataclass(slots=True)
class TcpStats(FaceStats):
    """
    The TCP protocol's counts.
    """

    COUNTS: ClassVar[tuple[str, ...]] = (*FaceStats.COUNTS, "linesTooLong")
    REJECTIONS: ClassVar[dict[str, str]] = {
        **FaceStats.REJECTIONS,
        "linesTooLong": "line_too_long",
    }

    #: Of the requests, those in raw framing (a chunk, not a line).
    rawRequests: int = 0
    #: Connections closed with C{ERR line too long}.
    linesTooLong: int = 0


@dataclass(slots=True)
class HttpStats(FaceStats):
    """
    The HTTP face's counts.
    """

    COUNTS: ClassVar[tuple[str, ...]] = (*FaceStats.COUNTS, "bodiesRefused")
    REJECTIONS: ClassVar[dict[str, str]] = {
        **FaceStats.REJECTIONS,
        "bodiesRefused": "body_refused",
    }

    #: Of the requests, those answered as C{text/plain}, and those for the
    #: raw byte stream (the rest as JSON).
    textRequests: int = 0
    streamRequests: int = 0
    #: Raw random bytes sent on C{/v1/bytes}.
    streamedBytes: int = 0
    #: Requests refused (413 or 405) because they carried a body.
    bodiesRefused: int = 0
    #: JSON-RPC calls (L{randnum.jsonrpc}), by C{"METHOD OUTCOME"}.
    jsonRpcCalls: Counter[str] = field(default_factory=Counter)


class RejectionLog:
    """
    Decide which rejections get a log line: the first of each kind in each
    window of C{window} seconds; the rest are only counted (the summary and
    the metrics report them), so a flood of bad clients cannot flood the log.

    The window is timed on its own, whether or not summaries are logged.
    """

    def __init__(self, seconds: Callable[[], float], window: float = 60.0) -> None:
        """
        @param seconds: the current time, like L{IReactorTime.seconds}.
        @param window: seconds between two log lines of one kind.
        """
        self.seconds = seconds
        self.window = window
        self._lastLogged: dict[str, float] = {}

    def shouldLog(self, kind: str) -> bool:
        """
        Whether a rejection of C{kind} happening now should be logged.
        """
        now = self.seconds()
        last = self._lastLogged.get(kind)
        if last is not None and now - last < self.window:
            return False
        self._lastLogged[kind] = now
        return True


#: Each face's statistics class.
FACES: dict[Face, type[FaceStats]] = {Face.TCP: TcpStats, Face.HTTP: HttpStats}


def emptyFaces() -> dict[str, FaceStats]:
    """
    Zero counts for every face, by the face's name.
    """
    return {face.value: kind() for face, kind in FACES.items()}


@dataclass
class AuditFigures:
    """
    The audit store's figures, as its metrics report them.
    """

    records: int = 0
    bytes: int = 0
    full: bool = False
    commits: int = 0
    failures: int = 0

    def toText(self) -> str:
        """
        These figures, as JSON for L{ServerCounts}.
        """
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def fromText(cls, text: str) -> AuditFigures:
        """
        The figures L{toText} wrote.
        """
        fields = json.loads(text)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in fields.items() if k in names})


@dataclass
class Totals:
    """
    What the whole server has counted: every face's counts, the audit
    store's figures, and, with workers, how many connections each has open
    and how many times one was restarted.
    """

    faces: dict[str, FaceStats]
    audit: AuditFigures | None = None
    #: Open connections of each worker, by worker number (from 1).
    workers: list[int] = field(default_factory=list)
    restarts: int = 0
