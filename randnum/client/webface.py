# -*- test-case-name: tests.client.test_webface -*-
"""
A randnum server's HTTP face, asked with the standard library: L{WebFace}
connects to a base URL (C{--url}), trusting a CA file for https://, and
says what went wrong in words (L{FetchError}).  C{randnum bytes}, C{verify}
and C{export} share it, so that they take the same options and fail with
the same sentences.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.parse

from randnum.client.endpoints import trustRoot
from randnum.client.reaching import (
    closedWithoutAnswer,
    handshakeFailed,
    noAnswer,
    refused,
    unknownHost,
    untrusted,
)
from randnum.tcp.mistaken import TCP_PORT_ANSWER

#: What the pages of randnum's HTTP face start with: a base URL that ends
#: in one of these names a page, not the server.
PAGES = ("/v1", "/metrics")


class FetchError(Exception):
    """
    The server could not be asked, or did not answer as randnum does.
    """


class Refused(FetchError):
    """
    The server answered, refusing with its reason (a 4xx with a JSON
    C{error}): it can be asked, but will not give this.
    """


class WebFace:
    """
    A randnum server's HTTP face at a base URL.

    @ivar url: the base URL as given.
    @ivar base: its path, without a trailing slash (a proxy's prefix).
    @ivar connection: the connection that asks it.
    """

    def __init__(
        self,
        url: str,
        timeout: float,
        cafile: str | None = None,
        asks: str = "/v1/...",
    ) -> None:
        """
        @param asks: the path the command asks first, to show in an error.
        @raise ValueError: for a URL that is not a server's base URL, or a
            CA file without a certificate, in words naming the option.
        """
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"--url must be an http:// or https:// URL, not {url!r}")
        for page in PAGES:
            at = parsed.path.find(page)
            if at >= 0:
                server = parsed._replace(path=parsed.path[:at], query="").geturl()
                raise ValueError(
                    f"--url is the server, not a page: with {url} randnum would "
                    f"ask {url.rstrip('/')}{asks}; give --url {server}"
                )
        self.url = url
        self.timeout = timeout
        self.base = parsed.path.rstrip("/")
        self.where = parsed.netloc
        if parsed.scheme == "https":
            if cafile is not None:
                try:
                    trustRoot(cafile)
                except ValueError as error:
                    raise ValueError(f"--cafile: {error}") from None
            context = ssl.create_default_context(cafile=cafile)
            self.connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parsed.hostname, parsed.port, timeout=timeout, context=context
            )
        else:
            self.connection = http.client.HTTPConnection(
                parsed.hostname, parsed.port, timeout=timeout
            )

    def urlOf(self, path: str) -> str:
        """
        The URL that C{GET path} asks.
        """
        return f"{self.url.rstrip('/')}{path}"

    def response(self, path: str) -> http.client.HTTPResponse:
        """
        The response to C{GET path}, its body not read.

        @raise FetchError: if the server cannot be asked, in words.
        """
        try:
            self.connection.request("GET", self.base + path)
            response = self.connection.getresponse()
            if _isTheTcpPort(response):
                raise FetchError(
                    f"{self.url} is randnum's TCP port, not its HTTP face: --url "
                    "is the --http port"
                )
            return response
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            raise FetchError(self.problem(error, path)) from None

    @staticmethod
    def refusal(response: http.client.HTTPResponse) -> str:
        """
        Why the server did not answer with 200: its JSON C{error}, or the
        status.
        """
        try:
            return str(json.loads(response.read())["error"])
        except (ValueError, KeyError, TypeError, OSError, http.client.HTTPException):
            return f"HTTP {response.status}"

    def problem(self, error: BaseException, path: str) -> str:
        """
        What went wrong asking C{GET path}, for a person: no errno, no
        OpenSSL internals.
        """
        where = self.where
        if isinstance(error, http.client.RemoteDisconnected):
            hint = "" if self.url.startswith("https:") else ": an https:// port?"
            return closedWithoutAnswer(where, hint)
        if isinstance(error, http.client.BadStatusLine):
            return (
                f"{self.url} does not speak HTTP (is it randnum's TCP port? "
                "--url is the --http port)"
            )
        if isinstance(error, ssl.SSLCertVerificationError):
            return untrusted(where, "--cafile FILE")
        if isinstance(error, ssl.SSLError):
            return handshakeFailed(where, "an https:// port")
        if isinstance(error, ConnectionRefusedError):
            return refused(where)
        if isinstance(error, socket.gaierror):
            return unknownHost(str(urllib.parse.urlsplit(self.url).hostname))
        if isinstance(error, TimeoutError):
            return noAnswer(where, self.timeout)
        reason = getattr(error, "strerror", None) or error.__class__.__name__
        return f"cannot fetch {self.urlOf(path)}: {reason}"


def _isTheTcpPort(response: http.client.HTTPResponse) -> bool:
    """
    Whether C{response} is the answer of randnum's TCP port to an HTTP
    request (the HTTP face answers every error in JSON).
    """
    return (
        response.status == 400
        and response.getheader("Content-Type", "").startswith("text/plain")
        and response.getheader("Content-Length") == str(len(TCP_PORT_ANSWER))
        and response.read() == TCP_PORT_ANSWER
    )
