# -*- test-case-name: tests.test_embedding -*-
"""
Embedding the whole server in one call: L{service} gives a C{.tac} file or
an application the services C{twistd randnum} runs, from a L{Config}.
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from randnum.config import Config, ConfigError


def service(config: Config, reactor: Any = None) -> IService:
    """
    The services C{twistd randnum} would run with the options that
    describe C{config}: every port and HTTP port, signed draws, summaries
    and workers, under one L{IService} to add to an application.  Nothing
    listens until it starts.

    C{config} gets every check the command line gets (it is parsed as
    those options), and the signing key and audit database are opened
    now, so a mistake shows here rather than when the service starts.

    @param reactor: the reactor to serve on; the global one if not given.
    @raise ConfigError: if C{twistd randnum} would refuse C{config}; the
        message names the option at fault.
    """
    # Imported here: the server's every face, and cryptography, are not
    # wanted by code that imports randnum only for its clients.
    from randnum.composition import MainProcess, buildService
    from randnum.tap import Options, commandLine

    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = globalReactor
    if not config.ports:
        raise ConfigError("ports: randnum's TCP protocol needs at least one port")
    options = Options(reactor)
    try:
        options.parseOptions(commandLine(config))
    except usage.UsageError as error:
        raise ConfigError(str(error)) from None
    return buildService(options.config, reactor, MainProcess(options.signing))
