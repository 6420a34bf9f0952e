# -*- test-case-name: tests.web.test_random -*-
"""
A request's query arguments, with the names given without a value.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from twisted.web.server import Request


def queryArguments(request: Request) -> dict[bytes, list[bytes]]:
    """
    C{request}'s query arguments: C{request.args}, and each name given
    without C{=} (C{?unique}), which twisted.web leaves out, with an empty
    value, so that it is refused as one (C{empty value for unique}) rather
    than silently ignored.
    """
    args = request.args or {}
    query = request.uri.partition(b"?")[2]
    # Split as twisted.web splits the query string.
    bare = [
        item
        for part in query.split(b"&")
        for item in part.split(b";")
        if item and b"=" not in item
    ]
    if not bare:
        return args
    args = {name: list(values) for name, values in args.items()}
    for item in bare:
        args.setdefault(unquote_to_bytes(item.replace(b"+", b" ")), []).append(b"")
    return args
