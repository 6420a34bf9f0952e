"""
Signed draws survive C{kill -9}: the installed C{twistd randnum}, signing
under concurrent load over real loopback sockets, is killed mid-load and
restarted with the same arguments, twice.

Every record line a client received in full must then be in the audit store
byte for byte, verify against the key, and belong to one unbroken chain that
the restarted server continues.

A kill is one moment; so, before it, the loaded server is also frozen
(C{SIGSTOP}) at several moments, and while it cannot commit anything more,
its database must already hold every record any client has received.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from servers import Server, freePort, run, stopServer

from randnum.signing.records import GENESIS, RecordError, parseRecord, verifyDraw

# Every test here starts real processes.
pytestmark = pytest.mark.live

LOOPBACK = "127.0.0.1"

#: Kill, restart and check this many times.
CYCLES = 2

#: Connections pipelining signed lines, and clients asking over HTTP.
TCP_CLIENTS = 4
HTTP_CLIENTS = 2

#: Signed lines each TCP connection keeps sent but not yet answered.
WINDOW = 24

#: Records received, all clients together, before a kill; and the fewest
#: each client must have received (so that every one is busy at the kill).
RECORDS_PER_CYCLE = 4000
RECORDS_PER_CLIENT = 50

#: Moments during each cycle's load when the server is frozen and its
#: database read.
FREEZES = 10

#: Seconds the load may take to reach those numbers.
LOAD_TIMEOUT = 20.0

#: Seconds any one socket operation, or a thread's end, may take.
IO_TIMEOUT = 10.0

#: Records asked for per page of C{GET /v1/draws}.
PAGE = 1000

#: What a signed request may ask for, besides C{signed=true}: a type, and
#: the parameters it is asked with.
VARIANTS: list[tuple[str, dict[str, str]]] = [
    ("int", {}),
    ("int", {"n": "3", "min": "1", "max": "6"}),
    ("int", {"min": str(-(2**63)), "max": str(2**63 - 1), "n": "2"}),
    ("uuid", {}),
    ("string", {"length": "12", "n": "2"}),
    ("decimal", {"places": "5"}),
    ("gaussian", {"n": "2"}),
    ("bytes", {"length": "16"}),
]

#: The start-up line naming how many records the audit store holds.
RECORDS_SO_FAR = re.compile(r"audit store \S+, (\d+) records so far")


@dataclass(frozen=True)
class Ask:
    """
    One signed request: its type, its parameters, and its C{data} tag
    (L{None} for a bare C{signed=true}).
    """

    type: str
    params: dict[str, str]
    tag: str | None

    @property
    def n(self) -> int:
        """
        How many values the request asks for.
        """
        return int(self.params.get("n", "1"))

    def pairs(self) -> list[tuple[str, str]]:
        """
        The request's parameters, C{signed=true} first.
        """
        pairs = [("signed", "true")]
        if self.tag is None and not self.params and self.type == "int":
            return pairs
        pairs += [("type", self.type), *self.params.items()]
        if self.tag is not None:
            pairs.append(("data", self.tag))
        return pairs

    def tcpLine(self) -> bytes:
        """
        The request as a TCP line (C{data} percent-encoded).
        """
        tokens = [f"{k}={urllib.parse.quote(v, safe='')}" for k, v in self.pairs()]
        return " ".join(tokens).encode("ascii") + b"\n"

    def httpPath(self) -> str:
        """
        The request as a C{GET /v1/random} path.
        """
        return "/v1/random?" + urllib.parse.urlencode(self.pairs())


def ask(client: str, index: int) -> Ask:
    """
    The C{index}th request of C{client}: the variants in turn, every fourth
    one bare, the others tagged (in UTF-8 beyond ASCII) with who asked.
    """
    kind, params = VARIANTS[index % len(VARIANTS)]
    tag = None if index % 4 == 0 else f"raffle {client}#{index} \u00fc\u20ac"
    return Ask(kind, params, tag)


class ConnectionEnded(ConnectionError):
    """
    The server closed the connection (end of file).
    """


class UnexpectedReply(Exception):
    """
    A reply that is neither a complete record nor a connection loss.
    """


#: How a client's connection may end once the server has been killed; a
#: timeout is not one of them (a killed server's sockets close at once).
CONNECTION_LOSS = (
    ConnectionEnded,
    ConnectionResetError,  # http.client.RemoteDisconnected too
    BrokenPipeError,
    http.client.IncompleteRead,
)


class Progress:
    """
    Records received so far by each client, and the highest serial among
    them, shared by the client threads; and whether the server has been
    killed.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._counts: dict[str, int] = {}
        self._highest = 0
        self.killed = threading.Event()

    def received(self, client: str, serials: list[int]) -> None:
        """
        C{client} has received the complete records C{serials}.
        """
        with self._condition:
            self._counts[client] = self._counts.get(client, 0) + len(serials)
            self._highest = max([self._highest, *serials])
            self._condition.notify_all()

    def waitFor(self, total: int, each: int = 0) -> bool:
        """
        Wait until at least C{total} records have arrived, and C{each} at
        every client; whether they did within L{LOAD_TIMEOUT}.
        """

        def enough() -> bool:
            counts = self._counts.values()
            clients = TCP_CLIENTS + HTTP_CLIENTS
            return (
                sum(counts) >= total
                and len(counts) == clients
                and min(counts, default=0) >= each
            )

        with self._condition:
            return self._condition.wait_for(enough, LOAD_TIMEOUT)

    def total(self) -> int:
        """
        Records received so far, all clients together.
        """
        with self._condition:
            return sum(self._counts.values())

    def highest(self) -> int:
        """
        The highest serial received so far.
        """
        with self._condition:
            return self._highest


