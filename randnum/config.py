# -*- test-case-name: tests.test_config -*-
"""
One server's configuration: a frozen, typed L{Config}, built once from
C{twistd randnum}'s options (L{randnum.tap.Options}) and validated there.

The composition root (L{randnum.composition.buildService}), the server, every
face and every worker process receive it whole: a worker gets it as
L{Config.toJSON} wrote it, so a new field reaches the workers with no other
edit.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from randnum.generation.source import NumberSource, seededSource, systemSource
from randnum.limits import Limits
from randnum.options import endpointDescription
from randnum.query import Query
from randnum.tcp.framing import Framing

#: Where the TCP protocol listens when no C{--port} is given.
DEFAULT_PORT = "tcp:5000"


#: A subclass of L{AsJSON}.
Written = TypeVar("Written", bound="AsJSON")


class AsJSON:
    """
    A dataclass that writes itself as JSON (L{toJSON}) and is made again
    from it (L{fromJSON}): how the main process tells a worker process.
    """

    def toJSON(self) -> str:
        """
        This object as JSON (L{toPlain}).
        """
        return json.dumps(toPlain(self), sort_keys=True)

    @classmethod
    def fromJSON(cls: type[Written], text: str) -> Written:
        """
        The object that L{toJSON} wrote.

        @raise ValueError: if its fields are not exactly this class's.
        """
        built: Written = fromPlain(cls, json.loads(text))
        return built


@dataclass(frozen=True)
class Config(AsJSON):
    """
    What one randnum server serves, where, and within which limits.

    @ivar ports: endpoint descriptions the TCP protocol listens on.
    @ivar http: endpoint descriptions the HTTP face listens on (none: no
        HTTP).
    @ivar low: the smallest number served by default.
    @ivar high: the largest number served by default.
    @ivar framing: how TCP requests are framed.
    @ivar seed: the seed of a reproducible (insecure) source; L{None} for
        the OS CSPRNG.
    @ivar limits: connection, line and idle limits.
    @ivar logInterval: seconds between summary log lines; 0 for none.
    @ivar workers: serving processes sharing every port.
    @ivar signingKey: the Ed25519 private key's path, when draws are signed.
    @ivar auditDb: the audit store's absolute path, when draws are signed.
    @ivar auditMaxSize: the most disk the audit store may take, in bytes
        (0: no limit).
    @ivar signedRate: signed draws a second each client address may ask
        for, in bursts of up to ten seconds' worth (0: no limit).
    @ivar pollen: whether the HTTP face answers the pollen protocol at
        C{/pollen} (L{randnum.web.pollen}).
    @ivar jsonRpc: whether the HTTP face answers RANDOM.ORG's JSON-RPC API
        at C{/json-rpc/4/invoke} and C{/json-rpc/2/invoke}
        (L{randnum.jsonrpc}).
    @ivar apiKeys: the absolute path of the JSON-RPC face's API keys file
        (L{randnum.jsonrpc.keys}); L{None} for open mode (any key).
    @ivar apiUsageDb: the absolute path of the SQLite file where the API
        keys' daily counts are kept, when not in the audit database.
    """

    ports: tuple[str, ...] = (DEFAULT_PORT,)
    http: tuple[str, ...] = ()
    low: int = 1
    high: int = 10000
    framing: Framing = Framing.AUTO
    seed: int | None = None
    limits: Limits = field(default_factory=Limits)
    logInterval: float = 60.0
    workers: int = 1
    signingKey: str | None = None
    auditDb: str | None = None
    auditMaxSize: int = 0
    signedRate: float = 100.0
    pollen: bool = False
    jsonRpc: bool = False
    apiKeys: str | None = None
    apiUsageDb: str | None = None

    def __post_init__(self) -> None:
        # What code that builds a Config by hand (randnum.service) writes
        # naturally: one port number or description rather than a tuple,
        # and paths relative to the working directory.
        object.__setattr__(self, "framing", _framing(self.framing))
        if not isinstance(self.limits, Limits):
            raise ConfigError(
                "limits must be a randnum.Limits(idleTimeout=..., maxConnections="
                f"..., maxConnectionsPerHost=..., maxLine=...), not {self.limits!r}"
            )
        object.__setattr__(self, "ports", _descriptions(self.ports))
        object.__setattr__(self, "http", _descriptions(self.http))
        if self.signingKey is not None:
            object.__setattr__(self, "signingKey", os.fspath(self.signingKey))
        if self.auditDb is not None:
            object.__setattr__(self, "auditDb", os.path.abspath(self.auditDb))
        for name in ("apiKeys", "apiUsageDb"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, os.path.abspath(getattr(self, name)))

    @property
    def defaults(self) -> Query:
        """
        The default query: one number in C{low..high}.

        @raise randnum.query.QueryError: if the range is not valid.
        """
        return Query(min=self.low, max=self.high).checked()

    @property
    def logWindow(self) -> float:
        """
        Seconds between two log lines for the same kind of rejection: the
        summary interval, or a minute when there are no summaries.
        """
        return self.logInterval or 60.0

    def newSource(self) -> NumberSource:
        """
        A new number source of the kind configured: seeded, or the OS
        CSPRNG.
        """
        if self.seed is None:
            return systemSource()
        return seededSource(self.seed)


class ConfigError(ValueError):
    """
    A L{Config} that C{twistd randnum} would refuse: the message names the
    option that sets the field at fault (as C{--max-line} sets
    C{limits.maxLine}) and says why.
    """


def _framing(value: object) -> Framing:
    """
    A L{Framing}, from itself or from its name on the command line.
    """
    try:
        return Framing(value)
    except ValueError:
        names = ", ".join(repr(f.value) for f in Framing)
        raise ConfigError(
            f"--framing (Config.framing) must be one of {names} (or "
            f"randnum.Framing), not {value!r}"
        ) from None


def _descriptions(value: object) -> tuple[str, ...]:
    """
    Endpoint descriptions from one description or port number, or from
    several.
    """
    many = (value,) if isinstance(value, (str, int)) else value
    if not isinstance(many, (tuple, list)):
        raise ConfigError(f"ports and http are endpoint descriptions, not {value!r}")
    return tuple(endpointDescription(str(one)) for one in many)


def toPlain(value: object) -> object:
    """
    C{value} as JSON's types: dataclasses as objects, enums as their value,
    tuples as lists.  L{fromPlain} makes it again.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return {f.name: toPlain(getattr(value, f.name)) for f in fields}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [toPlain(item) for item in value]
    return value


def fromPlain(kind: Any, value: Any) -> Any:
    """
    C{value}, as L{toPlain} wrote it, made of type C{kind} again.

    @raise ValueError: if a dataclass's fields are not exactly those written.
    """
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        (kind,) = [k for k in typing.get_args(kind) if k is not type(None)]
        return fromPlain(kind, value)
    if origin is tuple:
        items = typing.get_args(kind)
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(fromPlain(items[0], v) for v in value)
        return tuple(fromPlain(k, v) for k, v in zip(items, value, strict=True))
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind)}
        if set(value) != names:
            # Both ends are the same randnum: a field missing or unknown is
            # a bug to hear of, not a default to fill in.
            raise ValueError(
                f"{kind.__name__}: expected fields {sorted(names)}, got {sorted(value)}"
            )
        return kind(**{name: fromPlain(hints[name], value[name]) for name in names})
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    if kind is float:
        return float(value)
    return value
