"""
RANDOM.ORG's JSON-RPC face against /v1/random, for the same work, on one
randnum, with wrk, on loopback.

    python benchmarks/jsonrpc.py [--seconds 10] [--rounds 5] [--warmup 2]
        [--connections 50] [--n 10]

Measures requests per second, over keep-alive connections (C{wrk -t1
-c50}), of one C{twistd -n randnum --http ... --json-rpc} (from the
environment of the Python that runs this script) asked for the same values
two ways:

 - C{GET /v1/random?n=N&min=1&max=6};
 - C{POST /json-rpc/4/invoke} with C{generateIntegers} (n=N, min=1, max=6),
   as RANDOM.ORG's clients send it (rdoclient's body: every optional
   parameter, null where not set).

Each round loads one, then the other, for --seconds each (after --warmup
seconds of each, once), so that the machine's other load falls on both
alike.  It prints each round's rates and ratio (JSON-RPC over /v1/random),
and the median and range of the ratio.  The goal (issue 24) is a median of
at least 0.5.  wrk must be on the PATH (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from http_face import BIN, Run, Target, freePort, randnumCommand, started, wrk


def callScript(workdir: str, n: int) -> str:
    """
    A wrk script that POSTs one C{generateIntegers} call, as rdoclient
    does; its path.
    """
    call = {
        "jsonrpc": "2.0",
        "method": "generateIntegers",
        "params": {
            "apiKey": "00000000-0000-0000-0000-000000000000",
            "n": n,
            "min": 1,
            "max": 6,
            "replacement": True,
            "base": 10,
            "pregeneratedRandomization": None,
        },
        "id": "0123456789abcdef0123456789abcdef",
    }
    script = Path(workdir) / "call.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(call))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return str(script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--n", type=int, default=10)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not on the PATH (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as workdir:
        port = freePort()
        command = [*randnumCommand(str(BIN / "twistd"), port), "--json-rpc"]
        script = callScript(workdir, options.n)
        plain = f"/v1/random?n={options.n}&min=1&max=6"

        def load(pid: int, rpc: bool, seconds: float) -> Run:
            target = Target("randnum", port, pid)
            if rpc:
                path = "/json-rpc/4/invoke"
                return wrk(target, path, seconds, options.connections, workdir, script)
            return wrk(target, plain, seconds, options.connections, workdir)

        with started(command, port, workdir) as pid:
            for rpc in (False, True):
                load(pid, rpc, options.warmup)
            ratios, cpuRatios = [], []
            print(
                f"{'round':>5} {'/v1/random':>12} {'JSON-RPC':>12} {'ratio':>7} "
                f"{'server CPU/request':>22} {'ratio':>7}"
            )
            for round in range(1, options.rounds + 1):
                get, call = (
                    load(pid, False, options.seconds),
                    load(pid, True, options.seconds),
                )
                for run in (get, call):
                    if run.problems:
                        sys.exit(f"round {round}: {run.problems}")
                ratios.append(call.rate / get.rate)
                # Requests a CPU-second: the machine's other load (wrk's own
                # share of the two cores, say) disturbs it less.
                cpuRatios.append(get.cpu / call.cpu)
                print(
                    f"{round:>5} {get.rate:>10.0f}/s {call.rate:>10.0f}/s "
                    f"{ratios[-1]:>6.2f}x {get.cpu:>8.0f} vs {call.cpu:>5.0f} µs "
                    f"{cpuRatios[-1]:>6.2f}x"
                )
    print(
        f"median ratio {statistics.median(ratios):.2f}x "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}); by server CPU a request "
        f"{statistics.median(cpuRatios):.2f}x "
        f"({min(cpuRatios):.2f}-{max(cpuRatios):.2f}); over {options.rounds} "
        f"rounds, n={options.n}, {options.connections} connections"
    )


if __name__ == "__main__":
    main()
