# -*- test-case-name: tests.web.test_responses -*-
"""
Writing an answer that comes later (read from the audit store, say): once
it is ready, charged to its client's share of the turn, and a piece at a
time while the client reads when it is large.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET, Request

from randnum.web.answers import AnswerCache
from randnum.web.channel import RandnumChannel
from randnum.web.streaming import SharedBody

#: The largest answer written at once: a larger one is written a piece of
#: this size a reactor turn, while the client reads (L{writeAnswer}).
ANSWER_PIECE = 64 * 1024


def charge(request: Request, cost: int) -> None:
    """
    Charge C{request}'s client C{cost} (in bytes of an ordinary reply) of
    work done to answer it, in its share of the turn
    (L{randnum.sharing.Shares}): with the request's own cost while it is
    processed, at once when the work comes later (an answer read from the
    audit store).  Nothing for a request made outside a site (a test's).
    """
    charged = getattr(request, "charge", None)
    if charged is not None:
        charged(cost)


def cachedAnswer(
    request: Request,
    answers: AnswerCache,
    key: Hashable,
    make: Callable[[], Deferred[bytes | None]],
) -> Deferred[bytes | None]:
    """
    The answer for C{key} from C{answers} (L{AnswerCache.answer}), made
    by C{make} if it must be: for C{request}'s client address, one at a
    time, and charged to it (L{charge}) before it is made.
    """
    channel = getattr(request, "channel", None)
    client = channel.client if isinstance(channel, RandnumChannel) else None
    return answers.answer(key, make, client, lambda cost: charge(request, cost))


def writeAnswer(request: Request, body: bytes) -> None:
    """
    Write C{body}, the whole of C{request}'s response (status and headers
    set), with its length, and finish it; charge its client for it.

    A body over L{ANSWER_PIECE} is written a piece at a time, each at the
    client's share of a turn and charged there, and only while the client
    reads (L{randnum.web.streaming.SharedBody}): a client that never reads
    holds a piece or two in memory, not the whole body, and is let go
    after the idle timeout; an address's connections writing such bodies
    take its shares in turn.  The pieces are sliced from C{body} as they
    go: an answer shared by many responses
    (L{randnum.web.answers.AnswerCache}) is held once.
    """
    request.setHeader(b"content-length", b"%d" % len(body))
    channel = getattr(request, "channel", None)
    if request.method != b"HEAD" and len(body) > ANSWER_PIECE:
        if isinstance(channel, RandnumChannel):
            SharedBody(
                request,
                body,
                ANSWER_PIECE,
                channel,
                channel.server.limits.idleTimeout,
            )
            return
    charge(request, len(body))
    request.write(body)
    request.finish()


_T = TypeVar("_T")


def respondWhenReady(
    request: Request,
    answer: Deferred[_T],
    render: Callable[[_T], bytes],
    failed: Callable[[Failure], bytes],
) -> int:
    """
    Write C{request}'s response once C{answer} fires, and finish it: the
    body C{render} makes of its result, or C{failed} of its failure
    (L{writeAnswer}: charged to the client, in pieces if large).  If the
    client has gone by then, nothing is rendered (and nothing written):
    the one place that asks.

    @param render: sets the status and headers, and returns the body.
    @param failed: likewise, for a failure.
    @return: L{NOT_DONE_YET}, for a C{render} method to return.
    """
    gone: list[bool] = []
    request.notifyFinish().addErrback(lambda _: gone.append(True))

    def respondNow(outcome: _T | Failure) -> None:
        if gone:
            return
        if isinstance(outcome, Failure):
            body = failed(outcome)
        else:
            body = render(outcome)
        writeAnswer(request, body)

    answer.addBoth(respondNow)
    return NOT_DONE_YET
