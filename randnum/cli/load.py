# -*- test-case-name: tests.cli.test_load -*-
"""
C{randnum bench}: a load generator for randnum (and any server that answers
newline-terminated lines), in the manner of redis-benchmark.

Two kinds of load:
 - C{line}: C{-c} connections, each keeping C{-P} requests in flight: every
   batch of replies is answered with one write of as many new requests;
 - C{connect}: C{-c} workers, each connecting, sending one request,
   reading the reply and closing, again and again: the original sample
   client's pattern.

The load is spread over C{--processes} child processes so that the
generator need not be the bottleneck; each reports its counts through shared
memory for the progress line and its histogram at the end.
"""

from __future__ import annotations

import errno
import json
import math
import multiprocessing
import select
import signal
import socket
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from randnum.cli.command import counted

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


def parseEndpoint(description: str) -> tuple[int, Any]:
    """
    The socket family and address of a C{tcp:} or C{unix:} client endpoint
    description (C{tcp:host=H:port=P}, C{tcp:H:P}, C{unix:path=P},
    C{unix:P}; a backslash escapes a colon).

    @raise ValueError: for any other description.
    """
    parts = [p.replace("\0", ":") for p in description.replace("\\:", "\0").split(":")]
    kind, arguments = parts[0], parts[1:]
    named = dict(a.split("=", 1) for a in arguments if "=" in a)
    positional = [a for a in arguments if "=" not in a]
    if kind == "tcp":
        host = named.get("host") or (positional[0] if positional else None)
        port = named.get("port") or (positional[1] if len(positional) > 1 else None)
        if host is None or port is None:
            raise ValueError("a tcp endpoint needs a host and a port")
        family, _, _, _, address = socket.getaddrinfo(
            host, int(port), type=socket.SOCK_STREAM
        )[0]
        return family, address
    if kind == "unix":
        path = named.get("path") or (positional[0] if positional else None)
        if not path:
            raise ValueError("a unix endpoint needs a path")
        return socket.AF_UNIX, path
    raise ValueError(f"randnum bench measures tcp: and unix: endpoints, not {kind}:")


class Connection:
    """
    One client connection's state.
    """

    __slots__ = ("inFlight", "outgoing", "partial", "sock", "started")

    def __init__(self, sock: socket.socket, started: float) -> None:
        self.sock = sock
        self.started = started
        # [time sent, requests] for each write not yet fully answered.
        self.inFlight: deque[list[float]] = deque()
        self.partial = b""
        self.outgoing = bytearray()


