# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
L{randnum.web.responses}: JSON bodies and errors, GET and HEAD only, and
late responses written only to a client still there.
"""

from __future__ import annotations

import json

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.test.requesthelper import DummyRequest

from randnum.web.answering import respondWhenReady
from randnum.web.responses import (
    JSONResource,
    NotFound,
    jsonBody,
    jsonError,
    respond,
    setStatus,
)


def asRequest(request: DummyRequest) -> Request:
    return request  # type: ignore[return-value]


def responseCode(request: DummyRequest) -> int | None:
    code: int | None = request.responseCode
    return code


def test_jsonBodyIsCompactWithANewline() -> None:
    assert jsonBody({"a": [1, 2], "b": "c"}) == b'{"a":[1,2],"b":"c"}\n'


def test_jsonErrorSetsStatusAndType() -> None:
    request = DummyRequest([])
    body = jsonError(asRequest(request), 400, "no")
    assert (responseCode(request), body) == (400, b'{"error":"no"}\n')
    assert request.responseHeaders.getRawHeaders(b"content-type") == [
        b"application/json"
    ]


def test_onlyGetAndHeadAreAnswered() -> None:
    request = DummyRequest([])
    request.method = b"DELETE"
    body = JSONResource().render(asRequest(request))
    assert responseCode(request) == 405
    assert request.responseHeaders.getRawHeaders(b"allow") == [b"GET, HEAD"]
    assert body == b'{"error":"method DELETE not allowed"}\n'


def test_aLeafIsNotFoundBelowItself() -> None:
    class Leaf(JSONResource):
        isLeaf = True

        def render_GET(self, request: Request) -> bytes:
            return respond(request, 200, b"here")

    request = DummyRequest([b"x"])
    body = Leaf().render(asRequest(request))
    assert isinstance(body, bytes)
    assert json.loads(body) == {"error": "not found"}
    request = DummyRequest([])
    assert Leaf().render(asRequest(request)) == b"here"


def test_headMeasuresTheBodyItDoesNotSend() -> None:
    class Page(JSONResource):
        def render_GET(self, request: Request) -> bytes:
            return respond(request, 200, b"12345")

    request = DummyRequest([])
    request.method = b"HEAD"
    assert Page().render(asRequest(request)) == b""
    assert request.responseHeaders.getRawHeaders(b"content-length") == [b"5"]


def test_notFoundWhateverTheMethod() -> None:
    for method in (b"GET", b"POST"):
        request = DummyRequest([])
        request.method = method
        assert NotFound().render(asRequest(request)) == b'{"error":"not found"}\n'
        assert responseCode(request) == 404


def lateResponse(
    answer: Deferred[bytes],
) -> tuple[DummyRequest, int, list[str]]:
    request = DummyRequest([])
    rendered: list[str] = []

    def render(value: bytes) -> bytes:
        rendered.append("render")
        return respond(asRequest(request), 200, value)

    def failed(_: Failure) -> bytes:
        rendered.append("failed")
        return jsonError(asRequest(request), 503, "unavailable")

    result = respondWhenReady(asRequest(request), answer, render, failed)
    return request, result, rendered


def test_aLateResponseIsWrittenWhenReady() -> None:
    answer: Deferred[bytes] = Deferred()
    request, result, rendered = lateResponse(answer)
    assert result is NOT_DONE_YET and request.written == []
    answer.callback(b"late")
    assert (responseCode(request), request.written, request.finished) == (
        200,
        [b"late"],
        1,
    )
    assert rendered == ["render"]


def test_aReadyAnswerIsWrittenAtOnce() -> None:
    request, result, _ = lateResponse(succeed(b"now"))
    assert result is NOT_DONE_YET
    assert (request.written, request.finished) == ([b"now"], 1)


def test_aFailureGetsTheFailureResponse() -> None:
    answer: Deferred[bytes] = Deferred()
    request, _, rendered = lateResponse(answer)
    answer.errback(RuntimeError("down"))
    assert responseCode(request) == 503
    assert request.written == [b'{"error":"unavailable"}\n']
    assert rendered == ["failed"]


def test_nothingIsRenderedForAClientThatLeft() -> None:
    for outcome in (b"late", RuntimeError("down")):
        answer: Deferred[bytes] = Deferred()
        request, _, rendered = lateResponse(answer)
        request.processingFailed(Failure(ConnectionError("gone")))
        if isinstance(outcome, bytes):
            answer.callback(outcome)
        else:
            answer.errback(outcome)
        assert (request.written, request.finished, rendered) == ([], 0, [])
        assert responseCode(request) is None


def test_429IsTooManyRequests() -> None:
    # twisted.web does not know it: said here (RFC 6585).
    assert 429 not in http.RESPONSES
    request = DummyRequest([b""])
    setStatus(asRequest(request), 429)
    assert responseCode(request) == 429
    assert request.responseMessage == b"Too Many Requests"


def test_aLateAnswerSaysItsLength() -> None:
    request, _, _ = lateResponse(succeed(b"now"))
    assert request.responseHeaders.getRawHeaders(b"content-length") == [b"3"]