@dataclass
class ClientResult:
    """
    What one client thread received, and how its connection ended.

    @ivar records: each request answered, and its reply line (no newline).
    @ivar ending: the exception that ended the client.
    @ivar afterKill: whether it ended after the server was killed.
    @ivar inFlight: requests sent and never answered.
    @ivar partial: bytes of an incomplete reply line at the end.
    """

    name: str
    records: list[tuple[Ask, bytes]] = field(default_factory=list)
    ending: BaseException | None = None
    afterKill: bool = False
    inFlight: int = 0
    partial: int = 0

    def end(self, error: BaseException, progress: Progress) -> None:
        """
        Note how and when the client ended.
        """
        self.ending = error
        self.afterKill = progress.killed.is_set()


def serialOf(line: bytes) -> int:
    """
    The serial of a received record line.

    @raise UnexpectedReply: if the line is not a record.
    """
    try:
        return int(parseRecord(line)["serial"])
    except RecordError as error:
        raise UnexpectedReply(f"{error}: {line[:200]!r}") from None


def tcpClient(port: int, result: ClientResult, progress: Progress) -> None:
    """
    Pipeline signed lines on one connection, keeping L{WINDOW} of them
    unanswered, and keep each complete reply line, until the connection is
    lost.
    """
    pending: deque[Ask] = deque()
    buffer = b""
    index = 0
    try:
        with socket.create_connection((LOOPBACK, port), timeout=IO_TIMEOUT) as sock:
            while True:
                lines = []
                while len(pending) < WINDOW:
                    pending.append(ask(result.name, index))
                    lines.append(pending[-1].tcpLine())
                    index += 1
                if lines:
                    sock.sendall(b"".join(lines))
                chunk = sock.recv(1 << 16)
                if not chunk:
                    raise ConnectionEnded("the server closed the connection")
                *complete, buffer = (buffer + chunk).split(b"\n")
                for line in complete:
                    if not pending:
                        raise UnexpectedReply(f"a reply to no request: {line!r}")
                    result.records.append((pending.popleft(), line))
                progress.received(result.name, [serialOf(line) for line in complete])
    except Exception as error:
        result.end(error, progress)
    result.inFlight, result.partial = len(pending), len(buffer)


def httpClient(port: int, result: ClientResult, progress: Progress) -> None:
    """
    Ask for signed draws over HTTP, one after another on one persistent
    connection, and keep each complete record, until the connection is lost.
    """
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=IO_TIMEOUT)
    index = 0
    try:
        while True:
            request = ask(result.name, index)
            index += 1
            result.inFlight = 1
            connection.request("GET", request.httpPath())
            response = connection.getresponse()
            body = response.read()
            result.inFlight = 0
            if response.status != 200 or body.count(b"\n") != 1:
                raise UnexpectedReply(f"HTTP {response.status}: {body[:200]!r}")
            if not body.endswith(b"\n"):
                raise UnexpectedReply(f"a record not ending its line: {body[:200]!r}")
            result.records.append((request, body[:-1]))
            progress.received(result.name, [serialOf(body[:-1])])
    except Exception as error:
        result.end(error, progress)
    finally:
        connection.close()