class LoadRun:
    """
    One process's share of a load, driven by a plain epoll loop.

    A load generator must outrun the server it measures; a bare loop over
    non-blocking sockets costs a few microseconds per reply, a general
    event framework several times that.
    """

    def __init__(
        self,
        load: Load,
        progress: Callable[[int], None] = lambda count: None,
        onStart: Callable[[float], None] = lambda when: None,
    ) -> None:
        self.load = load
        self.progress = progress
        self.onStart = onStart
        self.family, self.address = parseEndpoint(load.endpoint)
        self.tally = Tally()
        self.poller = select.epoll()
        self.connections: dict[int, Connection] = {}
        self.retries: list[float] = []
        self.running = True

    def run(self) -> Tally:
        """
        Apply the load for its duration, then collect what is in flight.
        """
        started = time.perf_counter()
        cpuStarted = time.process_time()
        self.onStart(time.monotonic())
        measured: tuple[float, int, int, int] | None = None
        for _ in range(self.load.connections):
            self.open()
        deadline = started + self.load.seconds
        grace = deadline + 2.0
        handle = self.lineEvent if self.load.mode == "line" else self.connectEvent
        while True:
            now = time.perf_counter()
            if self.running and now >= deadline:
                # The figures are what was answered within the duration;
                # replies still in flight are collected but not counted.
                self.running = False
                measured = (
                    now - started,
                    self.tally.replies,
                    self.tally.numbers,
                    self.tally.errors,
                )
            if not self.running and (now >= grace or not self.connections):
                break
            if self.retries and self.running:
                self.retryDue(now)
            before = self.tally.replies
            for fd, events in self.poller.poll(0.05):
                connection = self.connections.get(fd)
                if connection is not None:
                    handle(connection, events)
            if self.tally.replies != before and self.running:
                self.progress(self.tally.replies - before)
        for connection in list(self.connections.values()):
            self.close(connection)
        self.poller.close()
        self.tally.cpuSeconds = time.process_time() - cpuStarted
        if measured is None:
            measured = (
                time.perf_counter() - started,
                self.tally.replies,
                self.tally.numbers,
                self.tally.errors,
            )
        tally = self.tally
        tally.seconds, tally.replies, tally.numbers, tally.errors = measured
        return self.tally

    def open(self) -> None:
        """
        Start one connection; line connections send their first batch.
        """
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.setblocking(False)
        if self.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = Connection(sock, time.perf_counter())
        self.connections[sock.fileno()] = connection
        error = sock.connect_ex(self.address)
        if error not in (0, errno.EINPROGRESS, errno.EAGAIN):
            self.failed(connection)
            return
        # Writable once connected (or failed).
        self.poller.register(sock, select.EPOLLOUT)

    def close(self, connection: Connection) -> None:
        self.connections.pop(connection.sock.fileno(), None)
        try:
            self.poller.unregister(connection.sock)
        except (OSError, ValueError):
            pass
        connection.sock.close()

    def failed(self, connection: Connection) -> None:
        """
        Count an error and replace the connection after a pause, so that a
        refusing server is not hammered.
        """
        self.tally.errors += 1
        self.close(connection)
        self.retries.append(time.perf_counter() + 0.05)

    def retryDue(self, now: float) -> None:
        due = [at for at in self.retries if at <= now]
        self.retries = [at for at in self.retries if at > now]
        for _ in due:
            self.open()

    def connected(self, connection: Connection) -> bool:
        """
        Finish a connection attempt that became writable.
        """
        if connection.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            self.failed(connection)
            return False
        self.poller.modify(connection.sock, select.EPOLLIN)
        return True

    def send(self, connection: Connection, data: bytes) -> None:
        if not connection.outgoing:
            try:
                sent = connection.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.failed(connection)
                return
            if sent == len(data):
                return
            data = data[sent:]
            self.poller.modify(connection.sock, select.EPOLLIN | select.EPOLLOUT)
        connection.outgoing += data

    def flush(self, connection: Connection) -> None:
        try:
            sent = connection.sock.send(connection.outgoing)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.failed(connection)
            return
        del connection.outgoing[:sent]
        if not connection.outgoing:
            self.poller.modify(connection.sock, select.EPOLLIN)

    def receive(self, connection: Connection) -> bytes | None:
        """
        Read what has arrived; L{None} (after counting an error) if the
        server closed the connection or it broke.
        """
        try:
            # 64 KiB, as Twisted reads: a larger buffer is allocated with mmap on
            # every call, which costs more than the read itself.
            data = connection.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            data = b""
        if not data:
            self.failed(connection)
            return None
        return data

    def lineEvent(self, connection: Connection, events: int) -> None:
        """
        Persistent connections, each keeping C{pipeline} requests in flight.
        """
        if connection.inFlight or connection.outgoing:
            if events & select.EPOLLOUT and connection.outgoing:
                self.flush(connection)
        elif events & select.EPOLLOUT:
            # Just connected: send the first batch.
            if self.connected(connection) and self.running:
                self.request(connection, self.load.pipeline)
            return
        if not events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
            return
        data = self.receive(connection)
        if not data:
            return
        end = data.rfind(b"\n") + 1
        if not end:
            connection.partial += data
            return
        complete, connection.partial = connection.partial + data[:end], data[end:]
        replies, numbers, errors = countAnswers(complete)
        tally = self.tally
        tally.replies += replies
        tally.numbers += numbers
        tally.errors += errors
        now = time.perf_counter()
        answered = replies
        inFlight = connection.inFlight
        while answered and inFlight:
            entry = inFlight[0]
            done = min(answered, int(entry[1]))
            tally.record(now - entry[0], done)
            answered -= done
            if done == entry[1]:
                inFlight.popleft()
            else:
                entry[1] -= done
        if self.running:
            self.request(connection, replies)
        elif not inFlight:
            self.close(connection)

    def request(self, connection: Connection, count: int) -> None:
        connection.inFlight.append([time.perf_counter(), count])
        self.send(connection, self.load.request * count)

    def connectEvent(self, connection: Connection, events: int) -> None:
        """
        A connection per request: connect, send, read one reply, close.
        """
        if events & select.EPOLLOUT:
            if self.connected(connection):
                self.send(connection, self.load.request)
            return
        data = self.receive(connection)
        if not data:
            return
        tally = self.tally
        tally.replies += 1
        if data.startswith(b"ERR"):
            tally.errors += 1
        else:
            tally.numbers += data.count(b" ") + 1
        tally.record(time.perf_counter() - connection.started)
        self.close(connection)
        if self.running:
            self.open()


