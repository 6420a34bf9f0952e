"""
The container image, built with deploy/build-image.sh on a base made from
Debian's packages and run under podman as deploy/k8s runs it: read-only,
non-root, its ports, its health check, and a clean stop on SIGTERM.

CI installs podman, runc and mmdebstrap and sets
RANDNUM_REQUIRE_CONTAINERS, so that there these tests run or fail, never
skip.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from containers import DEPLOY, PODMAN, debianBase, required, run
from servers import freePort

import randnum

pytestmark = [
    pytest.mark.live,
    required(("podman", "runc", "mmdebstrap"), "RANDNUM_REQUIRE_CONTAINERS"),
]

IMAGE = "localhost/randnum:test"


@pytest.fixture(scope="module")
def image() -> str:
    """
    The image, built from this checkout on the Debian-built base exactly as
    the README says.
    """
    base = debianBase()
    env = {**os.environ, "BASE": base}
    tag = run(str(DEPLOY / "build-image.sh"), IMAGE, env=env).strip()
    assert tag == IMAGE
    return tag


def inspect(image: str) -> dict[str, Any]:
    [document] = json.loads(run(*PODMAN, "image", "inspect", image))
    return dict(document)


class Container:
    """
    One running container of the image, serving TCP on C{port} and HTTP on
    C{http} (host network, loopback only).
    """

    def __init__(self, name: str, port: int, http: int) -> None:
        self.name, self.port, self.http = name, port, http

    def get(self, path: str) -> bytes:
        url = f"http://127.0.0.1:{self.http}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body

    def exchange(self, data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(data)
            reply: bytes = s.recv(1024)
            return reply

    def pid(self) -> int:
        return int(run(*PODMAN, "inspect", "--format", "{{.State.Pid}}", self.name))


@pytest.fixture
def container(image: str) -> Iterator[Container]:
    with running(image) as made:
        yield made


@contextmanager
def running(image: str, *extra: str) -> Iterator[Container]:
    """
    Run the image as the tests' container, with C{extra} arguments.
    """
    port, http = freePort(), freePort()
    name = f"randnum-test-{os.getpid()}-{port}"
    run(
        *PODMAN,
        "run",
        "--detach",
        "--name",
        name,
        "--ulimit",
        "nofile=16384:16384",
        "--ulimit",
        "nproc=4096:4096",
        "--network",
        "host",
        "--read-only",
        # The health check's "randnum get" must ask the port served here.
        "--env",
        f"RANDNUM_PORT={port}",
        # Run only on demand: podman's timers need a systemd we lack here.
        "--health-interval",
        "disable",
        image,
        "--port",
        f"tcp:{port}:interface=127.0.0.1",
        "--http",
        f"tcp:{http}:interface=127.0.0.1",
        *extra,
    )
    made = Container(name, port, http)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                made.get("/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    logs = run(*PODMAN, "logs", name)
                    pytest.fail(f"the container never served HTTP:\n{logs}")
                time.sleep(0.2)
        yield made
    finally:
        subprocess.run([*PODMAN, "rm", "--force", "--time", "0", name], check=False)


def test_theContainerServesBothFacesAsItsUser(container: Container) -> None:
    # The seed client's exchange, byte for byte.
    number = container.exchange(b"Example request").decode()
    assert number.isdigit() and 1 <= int(number) <= 10000
    numbers = container.exchange(b"n=3 min=1 max=6\n").split()
    assert len(numbers) == 3 and all(n in b"123456" for n in numbers)
    assert container.get("/healthz") == b"ok\n"
    metrics = container.get("/metrics").decode()
    assert 'randnum_numbers_total{face="tcp"} 4.0' in metrics
    # The process is twistd, running as user 10001, seen from the host.
    status = Path(f"/proc/{container.pid()}/status").read_text()
    [uids] = [
        line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")
    ]
    assert set(uids) == {"10001"}
    # Its logs go to standard output, where podman keeps them.
    logs = run(*PODMAN, "logs", container.name)
    assert f"randnum listening on tcp:{container.port}" in logs
    assert "Traceback" not in logs
    # The plugin cache built into the image is current: not rebuilt (and
    # failing to be written) at each start.
    assert "plugin cache" not in logs
    # The health check passes.
    run(*PODMAN, "healthcheck", "run", container.name)


def test_theRootFilesystemIsReadOnly(container: Container) -> None:
    write = subprocess.run(
        [
            *PODMAN,
            "exec",
            container.name,
            "/opt/randnum/bin/python3",
            "-c",
            "open('/opt/randnum/written', 'w')",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert write.returncode != 0
    assert "Read-only file system" in write.stderr


def test_sigtermStopsTheContainerCleanlyWithinTwoSeconds(
    container: Container,
) -> None:
    started = time.monotonic()
    run(*PODMAN, "kill", "--signal", "TERM", container.name)
    status = run(*PODMAN, "wait", container.name, timeout=10).strip()
    elapsed = time.monotonic() - started
    assert status == "0"
    assert elapsed < 2, f"took {elapsed:.1f} s"
    logs = run(*PODMAN, "logs", container.name)
    assert logs.rstrip().endswith("Server Shut Down.")


def test_theImageDescribesItself(image: str) -> None:
    described = inspect(image)
    config = described["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == randnum.__version__
    assert labels["org.opencontainers.image.title"] == "randnum"
    assert config["User"] == "10001:10001"
    assert set(config["ExposedPorts"]) == {"5000/tcp", "8080/tcp"}
    # Kept because the image is in docker format (OCI's has no health check).
    assert described["Healthcheck"]["Test"] == [
        "CMD",
        "/opt/randnum/bin/randnum",
        "get",
        "--timeout",
        "3",
    ]
    assert config["StopSignal"] == "SIGTERM"


def test_kubernetesRunsWhatTheImageDescribes(image: str) -> None:
    # The Deployment against the built image's own configuration, not the
    # Containerfile's text.
    config = inspect(image)["Config"]
    [deployment] = [
        document
        for document in yaml.safe_load_all(
            (DEPLOY / "k8s" / "deployment.yaml").read_text()
        )
        if document["kind"] == "Deployment"
    ]
    pod = deployment["spec"]["template"]["spec"]
    [spec] = pod["containers"]
    user = int(config["User"].split(":")[0])
    assert pod["securityContext"]["runAsUser"] == user != 0
    # The Deployment's args replace the image's CMD: the same ports.
    assert spec["args"] == config["Cmd"]
    assert spec.get("command") is None  # the image's ENTRYPOINT runs
    # Deployed with the version this is.
    assert spec["image"].endswith(f"/randnum:{randnum.__version__}")
    ports = {f"{p['containerPort']}/{p['protocol'].lower()}" for p in spec["ports"]}
    assert ports == set(config["ExposedPorts"])
    http = {p["name"]: p["containerPort"] for p in spec["ports"]}["http"]
    assert f"tcp:{http}" in config["Cmd"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert spec[probe]["httpGet"]["port"] == "http"
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True


def test_workersServeAndStopInTheContainer(image: str) -> None:
    with running(image, "--workers", "2") as workers:
        for _ in range(10):
            assert workers.exchange(b"n=2 min=3 max=3\n") == b"3 3\n"
        metrics = workers.get("/metrics").decode()
        assert 'randnum_worker_open_connections{worker="2"}' in metrics
        assert 'randnum_requests_total{face="tcp",framing="line"} 10.0' in metrics
        # Two workers, children of twistd, as user 10001 too.
        main = workers.pid()
        children = Path(f"/proc/{main}/task/{main}/children").read_text().split()
        assert len(children) == 2
        for child in children:
            status = Path(f"/proc/{child}/status").read_text()
            assert "\nUid:\t10001\t" in status
        started = time.monotonic()
        run(*PODMAN, "kill", "--signal", "TERM", workers.name)
        status = run(*PODMAN, "wait", workers.name, timeout=10).strip()
        assert status == "0"
        assert time.monotonic() - started < 2
        logs = run(*PODMAN, "logs", workers.name)
        assert "Traceback" not in logs and "did not stop" not in logs
