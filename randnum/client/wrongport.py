# -*- test-case-name: tests.client.test_wrongport -*-
"""
A port that is not randnum's TCP port, told from the first bytes it sends
back: an HTTP server's answer (randnum's C{--http} port, or any web
server), a TLS server's alert, or a close without a word (a TLS server that
could not read a handshake in our line).  Both clients raise these, so that
a wrong port is one plain sentence at once rather than a wait until the
timeout; the C{randnum} command words them for its own options.
"""

from __future__ import annotations

from randnum.client.reaching import closedWithoutAnswer

#: How an HTTP server's status line starts.
HTTP = b"HTTP/1."
#: How a TLS alert record starts (content type 21, then version 3.x).
TLS_ALERT = b"\x15\x03"


class WrongPort(ConnectionError):
    """
    The server at C{where} does not speak randnum's TCP protocol.

    @ivar where: the server, as C{host:port} (or a UNIX socket's path).
    """

    def __init__(self, where: str) -> None:
        super().__init__(self.explain(where))
        self.where = where

    def explain(self, where: str) -> str:
        """
        The likely cause, in words, for C{where}.
        """
        return f"{where} does not speak randnum's protocol"


class SpeaksHTTP(WrongPort):
    """
    The server answered with an HTTP status line: an HTTP port.
    """

    def explain(self, where: str) -> str:
        """
        Name randnum's two ports.
        """
        return (
            f"{where} speaks HTTP: is that randnum's --http port? "
            "(the TCP port is --port)"
        )


class SpeaksTLS(WrongPort):
    """
    The server answered with a TLS alert: a TLS port, reached without TLS.
    """

    def explain(self, where: str) -> str:
        """
        Say to connect with TLS.
        """
        return f"{where} speaks TLS: connect with tls=True (or cafile=FILE)"


class ClosedWithoutReply(WrongPort):
    """
    The server closed the connection before answering anything: most
    likely a TLS port, which cannot read a request line as a handshake.
    """

    def explain(self, where: str) -> str:
        """
        Suggest TLS.
        """
        return closedWithoutAnswer(
            where, ": a TLS port? connect with tls=True (or cafile=FILE)"
        )


def recognize(start: bytes, where: str) -> bool:
    """
    Whether the first bytes of a connection's replies, C{start}, are enough
    to tell that the server speaks randnum's protocol (or something this
    does not know).

    @return: L{True} if they are; L{False} if more bytes are needed to tell.
    @raise WrongPort: if they are another protocol's.
    """
    for prefix, wrong in ((HTTP, SpeaksHTTP), (TLS_ALERT, SpeaksTLS)):
        if start.startswith(prefix):
            raise wrong(where)
        if prefix.startswith(start):
            return False
    return True


def shownAddress(host: str, port: int) -> str:
    """
    C{host:port} as a person writes it, with an IPv6 address in brackets.
    """
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
