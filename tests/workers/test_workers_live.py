"""
C{twistd randnum --workers N} as it runs: real processes sharing real ports
on loopback.  Each test is bounded in time and stops what it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from servers import Server, cleanEnvironment, run, startServer, stopProcess
from test_systemd import LAUNCHER, SYSTEMD_PORT, reusePortSocket, twistd

from randnum.signing.keys import loadPublicKey
from randnum.signing.records import verifyChains

# Every test here starts real processes.
pytestmark = pytest.mark.live

LOCAL = "tcp:0:interface=127.0.0.1"
SERVING = re.compile(r"randnum worker (\d+) \(pid (\d+)\) serving")


def waitFor(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def workerPids(log: Path) -> dict[int, int]:
    """
    The pid of each worker, by number, as last logged.
    """
    text = log.read_text(errors="replace") if log.exists() else ""
    return {int(number): int(pid) for number, pid in SERVING.findall(text)}


def startWorkers(tmp: Path, *args: str, workers: int = 2, listeners: int = 1) -> Server:
    server = startServer(tmp, "--workers", str(workers), *args, listeners=listeners)
    waitFor(lambda: len(workerPids(server.log)) == workers)
    return server


@pytest.fixture
def withWorkers(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(*args: str, workers: int = 2, listeners: int = 1) -> Server:
        workdir = tmp_path / f"server{len(servers)}"
        workdir.mkdir()
        server = startWorkers(workdir, *args, workers=workers, listeners=listeners)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stopProcess(server.process)
        for pid in workerPids(server.log).values():
            assert not alive(pid), f"worker {pid} outlived its main process"


def alive(pid: int) -> bool:
    """
    Whether process C{pid} exists and is not a zombie.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def ask(port: int, request: bytes = b"Example request", timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return sock.recv(1024)


def metrics(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """
    C{/metrics}, by sample name and labels, from a new connection.
    """
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def tcpRequests(port: int) -> float:
    return sum(
        metrics(port)["randnum_requests_total"][k] for k in tcpKeys("line", "raw")
    )


def tcpKeys(*framings: str) -> list[tuple[tuple[str, str], ...]]:
    return [(("face", "tcp"), ("framing", framing)) for framing in framings]


def test_everyFaceIsServedAndConnectionsAreSpread(
    withWorkers: Callable[..., Server], tmp_path: Path
) -> None:
    path = tmp_path / "randnum.sock"
    server = withWorkers(
        *("--port", LOCAL, "--http", LOCAL, "--port", f"unix:{path}"), listeners=3
    )
    tcp, http = server.ports
    # The sample client's exchange, byte for byte.
    number = ask(tcp).decode()
    assert number.isdigit() and 1 <= int(number) <= 10000
    with socket.socket(socket.AF_UNIX) as unix:
        unix.connect(str(path))
        unix.sendall(b"n=3 min=1 max=6\n")
        assert len(unix.recv(100).split()) == 3
    held = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", tcp), timeout=10)
        sock.sendall(b"n=1\n")
        assert sock.recv(100).strip().isdigit()
        held.append(sock)
    try:
        opened = metrics(http)["randnum_worker_open_connections"]
        counts = [opened[(("worker", str(n)),)] for n in (1, 2)]
        # Twenty held connections and this scrape's, over both workers.
        assert sum(counts) == 21
        assert min(counts) >= 4, counts
    finally:
        for sock in held:
            sock.close()


def test_aUnixSocketOutlivesAWorkerThatStopsAndKeepsItsMode(
    withWorkers: Callable[..., Server], tmp_path: Path
) -> None:
    path = tmp_path / "randnum.sock"
    server = withWorkers(
        "--port", f"unix:{path}:mode=600", "--http", LOCAL, listeners=2
    )

    def askUnix() -> bytes:
        with socket.socket(socket.AF_UNIX) as unix:
            unix.settimeout(10)
            unix.connect(str(path))
            unix.sendall(b"n=1 min=4 max=4\n")
            return unix.recv(100)

    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    pids = workerPids(server.log)
    # A worker stopped cleanly (not by the main process) is restarted...
    os.kill(pids[1], signal.SIGTERM)
    waitFor(lambda: workerPids(server.log)[1] != pids[1])
    # ...and the socket every worker shares still serves, as it was.
    assert [askUnix() for _ in range(10)] == [b"4\n"] * 10
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_metricsReportTheWholeServerWhicheverWorkerAnswers(
    withWorkers: Callable[..., Server],
) -> None:
    server = withWorkers("--port", LOCAL, "--http", LOCAL, listeners=2)
    tcp, http = server.ports
    for _ in range(30):
        ask(tcp)
    # Each scrape is a new connection, answered by either worker.
    assert {tcpRequests(http) for _ in range(10)} == {30}


def test_aWorkerThatDiesIsRestartedAndItsCountsKept(
    withWorkers: Callable[..., Server],
) -> None:
    server = withWorkers("--port", LOCAL, "--http", LOCAL, listeners=2)
    tcp, http = server.ports
    for _ in range(20):
        ask(tcp)
    assert tcpRequests(http) == 20
    pids = workerPids(server.log)
    os.kill(pids[1], signal.SIGKILL)
    waitFor(lambda: workerPids(server.log)[1] != pids[1])
    assert not alive(pids[1])
    log = server.logText()
    assert "randnum worker 1 was killed by signal 9" in log
    assert "restarting it in 0 s" in log
    # Served throughout, and nothing counted is forgotten.
    assert all(ask(tcp).strip().isdigit() for _ in range(20))
    assert tcpRequests(http) == 40
    assert metrics(http)["randnum_worker_restarts_total"][()] == 1


def test_sigtermStopsEveryWorkerWithinTwoSeconds(tmp_path: Path) -> None:
    server = startWorkers(tmp_path, "--port", LOCAL, workers=3)
    held = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    held.sendall(b"n=1\n")
    held.recv(100)
    pids = workerPids(server.log).values()
    started = time.monotonic()
    server.process.terminate()
    try:
        # A requested stop is a success: status 0 (docs/deploying.md).
        assert server.process.wait(timeout=10) == 0
        waitFor(lambda: not any(alive(pid) for pid in pids), timeout=10)
        assert time.monotonic() - started < 2.0
    finally:
        held.close()
        stopProcess(server.process)
    assert "did not stop" not in server.logText()


def test_noWorkerOutlivesAKilledMainProcess(tmp_path: Path) -> None:
    server = startWorkers(tmp_path, "--port", LOCAL, workers=2)
    pids = list(workerPids(server.log).values())
    server.process.kill()
    server.process.wait(timeout=10)
    started = time.monotonic()
    waitFor(lambda: not any(alive(pid) for pid in pids), timeout=10)
    assert time.monotonic() - started < 2.0
    with pytest.raises(ConnectionRefusedError):
        ask(server.port)


def test_connectionLimitsAreTheServersTotals(
    withWorkers: Callable[..., Server],
) -> None:
    server = withWorkers(
        *("--port", LOCAL, "--max-connections", "10", "--max-connections-per-ip", "4")
    )
    replies = []
    held = []
    try:
        for _ in range(12):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"n=1\n")
            replies.append(sock.recv(100))
            held.append(sock)
    finally:
        for sock in held:
            sock.close()
    admitted = [r for r in replies if r.strip().isdigit()]
    assert all(r in (b"ERR busy\n",) for r in replies if r not in admitted)
    # Two per address in each worker: never more than the server's four.
    assert 2 <= len(admitted) <= 4
    assert "each admits at most its share of the connections (5 each) and 2 per IP" in (
        server.logText()
    )


def test_signedDrawsFromEveryWorkerFormOneChain(
    withWorkers: Callable[..., Server], tmp_path: Path
) -> None:
    made = run("randnum", "keygen", "signing.pem", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    server = withWorkers(
        *("--port", LOCAL, "--http", LOCAL),
        *("--signing-key", str(tmp_path / "signing.pem")),
        *("--audit-db", str(tmp_path / "audit.db")),
        listeners=2,
    )
    tcp, http = server.ports
    # Each on a new connection, so both workers ask the main process.
    records = [json.loads(ask(tcp, b"n=2 signed=true\n")) for _ in range(12)]
    line = _readLine(tcp, b"type=string length=30 n=2000 signed=true\n")
    assert len(line) > 0xFFFF  # longer than one AMP value
    big = json.loads(line)
    assert len(big["values"]) == 2000
    records.append(big)
    assert sorted(r["serial"] for r in records) == list(range(1, 14))
    key = loadPublicKey(tmp_path / "signing.pem.pub")
    records.sort(key=lambda record: record["serial"])
    verifyChains(records, {made.stdout.strip(): key}, complete=True)
    # Either worker reads any record back from the one store.
    for serial in (1, 13, 7, 13):
        url = f"http://127.0.0.1:{http}/v1/draws/{serial}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.loads(response.read())["serial"] == serial
    verified = run(
        "randnum",
        "verify",
        "--url",
        f"http://127.0.0.1:{http}",
        "--all",
        "--complete",
        cwd=tmp_path,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_drawingsInWorkersAreStoredWithTheirEntrantsByTheMainProcess(
    withWorkers: Callable[..., Server], tmp_path: Path
) -> None:
    made = run("randnum", "keygen", "signing.pem", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    server = withWorkers(
        *("--port", LOCAL, "--http", LOCAL),
        *("--signing-key", str(tmp_path / "signing.pem")),
        *("--audit-db", str(tmp_path / "audit.db")),
        listeners=2,
    )
    _, http = server.ports
    base = f"http://127.0.0.1:{http}"
    # Over 64 KiB of entrants: more than one AMP value to the main process.
    names = [f"entrant {i:05d} " + "x" * 20 for i in range(3000)]
    answers = []
    for title in ("one", "two", "three", "four"):
        body = json.dumps({"entrants": names, "winners": 5, "title": title})
        request = urllib.request.Request(
            base + "/v1/drawings",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            answers.append(json.loads(response.read()))
    assert sorted(answer["serial"] for answer in answers) == [1, 2, 3, 4]
    key = loadPublicKey(tmp_path / "signing.pem.pub")
    verifyChains(
        sorted((a["record"] for a in answers), key=lambda r: r["serial"]),
        {made.stdout.strip(): key},
        complete=True,
    )
    # Any worker reads any drawing back, entrants and all.
    for answer in answers + answers:
        url = f"{base}/v1/drawings/{answer['serial']}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.loads(response.read()) == answer
        assert answer["entrants"] == names


def _readLine(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            assert chunk, "closed before the whole line"
            data += chunk
        return data


def test_tlsPortWithWorkers(withWorkers: Callable[..., Server], tlsPort: str) -> None:
    server = withWorkers("--port", tlsPort)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    for _ in range(6):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with context.wrap_socket(raw) as sock:
                sock.sendall(b"n=2 min=5 max=5\n")
                assert sock.recv(100) == b"5 5\n"


def test_systemdActivatedSocketWithWorkers(tmp_path: Path) -> None:
    sock = reusePortSocket(0)
    port = sock.getsockname()[1]
    log = tmp_path / "twistd.log"
    command = [
        sys.executable,
        "-c",
        LAUNCHER,
        str(sock.fileno()),
        *twistd(
            log, "--port", SYSTEMD_PORT, "--workers", "2", "--min", "3", "--max", "3"
        ),
    ]
    env = cleanEnvironment() | {"LISTEN_FDS": "1", "LISTEN_FDNAMES": "randnum"}
    process = subprocess.Popen(
        command,
        env=env,
        pass_fds=(sock.fileno(),),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sock.close()
    try:
        waitFor(lambda: len(workerPids(log)) == 2)
        assert {ask(port) for _ in range(20)} == {b"3"}
    finally:
        stopProcess(process)
    assert process.returncode == 0


def test_aWorkerThatCannotStartSaysWhyOnceAndIsRetriedLessOften(
    withWorkers: Callable[..., Server], certificate: tuple[Path, Path]
) -> None:
    key, cert = certificate
    tls = f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    server = withWorkers("--port", LOCAL, "--port", tls, listeners=2)
    key.unlink()  # a restarted worker cannot read it any more
    os.kill(workerPids(server.log)[1], signal.SIGKILL)
    waitFor(lambda: "restarting it in 0.5 s" in server.logText())
    log = server.logText()
    assert (
        f"[worker 1] randnum worker 1 cannot start: cannot serve --port {tls}: " in log
    )
    assert "randnum worker 1 exited with status 1 after" in log
    assert "Traceback" not in log and "wrote stderr" not in log
    # Meanwhile the other worker accepts from its sockets too: no new
    # connection waits for it.
    waitFor(
        lambda: (
            "randnum worker 2 accepts from the sockets of worker 1" in server.logText()
        )
    )
    assert all(ask(server.port).strip().isdigit() for _ in range(50))


def test_aStuckWorkerIsKilledAndItsSocketsServedMeanwhile(
    withWorkers: Callable[..., Server],
) -> None:
    server = withWorkers("--port", LOCAL, "--http", LOCAL, listeners=2)
    tcp, _ = server.ports
    stuck = workerPids(server.log)[1]
    os.kill(stuck, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        # The stopped worker misses its heartbeat: killed within about 3 s.
        while "missed its heartbeat for 2 s" not in server.logText():
            assert time.monotonic() < stopped + 10
            time.sleep(0.05)
        assert time.monotonic() - stopped < 5
        waitFor(lambda: workerPids(server.log)[1] != stuck)
        assert "randnum worker 1 was killed by signal 9" in server.logText()
        # Connections the kernel gives either socket are answered at once.
        assert all(ask(tcp, timeout=2).strip().isdigit() for _ in range(50))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(stuck, signal.SIGKILL)


def test_whenNoWorkerCanStartTheServerExitsWithStatus1(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    key, cert = certificate
    tls = f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    server = startWorkers(tmp_path, "--port", tls)
    key.unlink()
    for pid in workerPids(server.log).values():
        os.kill(pid, signal.SIGKILL)
    try:
        assert server.process.wait(timeout=30) == 1
    finally:
        stopProcess(server.process)
    log = server.logText()
    assert "randnum: no worker can start (3 attempts each; the last exited " in log
    assert "Traceback" not in log
