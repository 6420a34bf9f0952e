"""
Run the installed randnum's console scripts and servers, as a user would.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

BIN = Path(sys.executable).parent
LISTENING = re.compile(r"randnum (?:HTTP )?listening on (\S+) \((.*)\)$", re.MULTILINE)
TCP_PORT = re.compile(r"port[= ](\d+)")


def freePort() -> int:
    """
    A loopback port with nothing listening on it (now).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cleanEnvironment() -> dict[str, str]:
    """
    The environment a user's shell would give: nothing that points Python
    at this checkout.
    """
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RANDNUM_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run(
    *args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """
    Run a console script of the installed package, as a user would, with
    C{env} added to the environment.
    """
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=cwd,
        env={**cleanEnvironment(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Server:
    """
    A running C{twistd -n randnum}.
    """

    process: subprocess.Popen[bytes]
    log: Path
    ports: list[int]

    @property
    def port(self) -> int:
        return self.ports[0]

    def logText(self) -> str:
        return self.log.read_text(errors="replace")


def startServer(
    tmp: Path,
    *args: str,
    listeners: int = 1,
    timeout: float = 20,
    app: tuple[str, ...] = ("randnum",),
) -> Server:
    """
    Start C{twistd -n randnum ARGS} from the installed package in C{tmp},
    and wait until it logs C{listeners} listening ports.

    @param app: what twistd runs, in place of C{randnum}: C{("-y", TAC)}
        for a C{.tac} file.
    """
    log = tmp / "twistd.log"
    process = subprocess.Popen(
        [str(BIN / "twistd"), "-n", "--pidfile=", "-l", str(log), *app, *args],
        cwd=tmp,
        env=cleanEnvironment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        addresses = [address for _, address in LISTENING.findall(text)]
        if len(addresses) >= listeners:
            ports = [int(port) for port in TCP_PORT.findall(" ".join(addresses))]
            return Server(process, log, ports)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    raise RuntimeError(f"twistd randnum did not start listening:\n{text}")


def stopProcess(process: subprocess.Popen[bytes]) -> None:
    """
    Ask a process to stop; kill it if it has not within 10 s.
    """
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stopServer(server: Server) -> None:
    stopProcess(server.process)


class Response:
    """
    What an HTTP request got back.
    """

    def __init__(self, status: int, headers: Message, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> object:
        assert self.headers["content-type"] == "application/json"
        return json.loads(self.body)


def fetch(port: int, path: str, method: str = "GET") -> Response:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Response(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read())