@dataclass
class Load:
    """
    Client threads asking one server for signed draws.
    """

    progress: Progress
    results: list[ClientResult]
    threads: list[threading.Thread]

    @classmethod
    def start(cls, tcpPort: int, httpPort: int, cycle: int) -> Load:
        """
        Start L{TCP_CLIENTS} pipelining TCP clients and L{HTTP_CLIENTS}
        HTTP clients.
        """
        progress = Progress()
        results: list[ClientResult] = []
        threads: list[threading.Thread] = []
        clients: list[tuple[Callable[[int, ClientResult, Progress], None], int]] = [
            *[(tcpClient, tcpPort)] * TCP_CLIENTS,
            *[(httpClient, httpPort)] * HTTP_CLIENTS,
        ]
        for number, (client, port) in enumerate(clients):
            kind = "tcp" if client is tcpClient else "http"
            result = ClientResult(f"{kind}{number}.{cycle}")
            thread = threading.Thread(
                target=client, args=(port, result, progress), daemon=True
            )
            results.append(result)
            threads.append(thread)
            thread.start()
        return cls(progress, results, threads)

    def freezeThenKill(self, server: Server, database: Path) -> int:
        """
        At L{FREEZES} moments as records arrive, check the frozen server's
        database (L{checkFrozen}); once enough records have arrived,
        C{kill -9} the server, and wait for every client to end.  The server
        is killed even if the load fails.  How many freezes could read the
        database.
        """
        conclusive = 0
        reached = False
        try:
            for moment in range(1, FREEZES + 1):
                total = RECORDS_PER_CYCLE * moment // (FREEZES + 1)
                if not self.progress.waitFor(total):
                    break
                conclusive += checkFrozen(server.process, database, self.progress)
            else:
                reached = self.progress.waitFor(RECORDS_PER_CYCLE, RECORDS_PER_CLIENT)
        finally:
            self.progress.killed.set()
            server.process.kill()
            server.process.wait(timeout=IO_TIMEOUT)
            for thread in self.threads:
                thread.join(IO_TIMEOUT + 5)
        early = [r for r in self.results if r.ending is not None and not r.afterKill]
        assert not early, describeEndings(early)
        assert reached, (
            f"only {self.progress.total()} records within {LOAD_TIMEOUT} s: "
            + describeEndings(self.results)
        )
        hung = [t.name for t in self.threads if t.is_alive()]
        assert not hung, f"clients still running after the kill: {hung}"
        return conclusive

    def checkEndings(self) -> None:
        """
        Every client ended by losing its connection to the killed server
        (not by a timeout, nor a bad reply); every TCP client had requests
        in flight.
        """
        for result in self.results:
            assert isinstance(result.ending, CONNECTION_LOSS), describeEndings([result])
            if result.name.startswith("tcp"):
                assert result.inFlight > 0, f"{result.name}: nothing in flight"

    def received(self) -> list[tuple[Ask, bytes]]:
        """
        Every complete reply line received, with its request.
        """
        return [record for result in self.results for record in result.records]


def allStopped(pid: int) -> bool:
    """
    Whether every thread of process C{pid} is stopped (by a signal).
    """
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:
            continue  # a thread that has just ended
        if stat.rpartition(")")[2].split()[0] not in ("T", "t"):
            return False
    return True


@contextmanager
def frozen(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """
    Stop C{process} (C{SIGSTOP}) until the block ends; inside it, every
    thread of it has stopped.
    """
    process.send_signal(signal.SIGSTOP)
    try:
        deadline = time.monotonic() + IO_TIMEOUT
        while not allStopped(process.pid):
            assert time.monotonic() < deadline, "the server did not stop"
            time.sleep(0.0002)
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def committedThrough(database: Path) -> int | None:
    """
    The highest serial committed to C{database}, read as any other reader
    would; L{None} if the database is busy (a frozen server may hold it).
    """
    try:
        with closing(
            sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=1)
        ) as connection:
            row = connection.execute("SELECT max(serial) FROM draws").fetchone()
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            return None
        raise
    return int(row[0] or 0)