def runInProcess(
    load: Load,
    counter: Synchronized[int] | None = None,
    start: Synchronized[float] | None = None,
) -> Tally:
    """
    Run C{load} in this process; return the counts.  Replies are added to
    C{counter} as they come, and the (monotonic) start time put in
    C{start}, for progress reports.
    """

    def progress(count: int) -> None:
        if counter is not None:
            counter.value += count

    def started(when: float) -> None:
        if start is not None:
            start.value = when

    return LoadRun(load, progress, started).run()


def _child(
    load: Load, counter: Synchronized[int], start: Synchronized[float], results: Any
) -> None:
    # Ctrl-C reaches the whole process group: the parent stops, and its
    # daemonic children with it, without a traceback from each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    results.put(runInProcess(load, counter, start))


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
    starts: list[Synchronized[float]] = []
    children = []
    for connections in split(load.connections, processes):
        if not connections:
            continue
        counter = context.Value("q", 0, lock=False)
        start = context.Value("d", math.inf, lock=False)
        share = Load(**{**asdict(load), "connections": connections})
        child = context.Process(
            target=_child, args=(share, counter, start, results), daemon=True
        )
        child.start()
        counters.append(counter)
        starts.append(start)
        children.append(child)
    started = time.monotonic()
    tally = Tally()
    collected = 0
    deadline = started + load.seconds + 60
    while collected < len(children) and time.monotonic() < deadline:
        try:
            result: Tally = results.get(timeout=1.0)
        except Exception:  # queue.Empty: a second went by
            # Timed from when the load began (the children's start), as the
            # final figure is, not from when they were spawned.
            began = min(start.value for start in starts)
            if report is not None and began < math.inf:
                elapsed = min(time.monotonic() - began, load.seconds)
                report(elapsed, sum(c.value for c in counters))
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
        "requests": tally.replies,
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
        f"{counted(figures['connections'], 'connection')} x "
        f"{figures['pipeline']} in flight"
        if figures["mode"] == "line"
        else f"{counted(figures['connections'], 'worker')}, one connection per request"
    )
    processes = counted(figures["processes"], "process", "processes")
    return "\n".join(
        [
            f"randnum bench: {figures['mode']} mode against {figures['endpoint']}, "
            f"{shape}, {figures['seconds']:.1f} s, {processes}",
            f"  requests/s   {figures['requests_per_second']:>14,.0f}",
            f"  numbers/s    {figures['numbers_per_second']:>14,.0f}",
            f"  latency      p50 {figures['latency_p50_ms']:.3f} ms"
            f"   p99 {figures['latency_p99_ms']:.3f} ms"
            f"   max {figures['latency_max_ms']:.3f} ms",
            f"  errors       {figures['errors']:>14,}",
            f"  client CPU   {figures['client_cpu_percent']:>13.0f}% of one core"
            + (
                f" (near {figures['processes'] * 100}%: the client may be the "
                "bottleneck; try --processes)"
                if figures["client_cpu_percent"] >= 85 * figures["processes"]
                else ""
            ),
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
