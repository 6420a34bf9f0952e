"""
What every page is made of (L{randnum.web.pages.page}): one document with
its stylesheet and script inlined, its data embedded where no string can
break out, and the strict headers.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pagetext import pageData

from randnum.web.pages.page import (
    CONTENT_SECURITY_POLICY,
    asset,
    embedJSON,
    fill,
    renderPage,
)


def test_thePageIsSelfContained() -> None:
    body = renderPage("verify.html", "Verify", {"publicKey": None}).decode("utf-8")
    assert body.startswith("<!doctype html>")
    assert asset("pages.css") in body
    assert asset("verify.js") in body
    # Nothing is fetched to show it: no script, stylesheet or image by URL.
    for outside in ("@import", " url(", " src="):
        assert outside not in body
    # Its one link element is its icon, empty and inline: browsers ask no
    # /favicon.ico (a 404 in every log, and in the console).
    assert re.findall(r"<link[^>]*>", body) == ['<link rel="icon" href="data:,">']
    assert not re.search(r"""(?:href|fetch\()\s*=?\s*["'](?:[a-z]+:)?//""", body)
    # The policy is in the document too, for a copy saved to disk.
    policy = html.escape(CONTENT_SECURITY_POLICY.split("; frame")[0])
    assert f'<meta http-equiv="Content-Security-Policy" content="{policy}">' in body


def test_theScriptCannotEndItsOwnElement() -> None:
    for name in ("verify.js", "pages.css"):
        assert "</script" not in asset(name).lower()
        assert "</style" not in asset(name).lower()


@pytest.mark.parametrize(
    "text",
    [
        "</script><script>alert(1)</script>",
        "<!--<script>",
        "a & b > c",
        "line\u2028separator\u2029",
    ],
)
def test_embeddedTextStaysData(text: str) -> None:
    embedded = embedJSON({"data": text})
    for unsafe in ("<", ">", "&", "\u2028", "\u2029"):
        assert unsafe not in embedded
    assert json.loads(embedded) == {"data": text}
    page = renderPage("verify.html", "x", {"data": text})
    assert pageData(page) == {"data": text}


@given(st.recursive(st.text(), lambda inner: st.lists(inner, max_size=3), max_leaves=8))
def test_anyEmbeddedValueReadsBack(value: object) -> None:
    embedded = embedJSON(value)
    assert "<" not in embedded
    assert json.loads(embedded) == value


def test_titlesAndTextAreEscaped() -> None:
    body = renderPage(
        "message.html", "<b>t</b>", {}, {"title": "<i>x</i>", "message": "a & b"}
    )
    assert b"<title>&lt;b&gt;t&lt;/b&gt; " in body
    assert b"<h1>&lt;i&gt;x&lt;/i&gt;</h1>" in body
    assert b"a &amp; b" in body
    assert b"<i>" not in body


def test_fillIsOnePass() -> None:
    assert fill("{{a}} {{b}}", {"a": "{{b}}", "b": "B"}) == "{{b}} B"
    with pytest.raises(KeyError):
        fill("{{missing}}", {})
