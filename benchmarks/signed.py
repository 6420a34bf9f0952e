"""
Signed draws over one pipelined TCP connection, against in-process Ed25519
signing measured in the same run.

    python benchmarks/signed.py [--seconds 10] [--warmup 2] [--window 1000]
        [--sign-seconds 3] [--twistd PATH] [--json]

In this process, before the server runs and again after: how many Ed25519
signatures per second the C{cryptography} package makes over the signed part
of a typical record (built with L{randnum.signing.records.signedBytes}); the higher
of the two is the reference, since the machine's other load slows either.
For scale, also how many records per second L{randnum.signing.store.AuditStore.issue}
makes when nothing is stored (draw, sign, canonical JSON, hash, Deferreds:
the Python work of a signed draw, without the network and the database).

Then it makes a key and an audit database in a temporary folder, starts
C{twistd randnum --signing-key KEY --audit-db DB} on 127.0.0.1 (the
installed one, unless --twistd names another), opens one connection and
pipelines C{signed=true} lines, keeping up to --window requests in flight
(sent in large writes, refilled once half of them are answered).  After
--warmup seconds it counts the reply lines that arrive in --seconds, and the
CPU the server used meanwhile, in all and on its reactor thread (from
/proc): a reactor thread near 100% is the bottleneck; one well below it is
waiting, for the database, for the client, or for a core the machine's
other load holds (the load average is printed too).  Its CPU per draw is
the figure least disturbed by such load.

It prints signed draws per second, the signing rate and their ratio.  The
goal (the signed-draws issue) is at least 0.3x.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import select
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from randnum.generation.source import systemSource
from randnum.generation.values import UUID7Clock
from randnum.query import Query
from randnum.signing.keys import Signer, generateKey, loadPublicKey
from randnum.signing.records import GENESIS, parseRecord, signedBytes, verifyDraw
from randnum.signing.store import AuditStore, drawValues, requestFields, rfc3339

BIN = Path(sys.executable).parent
LISTENING = re.compile(r"randnum listening on .*port[= ](\d+)")
REQUEST = b"signed=true\n"
QUERY = Query(signed=True).checked()

#: The goal: signed draws per second over in-process signatures per second.
TARGET = 0.3

#: Longest wait for the server to start, and for any reply to arrive.
PATIENCE = 30.0


def sampleRecord(signer: Signer) -> dict[str, Any]:
    """
    A record like the server makes for C{signed=true}, without its
    signature.
    """
    return {
        "serial": 123456,
        "time": rfc3339(time.time()),
        "request": requestFields(QUERY),
        "values": [4711],
        "key": signer.keyId,
        "prev": "5f" * 32,
    }


def signingRate(message: bytes, seconds: float) -> float:
    """
    Ed25519 signatures per second over C{message}, one after another, for
    about C{seconds}.
    """
    sign = Ed25519PrivateKey.generate().sign
    sign(message)  # warm up
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(256):
            sign(message)
        done += 256
    return done / elapsed


class _StoredAtOnce:
    """
    An audit store's pool whose every transaction succeeds at once, and
    stores nothing.
    """

    def runInteraction(self, interaction: Any, *args: Any) -> Deferred[Any]:
        return succeed(None)


def issueRate(seconds: float) -> float:
    """
    Records per second from L{AuditStore.issue} (with the values drawn as
    the server draws them) when storing costs nothing: the ceiling that the
    Python work of a signed draw puts on the server, in this process.
    """
    clock = Clock()
    store = AuditStore(
        ":memory:",
        Signer(Ed25519PrivateKey.generate()),
        _StoredAtOnce(),
        clock,
        (0, GENESIS),
    )
    source, uuid7 = systemSource(), UUID7Clock()
    replies: list[bytes] = []
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(16):  # as many as one reactor turn signs
            values = drawValues(source, QUERY, uuid7)
            store.issue(QUERY, values, None).addCallback(replies.append)
        clock.advance(0)  # the group commit
        done += 16
        replies.clear()
    return done / elapsed


def cpuSeconds(pid: int, thread: int | None = None) -> float:
    """
    CPU seconds (user and system) used so far by a process, or by one of
    its threads; NaN where /proc is not available.
    """
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(twistd: str, workdir: Path) -> Iterator[tuple[int, int]]:
    """
    Run C{twistd randnum} with a new signing key and audit database in
    C{workdir} until the block ends; yield its TCP port and process id.
    """
    key, log = workdir / "signing.pem", workdir / "twistd.log"
    generateKey(key)
    command = [
        twistd,
        *("-n", "--pidfile=", "-l", str(log), "randnum"),
        *("--port", "tcp:0:interface=127.0.0.1"),
        *("--signing-key", str(key), "--audit-db", str(workdir / "audit.db")),
    ]
    process = subprocess.Popen(
        command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + PATIENCE
        while not (found := LISTENING.search(log.read_text() if log.exists() else "")):
            if process.poll() is not None or time.monotonic() > deadline:
                text = log.read_text() if log.exists() else ""
                raise SystemExit(f"the server did not start:\n{text}")
            time.sleep(0.1)
        yield int(found.group(1)), process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Drive:
    """
    What one pipelined connection got from the server in the measured time.

    @ivar records: complete reply lines that are records (not C{ERR}).
    @ivar errors: C{ERR} reply lines.
    @ivar seconds: how long they took to arrive.
    @ivar serverCpu: the server's CPU seconds meanwhile, every thread.
    @ivar reactorCpu: the same, on its main (reactor) thread only.
    @ivar clientCpu: this process's CPU seconds meanwhile.
    @ivar sample: one record as received, to verify.
    """

    records: int
    errors: int
    seconds: float
    serverCpu: float
    reactorCpu: float
    clientCpu: float
    sample: bytes


def drive(port: int, pid: int, window: int, warmup: float, seconds: float) -> Drive:
    """
    Pipeline C{signed=true} lines on one connection, at most C{window} of
    them unanswered, refilled in one write once half are answered; count
    the replies that arrive in the C{seconds} after C{warmup}.
    """
    refill = max(1, window // 2)
    receive = bytearray(1 << 18)
    view = memoryview(receive)
    carry = b""
    sample = b""
    lines = errors = 0  # complete reply lines so far, and ERR ones
    outstanding = 0
    unsent = memoryview(b"")
    marks: dict[str, tuple[float, int, int, float, float, float]] = {}

    def mark(name: str) -> None:
        marks[name] = (
            time.perf_counter(),
            lines,
            errors,
            cpuSeconds(pid),
            cpuSeconds(pid, pid),
            time.process_time(),
        )

    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as sock:
        sock.setblocking(False)
        start = time.monotonic()
        measureFrom, end = start + warmup, start + warmup + seconds
        lastReply = start
        while (now := time.monotonic()) < end:
            if "start" not in marks and now >= measureFrom:
                mark("start")
            if now - lastReply > PATIENCE:
                raise SystemExit(f"no reply for {PATIENCE:g} s")
            if not unsent and window - outstanding >= refill:
                count = window - outstanding
                unsent = memoryview(REQUEST * count)
                outstanding += count
            readable, writable, _ = select.select(
                [sock], [sock] if unsent else [], [], 0.1
            )
            if writable:
                try:
                    unsent = unsent[sock.send(unsent) :]
                except BlockingIOError:
                    pass
            if readable:
                try:
                    got = sock.recv_into(receive)
                except BlockingIOError:
                    continue
                if not got:
                    raise SystemExit("the server closed the connection")
                lastReply = now
                data = carry + view[:got]
                cut = data.rfind(b"\n") + 1
                carry = data[cut:]
                complete = data.count(b"\n")
                lines += complete
                outstanding -= complete
                errors += data.count(b"ERR ", 0, cut)
                if not sample and cut and data.startswith(b"{"):
                    sample = data[: data.find(b"\n")]
        mark("end")
    if "start" not in marks:
        raise SystemExit("the warm-up did not end")
    (t0, n0, e0, s0, r0, c0), (t1, n1, e1, s1, r1, c1) = marks["start"], marks["end"]
    return Drive(
        records=(n1 - n0) - (e1 - e0),
        errors=e1 - e0,
        seconds=t1 - t0,
        serverCpu=s1 - s0,
        reactorCpu=r1 - r0,
        clientCpu=c1 - c0,
        sample=sample,
    )


def stored(database: Path) -> int:
    """
    How many records the audit database holds.
    """
    with closing(sqlite3.connect(database)) as connection:
        count: int = connection.execute("SELECT count(*) FROM draws").fetchone()[0]
    return count


def main() -> None:
    """
    Measure, then print the figures (as a table, or as JSON).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="measured time on the wire"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="time on the wire before that"
    )
    parser.add_argument(
        "--window", type=int, default=1000, help="most requests in flight"
    )
    parser.add_argument(
        "--sign-seconds", type=float, default=3.0, help="in-process signing time"
    )
    parser.add_argument("--twistd", default=str(BIN / "twistd"))
    parser.add_argument("--json", action="store_true", help="print JSON")
    arguments = parser.parse_args()
    if arguments.window < 1:
        parser.error("--window must be at least 1")

    loadBefore = os.getloadavg()[0]
    signer = Signer(Ed25519PrivateKey.generate())
    message = signedBytes(sampleRecord(signer))
    signingBefore = signingRate(message, arguments.sign_seconds)
    issuing = issueRate(min(arguments.sign_seconds, 2.0))
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        with serving(arguments.twistd, workdir) as (port, pid):
            result = drive(
                port, pid, arguments.window, arguments.warmup, arguments.seconds
            )
        if result.sample:
            verifyDraw(
                parseRecord(result.sample), loadPublicKey(workdir / "signing.pem")
            )
        inStore = stored(workdir / "audit.db")
    signingAfter = signingRate(message, arguments.sign_seconds)
    # The machine at its best: others' load slows either measurement.
    signing = max(signingBefore, signingAfter)

    rate = result.records / result.seconds
    ratio = rate / signing
    figures = {
        "signed_draws_per_second": rate,
        "signing_per_second": signing,
        "signing_per_second_before": signingBefore,
        "signing_per_second_after": signingAfter,
        "ratio": ratio,
        "target": TARGET,
        "target_met": ratio >= TARGET,
        "issue_per_second_in_process": issuing,
        "message_bytes": len(message),
        "record_bytes": len(result.sample),
        "window": arguments.window,
        "server_cpu_percent": 100 * result.serverCpu / result.seconds,
        "reactor_cpu_percent": 100 * result.reactorCpu / result.seconds,
        "client_cpu_percent": 100 * result.clientCpu / result.seconds,
        "server_us_per_draw": 1e6 * result.serverCpu / max(result.records, 1),
        "reactor_us_per_draw": 1e6 * result.reactorCpu / max(result.records, 1),
        "records_stored": inStore,
        "records": result.records,
        "errors": result.errors,
        "seconds": result.seconds,
        "load_average": [loadBefore, os.getloadavg()[0]],
    }
    if arguments.json:
        print(json.dumps(figures, indent=2))
        return
    verdict = "met" if figures["target_met"] else "NOT met"
    print(
        f"Ed25519 signing in process ({len(message)} B)  {signing:10,.0f} /s"
        f"  (before {signingBefore:,.0f}, after {signingAfter:,.0f})"
    )
    print(f"record issue in process (no I/O)      {issuing:10,.0f} /s")
    print(
        f"signed draws, 1 connection, window {arguments.window:<4}"
        f" {rate:8,.0f} /s  {ratio:.3f}x  (target {TARGET}x: {verdict})"
    )
    print(
        f"server CPU {figures['server_cpu_percent']:.0f}% "
        f"(reactor thread {figures['reactor_cpu_percent']:.0f}%), "
        f"{figures['server_us_per_draw']:.1f} us/draw "
        f"({figures['reactor_us_per_draw']:.1f} on the reactor thread); "
        f"client CPU {figures['client_cpu_percent']:.0f}%"
    )
    load = figures["load_average"]
    print(
        f"{result.records:,} records in {result.seconds:.1f} s, "
        f"{result.errors} errors, {inStore:,} stored; "
        f"load average {load[0]:.2f} before, {load[1]:.2f} after "
        f"({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
