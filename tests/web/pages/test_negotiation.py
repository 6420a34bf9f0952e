"""
Whether a request would rather have a page than JSON.
"""

from __future__ import annotations

import pytest
from pagetext import BROWSER_ACCEPT
from twisted.web.test.requesthelper import DummyRequest

from randnum.web.pages.negotiation import mediaRanges, prefersHTML


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER_ACCEPT, True),
        ("text/html", True),
        ("text/*", True),
        ("text/html;q=0.9, application/json;q=0.8", True),
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("application/json, text/html", False),
        ("text/html;q=0.5, application/json", False),
        ("text/html;q=0, */*", False),
        ("text/html;q=oops", False),
        ("text/plain, */*;q=0.1", False),
    ],
)
def test_prefersHTML(accept: str | None, html: bool) -> None:
    request = DummyRequest([b""])
    if accept is not None:
        request.requestHeaders.setRawHeaders(b"accept", [accept.encode()])
    assert prefersHTML(request) is html  # type: ignore[arg-type]


def test_mediaRanges() -> None:
    assert mediaRanges("Text/HTML ; q=0.5 ,*/*;Q=2, ,x/y;level=1") == [
        ("text/html", 0.5),
        ("*/*", 1.0),
        ("x/y", 1.0),
    ]
