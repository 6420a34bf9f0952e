"""
randnum against reference servers, under the same loads, on loopback.

    python benchmarks/compare.py [--seconds 5] [--processes 1] [--only LOAD]
                                 [--workers N] [--baseline TWISTD]
                                 [--client python|c] [--rounds N]

Starts the installed C{twistd randnum}, a stdlib-asyncio line server
(reference_asyncio.py), a serial blocking server like the original one
(reference_serial.py) and, when C{redis-server} is on the PATH, Redis
(answering inline PING, the cheapest thing it does), and the floors of the
connection-per-request load: a minimal Twisted protocol and a minimal
asyncio protocol that answer a connection's first data with one number and
close (floor_twisted.py, floor_asyncio.py: the seed exchange), and Twisted's
floor of the light-request loads: a minimal Twisted line protocol
(floor_twisted.py --lines, "floor tw" under those loads).  Each load is
run with C{randnum bench} against each server that speaks it, one after the
other, and one table is printed with randnum's ratio to each reference.

With --rounds N, each load is run N times against every server, the order
of the servers turning round each time (so that a neighbour's load on a
shared machine falls on all of them alike); the table gives each server's
median, and randnum's ratio to it as the median of the rounds' ratios and
their range, by numbers served a second and by the server CPU a request
takes (theirs to ours, so that above 1 is better either way; the CPU figure
is the steadier when a neighbour shares the machine), e.g.:

    python benchmarks/compare.py --client c --only connect --rounds 5

Loads:
 - pipelined: 1 connection, 1000 requests in flight;
 - connections: 50 connections, 1 request in flight each;
 - connect: 50 workers, one connection per request (the sample client's way).

With --workers N, randnum is also run with --workers N ('randnum wN'),
under every load, and a last column gives its ratio to each server: on the
randnum row, what the workers gain; on the others, how far they take randnum
past the references.  The server CPU column then counts every process of
the server (the main process and its workers).

With --client c, the load comes from loadgen.c (compiled with the C compiler
on the PATH) instead of C{randnum bench}: the same loads at a fraction of the
client's CPU, which on a machine of two cores shared by client and server
decides how much of the machine the server can have.

With --baseline, another randnum installation is measured too, so that a
change's cost shows side by side in one run, e.g.:

    python -m venv /tmp/before && /tmp/before/bin/pip install git+file://$PWD@HEAD~1
    python benchmarks/compare.py --only pipelined --baseline /tmp/before/bin/twistd
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PORT = re.compile(r"port[= ](\d+)")

LOADS: dict[str, list[str]] = {
    "pipelined": ["--mode", "line", "-c", "1", "-P", "1000"],
    "connections": ["--mode", "line", "-c", "50", "-P", "1"],
    "connect": ["--mode", "connect", "-c", "50"],
}


def median(values: list[float]) -> float:
    """
    The median of C{values}.
    """
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Target:
    """
    A running server and what it can be asked.
    """

    name: str
    port: int
    pid: int
    loads: tuple[str, ...]
    request: str | None = None


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def started(
    command: list[str], port: int | None = None, workers: int = 0
) -> Iterator[tuple[int, int]]:
    """
    Run a server until the block ends; yield its port (read from its output
    unless given) and process id.  With C{workers}, wait until that many
    randnum workers say that they serve.
    """
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        if port is None:
            assert process.stdout is not None
            for line in process.stdout:
                match = PORT.search(line)
                if match and "listening" in line:
                    port = int(match.group(1))
                    break
            else:
                raise RuntimeError(f"{command[0]} exited before listening")
            serving = 0
            while serving < workers:
                line = process.stdout.readline()
                if not line:
                    raise RuntimeError(f"{command[0]} exited before its workers")
                serving += "randnum worker" in line and " serving " in line
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def serverSeconds(pid: int) -> float:
    """
    CPU seconds (user and system) a server process and its children (the
    workers of --workers) have used so far; NaN where /proc is not
    available.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return math.nan
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(serverSeconds(int(child)) for child in children)


def compiled(workdir: str) -> Path:
    """
    loadgen.c, compiled into C{workdir}.
    """
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("--client c needs a C compiler (cc or gcc) on the PATH")
    binary = Path(workdir) / "loadgen"
    subprocess.run(
        [compiler, "-O2", "-o", str(binary), str(HERE / "loadgen.c")], check=True
    )
    return binary


