# Twisted's test doubles (MemoryReactorClock, iosim) are not annotated.
# mypy: disallow-untyped-calls=False
"""
Every example in the docs (docs/*.md) and the README, run.

 - Every C{python} block is executed in a fresh namespace, and every
   C{test_*} function it defines is called.  A block that needs a server,
   or would run a reactor for ever, is preceded by
   C{<!-- docs:run-with=NAME -->}, NAME being one of L{HARNESSES}: each runs
   the block in memory and checks what it did.  A block that cannot be run
   says why in C{<!-- docs:not-run: REASON -->}; there may be at most
   L{MAX_NOT_RUN} of those.
 - Every C{randnum ...} and C{twistd ... randnum ...} command in a C{sh} or
   C{console} block is parsed by the real option parsers (the C{randnum}
   command's, twistd's and the plugin's, with a L{MemoryReactorClock}), so
   that a documented flag cannot rot.  Nothing is run.

Nothing here starts a process or opens a socket.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import twisted.internet
from signers import drawn, makeStore, newSigner, signingServer
from twisted.application.service import IService
from twisted.internet.endpoints import _SystemdParser
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import ILogObserver, globalLogBeginner, globalLogPublisher
from twisted.python import usage
from twisted.python.systemd import ListenFDs

# What twistd itself parses its options with, on a POSIX system.
from twisted.scripts._twistd_unix import ServerOptions
from twisted.test.iosim import ConnectionCompleter, IOPump
from twisted.web.server import Site

import randnum
from randnum.cli.main import Options as CommandOptions
from randnum.generation.source import seededSource
from randnum.jsonrpc.signed import (
    randomObject,
    recordRequest,
    recordValues,
    signRandom,
)
from randnum.signing.drawings import Drawing
from randnum.signing.keys import generateKey
from randnum.signing.store import AuditStore
from randnum.tap import Options as PluginOptions
from randnum.tcp.protocol import Framing, RandnumFactory
from randnum.testing import CLIENT_ADDRESS, FakeBlockingClient, fakeConnect
from randnum.web.drawings import drawingAnswer

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]

#: How many blocks may go unrun (each with its reason).
MAX_NOT_RUN = 2

#: The fenced blocks' languages this test knows what to do with.  Blocks
#: without a language are text: protocol grammars, transcripts, log lines,
#: benchmark tables.
LANGUAGES = {"python", "sh", "console", ""}

FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(r"^<!-- (docs:[^>]*?) -->$")


@dataclass(frozen=True)
class Block:
    """
    One fenced block of a page.

    @ivar marker: the C{docs:...} comment on the line just before the fence.
    """

    page: str
    line: int
    language: str
    text: str
    marker: str | None

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def fencedBlocks(path: Path) -> Iterator[Block]:
    """
    The fenced blocks of the Markdown page at C{path}.
    """
    lines = path.read_text().splitlines()
    page = str(path.relative_to(ROOT))
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while not lines[end].startswith("```"):
            end += 1
        before = MARKER.match(lines[index - 1]) if index else None
        yield Block(
            page,
            index + 1,
            opening.group(1),
            "\n".join(lines[index + 1 : end]) + "\n",
            before.group(1) if before else None,
        )
        index = end + 1


BLOCKS = [block for path in PAGES for block in fencedBlocks(path)]
PYTHON = [block for block in BLOCKS if block.language == "python"]
SHELL = [block for block in BLOCKS if block.language in ("sh", "console")]


def execute(block: Block, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """
    Run C{block}'s code in a fresh namespace (plus C{namespace}); then call
    every C{test_*} function it defines.  Return the namespace.
    """
    namespace = {"__name__": "__docs__", **(namespace or {})}
    exec(compile(block.text, block.name, "exec"), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()
    return namespace


# The in-memory ways of running a block.


def installReactor(monkeypatch: pytest.MonkeyPatch) -> MemoryReactorClock:
    """
    Make a L{MemoryReactorClock} the global reactor until the test ends.
    """
    reactor = MemoryReactorClock()
    monkeypatch.setitem(sys.modules, "twisted.internet.reactor", reactor)
    monkeypatch.setattr(twisted.internet, "reactor", reactor, raising=False)
    return reactor


class Received(Protocol):
    """
    A client that keeps what it receives.
    """

    def __init__(self) -> None:
        self.data = b""

    def dataReceived(self, data: bytes) -> None:
        self.data += data


def exchange(reactor: MemoryReactorClock, port: int, request: bytes) -> bytes:
    """
    Connect to C{port} of C{reactor}, send C{request}, and return what comes
    back once nothing more moves.
    """
    client = Received()
    reactor.connectTCP("127.0.0.1", port, ClientFactory.forProtocol(lambda: client))
    pump = ConnectionCompleter(reactor).succeedOnce()
    assert pump is not None, f"nothing listens on port {port}"
    assert client.transport is not None
    client.transport.write(request)
    settle(reactor, pump)
    return client.data


def settle(reactor: MemoryReactorClock, *pumps: IOPump) -> None:
    """
    Deliver everything both ways and run the reactor's turns, until done.
    """
    for _ in range(20):
        for pump in pumps:
            pump.flush()
        reactor.advance(0)


def runWithMemoryReactor(
    block: Block, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A program that serves: run it with a memory reactor as the global one;
    then send the original sample client's request to every TCP port it
    listens on (a bare number must come back, as the seed server answered),
    and C{GET /v1/random?n=3} to every HTTP one.
    """
    reactor = installReactor(monkeypatch)
    execute(block)
    assert reactor.hasRun, "the example never runs the reactor"
    probeEveryPort(reactor)


