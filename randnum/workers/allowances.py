# -*- test-case-name: tests.workers.test_allowances -*-
"""
The main process's API key allowances, as a worker sees them
(C{--workers} with C{--api-keys}): the main process alone counts them, so
that every worker charges one count, and a worker asks it over AMP
(L{randnum.workers.messages.TakeAllowance},
L{randnum.workers.messages.KeyUsage}).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.protocols import amp
from twisted.python.failure import Failure

from randnum.jsonrpc.allowances import Usage, allowancesUnavailable, refusal
from randnum.jsonrpc.protocol import RpcError
from randnum.workers import messages as cluster

#: Seconds a worker waits for the main process to charge a key (a stalled
#: or stopped process): then the call is refused (-32603) rather than held.
ALLOWANCE_TIMEOUT = 10.0


def usageAnswer(asked: Deferred[Usage]) -> Deferred[dict[str, Any]]:
    """
    The main process's answer to L{cluster.TakeAllowance} or
    L{cluster.KeyUsage}: the key's figures, or the code of the
    L{RpcError} that refused it (and, for 402 and 403, what is left).
    """

    def refused(failure: Failure) -> dict[str, Any]:
        failure.trap(RpcError)
        error = failure.value
        assert isinstance(error, RpcError)
        data = error.data
        left = data[1] if isinstance(data, list) and len(data) > 1 else 0
        return {"refused": error.code, "left": left}

    return asked.addCallbacks(dataclasses.asdict, refused)


def usageFrom(answer: dict[str, Any], apiKey: str) -> Usage:
    """
    The figures of a L{usageAnswer}, in the worker.

    @raise RpcError: the error the main process refused the key with.
    """
    if answer.get("refused") is not None:
        raise refusal(answer["refused"], apiKey, answer.get("left") or 0)
    return Usage(
        answer["status"],
        answer["creationTime"],
        answer["requestsLeft"],
        answer["bitsLeft"],
        answer["totalRequests"],
        answer["totalBits"],
    )


class SharedAllowances:
    """
    The main process's L{randnum.jsonrpc.allowances.KeyedAllowances}, seen
    from a worker: an L{randnum.jsonrpc.allowances.Allowances} whose every
    question goes to the main process.
    """

    def __init__(self, link: cluster.Conversation, clock: IReactorTime) -> None:
        self.link = link
        self.clock = clock

    def take(self, apiKey: str, bits: int) -> Deferred[Usage]:
        """
        Have the main process charge C{apiKey} (L{Allowances.take}).
        """
        return self._ask(apiKey, cluster.TakeAllowance, apiKey=apiKey, bits=bits)

    def usage(self, apiKey: str) -> Deferred[Usage]:
        """
        C{apiKey}'s figures, from the main process (L{Allowances.usage}).
        """
        return self._ask(apiKey, cluster.KeyUsage, apiKey=apiKey)

    def _ask(
        self, key: str, command: type[amp.Command], **arguments: Any
    ) -> Deferred[Usage]:
        def lost(failure: Failure) -> Failure:
            if failure.check(RpcError):
                return failure
            # A timeout, a main process gone or one that failed: the key
            # could not be checked, which is no client's fault.
            return Failure(allowancesUnavailable())

        asked = self.link.call(command, **arguments).addTimeout(
            ALLOWANCE_TIMEOUT, self.clock
        )
        return asked.addCallback(usageFrom, key).addErrback(lost)