def cBench(
    loadgen: Path, target: Target, load: str, seconds: float, processes: int
) -> dict[str, Any]:
    """
    Run C{load} with C{processes} loadgen processes (the connections split
    between them); their figures added up (latencies: the slowest's).
    """
    options = LOADS[load]
    mode, connections, pipeline = options[1], int(options[3]), 1
    if "-P" in options:
        pipeline = int(options[options.index("-P") + 1])
    shares = [
        connections // processes + (i < connections % processes)
        for i in range(min(processes, connections))
    ]
    fixed = [str(pipeline), str(seconds)] + ([target.request] if target.request else [])
    runs = [
        subprocess.Popen(
            [str(loadgen), str(target.port), mode, str(share), *fixed],
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    outputs = [run.communicate(timeout=seconds + 60)[0] for run in runs]
    if any(run.returncode for run in runs):
        raise RuntimeError(f"loadgen failed against {target.name}")
    each = [json.loads(output) for output in outputs]
    total = {key: sum(one[key] for one in each) for key in each[0]}
    total["seconds"] = max(one["seconds"] for one in each)
    for key in ("latency_p50_ms", "latency_p99_ms"):
        total[key] = max(one[key] for one in each)
    return total


def bench(
    target: Target,
    load: str,
    seconds: float,
    processes: int,
    loadgen: Path | None = None,
) -> dict[str, Any]:
    before = serverSeconds(target.pid)
    if loadgen is not None:
        figures = cBench(loadgen, target, load, seconds, processes)
    else:
        figures = pythonBench(target, load, seconds, processes)
    used = serverSeconds(target.pid) - before
    # Server CPU per request: what the server would cost if the client
    # were not the bottleneck (both share this machine's cores).
    figures["server_us_per_request"] = 1e6 * used / max(figures["requests"], 1)
    return figures


def pythonBench(
    target: Target, load: str, seconds: float, processes: int
) -> dict[str, Any]:
    """
    Run C{load} with C{randnum bench}.
    """
    options = f"--json --port {target.port} -t {seconds} --processes {processes}"
    command = [str(BIN / "randnum"), "bench", *options.split(), *LOADS[load]]
    if target.request is not None:
        command += ["--request", target.request]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 120
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"randnum bench failed against {target.name}: {result.stderr}"
        )
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    python = f"Python {platform.python_version()}"
    return f"{os.cpu_count()} cores, {cpu}, {python}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="per load and server"
    )
    parser.add_argument("--processes", type=int, default=1, help="client processes")
    parser.add_argument("--only", choices=sorted(LOADS), action="append", help="a load")
    parser.add_argument(
        "--baseline",
        metavar="TWISTD",
        help="another installation's twistd (e.g. an earlier randnum), measured "
        "as 'baseline' under every load, to compare changes side by side",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="also run randnum with --workers N, under every load",
    )
    parser.add_argument(
        "--client",
        choices=("python", "c"),
        default="python",
        help="the load generator: randnum bench (python) or loadgen.c (c)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="times each load is run against every server, in turn",
    )
    arguments = parser.parse_args()
    loads = arguments.only or list(LOADS)
    many = f"randnum w{arguments.workers}"

    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        randnum = stack.enter_context(
            started(
                [
                    str(BIN / "twistd"),
                    *"-n --pidfile= -l - randnum --port".split(),
                    "tcp:0:interface=127.0.0.1",
                ]
            )
        )
        asyncio = stack.enter_context(
            started([sys.executable, str(HERE / "reference_asyncio.py")])
        )
        serial = stack.enter_context(
            started([sys.executable, str(HERE / "reference_serial.py")])
        )
        targets = [
            Target("randnum", *randnum, ("pipelined", "connections", "connect")),
            Target("asyncio", *asyncio, ("pipelined", "connections")),
            Target("serial", *serial, ("connect",)),
        ]
        if "connect" in loads:
            for name, script in (
                ("floor tw", "floor_twisted.py"),
                ("floor aio", "floor_asyncio.py"),
            ):
                floor = stack.enter_context(
                    started([sys.executable, str(HERE / script)])
                )
                targets.append(Target(name, *floor, ("connect",)))
        if {"pipelined", "connections"} & set(loads):
            lines = stack.enter_context(
                started([sys.executable, str(HERE / "floor_twisted.py"), "--lines"])
            )
            targets.append(Target("floor tw", *lines, ("pipelined", "connections")))
        if arguments.workers:
            workers = stack.enter_context(
                started(
                    [
                        str(BIN / "twistd"),
                        *"-n --pidfile= -l - randnum --port".split(),
                        "tcp:0:interface=127.0.0.1",
                        *("--workers", str(arguments.workers)),
                    ],
                    workers=arguments.workers,
                )
            )
            targets.insert(1, Target(many, *workers, tuple(LOADS)))
        if arguments.baseline:
            baseline = stack.enter_context(
                started(
                    [
                        arguments.baseline,
                        *"-n --pidfile= -l - randnum --port".split(),
                        "tcp:0:interface=127.0.0.1",
                    ]
                )
            )
            targets.append(Target("baseline", *baseline, tuple(LOADS)))
        redis = shutil.which("redis-server")
        if redis:
            redisPort = freePort()
            redisProcess = stack.enter_context(
                started(
                    [
                        redis,
                        *f"--port {redisPort} --bind 127.0.0.1 --appendonly no".split(),
                        *("--save", "", "--dir", workdir),
                    ],
                    port=redisPort,
                )
            )
            targets.append(
                Target(
                    "redis PING", *redisProcess, ("pipelined", "connections"), "PING"
                )
            )

        loadgen = compiled(workdir) if arguments.client == "c" else None
        print(f"machine: {machine()}")
        clients = f"{arguments.processes} {arguments.client} client process(es)"
        rounds = max(1, arguments.rounds)
        print(f"each cell: {arguments.seconds:g} s x {rounds} round(s), {clients}")
        print("(the median of the rounds; randnum's ratio: median [lowest-highest])\n")
        header = (
            f"{'load':<12} {'server':<11} {'numbers/s':>12} {'p50 ms':>8} "
            f"{'p99 ms':>8} {'client CPU':>10} {'server us/req':>13}  "
            f"{'randnum is':<20} {'by server CPU':<20}"
        )
        if arguments.workers:
            header += f"  {many} is"
        header = header.rstrip()
        print(header)
        print("-" * len(header))
        for load in loads:
            serving = [target for target in targets if load in target.loads]
            runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in serving}
            for turn in range(rounds):
                # Turn the order round: each server runs first once in a while.
                shift = turn % len(serving)
                for target in serving[shift:] + serving[:shift]:
                    runs[target.name].append(
                        bench(
                            target,
                            load,
                            arguments.seconds,
                            arguments.processes,
                            loadgen,
                        )
                    )
            for name, figures in runs.items():
                print(_row(load, name, figures, runs, many, bool(arguments.workers)))
            print()