def checkFrozen(
    process: subprocess.Popen[bytes], database: Path, progress: Progress
) -> bool:
    """
    Freeze the server; while it can neither commit nor send, every record
    received (including what it sent just before) must be committed.
    Whether the database could be read.
    """
    with frozen(process):
        committed = committedThrough(database)
        received = progress.highest()
    if committed is None:
        return False
    assert received <= committed, (
        f"serial {received} received, but the frozen server has committed "
        f"only up to {committed}"
    )
    return True


def describeEndings(results: list[ClientResult]) -> str:
    """
    How clients ended, for a failure message.
    """
    return "; ".join(
        f"{r.name}: {len(r.records)} records, ended by {r.ending!r}"
        f" ({'after' if r.afterKill else 'before'} the kill), {r.inFlight}"
        f" requests and {r.partial} bytes of a reply in flight"
        for r in results
    )


class HttpFace:
    """
    A restarted server's HTTP face, asked on one persistent connection.
    """

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=IO_TIMEOUT)

    def close(self) -> None:
        """
        Close the connection.
        """
        self.connection.close()

    def get(self, path: str) -> bytes:
        """
        The body of C{GET path}, which must answer 200.
        """
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        assert response.status == 200, f"GET {path}: {response.status} {body!r}"
        return body

    def storedChain(self) -> list[bytes]:
        """
        Every stored record's line, in order, from C{GET /v1/draws} pages.
        """
        lines: list[bytes] = []
        while True:
            page = self.get(f"/v1/draws?after={len(lines)}&limit={PAGE}")
            if not page:
                return lines
            assert page.endswith(b"\n"), page[-200:]
            for line in page[:-1].split(b"\n"):
                serial = parseRecord(line)["serial"]
                assert serial == len(lines) + 1, f"serial {serial} after {len(lines)}"
                lines.append(line)


def sha256(line: bytes) -> str:
    """
    The hex SHA-256 of a record's exact bytes: the next record's C{prev}.
    """
    return hashlib.sha256(line).hexdigest()


def checkAnswers(received: list[tuple[Ask, bytes]]) -> dict[int, bytes]:
    """
    Each reply is a record answering its own request (so replies came in
    order), no serial was received twice; the records by serial.
    """
    bySerial: dict[int, bytes] = {}
    for request, line in received:
        record = parseRecord(line)
        assert record.get("data") == request.tag, (request, line)
        assert record["request"]["type"] == request.type, (request, line)
        assert record["request"]["n"] == request.n == len(record["values"]), line
        assert record["serial"] not in bySerial, f"serial {record['serial']} twice"
        bySerial[record["serial"]] = line
    return bySerial


def checkChain(stored: list[bytes]) -> None:
    """
    The stored records are serials 1..N, each linked to the one before by
    the SHA-256 of its exact bytes.
    """
    previous = GENESIS
    for serial, line in enumerate(stored, 1):
        record = parseRecord(line)
        assert record["serial"] == serial
        assert record["prev"] == previous, f"serial {serial} does not link"
        previous = sha256(line)


def checkStored(
    face: HttpFace,
    everything: dict[int, bytes],
    fresh: dict[int, bytes],
    stored: list[bytes],
) -> None:
    """
    Every record received in any cycle, C{everything}, is in the chain's
    pages byte for byte; those received since the last restart, C{fresh},
    are also each asked for as C{GET /v1/draws/SERIAL}.
    """
    highest = max(everything)
    assert highest <= len(stored), f"serial {highest} received, {len(stored)} kept"
    for serial, line in everything.items():
        assert stored[serial - 1] == line, f"serial {serial} in the pages"
    for serial, line in fresh.items():
        assert face.get(f"/v1/draws/{serial}") == line + b"\n", f"serial {serial}"


def checkNextDraw(tcpPort: int, face: HttpFace, stored: list[bytes]) -> bytes:
    """
    A new signed draw continues the chain: the next serial, linked to the
    last stored record; it is stored as sent.  Its line.
    """
    with socket.create_connection((LOOPBACK, tcpPort), timeout=IO_TIMEOUT) as sock:
        sock.sendall(b"signed=true data=after%20restart\n")
        sock.shutdown(socket.SHUT_WR)
        reply = b"".join(iter(lambda: sock.recv(1 << 16), b""))
    assert reply.count(b"\n") == 1 and reply.endswith(b"\n"), reply
    line = reply[:-1]
    record = parseRecord(line)
    assert record["serial"] == len(stored) + 1
    assert record["prev"] == sha256(stored[-1])
    assert face.get(f"/v1/draws/{record['serial']}") == reply
    return line