def runAsLoggingApp(block: Block, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A program that serves and logs to its standard output: as
    L{runWithMemoryReactor}, and what it printed must say where it listens.
    The global log gets its observers only while the block runs.
    """
    added: list[ILogObserver] = []

    def beginLoggingTo(observers: list[ILogObserver], **ignored: object) -> None:
        for observer in observers:
            globalLogPublisher.addObserver(observer)
            added.append(observer)

    monkeypatch.setattr(globalLogBeginner, "beginLoggingTo", beginLoggingTo)
    printed = io.StringIO()
    try:
        with redirect_stdout(printed):
            runWithMemoryReactor(block, tmp, monkeypatch)
    finally:
        for observer in added:
            globalLogPublisher.removeObserver(observer)
    assert added, "the example never begins logging"
    assert "randnum listening on tcp:5000" in printed.getvalue(), printed.getvalue()


def runAsTacFile(block: Block, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A C{.tac} file, as C{twistd -y} runs it: its C{application}'s services
    start on a memory reactor, in a directory that has C{signing.pem};
    then every port it listens on is probed, and the HTTP face must serve
    that key.
    """
    reactor = installReactor(monkeypatch)
    monkeypatch.chdir(tmp)
    keyId = generateKey(tmp / "signing.pem")
    application = execute(block)["application"]
    IService(application).startService()
    probeEveryPort(reactor)
    (port,) = [port for port, f, _, _ in reactor.tcpServers if isinstance(f, Site)]
    request = b"GET /v1/key HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    body = exchange(reactor, port, request).partition(b"\r\n\r\n")[2]
    assert json.loads(body)["key"] == keyId


def probeEveryPort(reactor: MemoryReactorClock) -> None:
    """
    Send the original sample client's request to every TCP port C{reactor}
    listens on (a bare number must come back, as the seed server answered),
    and C{GET /v1/random?n=3} to every HTTP one.
    """
    assert reactor.tcpServers, "the example listens nowhere"
    for port, factory, _, _ in list(reactor.tcpServers):
        if isinstance(factory, Site):
            head, _, body = exchange(
                reactor,
                port,
                b"GET /v1/random?n=3 HTTP/1.1\r\nHost: localhost\r\n"
                b"Connection: close\r\n\r\n",
            ).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 "), head
            assert len(json.loads(body)["numbers"]) == 3
        else:
            # The seed client: s.sendall(b"Example request"); s.recv(1024).decode()
            reply = exchange(reactor, port, b"Example request")[:1024].decode()
            assert reply.isdigit() and 1 <= int(reply) <= 10000, reply


def runWithMemoryServer(
    block: Block, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A Twisted client: a seeded randnum listens on 127.0.0.1:5000 of a memory
    reactor, the global one while the block runs (C{react} returns at once,
    with C{SystemExit}); then its connection is completed and run to the end.
    The block prints its results, which must be what it asked for.
    """
    reactor = installReactor(monkeypatch)
    server = RandnumFactory(source=seededSource(1), clock=reactor)
    reactor.listenTCP(5000, server, interface="127.0.0.1")
    printed = io.StringIO()
    with redirect_stdout(printed):
        with pytest.raises(SystemExit):
            execute(block)
        pump = ConnectionCompleter(reactor).succeedOnce()
        assert pump is not None, "the example did not connect to 127.0.0.1:5000"
        settle(reactor, pump)
    assert reactor.hasStopped, "the example's main() never finished"
    found = re.findall(r"\[[^]]*\]", printed.getvalue())
    dice, lottery = (ast.literal_eval(part) for part in found)
    assert len(dice) == 3 and all(1 <= n <= 6 for n in dice)
    assert len(set(lottery)) == 6 and all(1 <= n <= 49 for n in lottery)


def runWithFakeConnect(
    block: Block, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    The blocking client: C{randnum.connect} is L{fakeConnect}, which runs the
    real server protocol in memory.
    """
    monkeypatch.setattr(randnum, "connect", fakeConnect)
    printed = io.StringIO()
    with redirect_stdout(printed):
        execute(block)
    assert "n must be between 1 and 10000" in printed.getvalue()


class SigningClient(FakeBlockingClient):
    """
    A blocking client of an in-memory server that signs into a real SQLite
    audit store (committed by hand, as the database thread would).
    """

    def __init__(self, tmp: Path) -> None:
        server, self.pool, self.clock = signingServer(tmp)
        assert isinstance(server.audit, AuditStore)
        self.signer = server.audit.signer
        self._transport = StringTransport(peerAddress=CLIENT_ADDRESS)
        factory = RandnumFactory(server=server, framing=Framing.LINE)
        self._server = factory.buildProtocol(CLIENT_ADDRESS)
        self._server.makeConnection(self._transport)
        self.closed = False

    def _exchange(self, line: bytes) -> bytes:
        self._server.dataReceived(line)
        for _ in range(100):
            if self._transport.value().endswith(b"\n"):
                break
            self.clock.advance(0)
            self.pool.runAll()
        reply = self._transport.value()
        self._transport.clear()
        return bytes(reply[:-1])


def runWithSigningServer(
    block: Block, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A signed draw: C{randnum.connect} reaches an in-memory signing server;
    the block runs in a directory where C{signing.pem.pub} is its key.
    """
    client = SigningClient(tmp)
    (tmp / "signing.pem.pub").write_text(client.signer.publicPem)
    monkeypatch.chdir(tmp)
    monkeypatch.setattr(randnum, "connect", lambda *args, **kwargs: client)
    namespace = execute(block)
    record = namespace["record"]
    assert record["data"] == "raffle 12" and len(set(record["values"])) == 3


def runAsVerifyScript(block: Block, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The plain-Python verifier, run as C{python verify.py KEY RECORDS} would
    run it (in this process): on three records of a real audit store.
    """
    store, _ = makeStore(tmp, Clock())
    (tmp / "signing.pem.pub").write_text(store.signer.publicPem)
    (tmp / "draw.json").write_bytes(b"".join(line + b"\n" for line in drawn(store, 3)))
    monkeypatch.chdir(tmp)
    monkeypatch.setattr(sys, "argv", ["verify.py", "signing.pem.pub", "draw.json"])
    printed = io.StringIO()
    with redirect_stdout(printed):
        execute(block, {"__name__": "__main__"})
    assert printed.getvalue() == "ok\n"


def runAsVerifyRandomScript(
    block: Block, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    The checker of a signed RANDOM.ORG result, run as C{python verify.py
    KEY RESULT} would run it (in this process): on a response holding
    decimal fractions written exactly, its members reordered and indented.
    """
    signer = newSigner()
    exact = ["0.12345678901234567891", "0.5"]
    params = {"n": 2, "decimalPlaces": 20, "replacement": True}
    method = "generateSignedDecimalFractions"
    record = {
        "serial": 2841,
        "time": "2026-11-25T12:00:00.123Z",
        "request": recordRequest(
            method,
            {**params, "pregeneratedRandomization": None},
            "my-key",
            None,
            {"raffle": 12, "odds": 0.25},
        ),
        "values": recordValues(method, exact),
    }
    random = randomObject(record)
    signature = signRandom(random, signer.sign)
    sent = {name: random[name] for name in reversed(list(random))}
    result = {"signature": signature, "random": {**sent, "data": "DATA"}}
    text = json.dumps({"id": 1, "result": result, "jsonrpc": "2.0"}, indent=1)
    text = text.replace('"DATA"', f"[{','.join(exact)}]")
    assert exact[0] in text
    (tmp / "randnum.pub").write_text(signer.publicPem)
    (tmp / "result.json").write_text(text)
    monkeypatch.chdir(tmp)
    monkeypatch.setattr(sys, "argv", ["verify.py", "randnum.pub", "result.json"])
    printed = io.StringIO()
    with redirect_stdout(printed):
        execute(block, {"__name__": "__main__"})
    assert printed.getvalue() == f"key {signer.keyId}\nauthentic: serial 2841\n"


def runAsDrawingCheck(block: Block, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The check of a public drawing, on C{drawing.json} as C{GET
    /v1/drawings/SERIAL} answers for a real drawing: it prints the winners.
    """
    server, pool, clock = signingServer(tmp)
    drawing = Drawing(("Ada", "Alan", "Grace", "Zoë"), "Spring raffle")
    lines: list[bytes] = []
    server.signedDraw(drawing.query(2), None, drawing.stored()).addCallback(
        lines.append
    )
    clock.advance(0)
    pool.runAll()
    (tmp / "drawing.json").write_bytes(drawingAnswer(lines[0], drawing.stored()))
    monkeypatch.chdir(tmp)
    printed = io.StringIO()
    with redirect_stdout(printed):
        execute(block)
    winners = [drawing.entrants[i - 1] for i in json.loads(lines[0])["values"]]
    assert printed.getvalue() == f"{winners!r}\n"


Harness = Callable[[Block, Path, pytest.MonkeyPatch], None]

#: The ways of running a block, by the name its marker gives.
HARNESSES: dict[str, Harness] = {
    "memoryReactor": runWithMemoryReactor,
    "loggingApp": runAsLoggingApp,
    "tacFile": runAsTacFile,
    "memoryServer": runWithMemoryServer,
    "fakeConnect": runWithFakeConnect,
    "signingServer": runWithSigningServer,
    "verifyScript": runAsVerifyScript,
    "verifyRandomScript": runAsVerifyRandomScript,
    "drawingCheck": runAsDrawingCheck,
}


@pytest.mark.parametrize("block", PYTHON, ids=[block.name for block in PYTHON])
def test_pythonExampleRuns(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Every Python example runs: as it is, or in the harness its marker names.
    """
    marker = block.marker or ""
    if marker.startswith("docs:not-run:"):
        pytest.skip(marker.removeprefix("docs:not-run:").strip())
    if marker.startswith("docs:run-with="):
        HARNESSES[marker.removeprefix("docs:run-with=")](block, tmp_path, monkeypatch)
    else:
        assert not marker, f"{block.name}: unknown marker {marker!r}"
        execute(block)


def test_fewExamplesGoUnrun() -> None:
    """
    A block that is not run says why, and there are few of them.
    """
    notRun = [b for b in BLOCKS if (b.marker or "").startswith("docs:not-run:")]
    for block in notRun:
        assert block.marker and block.marker.removeprefix("docs:not-run:").strip()
    assert len(notRun) <= MAX_NOT_RUN, [block.name for block in notRun]


def test_everyMarkerIsUnderstood() -> None:
    """
    Every C{docs:} comment stands just before a fence and names a known
    harness, so a typo cannot quietly leave an example unrun.
    """
    used = [block.marker for block in BLOCKS if block.marker]
    comments = [
        match.group(1)
        for path in PAGES
        for match in map(MARKER.match, path.read_text().splitlines())
        if match
    ]
    assert sorted(comments) == sorted(used), "a docs: comment is not before a fence"
    for block in BLOCKS:
        marker = block.marker or ""
        if marker.startswith("docs:run-with="):
            assert block.language == "python", block.name
            assert marker.removeprefix("docs:run-with=") in HARNESSES, block.name
        elif marker:
            assert marker.startswith("docs:not-run:"), f"{block.name}: {marker}"


def test_everyBlockIsOfAKnownKind() -> None:
    """
    A new language of fenced block needs this test to say what to do with it.
    """
    unknown = [(b.name, b.language) for b in BLOCKS if b.language not in LANGUAGES]
    assert unknown == []


# Shell commands: parsed by the real option parsers.


def shellLines(block: Block) -> list[str]:
    """
    The command lines of a C{sh} or C{console} block, continuations joined.
    In a console block, commands follow C{$ }; other lines are output.
    """
    lines: list[str] = []
    continued = False
    for line in block.text.splitlines():
        if continued:
            lines[-1] = lines[-1][:-1] + " " + line.strip()
        elif block.language == "sh":
            lines.append(line)
        elif line.startswith("$ "):
            lines.append(line[2:])
        continued = lines[-1].endswith("\\") if lines else False
    return lines


OPERATOR = re.compile(r"^[;&|()<>]+$")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def commandsIn(line: str) -> Iterator[tuple[dict[str, str], list[str]]]:
    """
    The C{randnum} and C{twistd} commands of one shell line: each with its
    environment assignments and its words (the program's name first).
    Arguments that hold a command line themselves (C{printf ... 'twistd
    ...'}) are searched too.
    """
    # A redirection's descriptor (2>/dev/null) is not an argument.
    line = re.sub(r"(?<=\s)\d+(?=[<>])", " ", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    segments: list[list[str]] = [[]]
    for word in words:
        if OPERATOR.match(word):
            segments.append([])
        else:
            segments[-1].append(word)
    for segment in segments:
        environment: dict[str, str] = {}
        words = list(segment)
        while words and (ASSIGNMENT.match(words[0]) or words[0] == "sudo"):
            name, _, value = words.pop(0).partition("=")
            if value or name != "sudo":
                environment[name] = value
        if words and os.path.basename(words[0]) == "randnum":
            yield environment, words
            continue
        for index, word in enumerate(words):
            if os.path.basename(word) == "twistd":
                yield environment, words[index:]
                break
            if " " in word and re.search(r"\b(twistd|randnum) ", word):
                yield from commandsIn(word)


COMMANDS = [
    (block, command)
    for block in SHELL
    for line in shellLines(block)
    for command in commandsIn(line)
]


def test_theDocsShowCommands() -> None:
    """
    The command extraction finds what the pages show, twistd and randnum
    alike (if it found nothing, the test below would check nothing).
    """
    programs = [os.path.basename(words[0]) for _, (_, words) in COMMANDS]
    assert programs.count("twistd") >= 10 and programs.count("randnum") >= 15


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path]
) -> Path:
    """
    A directory holding the files the documented commands name (TLS key and
    certificate, a signing key), as the user's would; the current directory.
    Two sockets from systemd, as the documented units give randnum.
    """
    generateKey(tmp_path / "signing.pem")
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("RANDNUM_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(
        _SystemdParser, "_sddaemon", ListenFDs([3, 4], ("randnum", "randnum"))
    )
    return tmp_path


def parsed(options: usage.Options, words: list[str]) -> None:
    """
    Parse C{words} with C{options}; C{--help} and C{--version} (which print
    and exit 0) count as parsed.
    """
    try:
        with redirect_stdout(io.StringIO()):
            options.parseOptions(words)
    except SystemExit as exit:
        assert exit.code in (0, None), f"{words}: exit status {exit.code}"


class TwistdOptions(ServerOptions):
    """
    twistd's own options, without its plugins as subcommands: the plugin's
    options are parsed on their own, with a memory reactor.
    """

    subCommands: ClassVar[list[Any]] = []


@pytest.mark.parametrize(
    ("block", "command"),
    COMMANDS,
    ids=[f"{block.name}:{' '.join(words)[:60]}" for block, (_, words) in COMMANDS],
)
def test_documentedCommandParses(
    block: Block,
    command: tuple[dict[str, str], list[str]],
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """
    A documented C{randnum} or C{twistd} command line is accepted by the
    option parsers that would read it.
    """
    environment, words = command
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    program, arguments = os.path.basename(words[0]), words[1:]
    if program == "randnum":
        parsed(CommandOptions(), arguments)
        return
    # twistd's own options, then the plugin's: twistd [options] randnum [options]
    cut = arguments.index("randnum") if "randnum" in arguments else len(arguments)
    parsed(TwistdOptions(), arguments[:cut])
    if cut < len(arguments):
        parsed(PluginOptions(reactor=MemoryReactorClock()), arguments[cut + 1 :])


def test_aRottenFlagIsCaught(workdir: Path) -> None:
    """
    The parsers do refuse what they do not know: a removed flag would fail.
    """
    with pytest.raises(usage.UsageError):
        parsed(CommandOptions(), ["get", "--no-such-flag"])
    with pytest.raises(usage.UsageError):
        parsed(PluginOptions(reactor=MemoryReactorClock()), ["--no-such-flag"])
    with pytest.raises(usage.UsageError):
        parsed(ServerOptions(), ["--no-such-flag"])


# The README: one screen, the CI blocks, links to every page.


def test_readmeIsOneScreen() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert "<!-- ci:run -->\n```sh\n" in readme
    assert "<!-- ci:test -->\n```sh\n" in readme
    assert 's.sendall(b"Example request")' in readme
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", readme))
    pages = {path.name for path in (ROOT / "docs").glob("*.md")} - {"index.md"}
    assert linked == pages


def test_noModuleIsNamedByItsOldPath() -> None:
    """
    The pages name modules where they are now (randnum.signing.store, not
    randnum.audit).
    """
    old = re.compile(
        r"randnum[./](audit|worker|cluster|supervisor|bench|blocking|cli\.py"
        r"|source|values|framing|answering|protocol|keys)\b"
    )
    for path in PAGES:
        assert not old.findall(path.read_text()), path.name
