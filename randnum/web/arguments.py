# -*- test-case-name: tests.web.test_random -*-
"""
A request's query arguments, with the names given without a value.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from twisted.web.server import Request


def queryStringArguments(
    query: bytes, args: dict[bytes, list[bytes]]
) -> dict[bytes, list[bytes]]:
    """
    The arguments of the query string C{query}: C{args}, as twisted.web
    parses them from it, and each name given without C{=} (C{?unique}),
    which twisted.web leaves out, with an empty value, so that it is
    refused as one (C{empty value for unique}) rather than silently ignored.
    """
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


def queryArguments(request: Request) -> dict[bytes, list[bytes]]:
    """
    C{request}'s query arguments, as L{queryStringArguments} reads them.
    """
    return queryStringArguments(request.uri.partition(b"?")[2], request.args or {})