def checkVerifyCommand(httpPort: int, cwd: Path, count: int) -> None:
    """
    C{randnum verify --url ... --all} verifies the whole chain of C{count}.
    """
    result = run(
        "randnum", "verify", "--url", f"http://{LOOPBACK}:{httpPort}", "--all", cwd=cwd
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"{count} records verified"), result.stdout


def checkLog(server: Server) -> None:
    """
    The server logged no traceback, and no failed commit.
    """
    text = server.logText()
    assert "Traceback" not in text, text
    assert "could not commit" not in text and "lost records" not in text, text


@dataclass(frozen=True)
class Service:
    """
    How the signing server is run: its ports, its command line, its key
    and its audit database.
    """

    tcpPort: int
    httpPort: int
    args: list[str]
    database: Path
    keyId: str
    publicPem: str


@pytest.fixture
def service(tmp_path: Path) -> Service:
    """
    A key made with C{randnum keygen}, and a command line serving signed
    draws on two loopback ports with it and an audit database.
    """
    key = tmp_path / "signing.pem"
    made = run("randnum", "keygen", str(key), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    tcpPort, httpPort = freePort(), freePort()
    database = tmp_path / "audit.db"
    args = [
        *("--port", f"tcp:{tcpPort}:interface={LOOPBACK}"),
        *("--http", f"tcp:{httpPort}:interface={LOOPBACK}"),
        *("--signing-key", str(key)),
        *("--audit-db", str(database)),
        # The load is one address's, far over the default rate: this is
        # about durability, not the rate (tests/test_rates.py).
        *("--signed-rate", "0"),
    ]
    publicPem = Path(f"{key}.pub").read_text()
    return Service(tcpPort, httpPort, args, database, made.stdout.strip(), publicPem)


def receiveUntilKilled(
    service: Service, server: Server, cycle: int
) -> dict[int, bytes]:
    """
    Load C{server} with signed requests, freeze it now and then, kill it
    mid-load, and return every record received in full, by serial.
    """
    load = Load.start(service.tcpPort, service.httpPort, cycle)
    conclusive = load.freezeThenKill(server, service.database)
    assert conclusive >= FREEZES // 2, f"only {conclusive} freezes read the database"
    load.checkEndings()
    checkLog(server)
    return checkAnswers(load.received())


def checkRestarted(
    service: Service,
    server: Server,
    everything: dict[int, bytes],
    fresh: dict[int, bytes],
) -> tuple[int, bytes]:
    """
    The restarted C{server} holds every record received (L{checkStored}),
    in an unbroken chain, and continues it; C{randnum verify --all} agrees.
    The serial and line of the new draw.
    """
    with closing(HttpFace(service.httpPort)) as face:
        assert json.loads(face.get("/v1/key"))["key"] == service.keyId
        stored = face.storedChain()
        assert RECORDS_SO_FAR.findall(server.logText()) == [str(len(stored))]
        checkChain(stored)
        checkStored(face, everything, fresh, stored)
        line = checkNextDraw(service.tcpPort, face, stored)
    checkVerifyCommand(service.httpPort, service.database.parent, len(stored) + 1)
    return len(stored) + 1, line


def test_killedUnderSignedLoadLosesNoReceivedRecord(
    serve: Callable[..., Server], service: Service
) -> None:
    """
    Kill the signing server (SIGKILL) while TCP and HTTP clients have
    signed requests in flight, and restart it with the same arguments;
    twice.  Each time, every record any client received in full verifies
    and is stored as received; the stored chain has no gap and no broken
    link; the next draw continues it; and C{randnum verify --all} agrees.
    """
    everything: dict[int, bytes] = {}
    server = serve(*service.args, listeners=2)
    for cycle in range(CYCLES):
        received = receiveUntilKilled(service, server, cycle)
        assert not everything.keys() & received.keys(), "a serial received again"
        for line in received.values():
            verifyDraw(parseRecord(line), service.publicPem)
        everything.update(received)
        server = serve(*service.args, listeners=2)
        serial, line = checkRestarted(service, server, everything, received)
        everything[serial] = line
        unseen = serial - 1 - max(received)
        print(f"cycle {cycle}: {len(received)} received, {unseen} committed unseen")
    stopServer(server)
    assert "Main loop terminated." in server.logText()
    checkLog(server)
