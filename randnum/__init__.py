"""
randnum: a random-number microservice built on Twisted.

The pieces, one module each:
 - L{randnum.query}: the request model and its validator, shared by every face;
 - L{randnum.generation.source}: unbiased bulk random numbers from the OS CSPRNG;
 - L{randnum.tcp.protocol}: the wire protocol and the L{RandnumFactory} to embed;
 - L{randnum.tap}: the C{twistd randnum} plugin's options and service;
 - L{randnum.embedding}: L{service}, the same services from one L{Config},
   for a C{.tac} file or an application;
 - L{randnum.client.protocol}: the Twisted client;
   L{randnum.client.blocking}: a plain-socket client (L{connect});
 - L{randnum.cli}: the C{randnum} command.
"""

from randnum.client.blocking import connect, connectUnix
from randnum.client.lines import RandnumError
from randnum.client.protocol import RandnumClientProtocol
from randnum.config import Config, ConfigError
from randnum.embedding import service
from randnum.generation.source import NumberSource, seededSource, systemSource
from randnum.limits import Limits
from randnum.query import Query, QueryError
from randnum.tcp.protocol import Framing, RandnumFactory, RandnumProtocol

__version__ = "0.2.0"

__all__ = [
    "Config",
    "ConfigError",
    "Framing",
    "Limits",
    "NumberSource",
    "Query",
    "QueryError",
    "RandnumClientProtocol",
    "RandnumError",
    "RandnumFactory",
    "RandnumProtocol",
    "__version__",
    "connect",
    "connectUnix",
    "seededSource",
    "service",
    "systemSource",
]
