"""
Instructions a request and a connection cost, counted by valgrind's
callgrind: the same count every run, whatever else the machine is doing,
so that two installations of randnum compare exactly where the loopback
benchmarks (compare.py) vary by tens of percent on a shared machine.

    python benchmarks/instructions.py [PYTHON ...]

Each PYTHON (default: this interpreter) is a venv's python with randnum
installed; for example the previous main's beside this one:

    python -m venv /tmp/before && /tmp/before/bin/pip install git+file://$PWD@HEAD~1
    python benchmarks/instructions.py /tmp/before/bin/python .venv/bin/python

Each load runs on real loopback sockets in a private reactor (the tests'
loopback harness), from a fresh interpreter under callgrind; the cost of
starting and importing is measured alone and taken off.  Loads:
 - pipelined: 20,000 C{n=1} requests, 1,000 in flight on one connection;
 - connect: 300 connections, each with one C{n=1} request.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"

LOAD = """
import sys
sys.path.insert(0, {tests!r})
from loopback import Loopback, TurnClock
from randnum import Framing, RandnumFactory
kind = sys.argv[1]
clock = TurnClock()
loopback = Loopback(RandnumFactory(clock=clock, framing=Framing.LINE), clock)
if kind == "pipelined":
    client = loopback.connect()
    for _ in range(20):
        client.received = b""
        client.send(b"n=1\\n" * 1000)
        while client.received.count(b"\\n") < 1000:
            loopback.turn()
            client.read()
elif kind == "connect":
    for _ in range(300):
        client = loopback.connect()
        client.send(b"n=1\\n")
        while not client.received.endswith(b"\\n"):
            loopback.turn()
            client.read()
        client.close()
        loopback.turn(2)
loopback.close()
"""

#: Each load, and how many requests or connections it makes.
LOADS = {"pipelined": 20_000, "connect": 300}


def instructions(python: str, script: str, kind: str) -> int:
    """
    The instructions C{python script kind} executes, by callgrind.
    """
    with tempfile.TemporaryDirectory() as directory:
        ran = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={directory}/out",
                python,
                script,
                kind,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected : (\d+)", ran.stderr)
    assert found, ran.stderr[-2000:]
    return int(found.group(1))


def main() -> None:
    """
    Print each installation's instructions a request and a connection.
    """
    pythons = sys.argv[1:] or [sys.executable]
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "load.py"
        script.write_text(LOAD.format(tests=str(TESTS)))
        print(f"{'python':40} " + " ".join(f"{kind:>14}" for kind in LOADS))
        first: dict[str, float] = {}
        for python in pythons:
            base = instructions(python, str(script), "none")
            cells = []
            for kind, count in LOADS.items():
                each = (instructions(python, str(script), kind) - base) / count
                ratio = f" ({each / first[kind]:.3f}x)" if kind in first else ""
                first.setdefault(kind, each)
                cells.append(f"{each:>9,.0f}{ratio}")
            print(f"{python:40} " + " ".join(f"{c:>14}" for c in cells))
    print("instructions a request (pipelined) and a connection (connect)")


if __name__ == "__main__":
    main()
