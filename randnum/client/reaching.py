# -*- test-case-name: tests.client.test_reaching -*-
"""
Why a client could not reach a randnum server, said in the user's terms
rather than OpenSSL's or the socket module's: a certificate that the client
does not trust (L{UntrustedCertificate}), a UNIX socket that is not there
(L{NoSuchSocket}).  Both clients raise these, and the C{randnum} command
words them for its own options.

Each sentence is made here, once: the clients, the C{randnum} command and
the HTTP face's client say the same thing in the same words, each with the
fix in its own terms (C{cafile=FILE} or C{--cafile FILE}).
"""

from __future__ import annotations

import errno


class UntrustedCertificate(ConnectionError):
    """
    The TLS certificate of the server at C{where} is not signed by a CA the
    client trusts (a self-signed server's, say).

    @ivar where: the server, as C{host:port}.
    """

    def __init__(self, where: str) -> None:
        super().__init__(untrusted(where, "cafile=FILE"))
        self.where = where


class NoSuchSocket(ConnectionError, FileNotFoundError):
    """
    No UNIX socket at C{where}: nothing serves there, or it is another path.

    @ivar where: the socket, as given.
    """

    def __init__(self, where: str) -> None:
        super().__init__(errno.ENOENT, explainNoSocket(where))
        self.where = where

    def __str__(self) -> str:
        return str(self.strerror)


def explainNoSocket(where: str) -> str:
    """
    That there is no UNIX socket at C{where}, and what to check.
    """
    return f"no such socket file: {where} (is randnum serving a UNIX socket there?)"


def untrusted(where: str, cafile: str) -> str:
    """
    That the TLS certificate of C{where} is not trusted, and to give the CA
    certificate with C{cafile} (the option or argument that takes it).
    """
    return (
        f"the TLS certificate of {where} is not trusted: give the CA "
        f"certificate that signed it with {cafile}"
    )


def refused(where: str) -> str:
    """
    That C{where} refused the connection.
    """
    return f"connection refused by {where}: is randnum running there?"


def noAnswer(where: str, seconds: float, hint: str = "") -> str:
    """
    That C{where} did not answer within C{seconds}, and C{hint}.
    """
    return f"no answer from {where} within {seconds:g} s{hint}"


def unknownHost(host: str) -> str:
    """
    That C{host} has no address.
    """
    return f"cannot find the host {host}"


def handshakeFailed(where: str, port: str) -> str:
    """
    That the TLS handshake with C{where} failed: not a C{port} (a TLS port,
    an https:// port)?
    """
    return f"the TLS handshake with {where} failed: is it {port}?"


def closedWithoutAnswer(where: str, hint: str = "") -> str:
    """
    That C{where} closed the connection before answering anything, and
    C{hint} (what it may be instead).
    """
    return f"{where} closed the connection without answering{hint}"
