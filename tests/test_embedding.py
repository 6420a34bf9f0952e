# Twisted's test doubles (MemoryReactorClock) are not annotated.
# mypy: disallow-untyped-calls=False
"""
L{randnum.embedding}: the services C{twistd randnum} runs, in one call, from
one L{Config}.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from servers import fetch, freePort, startServer, stopServer
from test_config import changedConfigs
from test_docs import fencedBlocks
from twisted.application.service import IServiceCollection
from twisted.internet.testing import MemoryReactorClock

from randnum import Config, ConfigError, service
from randnum.limits import Limits
from randnum.signing.keys import generateKey
from randnum.tap import Options, commandLine, makeService
from randnum.tcp.framing import Framing
from randnum.tcp.protocol import RandnumFactory
from randnum.web.site import RandnumSite


def listening(reactor: MemoryReactorClock) -> list[tuple[int, type]]:
    """
    Each port C{reactor} listens on, and the kind of factory it serves.
    """
    return sorted((port, type(factory)) for port, factory, _, _ in reactor.tcpServers)


def test_theServiceIsWhatTwistdRunsForTheSameOptions() -> None:
    """
    C{service(config)} runs the services C{twistd randnum} runs for the
    options that describe C{config}, from the same config.
    """
    argv = ["--port", "5000", "--port", "5001", "--http", "8080", "--min", "-5"]
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(argv)
    byTwistd, embedded = MemoryReactorClock(), MemoryReactorClock()
    makeService(options).startService()
    started = service(options.config, byTwistd)
    started.startService()
    assert listening(byTwistd) == [
        (5000, RandnumFactory),
        (5001, RandnumFactory),
        (8080, RandnumSite),
    ]
    built = service(options.config, embedded)
    built.startService()
    assert listening(embedded) == listening(byTwistd)
    assert [type(child) for child in IServiceCollection(built)] == [
        type(child) for child in IServiceCollection(started)
    ]


def test_nothingListensUntilTheServiceStarts() -> None:
    reactor = MemoryReactorClock()
    built = service(Config(ports=("tcp:5000",)), reactor)
    assert reactor.tcpServers == []
    built.startService()
    assert listening(reactor) == [(5000, RandnumFactory)]


def test_theServerServesTheConfiguredRange() -> None:
    reactor = MemoryReactorClock()
    service(Config(low=7, high=7), reactor).startService()
    factory = reactor.tcpServers[0][1]
    assert isinstance(factory, RandnumFactory)
    assert (factory.server.defaults.min, factory.server.defaults.max) == (7, 7)


def test_aPortNumberOrOneDescriptionNeedsNoTuple() -> None:
    assert Config(ports=5000, http="tcp:8080").ports == ("tcp:5000",)  # type: ignore[arg-type]
    assert Config(ports=[5000, "unix:/run/r.sock"]).ports == (  # type: ignore[arg-type]
        "tcp:5000",
        "unix:/run/r.sock",
    )
    assert Config(http=8080).http == ("tcp:8080",)  # type: ignore[arg-type]


def test_theAuditDatabasePathIsMadeAbsolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Config(auditDb="audit.db").auditDb == str(tmp_path / "audit.db")


def test_framingMayBeNamedAsOnTheCommandLine() -> None:
    assert Config(framing="line").framing is Framing.LINE  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"framing": "lines"},
            "--framing (Config.framing) must be one of 'raw', 'line', 'auto' (or "
            "randnum.Framing), not 'lines'",
        ),
        (
            {"limits": {"maxLine": 2000}},
            "limits must be a randnum.Limits(idleTimeout=..., maxConnections=..., "
            "maxConnectionsPerHost=..., maxLine=...), not {'maxLine': 2000}",
        ),
    ],
)
def test_aFieldOfTheWrongKindIsAConfigError(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        Config(**fields)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_aBadPortsValueIsAConfigError() -> None:
    with pytest.raises(ConfigError, match=r"endpoint descriptions, not 5\.0"):
        Config(ports=5.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (Config(low=9, high=1), "--min/--max: min must not exceed max"),
        (
            Config(ports=(5000, 5000)),  # type: ignore[arg-type]
            "--port tcp:5000 and --port tcp:5000 would listen on the same address",
        ),
        (
            Config(ports=5000, http=5000),  # type: ignore[arg-type]
            "--port tcp:5000 and --http tcp:5000 would listen on the same address",
        ),
        (Config(ports="nonsense:1"), "--port 'nonsense:1'"),  # type: ignore[arg-type]
        (Config(ports=()), "ports: randnum's TCP protocol needs at least one port"),
        (Config(workers=2, seed=1), "--seed needs --workers 1"),
        (Config(workers=0), "--workers must be a number from 1 to 256"),
        (Config(limits=Limits(maxLine=10)), "--max-line must be at least 80"),
        (Config(auditMaxSize=1 << 30), "--audit-max-size applies to signed draws"),
        (Config(signedRate=5), "--signed-rate applies to signed draws"),
        (Config(signingKey="key.pem"), "--signing-key needs --audit-db PATH"),
        (Config(auditDb="audit.db"), "--audit-db needs --signing-key KEYFILE"),
    ],
)
def test_aConfigTwistdWouldRefuseIsRefusedNamingTheOption(
    config: Config, message: str
) -> None:
    """
    A config gets every check the command line gets, at once, naming the
    option that sets the field at fault.
    """
    with pytest.raises(ConfigError) as refused:
        service(config, MemoryReactorClock())
    assert str(refused.value).startswith(message)


def test_aSigningKeyThatCannotBeReadIsRefusedAtOnce(tmp_path: Path) -> None:
    config = Config(
        signingKey=str(tmp_path / "missing.pem"), auditDb=str(tmp_path / "audit.db")
    )
    with pytest.raises(
        ConfigError, match=r"^--signing-key: cannot read .*missing\.pem"
    ):
        service(config, MemoryReactorClock())


def test_signedDrawsAreServedWithTheKeyAndStoreGiven(tmp_path: Path) -> None:
    """
    With a key and an audit database, the server it makes signs draws with
    that key into that store.
    """
    key = tmp_path / "signing.pem"
    keyId = generateKey(key)
    config = Config(signingKey=str(key), auditDb=str(tmp_path / "audit.db"))
    reactor = MemoryReactorClock()
    service(config, reactor).startService()
    factory = reactor.tcpServers[0][1]
    assert isinstance(factory, RandnumFactory)
    audit = factory.server.audit
    assert audit is not None and audit.signer.keyId == keyId
    assert (tmp_path / "audit.db").exists()


def test_theFunctionIsNotShadowedByTheCompositionModule() -> None:
    """
    C{randnum.service} stays the function once every module is imported:
    no module of randnum is named C{service}.
    """
    import randnum.composition

    assert randnum.service is service and callable(randnum.service)


_DESCRIPTIONS = st.sampled_from(
    ["tcp:5000", "tcp:5001:interface=127.0.0.1", "tcp6:5002", "unix:/run/r.sock"]
)
_SECONDS = st.integers(0, 10**7).map(lambda thousandths: thousandths / 1000)


@st.composite
def configs(draw: st.DrawFn) -> Config:
    """
    Configs that C{twistd randnum} accepts, without signing.
    """
    addresses = draw(st.lists(_DESCRIPTIONS, min_size=1, max_size=4, unique=True))
    split = draw(st.integers(1, len(addresses)))
    low = draw(st.integers(-(2**63), 2**63 - 1))
    workers = draw(st.integers(1, 4))
    return Config(
        ports=tuple(addresses[:split]),
        http=tuple(addresses[split:]),
        low=low,
        high=draw(st.integers(low, 2**63 - 1)),
        framing=draw(st.sampled_from(Framing)),
        seed=None if workers > 1 else draw(st.none() | st.integers(0, 2**32)),
        limits=Limits(
            idleTimeout=draw(st.none() | _SECONDS.filter(bool)),
            maxConnections=draw(st.integers(workers, 10**6)),
            maxConnectionsPerHost=draw(st.just(0) | st.integers(workers, 10**6)),
            maxLine=draw(st.integers(80, 10**6)),
        ),
        logInterval=draw(_SECONDS),
        workers=workers,
    )


@given(configs())
def test_theCommandLineOfAConfigParsesBackToIt(config: Config) -> None:
    """
    L{commandLine} is the inverse of L{Options}: what it writes parses into
    the very config it was given, so C{service} checks C{config} and serves
    C{config}, not something near it.
    """
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(commandLine(config))
    assert options.config == config


@pytest.mark.live
def test_theDocsTacFileRunsUnderTwistd(tmp_path: Path) -> None:
    """
    The docs' C{.tac} example, run by a real C{twistd -ny}: the sample
    client gets a number, and the HTTP face serves the signing key.
    """
    page = Path(__file__).resolve().parent.parent / "docs/embedding-and-testing.md"
    (tac,) = [b for b in fencedBlocks(page) if b.marker == "docs:run-with=tacFile"]
    port, http = freePort(), freePort()
    text = tac.text.replace("tcp:5000", f"tcp:{port}").replace(
        "tcp:8080", f"tcp:{http}"
    )
    (tmp_path / "randnum.tac").write_text(text)
    keyId = generateKey(tmp_path / "signing.pem")
    server = startServer(tmp_path, app=("-y", "randnum.tac"), listeners=2)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"Example request")
            number = s.recv(1024).decode()
        assert number.isdigit() and 1 <= int(number) <= 10000
        assert json.loads(fetch(http, "/v1/key").body)["key"] == keyId
    finally:
        stopServer(server)


#: The fields that need a signing key and an audit database.
_SIGNING = ("signingKey", "auditDb", "auditMaxSize", "signedRate")


@pytest.mark.parametrize(
    ("field", "config"), changedConfigs(), ids=[name for name, _ in changedConfigs()]
)
def test_everyFieldOfAConfigReachesTheServer(
    field: str, config: Config, tmp_path: Path
) -> None:
    """
    Each field of L{Config} (and of its L{Limits}), changed alone, survives
    L{commandLine}: a field added to C{Config} but not to the command line
    would be lost by C{service} without a word.
    """
    if field in _SIGNING:
        generateKey(tmp_path / "signing.pem")
        config = dataclasses.replace(
            config,
            signingKey=str(tmp_path / "signing.pem"),
            auditDb=str(tmp_path / "audit.db"),
        )
    if field in ("pollen", "jsonRpc"):
        # Served on the HTTP face only: it needs a port there.
        config = dataclasses.replace(config, http=("tcp:8080",))
    if field in ("apiKeys", "apiUsageDb"):
        # Keys of the JSON-RPC face, counted in a file of their own.
        (tmp_path / "keys").write_text("k1 alice\n")
        config = dataclasses.replace(
            config,
            http=("tcp:8080",),
            jsonRpc=True,
            apiKeys=str(tmp_path / "keys"),
            apiUsageDb=str(tmp_path / "usage.db"),
        )
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(commandLine(config))
    assert options.config == config
