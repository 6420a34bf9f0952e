"""
What a stopped worker costs new connections (issue 22).

    python benchmarks/stopped_worker.py [--connections 40] [--twistd PATH]

Starts the installed C{twistd randnum --workers 2} on loopback, stops one
worker with SIGSTOP, then opens new connections one after another, each
asking for one number, and times each answer.  The kernel hands some of
them to the stopped worker's socket; the goal is that none waits more than
3 s (the main process misses the worker's heartbeat, kills it, and the other
worker covers its socket while a new one starts).
"""

from __future__ import annotations

import argparse
import os
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
LISTENING = re.compile(r"randnum listening on .*port[= ](\d+)")
WORKER = re.compile(r"randnum worker (\d+) \(pid (\d+)\) serving")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--twistd", default=str(BIN / "twistd"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [
                *(args.twistd, "-n", "--pidfile=", "randnum", "--workers", "2"),
                *("--port", "tcp:0:interface=127.0.0.1"),
            ],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            port, pids = 0, {}
            assert process.stdout is not None
            for line in process.stdout:
                if match := LISTENING.search(line):
                    port = int(match.group(1))
                if match := WORKER.search(line):
                    pids[match.group(1)] = int(match.group(2))
                if port and len(pids) == 2:
                    break
            threading.Thread(target=process.stdout.read, daemon=True).start()
            os.kill(pids["1"], signal.SIGSTOP)
            waits = []
            for _ in range(args.connections):
                started = time.monotonic()
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    sock.sendall(b"\n")
                    reply = sock.recv(100)
                waits.append(time.monotonic() - started)
                assert reply.endswith(b"\n"), reply
            median = sorted(waits)[len(waits) // 2] * 1000
            print(
                f"{len(waits)} new connections with worker 1 stopped: slowest "
                f"{max(waits):.2f} s, median {median:.1f} ms (goal: none over 3 s)"
            )
        finally:
            for pid in pids.values():
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
