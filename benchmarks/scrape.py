"""
What a scrape of C{/metrics} costs, by the number of workers and of open
connections.

    python benchmarks/scrape.py [--scrapes 300] [--workers 1 2 4]
                                [--connections 0 2000]

For each number of workers and of idle TCP connections held open, starts
the installed C{twistd randnum --workers N --http ...}, opens the
connections (each answered once, so every worker holds its share), then
times C{--scrapes} scrapes of C{/metrics}, one after the other, each on a
new connection (so that they reach every worker), and prints the median
and 99th percentile.  With workers, each scrape asks the main process,
which asks every worker for its counts: the cost grows with the number of
workers by one small AMP exchange each, and not with the connections, which
are counted as they open and close, never walked at scrape time.
"""

from __future__ import annotations

import argparse
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
PORTS = re.compile(r"randnum (?:HTTP )?listening on \S+ \(.*port[= ](\d+)\)")


def start(workers: int, log: Path) -> tuple[subprocess.Popen[bytes], int, int]:
    """
    Start randnum with C{workers}; its process and its TCP and HTTP ports,
    once every worker serves.
    """
    local = "tcp:0:interface=127.0.0.1"
    process = subprocess.Popen(
        [
            str(BIN / "twistd"),
            *("-n", "--pidfile=", "-l", str(log), "randnum"),
            *("--port", local, "--http", local, "--workers", str(workers)),
            # Every connection comes from 127.0.0.1.
            *("--max-connections-per-ip", "0"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        ports = [int(port) for port in PORTS.findall(text)]
        serving = text.count(") serving ")
        if len(ports) == 2 and (workers == 1 or serving >= workers):
            return process, ports[0], ports[1]
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"randnum did not start:\n{log.read_text()}")


def scrape(port: int) -> float:
    """
    Seconds one scrape takes, on a new connection.
    """
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--connections", type=int, nargs="+", default=[0, 2000])
    arguments = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    print(f"{'workers':>7} {'connections':>11} {'p50 ms':>8} {'p99 ms':>8}")
    for workers in arguments.workers:
        for count in arguments.connections:
            with tempfile.TemporaryDirectory() as work:
                process, tcp, http = start(workers, Path(work) / "twistd.log")
                held: list[socket.socket] = []
                try:
                    for _ in range(count):
                        sock = socket.create_connection(("127.0.0.1", tcp))
                        sock.sendall(b"n=1\n")
                        sock.recv(100)
                        held.append(sock)
                    for _ in range(20):  # warm up
                        scrape(http)
                    times = sorted(scrape(http) for _ in range(arguments.scrapes))
                    p50 = statistics.median(times) * 1000
                    p99 = times[int(len(times) * 0.99) - 1] * 1000
                    print(f"{workers:>7} {count:>11} {p50:>8.2f} {p99:>8.2f}")
                finally:
                    for sock in held:
                        sock.close()
                    process.terminate()
                    process.wait(timeout=10)


if __name__ == "__main__":
    main()
