"""
How fast the raw byte stream (C{GET /v1/bytes}) flows over loopback HTTP,
against an in-process C{os.urandom(65536)} loop measured in the same run.

    python benchmarks/bytestream.py [--megabytes 1000] [--twistd PATH]

Starts C{twistd randnum --http} on 127.0.0.1 (the installed one, unless
--twistd names another), reads the stream with a plain socket, and prints
both rates and their ratio.  The goal is at least 0.25x.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def urandomRate(seconds: float) -> float:
    """
    Bytes per second from C{os.urandom(65536)} in a loop.
    """
    total = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        total += len(os.urandom(65536))
    return total / elapsed


def streamRate(port: int, length: int) -> float:
    """
    Bytes per second of one C{/v1/bytes} response of C{length} bytes.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        start = time.perf_counter()
        sock.sendall(b"GET /v1/bytes?length=%d HTTP/1.1\r\nHost: x\r\n\r\n" % length)
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        received = len(head.partition(b"\r\n\r\n")[2])
        buffer = bytearray(1 << 20)
        while received < length:
            got = sock.recv_into(buffer)
            if not got:
                raise SystemExit(f"the stream ended after {received} bytes")
            received += got
        return length / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=1000)
    parser.add_argument("--twistd", default=str(Path(sys.executable).parent / "twistd"))
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        log = Path(work) / "twistd.log"
        server = subprocess.Popen(
            [
                arguments.twistd,
                "-n",
                "--pidfile=",
                "-l",
                str(log),
                "randnum",
                "--port",
                "tcp:0:interface=127.0.0.1",
                "--http",
                "tcp:0:interface=127.0.0.1",
            ],
            cwd=work,
        )
        try:
            deadline = time.monotonic() + 30
            while not (
                found := re.search(
                    r"HTTP listening on .*port[= ](\d+)",
                    log.read_text() if log.exists() else "",
                )
            ):
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            port = int(found.group(1))
            local = urandomRate(2.0)
            served = streamRate(port, arguments.megabytes * 1_000_000)
        finally:
            server.terminate()
            server.wait(10)
    print(f"os.urandom(65536) in process  {local / 1e6:8.1f} MB/s")
    print(
        f"GET /v1/bytes over loopback   {served / 1e6:8.1f} MB/s  {served / local:.2f}x"
    )


if __name__ == "__main__":
    main()
