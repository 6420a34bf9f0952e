"""
C{randnum verify} (and C{randnum get --signed}), run in this process:
records from files, standard input, or a signing server in this process.
"""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from inprocess import Ran, Servers, Signing

Randnum = Callable[..., Ran]


@pytest.fixture
def signing(
    inProcess: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Signing:
    monkeypatch.chdir(tmp_path)
    return Signing(inProcess, tmp_path)


def draw(randnum: Randnum, signing: Signing, *args: str) -> str:
    """
    One signed draw's record, as C{randnum get --signed} prints it.
    """
    got = randnum("get", "--port", str(signing.tcp), "--signed", *args)
    assert (got.status, got.err) == (0, ""), got.err
    return got.out


def test_getSignedAndVerify(randnum: Randnum, signing: Signing) -> None:
    line = draw(randnum, signing, "--data", "raffle 12", "-n", "3", "--max", "6")
    record = json.loads(line)
    assert record["data"] == "raffle 12" and len(record["values"]) == 3
    Path("draw.json").write_text(line)
    checked = randnum("verify", "--key", "signing.pem.pub", "draw.json")
    assert checked == Ran(
        0, f"1 record verified (key {signing.keyId[:16]}: serials 1..1)\n", ""
    )
    online = randnum("verify", "--url", signing.url, "draw.json")
    assert online == checked
    whole = randnum("verify", "--url", signing.url, "--all")
    assert whole == checked


def test_aChangedRecordIsNamedBySerial(randnum: Randnum, signing: Signing) -> None:
    record = json.loads(draw(randnum, signing))
    record["values"][0] += 1
    Path("changed.json").write_text(json.dumps(record) + "\n")
    bad = randnum("verify", "--key", "signing.pem.pub", "changed.json")
    assert bad == Ran(1, "", f"randnum: serial {record['serial']}: bad signature\n")


def test_recordsFromStandardInput(
    randnum: Randnum, signing: Signing, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = draw(randnum, signing) + draw(randnum, signing)
    stdin = io.TextIOWrapper(io.BytesIO(lines.encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    ran = randnum("verify", "--complete", "--key", "signing.pem.pub")
    assert ran.status == 0, ran.err
    assert ran.out.startswith("2 records verified (key ")


def test_nothingToVerify(
    randnum: Randnum, signing: Signing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert randnum("verify", "--key", "signing.pem.pub", "-") == Ran(
        2, "", "randnum: no records to verify\n"
    )


class Terminal(io.TextIOWrapper):
    """
    Standard input that is a terminal (holding C{lines}, as if typed).
    """

    def isatty(self) -> bool:
        return True


def test_readingFromATerminalSaysHowToEnd(
    randnum: Randnum, signing: Signing, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = draw(randnum, signing)
    monkeypatch.setattr(sys, "stdin", Terminal(io.BytesIO(lines.encode())))
    ran = randnum("verify", "--key", "signing.pem.pub")
    assert ran.status == 0
    assert ran.err == ("randnum: reading records from standard input (Ctrl-D to end)\n")


def test_aServerThatDoesNotSignRefuses(randnum: Randnum, inProcess: Servers) -> None:
    url = f"http://127.0.0.1:{inProcess.http()}"
    assert randnum("verify", "--url", url, "--all") == Ran(
        1, "", f"randnum: {url}/v1/key: signing is not enabled\n"
    )
    assert randnum("export", "--url", url) == Ran(
        1,
        "",
        f"randnum: {url}/v1/draws?after=0&limit=10000: signing is not enabled\n",
    )


def test_aFileThatCannotBeRead(randnum: Randnum, signing: Signing) -> None:
    ran = randnum("verify", "--key", "signing.pem.pub", "missing.json")
    assert ran == Ran(
        2, "", "randnum: cannot read missing.json: No such file or directory\n"
    )


def test_aFileThatIsNotRecordsIsBadInput(randnum: Randnum, signing: Signing) -> None:
    Path("server.log").write_text("2026-01-01 12:00:00 randnum started\n")
    assert randnum("verify", "--key", "signing.pem.pub", "server.log") == Ran(
        2,
        "",
        "randnum: server.log line 1 is not a JSON record (records are the lines "
        "of randnum get --signed or randnum export)\n",
    )
    Path("draws.json").write_text(draw(randnum, signing) + '{"time": 2}\n')
    assert randnum("verify", "--key", "signing.pem.pub", "draws.json") == Ran(
        2,
        "",
        "randnum: draws.json line 2 is not a JSON record: no serial, request, "
        "values, key, prev, signature (records are the lines of randnum get "
        "--signed or randnum export)\n",
    )


def test_aSavedJsonRpcResultPointsToItsRecord(
    randnum: Randnum, signing: Signing
) -> None:
    Path("result.json").write_text(
        '{"jsonrpc":"2.0","result":{"random":{"serialNumber":4}},"id":1}\n'
    )
    ran = randnum("verify", "--key", "signing.pem.pub", "result.json")
    assert ran.status == 2
    assert "a JSON-RPC result's record is GET /v1/draws/SERIAL" in ran.err


def test_aRecordWithoutItsSignatureDoesNotVerify(
    randnum: Randnum, signing: Signing
) -> None:
    """
    A record stripped of a member is tampered with, not bad input: exit 1,
    as for a changed value.
    """
    record = json.loads(draw(randnum, signing))
    del record["signature"]
    Path("draw.json").write_text(json.dumps(record) + "\n")
    assert randnum("verify", "--key", "signing.pem.pub", "draw.json") == Ran(
        1,
        "",
        f"randnum: serial {record['serial']}: draw.json, line 1: incomplete "
        "record: no signature\n",
    )


def test_theTcpPortIsNotTheHttpFace(randnum: Randnum, signing: Signing) -> None:
    Path("draw.json").write_text(draw(randnum, signing))
    ran = randnum("verify", "--url", f"http://127.0.0.1:{signing.tcp}", "draw.json")
    assert ran.status == 3
    assert "is randnum's TCP port, not its HTTP face: --url is the --http port" in (
        ran.err
    )
    assert ran.err.count("\n") == 1


def test_signedRequestsToAServerThatDoesNotSign(
    randnum: Randnum, inProcess: Servers
) -> None:
    port = inProcess.tcp()
    assert randnum("get", "--port", str(port), "--signed") == Ran(
        1, "", "randnum: signing is not enabled\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give --key PUBFILE or --url BASE (one of them)"),
        (("--key", "k.pub", "--url", "http://x"), "give --key PUBFILE or --url BASE"),
        (("--key", "k.pub", "--all"), "--all needs --url"),
        (("--url", "ftp://x"), "--url must be an http:// or https:// URL"),
        (("--url", "http://x", "--all", "f"), "--all reads the server's records"),
        (("--key", "k.pub", "--timeout", "0"), "--timeout must be a positive number"),
    ],
)
def test_usageErrors(randnum: Randnum, args: tuple[str, ...], message: str) -> None:
    ran = randnum("verify", *args)
    assert (ran.status, ran.out) == (2, "")
    assert ran.err.startswith(f"randnum: {message}")
    assert ran.err.endswith("\nRun 'randnum verify --help' for usage.\n")


def test_aMissingKeyIsAUsageError(randnum: Randnum, tmp_path: Path) -> None:
    ran = randnum("verify", "--key", str(tmp_path / "missing.pub"), "-")
    assert (ran.status, ran.out) == (2, "")
    assert ran.err.startswith(f"randnum: --key: cannot read {tmp_path}/missing.pub")


# A verifier of the whole store notices loss and damage (issue 22).


def test_missingNewestRecordsAreNamed(randnum: Randnum, signing: Signing) -> None:
    for _ in range(5):
        draw(randnum, signing)
    with sqlite3.connect("audit.db") as connection:
        connection.execute("DELETE FROM draws WHERE serial > 3")
    lost = randnum("verify", "--url", signing.url, "--all")
    assert lost == Ran(
        1,
        "",
        f"randnum: {signing.url} has committed records up to serial 5, but its "
        "records end at serial 3: serials 4 to 5 are missing\n",
    )


def test_aRecordThatCannotBeReadIsDamage(randnum: Randnum, signing: Signing) -> None:
    for _ in range(3):
        draw(randnum, signing)
    with sqlite3.connect("audit.db") as connection:
        connection.execute(
            "UPDATE draws SET record = CAST(x'ff00' AS TEXT) WHERE serial = 2"
        )
    damaged = randnum("verify", "--url", signing.url, "--all")
    assert damaged.status == 1
    assert damaged.err.endswith(": audit store damaged\n")
