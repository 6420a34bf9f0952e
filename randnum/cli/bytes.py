# -*- test-case-name: tests.cli.test_bytes -*-
"""
C{randnum bytes}: copy raw random bytes from a server's HTTP face
(C{/v1/bytes}) to stdout.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.parse
from typing import ClassVar

from twisted.python import usage

from randnum.cli.command import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    CommandOptions,
    fail,
)
from randnum.options import integerOption, positiveNumberOption
from randnum.query import MAX_STREAM


class BytesOptions(CommandOptions):
    """
    Options for C{randnum bytes}.
    """

    synopsis = "[--url URL] [--length N | -]"
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
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise usage.UsageError(
                f"--url must be an http:// or https:// URL, not {url!r}"
            )
        self["url"] = parsed


def streamBytes(options: BytesOptions) -> int:
    """
    Copy random bytes from the server to stdout.
    """
    url: urllib.parse.SplitResult = options["url"]
    length: int | None = options["length"]
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection
        if url.scheme == "https"
        else http.client.HTTPConnection
    )(url.hostname or "", url.port, timeout=options["timeout"])
    out = sys.stdout.buffer
    base = url.path.rstrip("/")
    try:
        while True:
            # An endless stream is one longest stream after another.
            ask = MAX_STREAM if length is None else length
            connection.request("GET", f"{base}/v1/bytes?length={ask}")
            response = connection.getresponse()
            if response.status != 200:
                body = response.read()
                try:
                    reason = json.loads(body)["error"]
                except (ValueError, KeyError, TypeError):
                    reason = f"HTTP {response.status}"
                fail(EXIT_REFUSED, reason)
            got = 0
            while chunk := response.read1(1 << 16):
                try:
                    out.write(chunk)
                except BrokenPipeError:
                    raise
                except OSError as error:
                    fail(EXIT_UNREACHABLE, f"cannot write the bytes: {error.strerror}")
                got += len(chunk)
            if got != ask:
                fail(EXIT_UNREACHABLE, f"the stream broke off after {got} bytes")
            if length is not None:
                out.flush()
                return EXIT_OK
    except http.client.BadStatusLine:
        fail(
            EXIT_UNREACHABLE,
            f"{url.geturl()} does not speak HTTP (is it randnum's TCP port?)",
        )
    except (OSError, http.client.HTTPException) as error:
        if isinstance(error, BrokenPipeError):
            raise
        fail(EXIT_UNREACHABLE, f"cannot stream from {url.geturl()}: {error}")
