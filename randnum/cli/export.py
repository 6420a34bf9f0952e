# -*- test-case-name: tests.cli.test_export -*-
"""
C{randnum export}: write a signing server's stored records to stdout.
"""

from __future__ import annotations

import sys
from typing import IO, ClassVar

from twisted.python import usage

from randnum.cli.command import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    CommandOptions,
    fail,
)
from randnum.client.webface import FetchError, Refused
from randnum.options import optionalIntegerOption, positiveNumberOption
from randnum.signing.drawings import matchData
from randnum.signing.records import RecordError, parseRecord
from randnum.signing.verifying import Server


class ExportOptions(CommandOptions):
    """
    Options for C{randnum export}.
    """

    synopsis = "--url BASE [--after S] [--through N] [--drawings FILE]"
    longdesc = (
        "Write a signing server's stored records (GET /v1/draws, a page at a "
        "time) to stdout as JSON lines, in serial order: those after serial S "
        "(default 0) up to and including serial N (default: the last). For "
        "archives: 'randnum verify' checks them. With --drawings, each public "
        "drawing's entrant list among them (GET /v1/drawings/SERIAL) is written "
        "to FILE too, as JSON lines, since a drawing's record holds only the "
        "list's digest. Exit status: 0 written, 1 "
        "the server refused (signing is not enabled), 2 usage error, 3 the "
        "server cannot be asked, or the export cannot be written (a full disk)."
    )
    optParameters: ClassVar[list[list[str | None]]] = [
        ["url", None, None, "The signing server's HTTP face."],
        ["after", None, "0", "Start after this serial."],
        ["through", None, None, "Stop after this serial."],
        ["cafile", None, None, "With an https:// --url, trust this CA file."],
        ["timeout", "t", "10", "Seconds to wait for the server."],
        ["drawings", None, None, "Write the drawings' entrant lists to this file."],
    ]

    def postOptions(self) -> None:
        """
        A server to ask, serials that are serials, and a file for the
        drawings that can be written.
        """
        if not self["url"]:
            raise usage.UsageError("--url BASE is needed")
        self["after"] = optionalIntegerOption("after", self["after"])
        self["through"] = optionalIntegerOption("through", self["through"])
        if self["after"] is not None and self["after"] < 0:
            raise usage.UsageError("--after must be 0 or more")
        self["timeout"] = positiveNumberOption("timeout", self["timeout"])
        try:
            self["server"] = Server(
                self["url"], self["timeout"], self["cafile"], asks="/v1/draws"
            )
        except ValueError as error:
            raise usage.UsageError(str(error)) from None
        # Opened last: a usage error above leaves no empty file behind.
        self["drawingsFile"] = None
        if self["drawings"] == "-":
            raise usage.UsageError(
                "--drawings needs a file: the records go to standard output"
            )
        if self["drawings"]:
            try:
                self["drawingsFile"] = open(self["drawings"], "wb")
            except OSError as error:
                raise usage.UsageError(
                    f"--drawings: cannot write {self['drawings']!r}: {error.strerror}"
                ) from None


def export(options: ExportOptions) -> int:
    """
    Copy the records to stdout.
    """
    server: Server = options["server"]
    out = sys.stdout.buffer
    drawings: IO[bytes] | None = options["drawingsFile"]
    try:
        for line in server.records(options["after"], options["through"]):
            out.write(line + b"\n")
            serial = _drawingSerial(line) if drawings else None
            if drawings and serial is not None:
                answer = server.get(f"/v1/drawings/{serial}")
                drawings.write(answer.rstrip(b"\n") + b"\n")
        if drawings is not None:
            drawings.close()  # a full disk may say so only now
    except Refused as error:
        fail(EXIT_REFUSED, str(error))
    except FetchError as error:
        fail(EXIT_UNREACHABLE, str(error))
    except OSError as error:
        # The drawings file (or stdout) could not be written: a full disk.
        fail(EXIT_UNREACHABLE, f"cannot write the export: {error.strerror}")
    finally:
        if drawings is not None and not drawings.closed:
            try:
                drawings.close()
            except OSError:
                pass  # already said above
    out.flush()
    return EXIT_OK


def _drawingSerial(line: bytes) -> int | None:
    """
    The serial of a public drawing's record, or L{None} for another record.
    """
    try:
        record = parseRecord(line)
    except RecordError:
        return None
    return record["serial"] if matchData(record.get("data")) else None
