"""
C{randnum bench}: a load generator for randnum (and any server that answers
newline-terminated lines), in the manner of redis-benchmark.

Two kinds of load:
 - C{line}: C{-c} connections, each keeping C{-P} requests in flight: every
   batch of replies is answered with one write of as many new requests;
 - C{connect}: C{-c} workers, each connecting, sending one request,
   reading the reply and closing, again and again: the original sample
   client's pattern.

The load is spread over C{--processes} child processes (each with its own
reactor) so that the generator need not be the bottleneck; each reports its
counts through shared memory for the progress line and its histogram at the
end.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure

from randnum.flow import ReplyWriter

# Histogram buckets are spaced 1% apart, from 1 microsecond up.
_BUCKETS_PER_E = 100
_SMALLEST = 1e-6


@dataclass(frozen=True)
class Load:
    """
    What to send, how, and for how long.
    """

    endpoint: str
    mode: str = "line"
    connections: int = 50
    pipeline: int = 1
    seconds: float = 5.0
    request: bytes = b"\n"


@dataclass
class Tally:
    """
    What one process measured.

    @ivar latencies: request count per latency bucket (see L{bucket}).
    """

    replies: int = 0
    numbers: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpuSeconds: float = 0.0
    latencies: Counter[int] = field(default_factory=Counter)

    def record(self, latency: float, count: int = 1) -> None:
        """
        Count C{count} requests answered after C{latency} seconds.
        """
        self.latencies[bucket(latency)] += count

    def merge(self, other: Tally) -> None:
        """
        Add another process's counts to these.
        """
        self.replies += other.replies
        self.numbers += other.numbers
        self.errors += other.errors
        self.seconds = max(self.seconds, other.seconds)
        self.cpuSeconds += other.cpuSeconds
        self.latencies.update(other.latencies)

    def percentile(self, fraction: float) -> float:
        """
        The latency, in seconds, within which C{fraction} of requests were
        answered.
        """
        total = sum(self.latencies.values())
        if not total:
            return math.nan
        seen = 0
        for index in sorted(self.latencies):
            seen += self.latencies[index]
            if seen >= fraction * total:
                return latencyOf(index)
        return latencyOf(max(self.latencies))


def bucket(latency: float) -> int:
    """
    The histogram bucket of a latency in seconds.
    """
    return int(math.log(max(latency, _SMALLEST) / _SMALLEST) * _BUCKETS_PER_E)


def latencyOf(index: int) -> float:
    """
    The upper bound, in seconds, of a histogram bucket.
    """
    return _SMALLEST * math.exp((index + 1) / _BUCKETS_PER_E)


def countAnswers(data: bytes) -> tuple[int, int, int]:
    """
    Replies, numbers and errors in a run of complete reply lines.
    """
    replies = data.count(b"\n")
    if b"ERR" not in data:
        return replies, replies + data.count(b" "), 0
    numbers = errors = 0
    for line in data.split(b"\n")[:-1]:
        if line.startswith(b"ERR"):
            errors += 1
        else:
            numbers += line.count(b" ") + 1
    return replies, numbers, errors


class PipelinedClient(Protocol):
    """
    Keep C{pipeline} requests in flight on one connection.
    """

    def __init__(self, run: LoadRun) -> None:
        self.run = run
        self.load = run.load
        # (time sent, requests) for each write not yet fully answered.
        self.inFlight: deque[list[float | int]] = deque()
        self.partial = b""

    def connectionMade(self) -> None:
        self.writer = ReplyWriter(self.transport)  # type: ignore[arg-type]
        self.send(self.load.pipeline)

    def send(self, count: int) -> None:
        self.writer.write(self.load.request * count)
        self.inFlight.append([time.perf_counter(), count])

    def dataReceived(self, data: bytes) -> None:
        end = data.rfind(b"\n") + 1
        if not end:
            self.partial += data
            return
        complete, self.partial = self.partial + data[:end], data[end:]
        replies, numbers, errors = countAnswers(complete)
        now = time.perf_counter()
        tally = self.run.tally
        tally.replies += replies
        tally.numbers += numbers
        tally.errors += errors
        self.run.progress(replies)
        answered = replies
        while answered:
            entry = self.inFlight[0]
            sent, waiting = entry
            done = min(answered, int(waiting))
            tally.record(now - sent, done)
            answered -= done
            if done == waiting:
                self.inFlight.popleft()
            else:
                entry[1] = int(waiting) - done
        if self.run.running:
            self.send(replies)
        elif not self.inFlight:
            self.writer.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.run.connectionEnded(self, reason, unanswered=bool(self.inFlight))


class OneShotClient(Protocol):
    """
    Send one request, read one reply, hang up.
    """

    def __init__(self, run: LoadRun, started: float) -> None:
        self.run = run
        self.started = started
        self.answered = False

    def connectionMade(self) -> None:
        self.writer = ReplyWriter(self.transport)  # type: ignore[arg-type]
        self.writer.write(self.run.load.request)

    def dataReceived(self, data: bytes) -> None:
        if self.answered:
            return
        self.answered = True
        tally = self.run.tally
        tally.replies += 1
        if data.startswith(b"ERR"):
            tally.errors += 1
        else:
            tally.numbers += data.count(b" ") + 1
        tally.record(time.perf_counter() - self.started)
        self.run.progress(1)
        self.writer.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.run.connectionEnded(self, reason, unanswered=not self.answered)


class LoadRun:
    """
    One process's share of a load, on one reactor.
    """

    def __init__(
        self,
        reactor: IReactorTime,
        endpoint: IStreamClientEndpoint,
        load: Load,
        progress: Callable[[int], None] = lambda count: None,
    ) -> None:
        self.reactor = reactor
        self.endpoint = endpoint
        self.load = load
        self.progress = progress
        self.tally = Tally()
        self.running = True
        self.open = 0
        self.finished: Deferred[None] = Deferred()

    async def go(self) -> Tally:
        """
        Run the load; fire with the counts when every connection has ended.
        """
        started = time.perf_counter()
        cpuStarted = time.process_time()
        for _ in range(self.load.connections):
            self.connect()
        self.reactor.callLater(self.load.seconds, self.stop)
        await self.finished
        self.tally.seconds = time.perf_counter() - started
        self.tally.cpuSeconds = time.process_time() - cpuStarted
        return self.tally

    def connect(self) -> None:
        """
        Open one more connection of the load's kind.
        """
        self.open += 1
        factory: Factory
        if self.load.mode == "line":
            factory = Factory.forProtocol(lambda: PipelinedClient(self))
        else:
            started = time.perf_counter()
            factory = Factory.forProtocol(lambda: OneShotClient(self, started))
        self.endpoint.connect(factory).addErrback(self.connectFailed)

    def connectFailed(self, reason: Failure) -> None:
        self.tally.errors += 1
        self.ended(failed=True)

    def connectionEnded(
        self, client: Protocol, reason: Failure, unanswered: bool
    ) -> None:
        failed = unanswered and self.running
        if failed:
            self.tally.errors += 1
        self.ended(failed)

    def ended(self, failed: bool) -> None:
        """
        A connection is over: while running, replace it (after a pause if
        it failed, so that a refusing server is not hammered); once
        stopped, finish when the last one ends.
        """
        self.open -= 1
        if self.running:
            if failed or self.load.mode == "line":
                self.reactor.callLater(0.05, self.replace)
            else:
                self.connect()
        elif self.open == 0 and not self.finished.called:
            self.finished.callback(None)

    def replace(self) -> None:
        if self.running:
            self.connect()
        elif self.open == 0 and not self.finished.called:
            self.finished.callback(None)

    def stop(self) -> None:
        """
        Send no more requests; finish once those in flight are answered (or
        after a grace period).
        """
        self.running = False
        if self.open == 0:
            self.finished.callback(None)
        else:
            self.reactor.callLater(2.0, self.abandon)

    def abandon(self) -> None:
        if not self.finished.called:
            self.finished.callback(None)


def runInProcess(load: Load, counter: Synchronized[int] | None = None) -> Tally:
    """
    Run C{load} on the global reactor of this process (a child process of
    L{runLoad}); return the counts.
    """
    from twisted.internet import reactor

    endpoint = clientFromString(reactor, load.endpoint)

    def progress(count: int) -> None:
        if counter is not None:
            counter.value += count

    run = LoadRun(reactor, endpoint, load, progress)
    result: list[Tally] = []

    def finish(tally: Tally) -> None:
        result.append(tally)
        reactor.stop()

    def failed(failure: Failure) -> None:
        reactor.stop()
        failure.raiseException()

    reactor.callWhenRunning(
        lambda: ensureDeferred(run.go()).addCallbacks(finish, failed)
    )
    reactor.run()
    return result[0]


def _child(load: Load, counter: Synchronized[int], results: Any) -> None:
    tally = runInProcess(load, counter)
    results.put(tally)


def split(total: int, parts: int) -> list[int]:
    """
    C{total} spread as evenly as possible over C{parts}.
    """
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def runLoad(
    load: Load, processes: int = 1, report: Callable[[float, int], None] | None = None
) -> Tally:
    """
    Run C{load} spread over C{processes} child processes, calling
    C{report(elapsed, repliesSoFar)} about once a second.
    """
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    counters = []
    children = []
    for connections in split(load.connections, processes):
        if not connections:
            continue
        counter = context.Value("q", 0, lock=False)
        share = Load(**{**asdict(load), "connections": connections})
        child = context.Process(
            target=_child, args=(share, counter, results), daemon=True
        )
        child.start()
        counters.append(counter)
        children.append(child)
    started = time.monotonic()
    tally = Tally()
    collected = 0
    deadline = started + load.seconds + 60
    while collected < len(children) and time.monotonic() < deadline:
        try:
            result: Tally = results.get(timeout=1.0)
        except Exception:  # queue.Empty: a second went by
            if report is not None:
                report(time.monotonic() - started, sum(c.value for c in counters))
            if not any(child.is_alive() for child in children) and results.empty():
                break
            continue
        tally.merge(result)
        collected += 1
    for child in children:
        child.join(timeout=5)
    if collected < len(children):
        raise RuntimeError("a benchmark process failed; see its output above")
    return tally


def summary(load: Load, processes: int, tally: Tally) -> dict[str, Any]:
    """
    The figures a run produced, for printing or JSON.
    """
    seconds = tally.seconds or math.nan
    return {
        "endpoint": load.endpoint,
        "mode": load.mode,
        "connections": load.connections,
        "pipeline": load.pipeline,
        "processes": processes,
        "seconds": round(tally.seconds, 3),
        "requests_per_second": tally.replies / seconds,
        "numbers_per_second": tally.numbers / seconds,
        "errors": tally.errors,
        "latency_p50_ms": tally.percentile(0.50) * 1e3,
        "latency_p99_ms": tally.percentile(0.99) * 1e3,
        "latency_max_ms": latencyOf(max(tally.latencies)) * 1e3
        if tally.latencies
        else math.nan,
        "client_cpu_percent": 100 * tally.cpuSeconds / seconds,
    }


def formatSummary(figures: dict[str, Any]) -> str:
    """
    A human-readable report of L{summary}'s figures.
    """
    shape = (
        f"{figures['connections']} connection(s) x {figures['pipeline']} in flight"
        if figures["mode"] == "line"
        else f"{figures['connections']} workers, one connection per request"
    )
    return "\n".join(
        [
            f"randnum bench: {figures['mode']} mode against {figures['endpoint']}, "
            f"{shape}, {figures['seconds']:.1f} s, {figures['processes']} process(es)",
            f"  requests/s   {figures['requests_per_second']:>14,.0f}",
            f"  numbers/s    {figures['numbers_per_second']:>14,.0f}",
            f"  latency      p50 {figures['latency_p50_ms']:.3f} ms"
            f"   p99 {figures['latency_p99_ms']:.3f} ms"
            f"   max {figures['latency_max_ms']:.3f} ms",
            f"  errors       {figures['errors']:>14,}",
            f"  client CPU   {figures['client_cpu_percent']:>13.0f}% of one core"
            " (near 100% per process: the client may be the bottleneck)",
        ]
    )


def printProgress(elapsed: float, replies: int) -> None:
    """
    One progress line on stderr.
    """
    rate = replies / elapsed if elapsed else 0.0
    print(
        f"  {elapsed:5.1f} s  {replies:>12,} replies  {rate:>12,.0f}/s", file=sys.stderr
    )


def jsonSummary(figures: dict[str, Any]) -> str:
    """
    L{summary}'s figures as one line of JSON (NaN as null).
    """
    return json.dumps(
        {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in figures.items()
        }
    )
