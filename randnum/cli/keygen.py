# -*- test-case-name: tests.cli.test_keygen -*-
"""
C{randnum keygen}: make a signing key for signed draws.
"""

from __future__ import annotations

import os
import sys
from typing import ClassVar

from twisted.python import usage

from randnum.cli.command import EXIT_OK, EXIT_REFUSED, CommandOptions, fail
from randnum.signing.keys import KeyFileError, generateKey, keepKey


class KeygenOptions(CommandOptions):
    """
    Options for C{randnum keygen}.
    """

    synopsis = "[--if-missing] KEYFILE"
    longdesc = (
        "Make a new Ed25519 signing key for 'twistd randnum --signing-key': the "
        "private key in KEYFILE (PEM, mode 0600) and the public key in "
        "KEYFILE.pub; print the key id (the hex SHA-256 of the raw public "
        "key). Existing files are never overwritten. Exit status: 0 made (or "
        "kept), 1 not made, 2 usage error."
    )
    optFlags: ClassVar[list[list[str | None]]] = [
        [
            "if-missing",
            None,
            "If KEYFILE exists, keep it (and print its id) rather than fail: "
            "for a container's first start.",
        ],
    ]

    def parseArgs(self, *args: str) -> None:
        """
        One argument: where the key goes.
        """
        if len(args) != 1:
            raise usage.UsageError("give one KEYFILE")
        self["keyfile"] = args[0]


def keygen(options: KeygenOptions) -> int:
    """
    Make the key; print its id.
    """
    path = options["keyfile"]
    try:
        if options["if-missing"] and os.path.lexists(path):
            identity = keepKey(path)
            print(f"randnum: keeping the key in {path}", file=sys.stderr)
        else:
            identity = generateKey(path)
            print(
                f"randnum: wrote {path} (private, mode 0600) and {path}.pub",
                file=sys.stderr,
            )
    except KeyFileError as error:
        message = str(error)
        if message.endswith("already exists; not overwriting it"):
            message += " (--if-missing keeps it and prints its key id)"
        fail(EXIT_REFUSED, message)
    print(identity)
    return EXIT_OK
