# -*- test-case-name: tests.web.pages.test_negotiation -*-
"""
Whether a request would rather have a page than JSON: its C{Accept}
header (RFC 9110, section 12.5.1), read as far as that question needs.
"""

from __future__ import annotations

from twisted.web.server import Request


def _quality(ranges: list[tuple[str, float]], mediaType: str) -> float:
    """
    The quality C{ranges} give C{mediaType}: that of the most specific range
    that matches it (C{type/sub}, then C{type/*}, then C{*/*}), else 0.
    """
    main = mediaType.split("/")[0]
    best, specificity = 0.0, -1
    for name, quality in ranges:
        if name == mediaType:
            rank = 2
        elif name == main + "/*":
            rank = 1
        elif name == "*/*":
            rank = 0
        else:
            continue
        if rank > specificity:
            best, specificity = quality, rank
    return best


def mediaRanges(accept: str) -> list[tuple[str, float]]:
    """
    The media ranges of an C{Accept} header's value, each with its quality
    (1 unless given; a quality that cannot be read counts as 0).
    """
    ranges = []
    for part in accept.split(","):
        name, *parameters = part.split(";")
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        name = name.strip().lower()
        if name:
            ranges.append((name, quality))
    return ranges


def prefersHTML(request: Request) -> bool:
    """
    Whether C{request} asks for C{text/html} more than for
    C{application/json}: a browser does; C{curl} (C{*/*}), a client that
    sends no C{Accept} or one that asks for JSON does not.
    """
    header = request.getHeader(b"accept")
    if not header:
        return False
    ranges = mediaRanges(header.decode("latin-1"))
    return _quality(ranges, "text/html") > _quality(ranges, "application/json")
