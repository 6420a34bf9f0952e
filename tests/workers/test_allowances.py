# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
L{randnum.workers.allowances}: with C{--workers}, every worker charges the
main process's one count of API keys' allowances, over AMP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from signers import ManualPool
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.test.iosim import IOPump, connect, makeFakeClient, makeFakeServer

from randnum.config import Config
from randnum.jsonrpc.allowances import KeyedAllowances, Usage, readCounts
from randnum.jsonrpc.keys import ApiKey
from randnum.jsonrpc.protocol import RpcError
from randnum.server import RandnumServer
from randnum.workers.allowances import ALLOWANCE_TIMEOUT, SharedAllowances
from randnum.workers.child import WorkerSide
from randnum.workers.pool import MainSide, WorkerPool

KEYS = {
    "limited": ApiKey("limited", "alice", requests=2, bits=100),
    "halted": ApiKey("halted", "carol", requests=5, bits=5, running=False),
}


class Linked:
    """
    A main process counting API keys, and two workers' views of its
    counts, connected by AMP in memory.
    """

    def __init__(self, tmp: Path) -> None:
        self.clock = Clock()
        self.clock.advance(1_764_806_400)
        path = str(tmp / "usage.db")
        self.pool = ManualPool(path)
        self.main = RandnumServer(clock=self.clock)
        self.counts = KeyedAllowances(KEYS, self.pool, self.clock, readCounts(path))
        self.main.allowances = self.counts
        workers = WorkerPool(Config(workers=2), list, self.main, self.clock)
        self.pumps: list[IOPump] = []
        self.workers: list[SharedAllowances] = []
        for number in (1, 2):
            mainSide = MainSide(workers, number)
            workerSide = WorkerSide(lambda: None)
            self.pumps.append(
                connect(
                    mainSide,
                    makeFakeServer(mainSide),
                    workerSide,
                    makeFakeClient(workerSide),
                    greet=False,
                )
            )
            self.workers.append(SharedAllowances(workerSide, self.clock))

    def ask(self, asked: Deferred[Usage]) -> Any:
        """
        What C{asked} fires with once the messages have gone both ways:
        the figures, or the L{RpcError}.
        """
        results: list[Any] = []
        asked.addBoth(results.append)
        for pump in self.pumps:
            pump.flush()
        assert results, "not answered"
        if isinstance(results[0], Failure):
            results[0].trap(RpcError)
            return results[0].value
        return results[0]


def test_workersChargeOneCount(tmp_path: Path) -> None:
    linked = Linked(tmp_path)
    first, second = linked.workers
    assert linked.ask(first.take("limited", 30)).requestsLeft == 1
    usage = linked.ask(second.take("limited", 20))
    assert usage == Usage("running", 1_764_806_400, 0, 50, 2, 50)
    assert linked.ask(first.usage("limited")) == usage
    assert linked.ask(linked.counts.usage("limited")) == usage


def test_refusalsCrossWithTheirCodeAndData(tmp_path: Path) -> None:
    linked = Linked(tmp_path)
    worker = linked.workers[0]
    unknown = linked.ask(worker.take("nobody", 1))
    assert (unknown.code, unknown.message, unknown.data) == (
        400,
        "The API key you specified does not exist",
        None,
    )
    assert linked.ask(worker.usage("nobody")).code == 400
    assert linked.ask(worker.take("halted", 1)).code == 401
    bits = linked.ask(worker.take("limited", 101))
    assert (bits.code, bits.data) == (403, ["limited", 100])
    linked.ask(worker.take("limited", 1))
    linked.ask(worker.take("limited", 1))
    requests = linked.ask(worker.take("limited", 1))
    assert (requests.code, requests.data) == (402, ["limited", 0])
    assert requests.message == (
        "The API key you specified has exceeded its daily request allowance"
    )
    assert linked.ask(worker.usage("halted")).status == "stopped"


def test_aMainProcessThatDoesNotAnswerIsAnInternalErrorInTime(
    tmp_path: Path,
) -> None:
    linked = Linked(tmp_path)
    results: list[Any] = []
    # Never pumped: the main process never hears of it.
    linked.workers[0].take("limited", 1).addBoth(results.append)
    linked.clock.advance(ALLOWANCE_TIMEOUT)
    [failure] = results
    assert isinstance(failure, Failure)
    error = failure.trap(RpcError) and failure.value
    assert isinstance(error, RpcError)
    assert (error.code, error.data) == (
        -32603,
        None,
    )
    assert error.message == (
        "Internal error: the API key's allowance could not be checked"
    )
