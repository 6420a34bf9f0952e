# -*- test-case-name: tests.tcp.test_protocol -*-
"""
An HTTP request sent to the TCP port (C{curl localhost:5000}): answered
with a plain HTTP error that says where HTTP is served, rather than with
numbers that an HTTP client reads as a broken HTTP/0.9 response.
"""

from __future__ import annotations

import re

# An HTTP request line: a method, a target, and the version (a "\r" before
# its newline is part of the line ending).
_REQUEST_LINE = re.compile(
    rb"(GET|HEAD|POST|PUT|DELETE|OPTIONS) [^ \r\n]+ HTTP/1\.[0-9]\r?"
)

#: The body of that answer, by which randnum's HTTP clients know it.
TCP_PORT_ANSWER = b"this is randnum's TCP port; HTTP is served on its --http port\n"


def isHttpRequestLine(line: bytes) -> bool:
    """
    Whether C{line} (without its newline) is an HTTP/1.x request line.
    """
    return _REQUEST_LINE.fullmatch(line) is not None


def httpRefusal(line: bytes) -> bytes:
    """
    The response to the HTTP request line C{line}: C{400}, saying that
    this is the TCP port (no body for C{HEAD}).
    """
    head = (
        b"HTTP/1.1 400 Bad Request\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: %d\r\n"
        b"Connection: close\r\n"
        b"\r\n" % len(TCP_PORT_ANSWER)
    )
    return head if line.startswith(b"HEAD ") else head + TCP_PORT_ANSWER
