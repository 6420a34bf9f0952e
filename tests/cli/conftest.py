"""
Fixtures for testing the C{randnum} command in this process: L{randnum}
runs it as the console script would, and L{inProcess} serves randnum for it
to talk to (see L{inprocess}).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from inprocess import Ran, ReactorThread

from randnum.cli import main
from randnum.cli.location import ENVIRONMENT


@pytest.fixture(autouse=True)
def noServerInTheEnvironment(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The server is named by each test, not by whoever runs the tests.
    """
    for name in (*ENVIRONMENT, "RANDNUM_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def randnum(
    running: ReactorThread,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., Ran]:
    """
    Run C{randnum ARGS} in this process: L{main}, with C{randnum get}'s
    reactor the running one.
    """
    # randnum.cli.main is also the name of the function the package exports.
    module = importlib.import_module("randnum.cli.main")
    monkeypatch.setattr(module, "react", running.react)

    def run(*argv: str) -> Ran:
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        out, err = capsys.readouterr()
        return Ran(exited.value.code, out, err)

    return run
