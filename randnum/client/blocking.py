# -*- test-case-name: tests.client.test_blocking -*-
"""
A blocking randnum client for code that does not use Twisted.

    >>> import randnum
    >>> with randnum.connect("127.0.0.1", 5000) as client:
    ...     client.get(n=3, min=1, max=6)
    [4, 1, 6]

Plain sockets, a timeout on every operation, and the same L{RandnumError}
as the Twisted client.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from types import TracebackType
from typing import Any

from randnum.client.lines import (
    RandnumError,
    UnexpectedReply,
    parseReply,
    parseSigned,
    parseValues,
    requestLine,
    valuesLine,
)
from randnum.client.reaching import NoSuchSocket, UntrustedCertificate
from randnum.client.wrongport import ClosedWithoutReply, recognize, shownAddress
from randnum.query import MAX_REPLY

__all__ = ["BlockingClient", "RandnumError", "connect", "connectUnix"]


class BlockingClient:
    """
    One connection to a randnum server.  Use it as a context manager, or
    call L{close}.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._socket = sock
        self._buffer = b""
        # Until the first bytes received tell what the server speaks.
        self._told = False

    def get(
        self,
        n: int = 1,
        min: int | None = None,
        max: int | None = None,
        unique: bool = False,
    ) -> list[int]:
        """
        Ask for C{n} numbers in C{min..max} (the server's defaults where not
        given), distinct if C{unique}.

        @raise RandnumError: if the server refuses the request.
        @raise TimeoutError: if the server does not answer within the timeout.
        @raise ConnectionError: if the server closes the connection, or
            (L{randnum.client.wrongport.WrongPort}) if it speaks another
            protocol: HTTP, or TLS.
        """
        self._socket.sendall(requestLine(n, min, max, unique))
        numbers: list[int] = self._parsed(parseReply, self._readLine())
        return numbers

    def values(self, type: str, n: int = 1, **parameters: object) -> Any:
        """
        Ask for C{n} values of C{type} (C{decimal}, C{gaussian}, C{string},
        C{uuid}, C{bytes} or C{int}) with that type's parameters, e.g.
        C{values("uuid", 3, version=7)}; they come back as Python values:
        L{decimal.Decimal}, L{float}, L{str}, L{uuid.UUID}, L{bytes}, L{int}.
        With C{signed=True} (and optionally C{data="raffle 12"}), the
        answer is the signed draw's record (a L{dict}; check it with
        L{randnum.signing.records.verifyDraw}).

        @raise RandnumError: if the server refuses the request.
        @raise TimeoutError: if the server does not answer within the timeout.
        @raise ConnectionError: if the server closes the connection.
        """
        self._socket.sendall(valuesLine(type, n, **parameters))
        if parameters.get("signed"):
            return self._parsed(parseSigned, self._readLine())
        encoding = str(parameters.get("format") or "hex")
        return self._parsed(
            lambda line: parseValues(line, type, encoding), self._readLine()
        )

    def _parsed(self, parse: Callable[[bytes], Any], line: bytes) -> Any:
        """
        C{parse(line)}, naming the server in an L{UnexpectedReply}.
        """
        try:
            return parse(line)
        except UnexpectedReply as error:
            raise UnexpectedReply(error.reason, self._where()) from None

    def _readLine(self) -> bytes:
        chunks = [self._buffer]
        size = len(self._buffer)
        chunk = self._buffer
        # Only the newest chunk can hold the newline not yet seen.
        while b"\n" not in chunk:
            if size > MAX_REPLY + 64:
                raise UnexpectedReply(
                    "its reply is longer than any valid reply", self._where()
                )
            chunk = self._socket.recv(65536)
            if not chunk:
                if not self._told and size == 0:
                    raise ClosedWithoutReply(self._where())
                raise ConnectionError("the server closed the connection")
            chunks.append(chunk)
            size += len(chunk)
            if not self._told:
                self._told = recognize(b"".join(chunks), self._where())
        line, self._buffer = b"".join(chunks).split(b"\n", 1)
        return line

    def _where(self) -> str:
        try:
            peer = self._socket.getpeername()
        except OSError:
            return "the server"
        if isinstance(peer, tuple):
            return shownAddress(str(peer[0]), int(peer[1]))
        return str(peer) or "the server"

    def close(self) -> None:
        """
        Close the connection.
        """
        self._socket.close()

    def __enter__(self) -> BlockingClient:
        return self

    def __exit__(
        self,
        excType: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def connect(
    host: str = "127.0.0.1",
    port: int = 5000,
    timeout: float = 10.0,
    *,
    tls: bool = False,
    cafile: str | None = None,
) -> BlockingClient:
    """
    Connect to a randnum server over TCP, or TLS.

    @param host: a name, or an IPv4 or IPv6 address (bare or in brackets).
    @param timeout: seconds allowed for connecting and for each reply.
    @param tls: connect with TLS, trusting the system's CAs (also implied
        by C{cafile}).
    @param cafile: connect with TLS, trusting the CA certificates in this
        PEM file.
    @raise OSError: if the server cannot be reached (an
        L{UntrustedCertificate}, a L{ConnectionError}, if its certificate is
        not trusted: pass C{cafile}).  A port that is not randnum's (an HTTP
        or a TLS port) is found by the first request, which raises a
        L{randnum.client.wrongport.WrongPort}: a L{ConnectionError} naming
        the likely cause.
    """
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    sock = socket.create_connection((host, port), timeout=timeout)
    if tls or cafile is not None:
        context = ssl.create_default_context(cafile=cafile)
        try:
            sock = context.wrap_socket(sock, server_hostname=host)
        except ssl.SSLCertVerificationError:
            sock.close()
            raise UntrustedCertificate(shownAddress(host, port)) from None
        except BaseException:
            sock.close()
            raise
    return BlockingClient(sock)


def connectUnix(path: str, timeout: float = 10.0) -> BlockingClient:
    """
    Connect to a randnum server on a UNIX socket.

    @raise NoSuchSocket: a L{ConnectionError} (and L{FileNotFoundError}), if
        there is no socket at C{path}.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except FileNotFoundError:
        sock.close()
        raise NoSuchSocket(path) from None
    except BaseException:
        sock.close()
        raise
    return BlockingClient(sock)
