"""
What one hostile client costs everyone else: latency, memory, shutdown.

    python benchmarks/fairness.py [--seconds 10] [--twistd PATH]

Starts the installed C{twistd randnum} (TCP and HTTP on loopback), then, for
each face:

 - tcp: 4 connections each send 64 KB of C{n=10000} lines in one go (two of
   them with the full 64-bit range: ~200 KB of reply per 57-byte line) and
   never read;
 - http: 1 connection pipelines ~64 KB of such C{GET /v1/random} requests
   and never reads;

while a probe client sends one request every 20 ms (a line on TCP,
C{GET /healthz} on HTTP) on a connection of its own and times each answer.
It prints the probe's latency (p50, p99, max), the server's memory growth
(VmRSS) and, at the end, how long SIGTERM takes to stop the server with
the attack still connected.  Targets (issue 9): p99 <= 100 ms, max <= 500 ms,
RSS growth <= 64 MB, SIGTERM exit <= 2 s.
"""

from __future__ import annotations

import argparse
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent
LISTENING = re.compile(r"randnum (HTTP )?listening on .*port[= ](\d+)")
FULL = b"min=-9223372036854775808 max=9223372036854775807"


def rss(pid: int) -> int:
    """
    The process's resident memory, in bytes.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def start(twistd: str, workdir: Path) -> tuple[subprocess.Popen[str], int, int]:
    """
    The server, its TCP port and its HTTP port.
    """
    process = subprocess.Popen(
        [
            twistd,
            "-n",
            "--pidfile=",
            "randnum",
            "--port",
            "tcp:0:interface=127.0.0.1",
            "--http",
            "tcp:0:interface=127.0.0.1",
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ports: dict[str, int] = {}
    assert process.stdout is not None
    for line in process.stdout:
        match = LISTENING.search(line)
        if match:
            ports["http" if match.group(1) else "tcp"] = int(match.group(2))
            if len(ports) == 2:
                break
    # Keep draining its output, so that logging (a contention line under a
    # flood) never fills the pipe and blocks it.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, ports["tcp"], ports["http"]


def flood(port: int, data: bytes) -> socket.socket:
    """
    A connection that sends C{data} (as much as the kernel takes) and never
    reads.
    """
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    try:
        sock.send(data)
    except BlockingIOError:
        pass
    return sock


def probe(port: int, request: bytes, end: bytes, seconds: float) -> list[float]:
    """
    One request every 20 ms for C{seconds}; each answer's latency in s.
    """
    latencies = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(30)
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            started = time.monotonic()
            sock.sendall(request)
            reply = b""
            while not reply.endswith(end):
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError("the probe's connection was closed")
                reply += chunk
            latencies.append(time.monotonic() - started)
            time.sleep(max(0.0, 0.02 - (time.monotonic() - started)))
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--twistd", default=str(BIN / "twistd"))
    args = parser.parse_args()
    heavy = b"n=10000\n" * 4096
    full = b"n=10000 " + FULL + b"\n"
    fullLines = full * (65536 // len(full))
    get = b"GET /v1/random?n=10000&" + FULL.replace(b" ", b"&") + b" HTTP/1.1\r\n\r\n"
    print(f"{'face':6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'RSS +MB':>8}")
    with tempfile.TemporaryDirectory() as workdir:
        process, tcpPort, httpPort = start(args.twistd, Path(workdir))
        try:
            attackers: list[socket.socket] = []
            for face in ("tcp", "http"):
                before = rss(process.pid)
                if face == "tcp":
                    attackers += [
                        flood(tcpPort, data)
                        for data in (heavy, heavy, fullLines, fullLines)
                    ]
                    latencies = probe(tcpPort, b"\n", b"\n", args.seconds)
                else:
                    attackers.append(flood(httpPort, get * (65536 // len(get))))
                    latencies = probe(
                        httpPort,
                        b"GET /healthz HTTP/1.1\r\n\r\n",
                        b"ok\n",
                        args.seconds,
                    )
                grown = (rss(process.pid) - before) / 2**20
                print(
                    f"{face:6} {percentile(latencies, 0.5) * 1000:8.2f} "
                    f"{percentile(latencies, 0.99) * 1000:8.2f} "
                    f"{max(latencies) * 1000:8.2f} {grown:8.1f}"
                )
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            print(
                f"SIGTERM with the attack connected: exited in "
                f"{time.monotonic() - started:.2f} s"
            )
            for sock in attackers:
                sock.close()
        finally:
            if process.poll() is None:
                process.kill()


if __name__ == "__main__":
    main()
