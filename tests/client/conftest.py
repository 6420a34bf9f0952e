"""
Fixtures for testing the clients against servers in this process (see
L{inprocess}).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from inprocess import ReactorThread, Servers, reactorThread, servers


@pytest.fixture(scope="session")
def running() -> Iterator[ReactorThread]:
    """
    The reactor thread that the in-process servers run on.
    """
    with reactorThread() as thread:
        yield thread


@pytest.fixture
def inProcess(
    running: ReactorThread, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Servers]:
    """
    Servers in this process, closed after the test.
    """
    with servers(running, monkeypatch) as serving:
        yield serving
