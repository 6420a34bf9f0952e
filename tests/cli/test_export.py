"""
C{randnum export}, run in this process against a signing server in this
process.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from inprocess import Ran, Servers, Signing
from servers import freePort

import randnum as randnumModule

Randnum = Callable[..., Ran]


@pytest.fixture
def signing(
    inProcess: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Signing:
    monkeypatch.chdir(tmp_path)
    signing = Signing(inProcess, tmp_path)
    with randnumModule.connect("127.0.0.1", signing.tcp) as client:
        for _ in range(5):
            client.values("int", signed=True)
    return signing


def serials(out: str) -> list[int]:
    return [json.loads(line)["serial"] for line in out.splitlines()]


def test_exportArchivesAndVerifyJoinsArchiveAndStore(
    randnum: Randnum, signing: Signing
) -> None:
    # The retention recipe: archive records 1..3, and the archive and a
    # later export verify as one.
    archive = randnum("export", "--url", signing.url, "--through", "3")
    assert (archive.status, archive.err) == (0, "")
    assert serials(archive.out) == [1, 2, 3]
    Path("archive.jsonl").write_text(archive.out)
    rest = randnum("export", "--url", signing.url, "--after", "2")
    assert serials(rest.out) == [3, 4, 5]
    Path("rest.jsonl").write_text(rest.out)
    both = randnum(
        "verify",
        "--complete",
        "--key",
        "signing.pem.pub",
        "archive.jsonl",
        "rest.jsonl",
    )
    assert both == Ran(
        0, f"5 records verified (key {signing.keyId[:16]}: serials 1..5)\n", ""
    )


def test_exportEverything(randnum: Randnum, signing: Signing) -> None:
    assert serials(randnum("export", "--url", signing.url + "/").out) == [1, 2, 3, 4, 5]


def test_aServerThatCannotBeAsked(randnum: Randnum) -> None:
    ran = randnum("export", "--url", f"http://127.0.0.1:{freePort()}")
    assert (ran.status, ran.out) == (3, "")
    assert ran.err.startswith("randnum: ") and ran.err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--url BASE is needed"),
        (("--url", "http://x", "--after", "x"), "--after must be an integer, not 'x'"),
        (("--url", "http://x", "--after", "-1"), "--after must be 0 or more"),
        (("--url", "http://x", "--through", "1.5"), "--through must be an integer"),
        (("--url", "http://x", "-t", "soon"), "--timeout must be a positive number"),
        (("--url", "ftp://x"), "--url must be an http:// or https:// URL"),
        (
            ("--url", "http://x/v1/draws"),
            "--url is the server, not a page: with http://x/v1/draws randnum "
            "would ask http://x/v1/draws/v1/draws; give --url http://x",
        ),
        (
            ("--url", "https://x", "--cafile", "/nonexistent.pem"),
            "--cafile: cannot read '/nonexistent.pem'",
        ),
    ],
)
def test_usageErrors(randnum: Randnum, args: tuple[str, ...], message: str) -> None:
    ran = randnum("export", *args)
    assert (ran.status, ran.out) == (2, "")
    assert ran.err.startswith(f"randnum: {message}")
    assert ran.err.endswith("\nRun 'randnum export --help' for usage.\n")


def test_drawingsAreExportedWithTheirEntrants(
    randnum: Randnum, signing: Signing
) -> None:
    body = json.dumps({"entrants": ["Ada", "Grace", "Alan"], "winners": 2}).encode()
    posted = urllib.request.urlopen(
        urllib.request.Request(
            signing.url + "/v1/drawings",
            body,
            {"Content-Type": "application/json"},
        ),
        timeout=10,
    )
    drawing = json.loads(posted.read())
    ran = randnum("export", "--url", signing.url, "--drawings", "drawings.jsonl")
    assert (ran.status, ran.err) == (0, "")
    assert serials(ran.out) == [1, 2, 3, 4, 5, 6]
    lines = Path("drawings.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [drawing]
    assert drawing["serial"] == 6
    # The archive verifies, the drawings' lists with it.
    Path("draws.jsonl").write_text(ran.out)
    both = randnum(
        "verify", "--key", "signing.pem.pub", "draws.jsonl", "drawings.jsonl"
    )
    assert both == Ran(
        0, f"6 records verified (key {signing.keyId[:16]}: serials 1..6)\n", ""
    )
    drawing["entrants"][0] = "Eve"
    Path("changed.jsonl").write_text(json.dumps(drawing) + "\n")
    changed = randnum("verify", "--key", "signing.pem.pub", "changed.jsonl")
    assert (changed.status, changed.out) == (1, "")
    assert (
        changed.err
        == (
            "randnum: serial 6: changed.jsonl, line 1: the drawing's entrant list is "
            "not the one its record was signed for (3 entrants, sha256 "
        )
        + changed.err.split("sha256 ", 1)[1]
    )


def test_drawingsGoToAFileNotStandardOutput(randnum: Randnum) -> None:
    ran = randnum("export", "--url", "http://x", "--drawings", "-")
    assert (ran.status, ran.out) == (2, "")
    assert ran.err.startswith(
        "randnum: --drawings needs a file: the records go to standard output\n"
    )
    assert not Path("-").exists()


def test_aDrawingsFileThatCannotBeWrittenIsAUsageError(randnum: Randnum) -> None:
    ran = randnum("export", "--url", "http://x", "--drawings", "/nonexistent/d.jsonl")
    assert (ran.status, ran.out) == (2, "")
    assert ran.err.startswith(
        "randnum: --drawings: cannot write '/nonexistent/d.jsonl': "
        "No such file or directory\n"
    )


def test_anExportThatCannotBeWrittenIsSaid(randnum: Randnum, signing: Signing) -> None:
    body = json.dumps({"entrants": ["Ada", "Grace"], "winners": 1}).encode()
    urllib.request.urlopen(
        urllib.request.Request(
            signing.url + "/v1/drawings", body, {"Content-Type": "application/json"}
        ),
        timeout=10,
    ).read()
    ran = randnum("export", "--url", signing.url, "--drawings", "/dev/full")
    assert ran.status == 3
    assert ran.err == "randnum: cannot write the export: No space left on device\n"
