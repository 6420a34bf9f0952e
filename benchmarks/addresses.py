"""
What one client address, or a few, cost everyone else (issue 22).

    python benchmarks/addresses.py [--seconds 8] [--twistd PATH]

For each flood below, starts the installed C{twistd randnum} afresh (TCP and
HTTP on loopback), floods it from 127.0.0.2 and up, and meanwhile probes it
from 127.0.0.1 every 20 ms (C{n=1} on TCP, C{GET /healthz} on HTTP), timing
each answer.  It prints the probe's p50, p99 and max, the server's memory
growth (VmRSS), and the goal:

 - tcp-100-reading: 100 connections of one address pipelining the heaviest
   integer line, and reading every reply;
 - tcp-300-unread: 300 connections of one address doing the same, and
   never reading;
 - http-100: 100 HTTP connections of one address pipelining the same
   request as a GET, never reading;
 - data-16: 16 addresses, a connection each, flooding unique 1 KB C{data=}
   lines;
 - cheap-16: the same 16 addresses flooding unique cheap lines
   (C{n=1 max=K});
 - mixed: tcp-300-unread, http-100 (from another address) and data-16 at
   once, probed on TCP.

Every flood stops by itself when its row ends.
"""

from __future__ import annotations

import argparse
import random
import selectors
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

# The probe and the measures are fairness.py's (run as scripts, siblings).
from fairness import percentile, probe, rss, start

BIN = Path(sys.executable).parent
HEAVY = b"n=10000 min=-9223372036854775808 max=9223372036854775807\n"
GET = (
    b"GET /v1/random?n=10000&min=-9223372036854775808&max=9223372036854775807"
    b" HTTP/1.1\r\nHost: x\r\n\r\n"
)


def flood(
    port: int,
    sources: list[str],
    lines: Callable[[], bytes],
    read: bool,
    stop: threading.Event,
) -> None:
    """
    Connect from each of C{sources} and keep each connection's send buffer
    full of C{lines()}, reading (and dropping) the replies if C{read}, until
    C{stop}.
    """
    selector = selectors.DefaultSelector()
    socks = []
    for source in sources:
        sock = socket.socket()
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        socks.append(sock)
        events = selectors.EVENT_WRITE | (selectors.EVENT_READ if read else 0)
        selector.register(sock, events, [b""])
    while not stop.is_set():
        for key, events in selector.select(0.05):
            conn, pending = key.fileobj, key.data
            assert isinstance(conn, socket.socket)
            try:
                if events & selectors.EVENT_READ:
                    conn.recv(1 << 20)
                if events & selectors.EVENT_WRITE:
                    if not pending[0]:
                        pending[0] = lines()
                    sent = conn.send(pending[0])
                    pending[0] = pending[0][sent:]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                selector.unregister(conn)
    for sock in socks:
        sock.close()


def cycling(pool: list[bytes], size: int = 65536) -> Callable[[], bytes]:
    """
    About C{size} bytes of lines at a time from C{pool}, in turn: unique
    enough that no cache of recent lines helps.
    """
    position = [0]

    def next() -> bytes:
        chunk = []
        total = 0
        while total < size:
            line = pool[position[0] % len(pool)]
            position[0] += 1
            chunk.append(line)
            total += len(line)
        return b"".join(chunk)

    return next


def floods() -> dict[str, tuple[str, list[str], Callable[[], bytes], bool]]:
    """
    Each flood: its face, its source addresses, its lines and whether it
    reads.
    """
    rng = random.Random(22)
    data = [
        b"signed=true data="
        + "".join(f"%{rng.randrange(256):02X}" for _ in range(330)).encode()
        + b"\n"
        for _ in range(2000)
    ]
    cheap = [b"n=1 max=%d\n" % (1000 + i) for i in range(5000)]
    sixteen = [f"127.0.0.{i}" for i in range(2, 18)]
    return {
        "tcp-100-reading": ("tcp", ["127.0.0.2"] * 100, lambda: HEAVY * 1024, True),
        "tcp-300-unread": ("tcp", ["127.0.0.2"] * 300, lambda: HEAVY * 1024, False),
        "http-100": ("http", ["127.0.0.2"] * 100, lambda: GET * 512, False),
        "data-16": ("tcp", sixteen, cycling(data), True),
        "cheap-16": ("tcp", sixteen, cycling(cheap), True),
        "mixed": ("mixed", sixteen, cycling(data), True),
    }


GOALS = {
    "tcp-100-reading": (50, 250, None),
    "tcp-300-unread": (50, 250, 64),
    "http-100": (50, 250, None),
    "data-16": (50, None, None),
    "cheap-16": (50, None, None),
    "mixed": (50, 250, 64),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--twistd", default=str(BIN / "twistd"))
    parser.add_argument("only", nargs="*", help="floods to run (default: all)")
    args = parser.parse_args()
    print(
        f"{'flood':16} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'RSS +MB':>8}  goal"
    )
    for name, (face, sources, lines, read) in floods().items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as workdir:
            process, tcpPort, httpPort = start(args.twistd, Path(workdir))
            stop = threading.Event()
            try:
                before = rss(process.pid)
                if face == "mixed":
                    # Every flood at once: TCP, HTTP, one address and many.
                    attacks = [
                        (tcpPort, ["127.0.0.2"] * 300, lambda: HEAVY * 1024, False),
                        (httpPort, ["127.0.0.3"] * 100, lambda: GET * 512, False),
                        (tcpPort, sources, lines, True),
                    ]
                else:
                    port = tcpPort if face == "tcp" else httpPort
                    attacks = [(port, sources, lines, read)]
                for attack in attacks:
                    threading.Thread(target=flood, args=(*attack, stop)).start()
                time.sleep(1)  # the flood builds up
                if face != "http":
                    latencies = probe(tcpPort, b"n=1\n", b"\n", args.seconds)
                else:
                    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    latencies = probe(httpPort, request, b"ok\n", args.seconds)
                grown = (rss(process.pid) - before) / 2**20
                p99, most, memory = GOALS[name]
                goal = f"p99 <= {p99} ms" + (f", max <= {most} ms" if most else "")
                goal += f", RSS <= +{memory} MB" if memory else ""
                print(
                    f"{name:16} {percentile(latencies, 0.5) * 1000:8.2f} "
                    f"{percentile(latencies, 0.99) * 1000:8.2f} "
                    f"{max(latencies) * 1000:8.2f} {grown:8.1f}  {goal}",
                    flush=True,
                )
            finally:
                stop.set()
                process.kill()
                process.wait()


if __name__ == "__main__":
    main()