def _ratio(
    ours: list[dict[str, Any]], theirs: list[dict[str, Any]], byCpu: bool = False
) -> str:
    """
    The median of the rounds' ratios of C{ours} to C{theirs}, and their
    range: of the numbers served a second, or (C{byCpu}) of the server CPU
    a request, theirs to ours (so that more than 1 is better either way:
    the CPU figure is the steadier where a neighbour shares the machine).
    """
    if byCpu:
        ratios = [
            b["server_us_per_request"] / max(a["server_us_per_request"], 1e-9)
            for a, b in zip(ours, theirs, strict=True)
        ]
    else:
        ratios = [
            a["numbers_per_second"] / max(b["numbers_per_second"], 1e-9)
            for a, b in zip(ours, theirs, strict=True)
        ]
    text = f"{median(ratios):.2f}x"
    if len(ratios) > 1:
        text += f" [{min(ratios):.2f}-{max(ratios):.2f}]"
    return text


def _row(
    load: str,
    name: str,
    figures: list[dict[str, Any]],
    runs: dict[str, list[dict[str, Any]]],
    many: str,
    workers: bool,
) -> str:
    """
    One server's line of the table: its medians, and randnum's ratios to it.
    """

    def middle(key: str) -> float:
        return median([one[key] for one in figures])

    ours = name in ("randnum", many)
    ratio = "" if ours else _ratio(runs["randnum"], figures)
    byCpu = "" if ours else _ratio(runs["randnum"], figures, byCpu=True)
    line = (
        f"{load:<12} {name:<11} {middle('numbers_per_second'):>12,.0f} "
        f"{middle('latency_p50_ms'):>8.3f} "
        f"{middle('latency_p99_ms'):>8.3f} "
        f"{middle('client_cpu_percent'):>9.0f}% "
        f"{middle('server_us_per_request'):>13.2f}  {ratio:<20} {byCpu:<20}"
    )
    if workers and many in runs and name != many:
        line += f"  {_ratio(runs[many], figures)}"
    return line.rstrip()


if __name__ == "__main__":
    main()
