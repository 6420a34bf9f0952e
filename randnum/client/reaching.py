# -*- test-case-name: tests.client.test_reaching -*-
"""
Why a client could not reach a randnum server, said in the user's terms
rather than OpenSSL's or the socket module's: a certificate that the client
does not trust (L{UntrustedCertificate}), a UNIX socket that is not there
(L{NoSuchSocket}).  Both clients raise these, and the C{randnum} command
words them for its own options.
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
        super().__init__(
            f"the TLS certificate of {where} is not trusted: give the CA "
            "certificate that signed it with cafile=FILE"
        )
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
