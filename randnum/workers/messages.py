# -*- test-case-name: tests.workers.test_pool -*-
"""
What the main process and its workers say to each other (C{--workers}).

They speak AMP (L{twisted.protocols.amp}) over each worker's standard input
and output.  A worker asks the main process for the whole server's counts
(L{ServerCounts}, for C{/metrics}) and for signed draws (L{SignDraw}: the
main process alone holds the audit store, so there is one chain); the main
process asks each worker for its own counts (L{WorkerCounts}) and tells
them when the audit store fills or has room again (L{AuditState}).  A
worker's log events travel as Twisted's JSON log events (L{LogEvent}).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.protocol import connectionDone
from twisted.protocols import amp
from twisted.python.failure import Failure

from randnum.config import AsJSON
from randnum.query import Query
from randnum.stats import FACES, FaceStats

T = TypeVar("T")

#: The AMP limit on one value's length.
_VALUE_LIMIT = 0xFFFF


class LongBytes(amp.Argument):
    """
    Bytes of any length: AMP limits a value to 64 KiB, and a signed
    record may be longer, so it is sent in pieces under the names
    C{NAME}, C{NAME.1}, C{NAME.2}...
    """

    def toBox(
        self,
        name: bytes,
        strings: dict[bytes, bytes],
        objects: dict[str, Any],
        proto: amp.AMP,
    ) -> None:
        """
        Put the value in C{strings}, in as many pieces as it needs.
        """
        value: bytes | None = objects.get(name.decode("ascii"))
        if value is None and self.optional:
            return
        assert value is not None
        pieces = [
            value[start : start + _VALUE_LIMIT]
            for start in range(0, len(value), _VALUE_LIMIT)
        ] or [b""]
        strings[name] = pieces[0]
        for number, piece in enumerate(pieces[1:], 1):
            strings[name + b".%d" % (number,)] = piece

    def fromBox(
        self,
        name: bytes,
        strings: dict[bytes, bytes],
        objects: dict[str, Any],
        proto: amp.AMP,
    ) -> None:
        """
        Join the pieces back together.
        """
        if name not in strings and self.optional:
            return
        pieces = [strings[name]]
        number = 1
        while (key := name + b".%d" % (number,)) in strings:
            pieces.append(strings[key])
            number += 1
        objects[name.decode("ascii")] = b"".join(pieces)


class Conversation(amp.AMP):
    """
    AMP between two processes of one server, over a child's pipes: such a
    transport has no addresses, and the connection is not worth a log line
    (L{amp.AMP} logs both ends' addresses when it starts and ends).
    """

    def makeConnection(self, transport: Any) -> None:
        """
        Start the conversation.
        """
        amp.BinaryBoxProtocol.makeConnection(self, transport)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        End the conversation.
        """
        amp.BinaryBoxProtocol.connectionLost(self, reason)
        self.transport = None

    def call(self, command: type[amp.Command], **arguments: Any) -> Deferred[Any]:
        """
        Send C{command} with C{arguments}: L{amp.AMP.callRemote}, typed.
        """
        sent: Deferred[Any] = self.callRemote(command, **arguments)  # type: ignore[no-untyped-call]
        return sent


class Shared(Generic[T]):
    """
    An asynchronous question asked once for everyone who asks it while it
    is being answered: a flood of scrapes costs one round of questions to
    the workers at a time, not one each.
    """

    def __init__(self, ask: Callable[[], Deferred[T]]) -> None:
        self.ask = ask
        self._waiting: list[Deferred[T]] = []

    def __call__(self) -> Deferred[T]:
        """
        The answer to the question under way, or to a new one.
        """
        waiter: Deferred[T] = Deferred()
        self._waiting.append(waiter)
        if len(self._waiting) == 1:
            self.ask().addBoth(self._answered)
        return waiter

    def _answered(self, result: T | Failure) -> None:
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if isinstance(result, Failure):
                waiter.errback(result)
            else:
                waiter.callback(result)


class Counts(amp.Argument):
    """
    Each face's counts, as rows of C{face}, C{name} (an attribute of the
    face's statistics, or C{COUNTER/KEY} for a counter such as
    C{errorKinds}) and C{value}
    (L{countRows}), sent as one JSON text: a scrape passes them through
    AMP several times, and L{amp.AmpList} takes half a millisecond to read
    thirty rows back.
    """

    def toString(self, inObject: list[dict[str, Any]]) -> bytes:
        """
        The rows as JSON.
        """
        return json.dumps(inObject, separators=(",", ":")).encode("utf-8")

    def fromString(self, inString: bytes) -> list[dict[str, Any]]:
        """
        The rows again.
        """
        rows = json.loads(inString)
        if not isinstance(rows, list):
            raise ValueError("counts are a list of rows")
        return rows


#: Each face's counts.
_COUNTS = Counts()  # type: ignore[no-untyped-call]


#: The arguments or the response of an AMP command.
_Schema = list[tuple[bytes, amp.Argument]]


class StoreUnavailable(Exception):
    """
    The audit store could not commit the record (it was not sent).
    """


class StoreFull(Exception):
    """
    The audit store has reached C{--audit-max-size}.
    """


class SigningDisabled(Exception):
    """
    The server has no signing key.
    """


#: The main process's refusals of a record to sign, as AMP errors.
SIGNING_ERRORS: dict[type[Exception], bytes] = {
    StoreUnavailable: b"UNAVAILABLE",
    StoreFull: b"FULL",
    SigningDisabled: b"DISABLED",
}


class SignDraw(amp.Command):
    """
    Worker to main: draw, sign and store the record for C{query} (its
    fields as JSON), and with it a public drawing's entrant list if given
    (C{drawing}); answered with the record once it is stored.
    """

    arguments: ClassVar[_Schema] = [
        (b"query", amp.Unicode()),
        (b"drawing", LongBytes(optional=True)),  # type: ignore[no-untyped-call]
    ]
    response: ClassVar[_Schema] = [
        (b"record", LongBytes())  # type: ignore[no-untyped-call]
    ]
    errors: ClassVar[dict[type[Exception], bytes]] = SIGNING_ERRORS


class SignRecord(amp.Command):
    """
    Worker to main: sign and store a record of values the worker drew (a
    RANDOM.ORG signed call's), for C{request} (JSON); answered with the
    record once it is stored.
    """

    arguments: ClassVar[_Schema] = [
        (b"request", amp.Unicode()),
        (b"values", LongBytes()),  # type: ignore[no-untyped-call]
    ]
    response: ClassVar[_Schema] = [
        (b"record", LongBytes())  # type: ignore[no-untyped-call]
    ]
    errors: ClassVar[dict[type[Exception], bytes]] = SIGNING_ERRORS


class EndorseRecord(amp.Command):
    """
    Worker to main: sign the RANDOM.ORG C{random} object of a stored
    record (L{randnum.jsonrpc.signatures}); answered with the signature.
    The main process signs only a RANDOM.ORG record its own key signed.
    """

    arguments: ClassVar[_Schema] = [
        (b"record", LongBytes())  # type: ignore[no-untyped-call]
    ]
    response: ClassVar[_Schema] = [(b"signature", amp.Unicode())]
    errors: ClassVar[dict[type[Exception], bytes]] = {
        SigningDisabled: b"DISABLED",
    }


class WorkerCounts(amp.Command):
    """
    Main to worker: this worker's counts since it started.
    """

    arguments: ClassVar[_Schema] = []
    response: ClassVar[_Schema] = [(b"counts", _COUNTS)]


class ServerCounts(amp.Command):
    """
    Worker to main: the whole server's counts (every worker's, and those
    of workers that have exited), and the audit store's figures.
    """

    arguments: ClassVar[_Schema] = []
    response: ClassVar[_Schema] = [
        (b"counts", _COUNTS),
        (b"workers", amp.ListOf(amp.Integer())),
        (b"restarts", amp.Integer()),
        (b"audit", amp.Unicode(optional=True)),
    ]


class AuditState(amp.Command):
    """
    Main to worker: whether the audit store is full (signed draws are
    refused) and its last committed serial.
    """

    arguments: ClassVar[_Schema] = [
        (b"full", amp.Boolean()),
        (b"committed", amp.Integer()),
    ]
    response: ClassVar[_Schema] = []


class Serving(amp.Command):
    """
    Worker to main: this worker has adopted its ports and serves them.
    """

    arguments: ClassVar[_Schema] = []
    requiresAnswer = False


class Heartbeat(amp.Command):
    """
    Main to worker, every L{randnum.workers.pool.HEARTBEAT} seconds: are you
    there?  A worker whose reactor is stuck (or that is stopped) cannot
    answer.
    """

    arguments: ClassVar[_Schema] = []
    response: ClassVar[_Schema] = []


class Cover(amp.Command):
    """
    Main to worker: accept (or stop accepting) from the sockets of worker
    C{worker}, which is not serving them (it is being restarted).
    """

    arguments: ClassVar[_Schema] = [
        (b"worker", amp.Integer()),
        (b"serve", amp.Boolean()),
    ]
    response: ClassVar[_Schema] = []


class LogEvent(amp.Command):
    """
    Worker to main: one log event, as L{twisted.logger.eventAsJSON} text.
    """

    arguments: ClassVar[_Schema] = [(b"event", amp.Unicode())]
    requiresAnswer = False


def queryText(query: Query) -> str:
    """
    A validated query's fields, as JSON for L{SignDraw}.
    """
    return json.dumps(dataclasses.asdict(query))


def queryFrom(text: str) -> Query:
    """
    The query L{queryText} describes, validated again.

    @raise randnum.query.QueryError: if it is not valid.
    @raise ValueError: if it is not a query's fields at all.
    """
    fields = json.loads(text)
    if not isinstance(fields, dict):
        raise ValueError("not a query")
    try:
        return Query(**fields).checked()
    except TypeError as error:
        raise ValueError(str(error)) from None


def countRows(faces: dict[str, FaceStats]) -> list[dict[str, Any]]:
    """
    Each face's counts, as rows of L{WorkerCounts} and L{ServerCounts}.
    """
    rows: list[dict[str, Any]] = []
    for face, stats in faces.items():
        for item in dataclasses.fields(stats):
            value = getattr(stats, item.name)
            if isinstance(value, Counter):
                rows.extend(
                    {"face": face, "name": f"{item.name}/{kind}", "value": count}
                    for kind, count in sorted(value.items())
                )
            else:
                rows.append({"face": face, "name": item.name, "value": value})
    return rows


def addRows(faces: dict[str, FaceStats], rows: list[dict[str, Any]]) -> None:
    """
    Add counts from L{countRows} to C{faces}, ignoring faces and counts
    that C{faces} does not have (a worker of another version).
    """
    for row in rows:
        stats = faces.get(row["face"])
        if stats is None:
            continue
        name: str = row["name"]
        counter, slash, key = name.partition("/")
        if slash and counter in _COUNTER_FIELDS[type(stats)]:
            getattr(stats, counter)[key] += row["value"]
        elif name in _INTEGER_FIELDS[type(stats)]:
            setattr(stats, name, getattr(stats, name) + row["value"])


#: The counters (by key) of each face's statistics class.
_COUNTER_FIELDS = {
    kind: frozenset(
        f.name
        for f in dataclasses.fields(kind)
        if isinstance(getattr(kind(), f.name), Counter)
    )
    for kind in FACES.values()
}
#: The integer counts of each face's statistics class.
_INTEGER_FIELDS = {
    kind: frozenset(f.name for f in dataclasses.fields(kind)) - _COUNTER_FIELDS[kind]
    for kind in FACES.values()
}


@dataclass(frozen=True)
class SharedSocket:
    """
    A listening socket a worker is given (as a descriptor), and how to
    serve it.

    @ivar face: C{"tcp"} or C{"http"}.
    @ivar family: its address family.
    @ivar tls: the C{ssl:} endpoint description, for a TLS port.
    @ivar shared: whether every worker accepts from it (a UNIX socket, one
        from systemd), rather than this worker alone (its own
        C{SO_REUSEPORT} socket).
    @ivar description: the option that asked for it, for messages.
    @ivar fd: its descriptor in the worker.
    @ivar others: the descriptors of the other workers' sockets for the
        same port, by worker number: served only while that worker is down.
    """

    face: str
    family: int
    tls: str | None
    shared: bool
    description: str
    fd: int
    others: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Assignment(AsJSON):
    """
    What one worker is told besides the server's L{randnum.config.Config}:
    its number, its sockets, and the audit store's public state.
    """

    number: int
    sockets: tuple[SharedSocket, ...] = ()
    #: The main process's signing key, public half (when draws are signed).
    keyId: str | None = None
    publicPem: str | None = None
    #: The audit store's state when the worker starts.
    full: bool = False
    committed: int = 0


#: The figures of an API key (L{randnum.jsonrpc.allowances.Usage}) in an
#: answer of L{TakeAllowance} or L{KeyUsage}; absent when C{refused} is.
_USAGE: _Schema = [
    (b"status", amp.Unicode(optional=True)),
    (b"creationTime", amp.Float(optional=True)),
    (b"requestsLeft", amp.Integer(optional=True)),
    (b"bitsLeft", amp.Integer(optional=True)),
    (b"totalRequests", amp.Integer(optional=True)),
    (b"totalBits", amp.Integer(optional=True)),
    # RANDOM.ORG's error code when the key or the call is refused (400 to
    # 403), and what is left for 402 and 403.
    (b"refused", amp.Integer(optional=True)),
    (b"left", amp.Integer(optional=True)),
]


class TakeAllowance(amp.Command):
    """
    Worker to main: charge C{apiKey} one request and C{bits} bits of
    today's allowances (the main process alone counts them, so every
    worker shares one count); answered with the key's figures after it,
    or with the code of RANDOM.ORG's error that refuses it.
    """

    arguments: ClassVar[_Schema] = [
        (b"apiKey", amp.Unicode()),
        (b"bits", amp.Integer()),
    ]
    response: ClassVar[_Schema] = _USAGE


class KeyUsage(amp.Command):
    """
    Worker to main: C{apiKey}'s figures (C{getUsage}), as for
    L{TakeAllowance}, charging nothing.
    """

    arguments: ClassVar[_Schema] = [(b"apiKey", amp.Unicode())]
    response: ClassVar[_Schema] = _USAGE
