# -*- test-case-name: tests.web.test_draws -*-
"""
Signed draws after the fact: C{/v1/draws}, the audit store's records, and
C{/v1/key}, the key they are signed with.
"""

from __future__ import annotations

import sqlite3

from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import Request

from randnum.query import INT64_MAX, QueryError, parseInteger
from randnum.server import RandnumServer
from randnum.signing.store import PAGE_RECORDS
from randnum.web.answering import respondWhenReady
from randnum.web.arguments import queryArguments
from randnum.web.responses import JSONResource, jsonBody, jsonError, respond

log = Logger(namespace="randnum")

#: What SQLite says of a database, or a record, that cannot be read.
_DAMAGE = ("malformed", "not a database", "decode", "corrupt")


def storeDamaged(failure: Failure) -> bool:
    """
    Whether C{failure}, of a read from the audit store, says that what is
    on disk cannot be read (a damaged database: a 500, and a log line),
    rather than that the store is busy, locked or full for now (a 503).
    """
    error = failure.value
    return isinstance(error, sqlite3.DatabaseError) and any(
        sign in str(error) for sign in _DAMAGE
    )


def parseSerial(name: str, text: str) -> int:
    """
    A serial (or C{after}) in a path or a query: a decimal integer that
    SQLite can hold (at most L{INT64_MAX}).

    @param name: what it is called, in the error.
    @raise QueryError: otherwise.
    """
    value = parseInteger(name, text)
    if value > INT64_MAX:
        raise QueryError(f"{name} must be at most {INT64_MAX}", "out_of_range")
    return value


def _signingDisabled(request: Request) -> bytes:
    return jsonError(request, 404, "signing is not enabled")


class KeyResource(JSONResource):
    """
    C{/v1/key}: the key signed draws are signed with, C{{"key": id,
    "publicKey": PEM}}.
    """

    isLeaf = True

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server

    def render_GET(self, request: Request) -> bytes:
        """
        The key id and the public key, or 404 when signing is not enabled.
        """
        audit = self.randnum.audit
        if audit is None:
            return _signingDisabled(request)
        signer = audit.signer
        answer: dict[str, object] = {"key": signer.keyId, "publicKey": signer.publicPem}
        # The chain's head: its last committed record, so that a reader of
        # every record can tell whether the newest are missing.
        answer["head"] = {"serial": audit.committed}
        return respond(request, 200, jsonBody(answer))


class DrawsResource(JSONResource):
    """
    The audit store's records, as they were sent:

        GET /v1/draws/SERIAL            one record (JSON)
        GET /v1/draws?after=S&limit=L   records after serial S, one per line
                                        (at most L, and about 256 KiB)
    """

    isLeaf = True
    takesPath = True

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server

    def render_GET(self, request: Request) -> bytes | int:
        """
        One record, or a page of them.
        """
        audit = self.randnum.audit
        if audit is None:
            return _signingDisabled(request)
        path = request.postpath or []

        def unavailable(failure: Failure) -> bytes:
            if storeDamaged(failure):
                # Not busy, locked or full: what is on disk cannot be read.
                log.failure(
                    "randnum's audit store {path} is damaged: a record cannot be read",
                    failure,
                    path=getattr(audit, "path", "?"),
                )
                return jsonError(request, 500, "audit store damaged")
            return jsonError(request, 503, "audit store unavailable")

        try:
            if not path:
                after, limit = self._page(queryArguments(request))
                if request.method == b"HEAD":
                    # The headers only: no page is read to be thrown away.
                    return respond(request, 200, b"", b"application/x-ndjson")
                return respondWhenReady(
                    request,
                    audit.page(after, limit),
                    lambda records: respond(
                        request,
                        200,
                        b"".join(record + b"\n" for record in records),
                        b"application/x-ndjson",
                    ),
                    unavailable,
                )
            if len(path) == 1 and path[0]:
                serial = parseSerial("serial", path[0].decode("latin-1"))
                return respondWhenReady(
                    request,
                    audit.record(serial),
                    lambda record: (
                        jsonError(request, 404, f"no record with serial {serial}")
                        if record is None
                        else respond(request, 200, record + b"\n")
                    ),
                    unavailable,
                )
        except QueryError as error:
            return jsonError(request, 400, error.reason)
        return jsonError(request, 404, "not found")

    render_HEAD = render_GET  # type: ignore[assignment]

    def _page(self, args: dict[bytes, list[bytes]]) -> tuple[int, int]:
        """
        C{after} (default 0) and C{limit} (default and most L{PAGE_RECORDS}).

        @raise QueryError: for anything else, or a value out of range.
        """
        values = {"after": 0, "limit": PAGE_RECORDS}
        for name, given in args.items():
            text = name.decode("latin-1")
            if text not in values:
                raise QueryError(
                    f"unknown parameter {text!r} (after and limit are)",
                    "unknown_parameter",
                )
            if len(given) > 1:
                raise QueryError(f"repeated parameter {text}", "repeated_parameter")
            values[text] = parseSerial(text, given[0].decode("latin-1"))
        if values["after"] < 0:
            raise QueryError("after must be 0 or more", "out_of_range")
        if not 1 <= values["limit"] <= PAGE_RECORDS:
            raise QueryError(
                f"limit must be between 1 and {PAGE_RECORDS}", "out_of_range"
            )
        return values["after"], values["limit"]
