# -*- test-case-name: tests.jsonrpc.test_resource -*-
"""
RANDOM.ORG's results, as JSON-RPC responses: a generating method's, made
a piece at a time around its C{random.data}; a signed one's; and the
small results of the other methods.  No I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

from randnum.jsonrpc.protocol import VERSION, resultResponse


class Figures(Protocol):
    """
    What a result reports of its key's allowances (L{randnum.jsonrpc.
    allowances.Usage}).
    """

    @property
    def bitsLeft(self) -> int:
        """
        Bits left today.
        """

    @property
    def requestsLeft(self) -> int:
        """
        Requests left today.
        """


def _compact(value: Any) -> bytes:
    # ASCII: a string id may hold a lone surrogate, which only an escape
    # carries.
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def usageFields(bitsUsed: int, figures: Figures) -> dict[str, Any]:
    """
    The members every generating result ends with.  C{advisoryDelay} is
    always there: RANDOM.ORG's Python client waits a whole second before
    its next call when it is missing.
    """
    return {
        "bitsUsed": bitsUsed,
        "bitsLeft": figures.bitsLeft,
        "requestsLeft": figures.requestsLeft,
        "advisoryDelay": 0,
    }


_HEAD = b'{"jsonrpc":"' + VERSION.encode("ascii") + b'","result":{"random":{"data":'


def basicResult(
    id: Any,
    data: Iterator[bytes],
    completionTime: str,
    bitsUsed: int,
    figures: Figures,
) -> Iterator[bytes]:
    """
    The response to a basic generating call, in pieces: the first and the
    last of C{data}'s pieces carry the envelope around them.
    """
    # Written by hand: every member but the id is a number or ASCII text
    # of randnum's own, and this is every basic call's path.
    tail = b',"completionTime":"%s"},"bitsUsed":%d,"bitsLeft":%d,' % (
        completionTime.encode("ascii"),
        bitsUsed,
        figures.bitsLeft,
    ) + b'"requestsLeft":%d,"advisoryDelay":0},"id":%s}\n' % (
        figures.requestsLeft,
        _compact(id),
    )
    previous: bytes | None = None
    for piece in data:
        if previous is not None:
            yield previous
            previous = piece
        else:
            previous = _HEAD + piece
    yield (_HEAD if previous is None else previous) + tail


def signedResult(
    id: Any,
    random: dict[str, Any],
    signature: str,
    bitsUsed: int,
    figures: Figures,
) -> bytes:
    """
    The response to a signed call, or to C{getResult}: its C{random}
    object, the signature of it, and the key's figures.
    """
    return resultResponse(
        id,
        {"random": random, "signature": signature, **usageFields(bitsUsed, figures)},
    )
