"""
C{randnum bench}'s load engine (L{randnum.cli.load}): its counting,
histogram and endpoint parsing, runs against a server in this process, and
a short smoke run of the console script, its load spread over child
processes, against a real server (live; no timed assertion).  The
command's options and output are tested in C{test_bench}.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from inprocess import Servers
from servers import Server, run

from randnum.cli.load import (
    Load,
    Tally,
    bucket,
    countAnswers,
    latencyOf,
    parseEndpoint,
    runInProcess,
    split,
)

LOCAL = "tcp:0:interface=127.0.0.1"


def test_countAnswersCountsNumbersInEveryReply() -> None:
    assert countAnswers(b"1\n2 3 4\n5\n") == (3, 5, 0)


def test_countAnswersCountsErrorsApart() -> None:
    assert countAnswers(b"7\nERR n must be 1..10000\n8 9\n") == (3, 3, 1)


@given(st.floats(min_value=1e-6, max_value=100.0))
def test_bucketUpperBoundCoversTheLatency(latency: float) -> None:
    index = bucket(latency)
    assert latency <= latencyOf(index)
    # The histogram resolution: the bound overstates by at most a few percent.
    assert latencyOf(index) <= latency * 1.05


def test_percentilesComeFromTheHistogram() -> None:
    tally = Tally()
    tally.record(0.001, 98)
    tally.record(0.010, 1)
    tally.record(0.100, 1)
    assert tally.percentile(0.50) == pytest.approx(0.001, rel=0.05)
    assert tally.percentile(0.99) == pytest.approx(0.010, rel=0.05)
    assert tally.percentile(1.0) == pytest.approx(0.100, rel=0.05)


def test_mergeAddsCountsAndKeepsTheLongestRun() -> None:
    first, second = Tally(replies=3, numbers=4, seconds=1.0), Tally()
    first.record(0.001)
    second.replies, second.errors, second.seconds = 2, 1, 2.0
    second.record(0.001, 2)
    first.merge(second)
    assert (first.replies, first.numbers, first.errors, first.seconds) == (5, 4, 1, 2.0)
    assert sum(first.latencies.values()) == 3


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_splitSpreadsEvenly(total: int, parts: int) -> None:
    shares = split(total, parts)
    assert len(shares) == parts
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


@pytest.mark.parametrize(
    "description",
    ["tcp:host=127.0.0.1:port=5000", "tcp:127.0.0.1:5000"],
)
def test_parseEndpointTcp(description: str) -> None:
    assert parseEndpoint(description) == (socket.AF_INET, ("127.0.0.1", 5000))


@pytest.mark.parametrize("description", ["unix:path=/run/r.sock", "unix:/run/r.sock"])
def test_parseEndpointUnix(description: str) -> None:
    assert parseEndpoint(description) == (socket.AF_UNIX, "/run/r.sock")


@pytest.mark.parametrize(
    "description", ["tls:127.0.0.1:5001", "tcp:port=5000", "unix:", "nonsense"]
)
def test_parseEndpointRefusesWhatItCannotDrive(description: str) -> None:
    with pytest.raises(ValueError):
        parseEndpoint(description)


@pytest.mark.live
@pytest.mark.parametrize(
    "args",
    [
        ["--mode", "line", "-c", "2", "-P", "50"],
        ["--mode", "line", "-c", "4", "-P", "1", "--request", "n=3"],
        ["--mode", "connect", "-c", "4"],
        ["--mode", "line", "-c", "2", "--processes", "2"],
    ],
)
def test_benchSmokeRun(
    serve: Callable[..., Server], tmp_path: Path, args: list[str]
) -> None:
    server = serve("--port", LOCAL)
    result = run(
        "randnum",
        "bench",
        "-p",
        str(server.port),
        "-d",
        "0.3",
        "--json",
        *args,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["requests"] > 0
    assert figures["errors"] == 0
    perRequest = 3 if "n=3" in args else 1
    assert figures["numbers_per_second"] == pytest.approx(
        perRequest * figures["requests_per_second"]
    )
    assert figures["latency_p50_ms"] <= figures["latency_p99_ms"]


def test_benchCountsErrorReplies(inProcess: Servers) -> None:
    port = inProcess.tcp()
    tally = runInProcess(
        Load(
            endpoint=f"tcp:127.0.0.1:{port}",
            connections=1,
            pipeline=10,
            seconds=0.2,
            request=b"n=0\n",
        )
    )
    assert tally.replies > 0
    assert tally.errors == tally.replies
    assert tally.numbers == 0


def test_benchOverUnixSocket(inProcess: Servers, tmp_path: Path) -> None:
    path = tmp_path / "randnum.sock"
    inProcess.tcp(description=f"unix:{path}")
    tally = runInProcess(
        Load(endpoint=f"unix:path={path}", connections=2, pipeline=10, seconds=0.2)
    )
    assert tally.replies > 0
    assert tally.errors == 0


def test_figuresCoverTheDurationNotTheDrain() -> None:
    # A server that accepts but never answers: in-flight requests are waited
    # for after the duration, but that wait is not part of the figures (nor
    # of the progress lines, which stop at the duration too).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        tally = runInProcess(
            Load(endpoint=f"tcp:127.0.0.1:{port}", connections=1, seconds=0.2)
        )
    assert tally.replies == 0
    assert 0.2 <= tally.seconds < 0.5
