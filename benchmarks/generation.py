"""
How fast the number source generates, in process, on one core.

    python benchmarks/generation.py [--seconds 1.0]

Reports numbers per second for the default range (1..10000) through the
precomputed render table (what the server's hot path uses), through the
generic sampler, for a 64-bit range, for distinct samples, and, for scale,
for one C{secrets.randbelow} call per number.  The goal for the first line
is at least 10M numbers/s.  Then every other type of value, rendered as the
server sends it: targets of 1M values/s for uuid, decimal, string (length
16) and bytes (length 32), and 0.5M/s for gaussian.
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Callable

from randnum.generation.source import NumberSource, systemSource
from randnum.generation.values import UUID7Clock, batches
from randnum.query import Query, parseLine

BATCH = 10_000


def rate(produce: Callable[[], object], perCall: int, seconds: float) -> float:
    """
    Numbers per second from calling C{produce} (which makes C{perCall}
    numbers) repeatedly for about C{seconds}.
    """
    produce()  # warm up
    calls = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        produce()
        calls += 1
    return calls * perCall / elapsed


def typed(source: NumberSource, line: bytes) -> Callable[[], object]:
    """
    Make C{BATCH} values of a request line's type, rendered and joined.
    """
    query = parseLine(line + b" n=%d" % BATCH, Query())
    clock = UUID7Clock()

    def produce() -> object:
        return b" ".join(v for batch in batches(source, query, clock) for v in batch)

    return produce


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    seconds = parser.parse_args().seconds

    prepared = systemSource()
    prepared.prepare(1, 10000)
    generic = systemSource()

    cases: list[tuple[str, Callable[[], object], int]] = [
        (
            "1..10000 rendered, joined (server hot path)",
            lambda: b"\n".join(prepared.render(1, 10000, BATCH)),
            BATCH,
        ),
        (
            "1..10000 integers, generic sampler",
            lambda: generic.integers(1, 10000, BATCH),
            BATCH,
        ),
        (
            "64-bit range integers",
            lambda: generic.integers(-(2**63), 2**63 - 1, BATCH),
            BATCH,
        ),
        (
            "1..10**9 distinct (n=10000)",
            lambda: generic.distinct(1, 10**9, BATCH),
            BATCH,
        ),
        *(
            (line.decode(), typed(generic, line), BATCH)
            for line in (
                b"type=decimal",
                b"type=gaussian",
                b"type=string",
                b"type=uuid",
                b"type=uuid version=7",
                b"type=bytes",
            )
        ),
        (
            "secrets.randbelow per number (reference)",
            lambda: [secrets.randbelow(10000) + 1 for _ in range(BATCH)],
            BATCH,
        ),
    ]
    width = max(len(name) for name, _, _ in cases)
    results = [(name, rate(produce, count, seconds)) for name, produce, count in cases]
    reference = results[-1][1]
    for name, value in results:
        print(
            f"{name:<{width}}  {value / 1e6:7.2f}M numbers/s  {value / reference:6.1f}x"
        )


if __name__ == "__main__":
    main()
