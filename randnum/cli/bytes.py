# -*- test-case-name: tests.cli.test_bytes -*-
"""
C{randnum bytes}: copy raw random bytes from a server's HTTP face
(C{/v1/bytes}) to stdout.
"""

from __future__ import annotations

import http.client
import os
import sys
from typing import BinaryIO, ClassVar

from twisted.python import usage

from randnum.cli.command import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    CommandOptions,
    fail,
)
from randnum.client.webface import FetchError, WebFace
from randnum.options import integerOption, positiveNumberOption
from randnum.query import MAX_STREAM


class BytesOptions(CommandOptions):
    """
    Options for C{randnum bytes}.
    """

    synopsis = "[--url URL] [--cafile FILE] [--length N | -]"
    longdesc = (
        "Write raw random bytes from a randnum server's HTTP face (/v1/bytes) "
        "to stdout: N bytes, or without --length (or with -) an endless "
        "stream until whoever reads it stops, e.g. "
        "'randnum bytes --length 100000000 | rngtest'. The server is --url, "
        "else $RANDNUM_URL, else http://127.0.0.1:8080. Exit status: 0 "
        "success (or the reader stopped), 1 refused, 2 usage error, 3 the "
        "server cannot be reached or the stream broke off."
    )
    optParameters: ClassVar[list[list[str | None]]] = [
        ["url", None, None, "The server's HTTP face. [default: $RANDNUM_URL]"],
        ["length", "l", None, "How many bytes (1..2**48); endless if not given."],
        ["cafile", None, None, "With an https:// --url, trust this CA file."],
        ["timeout", "t", "10", "Seconds to wait for the server."],
    ]

    def parseArgs(self, *args: str) -> None:
        """
        C{-} is an endless stream, as no C{--length} is.
        """
        if args not in ((), ("-",)):
            raise usage.UsageError(f"unexpected argument {args[0]!r}")
        self["endless"] = bool(args)

    def postOptions(self) -> None:
        """
        Check the values' forms; the server checks their meaning.
        """
        length = self["length"]
        if self.get("endless") and length is not None:
            raise usage.UsageError("give --length N or -, not both")
        self["length"] = (
            None if length in (None, "-") else integerOption("length", length)
        )
        if sys.stdout.isatty():
            raise usage.UsageError(
                "stdout is a terminal: pipe the bytes into a program or a file"
            )
        self["timeout"] = positiveNumberOption("timeout", self["timeout"])
        url = self["url"] or os.environ.get("RANDNUM_URL") or "http://127.0.0.1:8080"
        # An endless stream asks for MAX_STREAM bytes: not a number to show.
        ask = "/v1/bytes" if self["length"] is None else bytesPath(self["length"])
        try:
            self["server"] = WebFace(url, self["timeout"], self["cafile"], asks=ask)
        except ValueError as error:
            raise usage.UsageError(str(error)) from None


def bytesPath(length: int) -> str:
    """
    The path that asks for C{length} bytes.
    """
    return f"/v1/bytes?length={length}"


def streamBytes(options: BytesOptions) -> int:
    """
    Copy random bytes from the server to stdout.
    """
    server: WebFace = options["server"]
    length: int | None = options["length"]
    out = sys.stdout.buffer
    while True:
        # An endless stream is one longest stream after another.
        ask = MAX_STREAM if length is None else length
        try:
            got = _copy(server, bytesPath(ask), out)
        except FetchError as error:
            fail(EXIT_UNREACHABLE, str(error))
        if got != ask:
            fail(EXIT_UNREACHABLE, f"the stream broke off after {got} bytes")
        if length is not None:
            out.flush()
            return EXIT_OK


def _copy(server: WebFace, path: str, out: BinaryIO) -> int:
    """
    Copy the body of C{GET path} to C{out}; how many bytes came.

    @raise FetchError: if the server cannot be asked, or breaks off.
    """
    response = server.response(path)
    if response.status == 404:
        raise FetchError(f"{server.urlOf(path)}: {server.refusal(response)}")
    if response.status != 200:
        fail(EXIT_REFUSED, server.refusal(response))
    got = 0
    while True:
        try:
            chunk = response.read1(1 << 16)
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(server.problem(error, path)) from None
        if not chunk:
            return got
        try:
            out.write(chunk)
        except BrokenPipeError:
            raise
        except OSError as error:
            fail(EXIT_UNREACHABLE, f"cannot write the bytes: {error.strerror}")
        got += len(chunk)
