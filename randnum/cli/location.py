# -*- test-case-name: tests.cli.test_location -*-
"""
Where the server is, for the subcommands that talk to one: options, else
the environment (L{ENVIRONMENT}), else 127.0.0.1:5000 (L{serverLocation});
and what went wrong reaching it, in words (L{explain}).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass

from OpenSSL import SSL
from twisted.internet import defer
from twisted.internet import error as error_
from twisted.python import usage

from randnum.client.endpoints import trustRoot
from randnum.client.reaching import (
    UntrustedCertificate,
    closedWithoutAnswer,
    explainNoSocket,
    handshakeFailed,
    noAnswer,
    refused,
    unknownHost,
    untrusted,
)
from randnum.client.wrongport import ClosedWithoutReply, SpeaksTLS, WrongPort
from randnum.options import hostOption, portOption

#: Where the server is: shared by every subcommand that talks to one.  The
#: defaults come from the environment (see L{serverLocation}).
SERVER_PARAMETERS: list[list[str | None]] = [
    [
        "host",
        "H",
        None,
        "Server host: a name, an IPv4 address or an IPv6 address (bare or in "
        "brackets). [default: $RANDNUM_HOST, else 127.0.0.1]",
    ],
    ["port", "p", None, "Server TCP port. [default: $RANDNUM_PORT, else 5000]"],
]

#: The environment variables that name the server, when no option does.
ENVIRONMENT = ("RANDNUM_ENDPOINT", "RANDNUM_HOST", "RANDNUM_PORT", "RANDNUM_CAFILE")


@dataclass(frozen=True)
class ServerLocation:
    """
    Where the server is: an endpoint description, or a host and port (with
    TLS if C{tls}, trusting C{cafile} or else the system's CAs).
    """

    endpoint: str | None
    host: str
    port: int
    tls: bool = False
    cafile: str | None = None

    @property
    def shown(self) -> str:
        """
        The location as a person writes it: C{host:port}, C{[::1]:5000}, or
        the endpoint description.
        """
        if self.endpoint is not None:
            return self.endpoint
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def description(self) -> str:
        """
        A Twisted client endpoint description of the location (TLS aside).
        """
        if self.endpoint is not None:
            return self.endpoint
        host = self.host.replace("\\", "\\\\").replace(":", "\\:")
        return f"tcp:host={host}:port={self.port}"


def serverLocation(
    options: usage.Options, environ: Mapping[str, str] | None = None
) -> ServerLocation:
    """
    The server that the options name, or else the environment
    (C{RANDNUM_ENDPOINT}, or C{RANDNUM_HOST} and C{RANDNUM_PORT}, and
    C{RANDNUM_CAFILE}), or else 127.0.0.1:5000.  Options take precedence
    over the environment.

    @raise usage.UsageError: for a bad value, or for an endpoint given
        together with a host, port or TLS option.
    """
    env = os.environ if environ is None else environ
    flags = {
        name: options[name]
        for name in ("endpoint", "host", "port", "cafile")
        if options.get(name) is not None
    }
    tls = bool(options.get("tls"))
    if "endpoint" in flags:
        clash = [f"--{name}" for name in ("host", "port", "cafile") if name in flags]
        clash += ["--tls"] if tls else []
        if clash:
            raise usage.UsageError(
                f"--endpoint names the server on its own: give it or "
                f"{'/'.join(clash)}, not both"
            )
        return ServerLocation(str(flags["endpoint"]), "", 0)
    if not {"host", "port"} & flags.keys() and env.get("RANDNUM_ENDPOINT"):
        clash = [name for name in ("RANDNUM_HOST", "RANDNUM_PORT") if env.get(name)]
        if clash:
            raise usage.UsageError(
                f"RANDNUM_ENDPOINT and {'/'.join(clash)} are both set: unset one"
            )
        return ServerLocation(env["RANDNUM_ENDPOINT"], "", 0)
    if "host" in flags:
        host = hostOption("--host", flags["host"])
    else:
        host = hostOption("RANDNUM_HOST", env.get("RANDNUM_HOST") or "127.0.0.1")
    if "port" in flags:
        port = portOption("--port", flags["port"])
    else:
        port = portOption("RANDNUM_PORT", env.get("RANDNUM_PORT") or "5000")
    cafile = flags.get("cafile") or env.get("RANDNUM_CAFILE") or None
    if cafile is not None:
        try:
            trustRoot(cafile)
        except ValueError as error:
            origin = "--cafile" if "cafile" in flags else "RANDNUM_CAFILE"
            raise usage.UsageError(f"{origin}: {error}") from None
    return ServerLocation(None, host, port, tls or cafile is not None, cafile)


def explain(error: BaseException, location: ServerLocation, timeout: float) -> str:
    """
    What went wrong, in words, for a person: no Python internals.
    """
    where = location.shown
    text = str(error)
    if isinstance(error, WrongPort):
        return wrongPort(error, location)
    if isinstance(error, (defer.TimeoutError, defer.CancelledError)):
        hint = "" if location.tls else " (a TLS port? add --tls or --cafile FILE)"
        return noAnswer(where, timeout, hint)
    if isinstance(error, (ConnectionRefusedError, error_.ConnectionRefusedError)):
        return refused(where)
    if isinstance(error, error_.DNSLookupError):
        return unknownHost(location.host or where)
    notTrusted = isinstance(error, UntrustedCertificate) or "verify" in text
    if notTrusted or isinstance(error, SSL.Error):
        if notTrusted:
            return untrusted(where, "--cafile FILE")
        return handshakeFailed(where, "a TLS port")
    if isinstance(error, (error_.ConnectionDone, error_.ConnectionLost)):
        return closedWithoutAnswer(where)
    if isinstance(error, error_.ConnectError):
        # Twisted's: errno and reason in osError and args, no strerror.
        if error.osError == errno.ENOENT and where.startswith("unix:"):
            return explainNoSocket(where)
        reason = str(error.args[0]) if error.args else error.__class__.__name__
        return f"cannot connect to {where}: {reason}"
    if isinstance(error, OSError):
        reason = error.strerror or error.__class__.__name__
        return f"cannot connect to {where}: {reason}"
    return f"cannot get an answer from {where}: {text or error.__class__.__name__}"


def wrongPort(error: WrongPort, location: ServerLocation) -> str:
    """
    What the server at C{location} speaks instead of randnum's protocol, in
    the terms of the command's options.
    """
    where = location.shown
    addTls = "add --tls, or --cafile FILE for a private CA's certificate"
    if isinstance(error, SpeaksTLS):
        return f"{where} speaks TLS: {addTls}"
    if isinstance(error, ClosedWithoutReply):
        guess = "" if location.tls else f": a TLS port? {addTls}"
        return closedWithoutAnswer(where, guess)
    return error.explain(where)
