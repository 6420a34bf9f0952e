"""
Shared fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import Server, startServer, stopServer
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from zope.interface import provider


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """
    Start C{twistd randnum} with the given arguments; stopped after the test.
    """
    servers: list[Server] = []

    def start(*args: str, listeners: int = 1) -> Server:
        workdir = tmp_path / f"server{len(servers)}"
        workdir.mkdir()
        server = startServer(workdir, *args, listeners=listeners)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stopServer(server)


@pytest.fixture
def logged() -> Iterator[list[LogEvent]]:
    """
    The events logged through C{twisted.logger} during the test.
    """
    events: list[LogEvent] = []

    @provider(ILogObserver)
    def observe(event: LogEvent) -> None:
        events.append(event)

    globalLogPublisher.addObserver(observe)
    yield events
    globalLogPublisher.removeObserver(observe)
