"""
C{randnum bench}, run in this process against servers in this process.

The load runs in this process too: L{runLoad}, which spreads it over child
processes, is replaced by what each child runs (L{runInProcess}).  Spreading
over processes is tested, with the console script, in C{test_load}.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from inprocess import Ran, Servers
from servers import freePort

from randnum.cli.load import Load, Tally, formatSummary, runInProcess

Randnum = Callable[..., Ran]


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """
    Run the load in this process; the processes it was to be spread over.
    """
    asked: list[int] = []

    def runLoad(
        load: Load,
        processes: int = 1,
        report: Callable[[float, int], None] | None = None,
    ) -> Tally:
        asked.append(processes)
        tally = runInProcess(load)
        if report is not None:
            report(tally.seconds, tally.replies)
        return tally

    bench = importlib.import_module("randnum.cli.bench")
    monkeypatch.setattr(bench, "runLoad", runLoad)
    return asked


def figures(randnum: Randnum, port: int, *args: str) -> dict[str, object]:
    """
    The figures of C{randnum bench --json} against C{port}.
    """
    ran = randnum("bench", "-p", str(port), "-d", "0.2", "--json", *args)
    assert (ran.status, ran.err) == (0, ""), ran.err
    result: dict[str, object] = json.loads(ran.out)
    return result


@pytest.mark.parametrize(
    ("args", "perRequest"),
    [
        (["--mode", "line", "-c", "2", "-P", "50"], 1),
        (["--mode", "line", "-c", "4", "--request", "n=3"], 3),
        (["--mode", "connect", "-c", "4"], 1),
    ],
)
def test_benchReportsFigures(
    randnum: Randnum,
    inProcess: Servers,
    processes: list[int],
    args: list[str],
    perRequest: int,
) -> None:
    port = inProcess.tcp()
    got = figures(randnum, port, *args)
    assert got["endpoint"] == f"tcp:host=127.0.0.1:port={port}"
    assert isinstance(got["requests"], int) and got["requests"] > 0
    assert got["errors"] == 0
    assert got["numbers_per_second"] == pytest.approx(
        perRequest * got["requests_per_second"]  # type: ignore[operator]
    )
    assert got["latency_p50_ms"] <= got["latency_p99_ms"]  # type: ignore[operator]
    assert processes == [1]


def test_errorRepliesAreCounted(
    randnum: Randnum, inProcess: Servers, processes: list[int]
) -> None:
    got = figures(randnum, inProcess.tcp(), "-P", "10", "--request", "n=0")
    assert got["errors"] == got["requests"]
    assert got["numbers_per_second"] == 0


def test_overAUnixSocket(
    randnum: Randnum, inProcess: Servers, processes: list[int], tmp_path: Path
) -> None:
    path = tmp_path / "r.sock"
    inProcess.tcp(description=f"unix:{path}")
    ran = randnum("bench", "-e", f"unix:path={path}", "-d", "0.2", "--json")
    assert ran.status == 0, ran.err
    assert json.loads(ran.out)["errors"] == 0


def test_theLoadIsSpreadOverProcesses(
    randnum: Randnum, inProcess: Servers, processes: list[int]
) -> None:
    got = figures(randnum, inProcess.tcp(), "--processes", "3")
    assert (processes, got["processes"]) == ([3], 3)


def test_progressOnStderrAndFiguresForPeople(
    randnum: Randnum, inProcess: Servers, processes: list[int]
) -> None:
    port = inProcess.tcp()
    ran = randnum("bench", "-p", str(port), "-c", "1", "-d", "0.2")
    assert ran.status == 0
    where = f"tcp:host=127.0.0.1:port={port}"
    first, progress = ran.err.splitlines()
    assert first == f"randnum bench: line load on {where} for 0.2 s"
    assert re.fullmatch(r" +0\.2 s +[0-9,]+ replies +[0-9,]+/s", progress)
    lines = ran.out.splitlines()
    assert lines[0] == (
        f"randnum bench: line mode against {where}, 1 connection x 1 in flight, "
        "0.2 s, 1 process"
    )
    assert [line.split()[0] for line in lines[1:]] == [
        "requests/s",
        "numbers/s",
        "latency",
        "errors",
        "client",
    ]


def test_anUnreachableServer(randnum: Randnum, processes: list[int]) -> None:
    port = freePort()
    ran = randnum("bench", "-p", str(port), "-d", "0.2", "--json")
    assert (ran.status, ran.out) == (3, "")
    assert re.fullmatch(
        f"randnum: no replies from tcp:host=127.0.0.1:port={port} "
        r"\([0-9,]+ connection errors?\): is randnum \(without TLS\) running there\?\n",
        ran.err,
    )


@pytest.mark.parametrize(
    ("old", "note"),
    [
        ("-t", "bench -t is now -d/--duration (-t is --timeout in the other commands)"),
        ("--seconds", "bench --seconds is now -d/--duration"),
    ],
)
def test_theDurationsOldSpellingsStillWorkWithANote(
    randnum: Randnum, old: str, note: str
) -> None:
    ran = randnum("bench", old, "-1")
    assert (ran.status, ran.out) == (2, "")
    assert ran.err == (
        f"randnum: {note}\n"
        "randnum: --duration must be a positive number, not '-1'\n"
        "Run 'randnum bench --help' for usage.\n"
    )


def test_countsInTheSummaryAgreeWithTheirNouns() -> None:
    figures = {
        "mode": "connect",
        "endpoint": "tcp:host=h:port=1",
        "connections": 1,
        "pipeline": 1,
        "seconds": 1.0,
        "processes": 2,
        "requests_per_second": 1.0,
        "numbers_per_second": 1.0,
        "latency_p50_ms": 1.0,
        "latency_p99_ms": 1.0,
        "latency_max_ms": 1.0,
        "errors": 1,
        "client_cpu_percent": 1.0,
    }
    first = formatSummary(figures).splitlines()[0]
    assert first.endswith("1 worker, one connection per request, 1.0 s, 2 processes")


def test_aLoadThatFails(randnum: Randnum, monkeypatch: pytest.MonkeyPatch) -> None:
    def runLoad(*args: object, **kwargs: object) -> Tally:
        raise RuntimeError("a benchmark process failed; see its output above")

    monkeypatch.setattr(
        importlib.import_module("randnum.cli.bench"), "runLoad", runLoad
    )
    ran = randnum("bench", "-p", "5000", "--json")
    assert ran == Ran(
        3,
        "",
        "randnum: benchmark failed: a benchmark process failed; see its output above\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "udp"], "--mode must be line or connect, not 'udp'"),
        (["-c", "0"], "--connections must be a positive number, not '0'"),
        (["-P", "many"], "--pipeline must be a positive number, not 'many'"),
        (["-d", "1_0"], "--duration must be a positive number, not '1_0'"),
        (["--processes", "0"], "--processes must be a positive number, not '0'"),
        (["--endpoint", "tls:x:1"], "--endpoint 'tls:x:1': "),
        (["--mode", "connect", "--request", ""], "--request must not be empty"),
        (["-p", "0"], "--port must be a port number (1-65535), not '0'"),
    ],
)
def test_usageErrorsNameTheOption(
    randnum: Randnum, args: list[str], message: str
) -> None:
    ran = randnum("bench", *args)
    assert (ran.status, ran.out) == (2, "")
    assert ran.err.startswith(f"randnum: {message}")
    assert ran.err.endswith("\nRun 'randnum bench --help' for usage.\n")
    assert ran.err.count("\n") == 2
