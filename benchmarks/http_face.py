"""
randnum's HTTP face against Starlette under uvicorn and against twisted.web
itself, with wrk, on loopback.

    python benchmarks/http_face.py [--seconds 10] [--rounds 5] [--warmup 2]
        [--connections 50] [--path /v1/random?n=1] [--twistd PATH]
        [--workers N] [--baseline TWISTD]

Measures requests per second for C{GET /v1/random?n=1} over keep-alive
connections (C{wrk -t1 -c50}), and each server's CPU per request, from:

 - randnum: C{twistd -n randnum --http ...} from the environment of the
   Python that runs this script (its bin folder), unless --twistd names
   another (e.g. an earlier installation, to compare changes);
 - 'starlette': benchmarks/reference_starlette.py, a Starlette app
   answering the same JSON with comparable headers, drawn from the OS
   CSPRNG (C{secrets.randbelow}) as randnum's are, reading and checking
   C{n}, C{min} and C{max};
 - 'starlette-min': the smallest Starlette app (L{minimalStarlette}): a
   plain C{JSONResponse} of one number, the query not read;
 - 'twisted.web': the floor randnum's framework sets (L{serveTwistedFloor}):
   a leaf C{Resource} answering the same JSON on a plain C{Site}, no access
   log, run by this script with this Python.

Both Starlette apps run as C{uvicorn --loop uvloop --http httptools
--no-access-log --workers 1}.  With --workers N, randnum also runs with
--workers N ('randnum wN'), its server CPU counting every process.

All run on 127.0.0.1, started once and stopped at the end; nothing is
pinned to a core.  Each round loads every server in turn for --seconds
(after --warmup seconds of unmeasured load on each, once), the order turned
by one each round, so that the machine's other load falls on all alike.  It
prints each round's requests per second and CPU per request, their medians,
and randnum's ratio to each reference: the median of the rounds' ratios and
their range.  The goal (issue 25) is a median ratio of at least 1.0 to both
Starlette apps.

Starlette and uvicorn[standard] (uvloop, httptools) are not randnum's
dependencies: they are installed, once, in a virtual environment of the
benchmark's own, ~/.cache/randnum-bench/http-venv (--venv for another).

wrk must be on the PATH; on Debian, as root:

    apt-get update && apt-get install -y wrk

(the script says so and stops if it is missing).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
VENV = Path.home() / ".cache" / "randnum-bench" / "http-venv"
REFERENCE_PACKAGES = ["starlette", "uvicorn[standard]"]
REQUESTS = re.compile(r"(\d+) requests in ")
RATE = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
SOCKET_ERRORS = re.compile(r"Socket errors:(.*)")


@dataclass(frozen=True)
class Target:
    """
    A running server.
    """

    name: str
    port: int
    pid: int


@dataclass(frozen=True)
class Run:
    """
    What one wrk run measured: requests per second, the server's CPU per
    request (microseconds), and anything wrong.
    """

    rate: float
    cpu: float
    problems: str


def freePort() -> int:
    """
    A TCP port on 127.0.0.1 that nothing listens on now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def referenceVenv(venv: Path) -> Path:
    """
    The reference's virtual environment, made (and its packages installed)
    if it is not there yet; its bin folder.
    """
    bin = venv / "bin"
    python = bin / "python"
    check = "import starlette, uvicorn, uvloop, httptools"
    if python.exists() and subprocess.run([python, "-c", check]).returncode == 0:
        return bin
    print(f"installing {' '.join(REFERENCE_PACKAGES)} in {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", *REFERENCE_PACKAGES], check=True
    )
    subprocess.run([python, "-c", check], check=True)
    return bin


