"""
The golden transcript: what randnum sends, byte for byte, to a fixed set of
requests on each face, and what its command lines say to fixed mistakes.

It was recorded before the package moved into subpackages (issue 21), and
C{test_golden.py} checks that it is still what randnum does.  Everything runs
in memory on a seeded source and a L{Clock}; the only thing normalised is
the HTTP C{Date} header, which is the wall clock's, and the Twisted version
in C{Server}.

Record it again (only when a change of behaviour is intended) with::

    python tests/golden.py > tests/golden.json
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python import usage

from randnum import Framing, Limits, RandnumFactory, seededSource
from randnum.metrics import metricsRegistry
from randnum.server import RandnumServer
from randnum.web.site import webSite

PEER = IPv4Address("TCP", "127.0.0.1", 40000)

#: Requests sent on one connection each, over TCP, with each framing.
TCP_REQUESTS: list[bytes] = [
    b"Example request",
    b"x",
    b"\n",
    b"n=3 min=1 max=6\n",
    b"n=5 min=1 max=5 unique=true\n",
    b"n=3 min=-9223372036854775808 max=9223372036854775807\n",
    b"n=0\n",
    b"n=10001\n",
    b"min=5 max=1\n",
    b"n=3 bogus=1\n",
    b"n=%33\n",
    b"hello world\n",
    b"type=decimal n=3\n",
    b"type=decimal n=2 places=4 unique=true\n",
    b"type=float n=3\n",
    b"type=gaussian n=3 mean=10 sd=2 digits=3\n",
    b"type=bytes n=8\n",
    b"type=bytes n=8 format=base64\n",
    b"type=uuid n=2\n",
    b"type=uuid version=7 n=2\n",
    b"type=string n=3 length=8\n",
    b"type=string n=2 length=5 chars=digits\n",
    b"type=string n=2 length=5 charset=digits\n",
    b"type=bytes n=2 length=4 format=base64\n",
    b"type=int n=3 data=hello%20world\n",
    b"type=shuffle min=1 max=10\n",
    b"type=choice n=2 data=a%2Cb%2Cc\n",
    b"type=words n=3\n",
    b"type=dice n=4\n",
    b"type=nope\n",
    b"signed=true\n",
    b"n=2\nn=3 max=9\nmin=7 max=7\n",
    b"n=1\r\n",
    b"\xff\xfe\n",
    b"x" * 2000 + b"\n",
]

#: HTTP requests, each on a connection of its own.
HTTP_REQUESTS: list[bytes] = [
    b"GET /v1/random HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?n=3&min=1&max=6 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?n=3&format=text HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?n=0 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?format=xml HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?type=uuid&n=2 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?type=decimal&n=2&format=text HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?type=gaussian&n=2&digits=5 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?type=string&n=2&length=6 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?type=bytes&n=1&length=8&format=base64 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?n=2&data=caf%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?type=words&n=2 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/random?signed=true HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/bytes?n=16 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/bytes HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/key HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/draws HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/draws/1 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
    b"HEAD /v1/random HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v1/random HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    b"GET /v1/random HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
    b"GET /v1/random?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
    b"GET /v1/random?n=1&max=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /v1/random HTTP/1.0\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
]

#: Command lines of C{randnum} that need no server.
CLI_COMMANDS: list[list[str]] = [
    [],
    ["--version"],
    ["nope"],
    ["get", "--port", "0"],
    ["get", "--host", ""],
    ["bytes", "--count", "x"],
    ["get", "-n", "x"],
    ["get", "--port", "70000"],
    ["get", "--timeout", "-1"],
    ["bytes", "--n", "0"],
    ["keygen"],
    ["verify"],
    ["export"],
    ["bench", "--connections", "0"],
]

#: Command lines of C{twistd randnum}, parsed (not run).
TAP_COMMANDS: list[list[str]] = [
    ["--min", "x"],
    ["--min", "10", "--max", "1"],
    ["--framing", "nope"],
    ["--idle-timeout", "-1"],
    ["--max-connections", "0"],
    ["--max-line", "10"],
    ["--workers", "0"],
    ["--workers", "2", "--seed", "1"],
    ["--signing-key", "k.pem"],
    ["--audit-db", "a.db"],
    ["--port", "tcp:99999"],
    ["--port", "nope:1"],
    ["--http", "tcp:70000"],
    ["--max-connections-per-ip", "1", "--workers", "2"],
    ["--log-interval", "x"],
]


def _turns(clock: Clock) -> None:
    for _ in range(50):
        clock.advance(0)


def tcpTranscript(framing: Framing) -> list[str]:
    """
    Each TCP request's reply, and whether the server closed.
    """
    out = []
    for number, request in enumerate(TCP_REQUESTS):
        clock = Clock()
        factory = RandnumFactory(
            source=seededSource(number), framing=framing, clock=clock, limits=Limits()
        )
        protocol = factory.buildProtocol(PEER)
        transport = StringTransport(peerAddress=PEER)
        protocol.makeConnection(transport)  # type: ignore[no-untyped-call]
        protocol.dataReceived(request)
        _turns(clock)
        closed = " [closed]" if transport.disconnecting else ""
        out.append(transport.value().decode("latin-1") + closed)
        protocol.connectionLost(None)  # type: ignore[arg-type]
    return out


def _normalise(response: bytes) -> str:
    text = response.decode("latin-1")
    text = re.sub(r"(?im)^date: [^\r\n]*", "Date: <now>", text)
    return re.sub(r"(?im)^server: TwistedWeb/[^\r\n]*", "Server: TwistedWeb", text)


def httpTranscript() -> list[str]:
    """
    Each HTTP request's response.
    """
    out = []
    for number, request in enumerate(HTTP_REQUESTS):
        clock = Clock()
        server = RandnumServer(source=seededSource(number), clock=clock)
        site = webSite(server, metricsRegistry(server))
        channel = site.buildProtocol(PEER)
        assert channel is not None
        transport = StringTransport(peerAddress=PEER)
        channel.makeConnection(transport)
        channel.dataReceived(request)
        _turns(clock)
        closed = " [closed]" if transport.disconnecting else ""
        out.append(_normalise(transport.value()) + closed)
        channel.connectionLost(None)  # type: ignore[arg-type]
    return out


def cliTranscript() -> list[dict[str, Any]]:
    """
    What C{randnum ARGS} prints, and its exit status.
    """
    from randnum.cli.main import main

    out = []
    for argv in CLI_COMMANDS:
        stdout, stderr = io.StringIO(), io.StringIO()
        status: Any = None
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                main(argv)
            except SystemExit as exit:
                status = exit.code
        out.append(
            {
                "argv": argv,
                "status": status,
                "stdout": stdout.getvalue(),
                "stderr": stderr.getvalue(),
            }
        )
    return out


def tapTranscript() -> list[dict[str, Any]]:
    """
    The usage error of each C{twistd randnum ARGS}.
    """
    from twisted.internet.testing import MemoryReactorClock

    from randnum.tap import Options

    out = []
    for argv in TAP_COMMANDS:
        options = Options(MemoryReactorClock())
        try:
            options.parseOptions(argv)
            error = None
        except usage.UsageError as failure:
            error = str(failure)
        out.append({"argv": argv, "error": error})
    return out


def transcript() -> dict[str, Any]:
    """
    The whole transcript.
    """
    return {
        "tcp-auto": tcpTranscript(Framing.AUTO),
        "tcp-line": tcpTranscript(Framing.LINE),
        "tcp-raw": tcpTranscript(Framing.RAW),
        "http": httpTranscript(),
        "cli": cliTranscript(),
        "tap": tapTranscript(),
    }


if __name__ == "__main__":
    json.dump(transcript(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
