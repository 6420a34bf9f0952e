# Twisted's test doubles are not annotated.
# mypy: disallow-untyped-calls=False
"""
L{randnum.config}: one typed configuration, built from the options, that
reaches every worker whole.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.testing import MemoryReactorClock

from randnum.composition import buildService
from randnum.config import Config
from randnum.limits import Limits
from randnum.server import RandnumServer
from randnum.stats import Totals
from randnum.tap import Options
from randnum.tcp.framing import Framing
from randnum.workers.child import AdoptedSockets, WorkerProcess, readArguments
from randnum.workers.messages import Assignment, SharedSocket
from randnum.workers.pool import WorkerPool


def otherValue(kind: Any, default: Any) -> Any:
    """
    A value of type C{kind} that is not C{default}.
    """
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        (kind,) = [k for k in typing.get_args(kind) if k is not type(None)]
        if default is None:
            return otherValue(kind, otherValue(kind, None))
    if kind is bool:
        return not default
    if kind is int:
        return 7 if default is None else default + 7
    if kind is float:
        return 2.5 if default is None else default + 1.5
    if kind is str:
        return "/var/lib/randnum/other"
    if typing.get_origin(kind) is tuple:
        return ("unix:/run/other.sock", "tcp:6001")
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return next(member for member in kind if member != default)
    raise AssertionError(f"no other value for {kind!r}: teach otherValue this type")


def changedConfigs() -> list[tuple[str, Config]]:
    """
    One configuration per field of L{Config} (and of its L{Limits}), each
    differing from the default in that field alone.
    """
    base = Config()
    changed = []
    for f in dataclasses.fields(Config):
        kind = typing.get_type_hints(Config)[f.name]
        if kind is Limits:
            for limit in dataclasses.fields(Limits):
                value = otherValue(
                    typing.get_type_hints(Limits)[limit.name],
                    getattr(base.limits, limit.name),
                )
                limits = dataclasses.replace(base.limits, **{limit.name: value})
                changed.append(
                    (f"limits.{limit.name}", dataclasses.replace(base, limits=limits))
                )
        else:
            value = otherValue(kind, getattr(base, f.name))
            changed.append((f.name, dataclasses.replace(base, **{f.name: value})))
    return changed


def workerSees(config: Config) -> tuple[Config, RandnumServer]:
    """
    The configuration a worker of C{config}'s pool reads from its command
    line (with its share of the connection limits put back to the whole),
    and the server it builds from it.
    """
    clock = MemoryReactorClock()
    pool = WorkerPool(config, list, RandnumServer(clock=clock), clock)
    arguments, _ = pool.workerArguments(1)
    assert readArguments(arguments)[0].limits == pool.workerConfig(1).limits
    received, assignment = readArguments(arguments)
    role = WorkerProcess(assignment, lambda link: None)
    service = buildService(received, clock, role)
    [sockets] = [s for s in service if isinstance(s, AdoptedSockets)]  # type: ignore[attr-defined]
    return received, sockets.faces.server


@pytest.mark.parametrize(("name", "config"), changedConfigs())
def test_everyFieldReachesAWorker(name: str, config: Config) -> None:
    received, server = workerSees(config)
    whole = dataclasses.replace(received, limits=config.limits)
    assert whole == config, name
    assert server.config == received, name
    if not name.startswith("limits.maxConnections") and name != "workers":
        assert received == config, name


def test_everyFieldIsChangedOnce() -> None:
    names = [name for name, _ in changedConfigs()]
    assert len(names) == len(set(names))
    assert len(names) == len(dataclasses.fields(Config)) - 1 + len(
        dataclasses.fields(Limits)
    )


def test_aWorkerGetsItsShareOfTheLimits() -> None:
    config = Config(
        workers=3, limits=Limits(maxConnections=10, maxConnectionsPerHost=7)
    )
    clock = MemoryReactorClock()
    pool = WorkerPool(config, list, RandnumServer(clock=clock), clock)
    received = [readArguments(pool.workerArguments(n)[0])[0] for n in (1, 2, 3)]
    assert [c.limits.maxConnections for c in received] == [4, 3, 3]
    assert {c.limits.maxConnectionsPerHost for c in received} == {2}


configs = st.builds(
    Config,
    ports=st.lists(st.text(min_size=1), max_size=3).map(tuple),
    http=st.lists(st.text(min_size=1), max_size=3).map(tuple),
    low=st.integers(-(2**63), 0),
    high=st.integers(1, 2**63 - 1),
    framing=st.sampled_from(Framing),
    seed=st.none() | st.integers(),
    limits=st.builds(
        Limits,
        idleTimeout=st.none() | st.floats(0.001, 1e6),
        maxConnections=st.integers(1, 10**6),
        maxConnectionsPerHost=st.integers(0, 10**6),
        maxLine=st.integers(80, 10**6),
    ),
    logInterval=st.floats(0, 1e6),
    workers=st.integers(1, 256),
    signingKey=st.none() | st.text(),
    auditDb=st.none() | st.text(),
    auditMaxSize=st.integers(0, 2**50),
)


@given(configs)
def test_anyConfigRoundTripsThroughJSON(config: Config) -> None:
    assert Config.fromJSON(config.toJSON()) == config


def parse(*args: str) -> Options:
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(list(args))
    return options


def test_optionsBuildTheConfig() -> None:
    options = parse(
        *("--port", "5001", "--http", "8080", "--min", "3", "--max", "9"),
        *("--framing", "line", "--seed", "42", "--idle-timeout", "2.5"),
        *("--max-connections", "50", "--max-connections-per-ip", "5"),
        *("--max-line", "100", "--log-interval", "0"),
    )
    assert options.config == Config(
        ports=("tcp:5001",),
        http=("tcp:8080",),
        low=3,
        high=9,
        framing=Framing.LINE,
        seed=42,
        limits=Limits(
            idleTimeout=2.5, maxConnections=50, maxConnectionsPerHost=5, maxLine=100
        ),
        logInterval=0.0,
    )


def test_defaultsAreTheConfigDefaults() -> None:
    assert parse().config == Config()


def test_theServerHasTheConfigWhole() -> None:
    config = Config(low=5, high=6, limits=Limits(idleTimeout=3.0), logInterval=7.0)
    server = RandnumServer(config=config, clock=MemoryReactorClock())
    assert server.config is config
    assert (server.defaults.min, server.defaults.max) == (5, 6)
    assert server.limits.idleTimeout == 3.0
    assert server.rejections.window == 7.0


def test_aServerTakesAConfigOrItsParts() -> None:
    with pytest.raises(TypeError) as raised:
        RandnumServer(config=Config(), low=3)
    assert str(raised.value) == (
        "give RandnumServer a config, or low, high, limits and logWindow, not both"
    )


def test_aServerOfOneProcessGathersItsOwnTotals() -> None:
    server = RandnumServer(clock=MemoryReactorClock())
    server.tcp.requests = 3
    gathered: list[Totals] = []
    server.gather().addCallback(gathered.append)
    assert gathered == [server.latest]
    assert server.latest.faces["tcp"].requests == 3


sockets = st.builds(
    SharedSocket,
    face=st.sampled_from(["tcp", "http"]),
    family=st.integers(1, 40),
    tls=st.none() | st.text(),
    shared=st.booleans(),
    description=st.text(),
    fd=st.integers(3, 1000),
    others=st.lists(st.tuples(st.integers(1, 256), st.integers(3, 1000))).map(tuple),
)
assignments = st.builds(
    Assignment,
    number=st.integers(1, 256),
    sockets=st.lists(sockets, max_size=4).map(tuple),
    keyId=st.none() | st.text(),
    publicPem=st.none() | st.text(),
    full=st.booleans(),
    committed=st.integers(0, 2**40),
)


@given(assignments)
def test_anyAssignmentRoundTripsThroughJSON(assignment: Assignment) -> None:
    assert Assignment.fromJSON(assignment.toJSON()) == assignment


def test_aFieldMissingOrUnknownIsAnError() -> None:
    plain = json.loads(Config().toJSON())
    del plain["seed"]
    with pytest.raises(ValueError, match="Config: expected fields"):
        Config.fromJSON(json.dumps(plain))
    plain = json.loads(Config().toJSON())
    plain["limits"]["surprise"] = 1
    with pytest.raises(ValueError, match="Limits: expected fields"):
        Config.fromJSON(json.dumps(plain))


def test_aServersRejectionWindowIsAsGiven() -> None:
    clock = MemoryReactorClock()
    assert RandnumServer(clock=clock, logWindow=0).rejections.window == 0
    assert RandnumServer(clock=clock).rejections.window == 60.0


def test_aServerOfASeededConfigIsSeeded() -> None:
    first = RandnumServer(config=Config(seed=42), clock=MemoryReactorClock())
    second = RandnumServer(config=Config(seed=42), clock=MemoryReactorClock())
    assert not first.source.cryptographic
    assert first.source.renderAnswer(first.defaults) == second.source.renderAnswer(
        second.defaults
    )
    assert RandnumServer(
        config=Config(), clock=MemoryReactorClock()
    ).source.cryptographic
