"""
deploy/systemd under a real systemd: a Debian root from Debian's packages,
randnum installed into it from a wheelhouse as the README installs it, the
units enabled as the README enables them (two instances, and HTTP through a
second ListenStream as the README advises), booted with systemd-nspawn.

CI installs mmdebstrap and systemd-container and sets
RANDNUM_REQUIRE_CONTAINERS, so that there this test runs or fails, never
skips.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from containers import DEPLOY, NSPAWN, required, run, systemdRoot, wheelhouse
from servers import freePort

pytestmark = [
    pytest.mark.live,
    required(
        ("systemd-nspawn", "mmdebstrap", "journalctl"), "RANDNUM_REQUIRE_CONTAINERS"
    ),
]

UNITS = Path("etc/systemd/system")
TWISTD = "/opt/randnum/bin/twistd --nodaemon --pidfile= --logfile=- randnum"


def prepare(root: Path, wheels: Path, port: int, http: int) -> str:
    """
    Install randnum and the units into C{root}; a marker that tells this
    root's processes from any other's.
    """
    shutil.copytree(wheels, root / "wheels")
    # As the README's systemd section: a venv in /opt/randnum, and the
    # plugin cache built while /opt is still writable.
    run(
        *NSPAWN,
        "--directory",
        str(root),
        "--pipe",
        "sh",
        "-c",
        "python3 -m venv /opt/randnum && /opt/randnum/bin/pip install --quiet"
        " --no-index --find-links /wheels randnum"
        " && /opt/randnum/bin/twistd --help > /dev/null",
    )
    for unit in ("randnum@.socket", "randnum@.service"):
        shutil.copy(DEPLOY / "systemd" / unit, root / UNITS / unit)
    # Drop-ins: loopback ports of our choosing, and HTTP on a second
    # ListenStream, passed to randnum as the README says.
    socketDropIn = root / UNITS / "randnum@.socket.d" / "test.conf"
    socketDropIn.parent.mkdir()
    socketDropIn.write_text(
        f"[Socket]\nListenStream=\nListenStream=127.0.0.1:{port}\n"
        f"ListenStream=127.0.0.1:{http}\n"
    )
    serviceDropIn = root / UNITS / "randnum@.service.d" / "test.conf"
    serviceDropIn.parent.mkdir()
    serviceDropIn.write_text(
        f"[Service]\nExecStart=\nExecStart={TWISTD} "
        "--port systemd:domain=INET:index=0 --http systemd:domain=INET:index=1\n"
    )
    run("systemctl", f"--root={root}", "enable", "randnum@1.socket", "randnum@2.socket")
    # A persistent journal, read after the halt.
    (root / "var" / "log" / "journal").mkdir(parents=True, exist_ok=True)
    marker = uuid.uuid4().hex
    (root / "etc" / "randnum-test").write_text(marker)
    return marker


def instances(marker: str) -> dict[str, int]:
    """
    The running randnum services of the root marked C{marker}: unit name
    to the pid of its twistd.
    """
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "root" / "etc" / "randnum-test").read_text() != marker:
                continue
            command = (entry / "cmdline").read_bytes().split(b"\0")
            cgroup = (entry / "cgroup").read_text()
        except OSError:
            continue
        if not any(part.endswith(b"/twistd") for part in command[:2]):
            continue
        for unit in ("randnum@1.service", "randnum@2.service"):
            if unit in cgroup:
                found[unit] = int(entry.name)
    return found


def uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    [line] = [line for line in status.splitlines() if line.startswith("Uid:")]
    return int(line.split()[1])


def ask(port: int) -> str:
    """
    The seed client's exchange: one number, as text.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"Example request")
        return s.recv(1024).decode()


def waitFor(what: str, check: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def journal(root: Path, unit: str) -> list[str]:
    return run(
        "journalctl",
        "--directory",
        str(root / "var" / "log" / "journal"),
        "--unit",
        unit,
        "--output",
        "cat",
        "--no-pager",
    ).splitlines()


def test_theUnitsServeUnderARealSystemd(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(systemdRoot()) as tarball:
        tarball.extractall(root, filter="fully_trusted")
    port, http = freePort(), freePort()
    marker = prepare(root, wheelhouse(tmp_path), port, http)
    console = (tmp_path / "console.log").open("wb")
    machine = subprocess.Popen(
        [*NSPAWN, "--directory", str(root), "--boot"],
        stdin=subprocess.DEVNULL,
        stdout=console,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # Socket activation: systemd listens; the first connection to each
        # instance's socket starts that instance.
        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
            return True

        waitFor("systemd to listen", listening, 60)
        number = ask(port)
        assert number.isdigit() and 1 <= int(number) <= 10000
        # ReusePort: new connections are spread over both instances' sockets.
        waitFor("both instances", lambda: ask(port) and len(instances(marker)) == 2)
        running = instances(marker)
        assert all(uid(pid) != 0 for pid in running.values())
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz") as response:
            assert response.read() == b"ok\n"

        # One instance killed outright: every connection is still answered
        # (by the other, and by the first once systemd has restarted it).
        os.kill(running["randnum@1.service"], signal.SIGKILL)
        answers = [ask(port) for _ in range(50)]
        assert all(answer.isdigit() for answer in answers), answers
        waitFor(
            "the killed instance to be restarted",
            lambda: (
                instances(marker).get("randnum@1.service")
                not in (None, running["randnum@1.service"])
            ),
        )

        # A clean halt: SIGTERM to systemd-nspawn shuts the machine down.
        machine.send_signal(signal.SIGTERM)
        assert machine.wait(timeout=60) == 0
    finally:
        if machine.poll() is None:
            os.killpg(machine.pid, signal.SIGKILL)
            machine.wait()
        console.close()
    for unit in ("randnum@1.service", "randnum@2.service"):
        lines = journal(root, unit)
        assert not [line for line in lines if "Traceback" in line], lines
        # The last run of each ended with twistd's own clean shutdown.
        last = max(i for i, line in enumerate(lines) if "starting up" in line)
        assert any(line.endswith("Server Shut Down.") for line in lines[last:]), lines
        assert any("Deactivated successfully" in line for line in lines[last:]), lines
        assert not [line for line in lines[last:] if "Failed" in line], lines[last:]
    # The killed instance's first run was seen as killed, and restarted.
    first = journal(root, "randnum@1.service")
    assert any("status=9/KILL" in line for line in first), first
