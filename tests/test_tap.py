# Twisted's test doubles (StringTransport, MemoryReactor) are not annotated.
# mypy: disallow-untyped-calls=False
"""
The C{twistd randnum} options and the service they build.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from twisted.application.service import IServiceCollection
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import LogEvent, LogLevel, formatEvent
from twisted.plugin import getPlugins
from twisted.python import usage
from zope.interface import implementer

from randnum.limits import Limits
from randnum.listening import (
    ListeningService,
    PlainStartupFailure,
    StartupFailed,
    sayStartupFailuresPlainly,
)
from randnum.query import Query
from randnum.tap import Options, makeService
from randnum.tcp.protocol import Framing, RandnumFactory
from randnum.web.site import RandnumSite


def parse(*args: str) -> Options:
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(list(args))
    return options


def test_defaults() -> None:
    options = parse()
    assert options["ports"] == ["tcp:5000"]
    assert options.config.defaults == Query(min=1, max=10000)
    assert options.config.framing is Framing.AUTO
    assert options.config.newSource().cryptographic
    assert options.config.limits == Limits(
        idleTimeout=60, maxConnections=10000, maxConnectionsPerHost=1000, maxLine=1024
    )
    assert options.config.logInterval == 60


def test_limits() -> None:
    options = parse(
        *("--idle-timeout", "2.5", "--max-connections", "5"),
        *("--max-connections-per-ip", "0", "--max-line", "80", "--log-interval", "0"),
    )
    assert options.config.limits == Limits(
        idleTimeout=2.5, maxConnections=5, maxConnectionsPerHost=0, maxLine=80
    )
    assert options.config.logInterval == 0
    assert parse("--idle-timeout", "0").config.limits.idleTimeout is None


def test_portsAreRepeatableAndBareNumbersMeanTcp() -> None:
    options = parse(
        "--port", "5001", "-p", "tcp:5002:interface=127.0.0.1", "-p", "unix:/tmp/r.sock"
    )
    assert options["ports"] == [
        "tcp:5001",
        "tcp:5002:interface=127.0.0.1",
        "unix:/tmp/r.sock",
    ]
    assert len(options.config.ports) == 3


def test_rangeFramingAndSeed() -> None:
    options = parse("--min", "-5", "--max", "5", "--framing", "line", "--seed", "42")
    assert options.config.defaults == Query(min=-5, max=5)
    assert options.config.framing is Framing.LINE
    assert not options.config.newSource().cryptographic


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min", "x"], "--min must be an integer, not 'x'"),
        (["--max", "1.5"], "--max must be an integer, not '1.5'"),
        (["--min", "9", "--max", "1"], "--min/--max: min must not exceed max"),
        (["--max", str(2**64)], "--min/--max: max must be a signed 64-bit integer"),
        (["--seed", "abc"], "--seed must be an integer, not 'abc'"),
        # The wire protocol's grammar, not all that int() and float() take.
        (["--seed", "\u0664\u0662"], "--seed must be an integer"),
        (["--seed", "4_2"], "--seed must be an integer, not '4_2'"),
        (["--min", " 1_0 "], "--min must be an integer, not ' 1_0 '"),
        (["--idle-timeout", "1_0"], "--idle-timeout must be a number of seconds"),
        (["--idle-timeout", " 5"], "--idle-timeout must be a number of seconds"),
        (["--framing", "json"], "--framing must be one of raw, line, auto, not 'json'"),
        (["--port", "bogus:1"], "--port 'bogus:1': Unknown endpoint type: 'bogus'"),
        (["--port", "tcp:notaport"], "--port 'tcp:notaport'"),
        (["--port", "ssl:5001:privateKey=/nonexistent.pem"], "--port 'ssl:5001"),
        (["--bogus"], "bogus"),
        (["--idle-timeout", "soon"], "--idle-timeout must be a number of seconds"),
        (["--idle-timeout", "-1"], "--idle-timeout must be a number of seconds"),
        (["--idle-timeout", "inf"], "--idle-timeout must be a number of seconds"),
        (["--max-connections", "0"], "--max-connections must be at least 1"),
        (["--max-connections", "many"], "--max-connections must be an integer"),
        (["--max-connections-per-ip", "-1"], "--max-connections-per-ip must be at"),
        (["--max-line", "10"], "--max-line must be at least 80"),
        (["--log-interval", "nan"], "--log-interval must be a number of seconds"),
        (["--http", "bogus:1"], "--http 'bogus:1': Unknown endpoint type: 'bogus'"),
        (
            ["--port", "systemd:domain=INET:index=0"],
            "no such socket inherited from systemd",
        ),
    ],
)
def test_badValuesAreUsageErrorsNamingTheOption(args: list[str], message: str) -> None:
    with pytest.raises(usage.UsageError) as raised:
        parse(*args)
    assert message in str(raised.value)


def test_helpDocumentsEveryOption() -> None:
    text = str(Options(reactor=MemoryReactorClock()))
    for option in (
        *("--port", "--min", "--max", "--seed", "--framing", "--idle-timeout"),
        *("--max-connections", "--max-connections-per-ip", "--max-line"),
        "--log-interval",
        "--http",
    ):
        assert option in text


def test_pluginIsDiscoverable() -> None:
    from twisted.application.service import IServiceMaker

    names = [plugin.tapname for plugin in getPlugins(IServiceMaker)]
    assert "randnum" in names


def test_makeServiceListensOnEveryPort(logged: list[LogEvent]) -> None:
    reactor = MemoryReactorClock()
    options = Options(reactor=reactor)
    options.parseOptions(
        ["-p", "tcp:5001:interface=127.0.0.1", "-p", "5002", "--min", "3", "--max", "4"]
    )
    service = makeService(options)
    service.privilegedStartService()
    service.startService()

    assert [(port, interface) for port, _, _, interface in reactor.tcpServers] == [
        (5001, "127.0.0.1"),
        (5002, ""),
    ]
    factory = reactor.tcpServers[0][1]
    assert isinstance(factory, RandnumFactory)
    assert factory.defaults == Query(min=3, max=4)
    assert factory.limits == options.config.limits
    # Idle timers and the summary run on the reactor that twistd runs.
    assert factory.server.clock is options.reactor
    text = " ".join(event.get("log_format", "") for event in logged)
    assert "randnum listening on" in text
    assert "randnum {version} serving" in text


def test_summaryIsLoggedEveryInterval(logged: list[LogEvent]) -> None:
    reactor = MemoryReactorClock()
    options = Options(reactor=reactor)
    options.parseOptions(["-p", "tcp:5001", "--log-interval", "30"])
    service = makeService(options)
    service.startService()
    factory = reactor.tcpServers[0][1]
    assert isinstance(factory, RandnumFactory)
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(StringTransport())
    protocol.dataReceived(b"\n\n")
    reactor.advance(30)
    summaries = [e for e in logged if "summary" in e.get("log_format", "")]
    assert [(e["open"], e["connections"], e["requests"]) for e in summaries] == [
        (1, 1, 2)
    ]
    service.stopService()


def test_seededSourceLogsAWarning(logged: list[LogEvent]) -> None:
    makeService(parse("--seed", "1"))
    warnings = [
        e
        for e in logged
        if e.get("log_level") is not None and e["log_level"].name == "warn"
    ]
    assert any("predictable" in e["log_format"] for e in warnings)


def test_stopServiceStopsListening() -> None:
    reactor = MemoryReactorClock()
    options = Options(reactor=reactor)
    options.parseOptions(["-p", "tcp:5001"])
    service = makeService(options)
    service.startService()
    listener = next(
        child
        for child in IServiceCollection(service)
        if isinstance(child, ListeningService)
    )
    assert listener.port is not None
    service.stopService()
    assert listener.port is None


@implementer(IStreamServerEndpoint)
class FailingEndpoint:
    def __init__(self, result: Deferred[Any]) -> None:
        self.result = result

    def listen(self, factory: object) -> Deferred[Any]:
        return self.result


def test_failureToListenAtStartIsOneClearLine() -> None:
    endpoint = FailingEndpoint(fail(CannotListenError("", 5000, OSError("in use"))))
    service = ListeningService(
        "tcp:5000", endpoint, RandnumFactory(), MemoryReactorClock()
    )
    with pytest.raises(SystemExit) as raised:
        service.privilegedStartService()
    # Also an Exception, so that a daemonizing twistd reports it.
    assert isinstance(raised.value, Exception)
    assert str(raised.value) == "randnum: cannot listen on --port tcp:5000: in use"


def test_aPortInUseNamesTheAddressFirstWithinTwistdsCut() -> None:
    """
    A daemonizing twistd passes the daemon's failure on in 100 bytes: the
    line names the option and the address first, and fits whole.
    """
    from twisted.scripts._twistd_unix import ServerOptions, UnixApplicationRunner

    inUse = OSError(errno.EADDRINUSE, "Address already in use")
    endpoint = FailingEndpoint(fail(CannotListenError("127.0.0.1", 5000, inUse)))
    service = ListeningService(
        "tcp:5000:interface=127.0.0.1",
        endpoint,
        RandnumFactory(),
        MemoryReactorClock(),
        face="HTTP",
    )
    with pytest.raises(SystemExit) as raised:
        service.privilegedStartService()
    line = "randnum: cannot listen on --http tcp:5000:interface=127.0.0.1: in use"
    assert str(raised.value) == line
    told = UnixApplicationRunner(ServerOptions())._formatChildException(raised.value)
    assert told.decode("ascii").endswith(line)


def test_aFailureToListenUnderTwistdIsLoggedAsRandnums(
    logged: list[LogEvent],
) -> None:
    """
    Under twistd the line is logged in randnum's namespace, and the exit
    prints nothing (twistd would log the printed line as stderr's).
    """
    denied = OSError(errno.EACCES, "Permission denied")
    endpoint = FailingEndpoint(fail(CannotListenError("", 80, denied)))
    service = ListeningService(
        "tcp:80", endpoint, RandnumFactory(), MemoryReactorClock(), logged=True
    )
    with pytest.raises(SystemExit) as raised:
        service.privilegedStartService()
    line = "randnum: cannot listen on --port tcp:80: permission denied"
    assert str(raised.value) == line
    assert raised.value.code == 1
    errors = [e for e in logged if e["log_level"] == LogLevel.error]
    assert [(e["log_namespace"], formatEvent(e)) for e in errors] == [("randnum", line)]


def test_laterFailureToListenStopsTheReactor(logged: list[LogEvent]) -> None:
    pending: Deferred[Any] = Deferred()
    reactor = MemoryReactorClock()
    reactor.running = True
    stops: list[bool] = []
    reactor.stop = lambda: stops.append(True)  # type: ignore[method-assign]
    service = ListeningService(
        "unix:/x", FailingEndpoint(pending), RandnumFactory(), reactor
    )
    service.startService()
    pending.errback(CannotListenError("", "/x", OSError("denied")))
    assert stops == [True]
    assert [formatEvent(e) for e in logged if e["log_level"] == LogLevel.error] == [
        "randnum: cannot listen on --port unix:/x: denied"
    ]


def test_httpServesTheWebFaceBesideTheProtocol() -> None:
    reactor = MemoryReactorClock()
    options = Options(reactor=reactor)
    options.parseOptions(["-p", "5001", "--http", "8080", "--http", "tcp:8081"])
    assert options["http"] == ["tcp:8080", "tcp:8081"]
    makeService(options).startService()
    factories = {port: factory for port, factory, _, _ in reactor.tcpServers}
    assert isinstance(factories[5001], RandnumFactory)
    web = factories[8080]
    assert isinstance(web, RandnumSite)
    assert factories[8081] is web
    # One server, so one connection count, for both faces.
    assert web.server is factories[5001].server


# First contact, round 2 (issue 23).


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--port", "5000", "--http", "5000"],
            "--port tcp:5000 and --http tcp:5000 would listen on the same address: "
            "give each its own port",
        ),
        (
            ["--port", "tcp:5000:interface=127.0.0.1", "--http", "tcp:5000"],
            "--port tcp:5000:interface=127.0.0.1 and --http tcp:5000 would listen on "
            "the same address: give each its own port",
        ),
        (
            ["--port", "unix:/tmp/r.sock", "--port", "unix:/tmp/r.sock"],
            "--port unix:/tmp/r.sock and --port unix:/tmp/r.sock would listen on the "
            "same address: give each its own port",
        ),
        (
            ["--audit-max-size", "5X"],
            "--audit-max-size applies to signed draws: it needs --signing-key "
            "KEYFILE and --audit-db PATH",
        ),
        (
            ["--signed-rate", "3"],
            "--signed-rate applies to signed draws: it needs --signing-key KEYFILE "
            "and --audit-db PATH",
        ),
    ],
)
def test_mistakesAreUsageErrorsBeforeAnythingListens(
    args: list[str], message: str
) -> None:
    reactor = MemoryReactorClock()
    with pytest.raises(usage.UsageError) as raised:
        Options(reactor=reactor).parseOptions(args)
    assert str(raised.value) == message
    assert reactor.tcpServers == [] and reactor.unixServers == []


def test_differentAddressesOnOnePortAreFine() -> None:
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(
        [
            *("--port", "tcp:5000:interface=127.0.0.1"),
            *("--http", "tcp:5000:interface=127.0.0.2"),
            *("--port", "0", "--http", "0"),
        ]
    )
    assert options.config.ports == ("tcp:5000:interface=127.0.0.1", "tcp:0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n"], "twistd's option -n goes before randnum: twistd -n randnum ..."),
        (
            ["--port", "5000", "--nodaemon"],
            "twistd's option --nodaemon goes before randnum: twistd --nodaemon "
            "randnum ...",
        ),
        (
            ["-l", "server.log"],
            "twistd's option -l goes before randnum: twistd -l LOGFILE randnum ...",
        ),
        (
            ["--pidfile", "r.pid"],
            "twistd's option --pidfile goes before randnum: twistd --pidfile "
            "PIDFILE randnum ...",
        ),
        (["-u", "1"], "twistd's option -u goes before randnum: twistd -u UID randnum"),
        (
            ["--profile", "p.out"],
            "twistd's option --profile goes before randnum: twistd --profile "
            "PROFILE randnum ...",
        ),
        (["--bogus"], "option --bogus not recognized"),
    ],
)
def test_twistdsOwnOptionsAfterRandnumSayWhereTheyGo(
    args: list[str], message: str
) -> None:
    with pytest.raises(usage.UsageError) as raised:
        Options(reactor=MemoryReactorClock()).parseOptions(args)
    assert message in str(raised.value)


def test_randnumsOwnShortOptionsKeepPriorityOverTwistds() -> None:
    # -p is twistd's --profile too, but after randnum it is randnum's --port.
    assert parse("-p", "5001").config.ports == ("tcp:5001",)


def test_twistdsProfileNamedLikeAPortSaysWhereThePortGoes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """
    C{twistd -p 5000 -n randnum}: twistd's C{-p} is C{--profile}, so 5000
    would name a profiler's output file while randnum listened on its
    default port.  It is a usage error that says where the port goes.
    """
    from twisted.scripts.twistd import ServerOptions  # type: ignore[attr-defined]

    twistd = ServerOptions()
    with pytest.raises(SystemExit) as raised:
        twistd.parseOptions(["-p", "5000", "-n", "randnum"])
    assert raised.value.code == 2
    assert capsys.readouterr().err == (
        "twistd randnum: twistd's -p is --profile; randnum's port goes after "
        "randnum: twistd -n randnum -p 5000\n"
        "Run 'twistd randnum --help' for every option.\n"
    )


def test_twistdsProfileNamedOtherwiseIsTwistds() -> None:
    options = Options(reactor=MemoryReactorClock())
    # twistd's options, parsed first.
    options.parent = {"profile": "randnum.prof"}  # type: ignore[assignment]
    options.parseOptions([])
    assert options.config.ports == ("tcp:5000",)


def test_twistdsOptionAfterRandnumExitsWithStatus2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as raised:
        Options().parseOptions(["-n"])
    assert raised.value.code == 2
    assert capsys.readouterr().err.startswith(
        "twistd randnum: twistd's option -n goes before randnum: twistd -n randnum"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--port", "ssl:5001"],
            "--port 'ssl:5001': a TLS port needs privateKey=KEYFILE and "
            "certKey=CERTFILE, as in ssl:5001:privateKey=key.pem:certKey=cert.pem",
        ),
        (
            ["--port", "127.0.0.1:5000"],
            "--port '127.0.0.1:5000' is an address and port, not an endpoint: say "
            "--port tcp:5000:interface=127.0.0.1",
        ),
        (
            ["--http", "[::1]:8080"],
            "--http '[::1]:8080' is an address and port, not an endpoint: say "
            "--http tcp6:8080:interface=\\:\\:1",
        ),
        (["--port", "tcp"], "--port 'tcp': incomplete: no port given"),
        (["5000"], "unexpected argument '5000': to listen there, say --port 5000"),
        (
            ["127.0.0.1:5000"],
            "unexpected argument '127.0.0.1:5000': to listen there, say "
            "--port tcp:5000:interface=127.0.0.1",
        ),
        (["serve"], "unexpected argument 'serve': twistd randnum takes options only"),
        (
            ["--port", "unix:/nonexistent-dir/r.sock"],
            "--port 'unix:/nonexistent-dir/r.sock': the directory /nonexistent-dir "
            "does not exist",
        ),
    ],
)
def test_endpointMistakesSayWhatToWrite(args: list[str], message: str) -> None:
    reactor = MemoryReactorClock()
    with pytest.raises(usage.UsageError) as raised:
        Options(reactor=reactor).parseOptions(args)
    assert str(raised.value) == message
    assert reactor.tcpServers == [] and reactor.unixServers == []


def test_aTlsFileThatIsNotAKeyOrCertificateIsNamed(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    key, cert = certificate
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    for description, problem in [
        (
            f"ssl:5001:privateKey={junk}:certKey={cert}",
            f"privateKey={junk} is not a PEM private key",
        ),
        (
            f"ssl:5001:privateKey={key}:certKey={junk}",
            f"certKey={junk} is not a PEM certificate",
        ),
        (
            f"ssl:5001:privateKey={key}",
            f"privateKey={key} holds no certificate: give the certificate's "
            "file in certKey=CERTFILE",
        ),
    ]:
        with pytest.raises(usage.UsageError) as raised:
            parse("--port", description)
        assert str(raised.value) == f"--port {description!r}: {problem}"
    assert parse("--port", f"ssl:5001:privateKey={key}:certKey={cert}").config.ports


@implementer(IStreamServerEndpoint)
class TwistedLikeEndpoint:
    """
    An endpoint that, as Twisted's ports do, logs that it starts before
    it listens.
    """

    def __init__(self, address: object) -> None:
        self.address = address

    def listen(self, factory: object) -> Deferred[Any]:
        from twisted.python import log as legacyLog

        legacyLog.msg("RandnumFactory starting on 5000")
        port = MemoryReactorClock().listenTCP(5000, factory)
        port.getHost = lambda: self.address
        return succeed(port)


@pytest.mark.parametrize(
    ("address", "where"),
    [
        (IPv4Address("TCP", "0.0.0.0", 5000), "every interface, port 5000"),
        (IPv6Address("TCP", "::", 5000), "every interface, port 5000"),
        (IPv4Address("TCP", "127.0.0.1", 5000), "127.0.0.1, port 5000"),
        (UNIXAddress(b"/run/r.sock"), "/run/r.sock"),
    ],
)
def test_eachListenerIsLoggedOnceInWords(
    logged: list[LogEvent], address: object, where: str
) -> None:
    service = ListeningService(
        "tcp:5000", TwistedLikeEndpoint(address), RandnumFactory(), MemoryReactorClock()
    )
    service.startService()
    lines = [formatEvent(event) for event in logged]
    assert [line for line in lines if line] == [
        f"randnum listening on tcp:5000 ({where})"
    ]


def test_aRealPortIsLoggedOnceInTextAndMarkedQuietElsewhere(
    logged: list[LogEvent],
) -> None:
    """
    On a real reactor's port, Twisted's own "starting on" line is silent in
    a text log and marked C{randnum_quiet} for structured ones.
    """
    from twisted.internet import reactor

    endpoint = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    service = ListeningService("tcp:0", endpoint, RandnumFactory(), reactor)
    service.startService()
    try:
        texts = [formatEvent(event) for event in logged]
        assert service.port is not None
        port = service.port.getHost().port  # type: ignore[attr-defined]
        assert [text for text in texts if text] == [
            f"randnum listening on tcp:0 (127.0.0.1, port {port})"
        ]
        (quiet,) = [event for event in logged if event.get("randnum_quiet")]
        assert "starting on" in " ".join(quiet.get("message", ()))
    finally:
        service.stopService()


@pytest.mark.parametrize(("nodaemon", "wrapped"), [(True, False), (False, True)])
def test_onlyADaemonizingTwistdHasItsStartupFailuresRewritten(
    monkeypatch: pytest.MonkeyPatch, nodaemon: bool, wrapped: bool
) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "__stderr__", terminal)
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions([])
    options.exitOnUsageError = True  # as under twistd
    options.parent = {"nodaemon": nodaemon}  # type: ignore[assignment]
    makeService(options)
    assert isinstance(sys.__stderr__, PlainStartupFailure) is wrapped


def test_aDaemonsStartupFailureReadsAsInTheForeground(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from twisted.scripts._twistd_unix import ServerOptions, UnixApplicationRunner

    terminal = io.StringIO()
    monkeypatch.setattr(sys, "__stderr__", terminal)
    sayStartupFailuresPlainly()
    sayStartupFailuresPlainly()  # once is enough
    runner = UnixApplicationRunner(ServerOptions())
    line = "randnum: cannot listen on --port tcp:5000: in use"
    failure = StartupFailed(line)
    # What the daemon tells the waiting twistd, and twistd's own reading.
    readPipe, writePipe = os.pipe()
    os.write(writePipe, runner._formatChildException(failure))
    os.close(writePipe)
    assert runner._waitForStart(readPipe) == 1
    os.close(readPipe)
    assert terminal.getvalue() == f"{line}\n"
    # A line longer than twistd passes on says that it was cut, and where
    # it is whole.
    terminal.truncate(0)
    terminal.seek(0)
    long = (
        "randnum: cannot listen on --port "
        "ssl:5001:privateKey=/etc/randnum/k.pem: in use"
    )
    readPipe, writePipe = os.pipe()
    os.write(writePipe, runner._formatChildException(StartupFailed(long)))
    os.close(writePipe)
    assert runner._waitForStart(readPipe) == 1
    os.close(readPipe)
    assert terminal.getvalue() == (
        f"{long[: 98 - len('randnum.tap.StartupFailed: ')]}...\n"
        "(cut short: the log file has it whole)\n"
    )
    # Anything else twistd says is left as it is.
    sys.__stderr__.write("An error has occurred: b'ValueError: x'\n")  # type: ignore[union-attr]
    assert terminal.getvalue().endswith("An error has occurred: b'ValueError: x'\n")


def apiKeysArgs(tmp: Path, *more: str) -> list[str]:
    """
    The options of a JSON-RPC face with the API keys file C{tmp}/keys.
    """
    (tmp / "keys").write_text("k1 alice requests=10\n")
    return ["--http", "8080", "--json-rpc", "--api-keys", str(tmp / "keys"), *more]


def test_apiKeysAreCountedInTheFileNamed(tmp_path: Path) -> None:
    options = parse(*apiKeysArgs(tmp_path, "--api-usage-db", str(tmp_path / "u.db")))
    assert options.config.apiKeys == str(tmp_path / "keys")
    assert options.config.apiUsageDb == str(tmp_path / "u.db")


def test_apiKeysAreCountedInTheAuditDatabaseWhenThereIsOne(tmp_path: Path) -> None:
    from randnum.signing.keys import generateKey

    generateKey(tmp_path / "signing.pem")
    options = parse(
        *apiKeysArgs(tmp_path),
        *("--signing-key", str(tmp_path / "signing.pem")),
        *("--audit-db", str(tmp_path / "audit.db")),
    )
    assert options.config.apiKeys == str(tmp_path / "keys")
    assert options.config.apiUsageDb is None
    assert options.signing is not None
    options.signing.lock.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--api-keys", "{tmp}/keys", "--api-usage-db", "{tmp}/u.db"],
            "--api-keys applies to the JSON-RPC API: it needs --json-rpc",
        ),
        (
            ["--http", "8080", "--json-rpc", "--api-keys", "{tmp}/keys"],
            "--api-keys needs somewhere to count daily allowances: "
            "--api-usage-db FILE, or the audit database of signing "
            "(--audit-db PATH with --signing-key)",
        ),
        (
            ["--http", "8080", "--json-rpc", "--api-usage-db", "{tmp}/u.db"],
            "--api-usage-db counts the allowances of --api-keys: it needs "
            "--api-keys FILE",
        ),
        (
            [
                "--http",
                "8080",
                "--json-rpc",
                "--api-keys",
                "{tmp}/bad",
                "--api-usage-db",
                "{tmp}/u.db",
            ],
            "--api-keys: {tmp}/bad, line 1: a key needs a name after it: KEY NAME",
        ),
        (
            [
                "--http",
                "8080",
                "--json-rpc",
                "--api-keys",
                "{tmp}/missing",
                "--api-usage-db",
                "{tmp}/u.db",
            ],
            "--api-keys: cannot read {tmp}/missing: No such file or directory",
        ),
        (
            [
                "--http",
                "8080",
                "--json-rpc",
                "--api-keys",
                "{tmp}/keys",
                "--api-usage-db",
                "{tmp}/nowhere/u.db",
            ],
            "--api-usage-db '{tmp}/nowhere/u.db': the directory {tmp}/nowhere "
            "does not exist",
        ),
        (
            [
                "--http",
                "8080",
                "--json-rpc",
                "--api-keys",
                "{tmp}/keys",
                "--api-usage-db",
                "{tmp}/junk",
            ],
            "--api-usage-db: cannot use {tmp}/junk: file is not a database",
        ),
    ],
)
def test_apiKeyMistakesAreUsageErrorsNamingTheOption(
    args: list[str], message: str, tmp_path: Path
) -> None:
    (tmp_path / "keys").write_text("k1 alice\n")
    (tmp_path / "bad").write_text("lonely\n")
    (tmp_path / "junk").write_bytes(b"not a database, " * 512)
    with pytest.raises(usage.UsageError) as raised:
        parse(*(arg.format(tmp=tmp_path) for arg in args))
    assert str(raised.value) == message.format(tmp=tmp_path)