@contextmanager
def started(command: list[str], port: int, workdir: str) -> Iterator[int]:
    """
    Run a server until the block ends, once it accepts connections on
    C{port}; stop it then (kill it if it does not stop in 10 s).  Yield its
    process id.
    """
    log = open(Path(workdir) / f"server-{port}.log", "w+b")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")
                raise RuntimeError(f"{command[0]} exited before listening:\n{output}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def cpuSeconds(pid: int) -> float:
    """
    CPU seconds (user and system) a process and its children (randnum's
    workers) have used so far; NaN where /proc is not available.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return math.nan
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpuSeconds(int(child)) for child in children)


def wrk(
    target: Target,
    path: str,
    seconds: float,
    connections: int,
    workdir: str,
    script: str | None = None,
) -> Run:
    """
    Load C{target} with C{wrk -t1} for C{seconds}, with the Lua C{script}
    (its path: to POST a body, say) if given.
    """
    url = f"http://127.0.0.1:{target.port}{path}"
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", url]
    if script is not None:
        command += ["-s", script]
    before = cpuSeconds(target.pid)
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=workdir, timeout=seconds + 60
    )
    used = cpuSeconds(target.pid) - before
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed against {target.name}: {result.stderr}")
    match = RATE.search(result.stdout)
    if match is None:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{result.stdout}")
    problems = []
    if bad := NON_2XX.search(result.stdout):
        problems.append(f"{bad.group(1)} non-2xx")
    if errors := SOCKET_ERRORS.search(result.stdout):
        problems.append(f"socket errors:{errors.group(1)}")
    count = REQUESTS.search(result.stdout)
    requests = int(count.group(1)) if count else 0
    # Server CPU per request: less disturbed than the rate by the machine's
    # other load (wrk and the server share its cores).
    return Run(
        float(match.group(1)), 1e6 * used / max(requests, 1), "; ".join(problems)
    )


def randnumCommand(twistd: str, port: int, workers: int = 1) -> list[str]:
    """
    How to run randnum with C{twistd}, serving HTTP on 127.0.0.1:C{port}
    (and its TCP face on a port of the system's choosing, unused).
    """
    return [
        twistd,
        *"-n --pidfile= -l - randnum --port tcp:0:interface=127.0.0.1".split(),
        *("--http", f"tcp:{port}:interface=127.0.0.1"),
        *("--workers", str(workers)),
    ]


#: The minimal Starlette app (a plain C{JSONResponse}, no query parsing),
#: made by L{minimalStarlette} in uvicorn's process (C{--factory}).
MINIMAL = "http_face:minimalStarlette"
#: The references' names: randnum's ratios are to each of them.
REFERENCES = ("starlette", "starlette-min", "twisted.web")


def minimalStarlette() -> object:
    """
    The smallest Starlette app answering C{/v1/random} with the same JSON:
    a C{JSONResponse} of one number from the OS CSPRNG, the query not read.
    (Run by uvicorn with C{--factory}, in the benchmark's own virtualenv.)
    """
    import secrets

    from starlette.applications import Starlette  # type: ignore[import-not-found,unused-ignore]
    from starlette.responses import JSONResponse  # type: ignore[import-not-found,unused-ignore]
    from starlette.routing import Route  # type: ignore[import-not-found,unused-ignore]

    async def random(request: object) -> object:
        number = 1 + secrets.randbelow(10000)
        return JSONResponse({"numbers": [number], "min": 1, "max": 10000})

    return Starlette(routes=[Route("/v1/random", random)])


def serveTwistedFloor(port: int) -> None:
    """
    The floor twisted.web sets: a leaf C{Resource} answering every GET with
    the same JSON (one number from the OS CSPRNG, C{Content-Type} and
    C{Cache-Control} set) on a plain C{Site}, no access log, on the default
    reactor; until it is stopped.
    """
    import secrets

    from twisted.internet import reactor
    from twisted.web.resource import Resource
    from twisted.web.server import Request, Site

    class Random(Resource):
        isLeaf = True

        def render_GET(self, request: Request) -> bytes:
            request.setHeader(b"content-type", b"application/json")
            request.setHeader(b"cache-control", b"no-store")
            number = 1 + secrets.randbelow(10000)
            return b'{"numbers":[%d],"min":1,"max":10000}\n' % number

    class Quiet(Site):
        def log(self, request: object) -> None:
            pass

    site = Quiet(Random())  # type: ignore[no-untyped-call]
    reactor.listenTCP(port, site, interface="127.0.0.1")  # type: ignore[arg-type]
    reactor.run()


def uvicornCommand(bin: Path, app: str, port: int, *extra: str) -> list[str]:
    """
    How to run C{app} under uvicorn with uvloop and httptools, one process.
    """
    return [
        str(bin / "uvicorn"),
        *f"--app-dir {HERE} {app}".split(),
        *extra,
        *"--loop uvloop --http httptools --no-access-log".split(),
        *f"--workers 1 --host 127.0.0.1 --port {port}".split(),
    ]


def spread(values: list[float]) -> str:
    """
    The median of C{values} and their range.
    """
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per server")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured load first, each"
    )
    parser.add_argument("--connections", type=int, default=50, help="wrk -c")
    parser.add_argument("--path", default="/v1/random?n=1", help="what to GET")
    parser.add_argument(
        "--twistd",
        default=str(BIN / "twistd"),
        help="the twistd to run randnum with (default: this Python's)",
    )
    parser.add_argument(
        "--baseline",
        metavar="TWISTD",
        help="another installation's twistd (e.g. randnum before a change), "
        "measured as 'baseline' in every round, side by side",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="also measure randnum with --workers N, as 'randnum wN'",
    )
    parser.add_argument(
        "--venv", type=Path, default=VENV, help="the reference's virtualenv"
    )
    parser.add_argument("--serve-twisted-floor", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_twisted_floor:
        serveTwistedFloor(arguments.serve_twisted_floor)
        return

    if shutil.which("wrk") is None:
        sys.exit(
            "wrk is not on the PATH; install it (on Debian, as root: "
            "apt-get update && apt-get install -y wrk) and run this again"
        )
    reference = referenceVenv(arguments.venv)

    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:

        def start(name: str, command: Callable[[int], list[str]]) -> Target:
            port = freePort()
            pid = stack.enter_context(started(command(port), port, workdir))
            return Target(name, port, pid)

        twistd = arguments.twistd
        targets = [
            start("randnum", lambda port: randnumCommand(twistd, port)),
            start(
                "starlette",
                lambda port: uvicornCommand(reference, "reference_starlette:app", port),
            ),
            start(
                "starlette-min",
                lambda port: uvicornCommand(reference, MINIMAL, port, "--factory"),
            ),
            start(
                "twisted.web",
                lambda port: [
                    sys.executable,
                    __file__,
                    "--serve-twisted-floor",
                    str(port),
                ],
            ),
        ]
        if arguments.workers:
            workers = arguments.workers
            targets.append(
                start(
                    f"randnum w{workers}",
                    lambda port: randnumCommand(twistd, port, workers),
                )
            )
        if arguments.baseline:
            baseline = arguments.baseline
            targets.append(
                start("baseline", lambda port: randnumCommand(baseline, port))
            )

        def load(target: Target, seconds: float) -> Run:
            return wrk(target, arguments.path, seconds, arguments.connections, workdir)

        print(
            f"GET {arguments.path}: wrk -t1 -c{arguments.connections} "
            f"-d{arguments.seconds:g}s, {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.2f}, {arguments.rounds} rounds, servers "
            "alternating (the order turned each round)"
        )
        if arguments.warmup > 0:
            for target in targets:
                load(target, arguments.warmup)
        names = [target.name for target in targets]
        randnums = [name for name in names if name not in REFERENCES]
        print(
            f"{'round':>6} "
            + " ".join(f"{name + ' req/s':>19} {'us/req':>6}" for name in names)
        )
        runs: dict[str, list[Run]] = {name: [] for name in names}
        for number in range(arguments.rounds):
            # Turned each round, so that no server always follows another.
            shift = number % len(targets)
            measured = {
                target.name: load(target, arguments.seconds)
                for target in targets[shift:] + targets[:shift]
            }
            for name, run in measured.items():
                runs[name].append(run)
            notes = "; ".join(
                f"{name}: {run.problems}"
                for name, run in measured.items()
                if run.problems
            )
            print(
                f"{number + 1:>6} "
                + " ".join(
                    f"{measured[n].rate:>19,.0f} {measured[n].cpu:>6.1f}" for n in names
                )
                + f"  {notes}".rstrip(),
                flush=True,
            )
        print(
            f"{'median':>6} "
            + " ".join(
                f"{statistics.median(r.rate for r in runs[n]):>19,.0f} "
                f"{statistics.median(r.cpu for r in runs[n]):>6.1f}"
                for n in names
            )
        )
        print(
            "\nratios, each the median of the rounds' ratios (range); "
            "requests per second, and server CPU per request (theirs/ours):"
        )
        for name in randnums:
            for other in REFERENCES:
                rates = [
                    a.rate / b.rate
                    for a, b in zip(runs[name], runs[other], strict=True)
                ]
                cpus = [
                    b.cpu / a.cpu for a, b in zip(runs[name], runs[other], strict=True)
                ]
                print(f"  {name}/{other}: {spread(rates)} req/s, {spread(cpus)} CPU")
        print("goal (issue 25): randnum/starlette and randnum/starlette-min >= 1.0x")


if __name__ == "__main__":
    main()
