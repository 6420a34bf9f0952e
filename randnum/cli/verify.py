# -*- test-case-name: tests.cli.test_verify -*-
"""
C{randnum verify}: check signed draws' records, from files or a server.
"""

from __future__ import annotations

import sys
from typing import ClassVar

from twisted.python import usage

from randnum.cli.command import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CommandOptions,
    fail,
)
from randnum.client.webface import FetchError, Refused
from randnum.options import positiveNumberOption
from randnum.signing.keys import KeyFileError, loadPublicKey
from randnum.signing.records import (
    ChainReport,
    NotARecord,
    RecordError,
    verifyChains,
)
from randnum.signing.verifying import (
    DamagedStore,
    Server,
    describe,
    keysById,
    readFiles,
    readRecords,
)


class VerifyOptions(CommandOptions):
    """
    Options for C{randnum verify}.
    """

    synopsis = "[--key PUBFILE ... | --url BASE] [--all] [--complete] [FILE ... | -]"
    longdesc = (
        "Verify signed draws: each record's signature and key id, and, for "
        "records of one chain given in order, that each one following the "
        "serial before links to it (prev). Records are JSON lines from the "
        "FILEs, read one after another as one stream (e.g. an archive, then "
        "a later export), or standard input (-, the default), or, with --url "
        "and --all, the server's whole audit store. Keys are --key PEM files "
        "(repeat for several chains) or the server's (--url, GET /v1/key). "
        "Exit status: 0 everything verifies, 1 a record does not (the first bad serial "
        "and why) or the server refused (signing is not enabled), 2 usage "
        "error or FILEs that are not records (or none), 3 the server cannot "
        "be asked."
    )
    optParameters: ClassVar[list[list[str | None]]] = [
        ["url", None, None, "A randnum server's HTTP face: use its key."],
        ["cafile", None, None, "With an https:// --url, trust this CA file."],
        ["timeout", "t", "10", "Seconds to wait for the server."],
    ]
    optFlags: ClassVar[list[list[str | None]]] = [
        ["all", None, "With --url: verify the server's whole chain."],
        [
            "complete",
            None,
            "Serials missing between the records given are an error.",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["keys"] = []

    def opt_key(self, path: str) -> None:
        self["keys"].append(path)

    opt_key.__doc__ = "A public key (PEM, e.g. KEYFILE.pub) to verify with. Repeatable."

    def parseArgs(self, *args: str) -> None:
        """
        The FILEs (C{-}: standard input), read in turn.
        """
        self["files"] = list(args)

    def postOptions(self) -> None:
        """
        One source of keys, one source of records.
        """
        if bool(self["keys"]) == bool(self["url"]):
            raise usage.UsageError("give --key PUBFILE or --url BASE (one of them)")
        if self["all"]:
            if not self["url"]:
                raise usage.UsageError("--all needs --url")
            if self["files"]:
                raise usage.UsageError("--all reads the server's records: no FILE")
        elif not self["files"]:
            self["files"] = ["-"]
        self["timeout"] = positiveNumberOption("timeout", self["timeout"])
        if self["url"]:
            try:
                self["server"] = Server(
                    self["url"], self["timeout"], self["cafile"], asks="/v1/key"
                )
            except ValueError as error:
                raise usage.UsageError(str(error)) from None


def verify(options: VerifyOptions) -> int:
    """
    Verify the records; say what was verified, or the first that was not.
    """
    server: Server | None = options.get("server")
    try:
        if server is not None:
            keys = keysById([server.key()])
        else:
            keys = keysById(loadPublicKey(path) for path in options["keys"])
    except KeyFileError as error:
        fail(EXIT_USAGE, f"--key: {error}")
    except Refused as error:
        fail(EXIT_REFUSED, str(error))
    except FetchError as error:
        fail(EXIT_UNREACHABLE, str(error))
    if options["all"]:
        assert server is not None
        records = readRecords(server.records(), server.url)
    else:
        if options["files"] == ["-"] and sys.stdin.isatty():
            # Else it seems to hang: a record may be pasted, but say so.
            print(
                "randnum: reading records from standard input (Ctrl-D to end)",
                file=sys.stderr,
            )
        records = readFiles(options["files"], sys.stdin.buffer)
    try:
        report = verifyChains(
            records, keys, complete=options["complete"] or options["all"]
        )
    except NotARecord as error:
        # A file that is not records is bad input; a server's is a failure.
        fail(EXIT_REFUSED if options["all"] else EXIT_USAGE, error.reason)
    except RecordError as error:
        fail(EXIT_REFUSED, f"serial {error.serial}: {error.reason}")
    except DamagedStore as error:
        fail(EXIT_REFUSED, str(error))
    except FetchError as error:
        fail(EXIT_UNREACHABLE, str(error))
    except OSError as error:
        fail(EXIT_USAGE, f"cannot read {error.filename}: {error.strerror}")
    if not report.records:
        # No records in the input given is bad input; in the server's
        # store, a failure.
        fail(EXIT_REFUSED if options["all"] else EXIT_USAGE, "no records to verify")
    if server is not None and options["all"]:
        _checkHead(server, report)
    print(describe(report))
    return EXIT_OK


def _checkHead(server: Server, report: ChainReport) -> None:
    """
    Refuse a server whose records end before the chain it has committed.
    """
    try:
        head = server.head()
    except FetchError as error:
        fail(EXIT_UNREACHABLE, str(error))
    last = max((last for _, last in report.chains.values()), default=0)
    if head is not None and last < head:
        fail(
            EXIT_REFUSED,
            f"{server.url} has committed records up to serial {head}, but its "
            f"records end at serial {last}: serials {last + 1} to {head} are "
            "missing",
        )
