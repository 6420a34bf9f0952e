"""
C{randnum bytes}, run in this process against the HTTP face of a server in
this process.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import Servers
from servers import freePort

from randnum.cli import main

#: What C{randnum ARGS} wrote to stdout and stderr, and its exit status.
Bytes = tuple[object, bytes, bytes]


@pytest.fixture
def randnum(capsysbinary: pytest.CaptureFixture[bytes]) -> Callable[..., Bytes]:
    """
    Run C{randnum ARGS} in this process; its output as bytes.
    """

    def run(*argv: str) -> Bytes:
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        out, err = capsysbinary.readouterr()
        return exited.value.code, out, err

    return run


@pytest.fixture
def url(inProcess: Servers) -> str:
    return f"http://127.0.0.1:{inProcess.http()}"


class Reader:
    """
    A standard output whose reader stops after C{limit} bytes (the write
    after that fails with C{error}, as C{head -c} or a full disk makes it).
    """

    def __init__(self, limit: int, error: OSError, file: Path) -> None:
        self.buffer = self
        self.limit = limit
        self.error = error
        self.written = 0
        self.file = open(file, "wb")

    def write(self, data: bytes) -> int:
        if self.written + len(data) > self.limit:
            raise self.error
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.file.fileno()


@pytest.fixture
def reader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[int, OSError], Reader]]:
    readers: list[Reader] = []

    def install(limit: int, error: OSError) -> Reader:
        reader = Reader(limit, error, tmp_path / f"stdout{len(readers)}")
        readers.append(reader)
        monkeypatch.setattr(sys, "stdout", reader)
        return reader

    yield install
    for each in readers:
        each.file.close()


def test_exactlyTheBytesAsked(randnum: Callable[..., Bytes], url: str) -> None:
    status, out, err = randnum("bytes", "--url", url, "--length", "200000")
    assert (status, len(out), err) == (0, 200000, b"")
    assert len(set(out)) == 256


def test_theUrlFromTheEnvironment(
    randnum: Callable[..., Bytes], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANDNUM_URL", url + "/")
    status, out, _ = randnum("bytes", "--length", "10")
    assert (status, len(out)) == (0, 10)


def test_endlessUntilTheReaderStops(
    randnum: Callable[..., Bytes], url: str, reader: Callable[[int, OSError], Any]
) -> None:
    stdout = reader(3_000_000, BrokenPipeError(errno.EPIPE, "Broken pipe"))
    status, _, err = randnum("bytes", "--url", url, "-")
    assert (status, err) == (0, b"")
    assert 3_000_000 - 65536 < stdout.written <= 3_000_000


def test_aFullDiskIsSaidInOneLine(
    randnum: Callable[..., Bytes], url: str, reader: Callable[[int, OSError], Any]
) -> None:
    reader(50_000, OSError(errno.ENOSPC, "No space left on device"))
    assert randnum("bytes", "--url", url, "--length", "100000") == (
        3,
        b"",
        b"randnum: cannot write the bytes: No space left on device\n",
    )


def test_theServersRefusal(randnum: Callable[..., Bytes], url: str) -> None:
    assert randnum("bytes", "--url", url, "--length", "0") == (
        1,
        b"",
        b"randnum: length must be between 1 and 281474976710656\n",
    )


def test_theTcpPortIsNotTheHttpFace(
    randnum: Callable[..., Bytes], inProcess: Servers
) -> None:
    tcp = f"http://127.0.0.1:{inProcess.tcp()}"
    assert randnum("bytes", "--url", tcp, "--length", "5") == (
        3,
        b"",
        f"randnum: {tcp} is randnum's TCP port, not its HTTP face: --url is "
        "the --http port\n".encode(),
    )


def test_aServerThatCannotBeReachedIsSaidInWords(
    randnum: Callable[..., Bytes],
) -> None:
    port = freePort()
    assert randnum("bytes", "--url", f"http://127.0.0.1:{port}", "--length", "5") == (
        3,
        b"",
        f"randnum: connection refused by 127.0.0.1:{port}: is randnum running "
        "there?\n".encode(),
    )


def test_aUrlWithAPageShowsTheUrlItWouldAsk(
    randnum: Callable[..., Bytes], url: str
) -> None:
    assert randnum("bytes", "--url", f"{url}/v1/bytes", "--length", "5") == (
        2,
        b"",
        f"randnum: --url is the server, not a page: with {url}/v1/bytes randnum "
        f"would ask {url}/v1/bytes/v1/bytes?length=5; give --url {url}\n"
        "Run 'randnum bytes --help' for usage.\n".encode(),
    )
    # An endless stream shows no length.
    assert randnum("bytes", "--url", f"{url}/v1/bytes") == (
        2,
        b"",
        f"randnum: --url is the server, not a page: with {url}/v1/bytes randnum "
        f"would ask {url}/v1/bytes/v1/bytes; give --url {url}\n"
        "Run 'randnum bytes --help' for usage.\n".encode(),
    )


def test_aUrlWithAnUnknownPrefixShowsTheUrlAsked(
    randnum: Callable[..., Bytes], url: str
) -> None:
    status, out, err = randnum("bytes", "--url", f"{url}/randnum", "--length", "5")
    assert (status, out) == (3, b"")
    assert err.startswith(f"randnum: {url}/randnum/v1/bytes?length=5: ".encode())
    assert err.count(b"\n") == 1


# Twisted's ssl: server endpoint hands pyOpenSSL objects to pyOpenSSL.
@pytest.mark.filterwarnings("ignore:Passing pyOpenSSL:DeprecationWarning")
def test_httpsTrustingACaFile(
    randnum: Callable[..., Bytes],
    inProcess: Servers,
    tlsPort: str,
    certificate: tuple[Path, Path],
) -> None:
    _, cert = certificate
    url = f"https://localhost:{inProcess.http(description=tlsPort)}"
    status, out, err = randnum(
        "bytes", "--url", url, "--cafile", str(cert), "--length", "7"
    )
    assert (status, len(out), err) == (0, 7, b"")
    untrusted = randnum("bytes", "--url", url, "--length", "7")
    port = url.rsplit(":", 1)[1]
    assert untrusted == (
        3,
        b"",
        f"randnum: the TLS certificate of localhost:{port} is not trusted: give "
        "the CA certificate that signed it with --cafile FILE\n".encode(),
    )
    plain = randnum("bytes", "--url", url.replace("https", "http"), "--length", "7")
    assert plain == (
        3,
        b"",
        f"randnum: localhost:{port} closed the connection without answering: an "
        "https:// port?\n".encode(),
    )


def test_notToATerminal(
    randnum: Callable[..., Bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    status, _, err = randnum("bytes", "--length", "5")
    assert (status, err) == (
        2,
        b"randnum: stdout is a terminal: pipe the bytes into a program or a file\n"
        b"Run 'randnum bytes --help' for usage.\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--length", "10", "-"], "give --length N or -, not both"),
        (["--length", "ten"], "--length must be an integer, not 'ten'"),
        (["x"], "unexpected argument 'x'"),
        (
            ["--url", "ftp://h"],
            "--url must be an http:// or https:// URL, not 'ftp://h'",
        ),
        (
            ["--url", "http://"],
            "--url must be an http:// or https:// URL, not 'http://'",
        ),
        (["-t", "0"], "--timeout must be a positive number, not '0'"),
        (
            ["--url", "https://h", "--cafile", "/nonexistent.pem"],
            "--cafile: cannot read '/nonexistent.pem': No such file or directory",
        ),
        (["--count", "x"], "option --count not recognized"),
    ],
)
def test_usageErrors(
    randnum: Callable[..., Bytes], args: list[str], message: str
) -> None:
    assert randnum("bytes", *args) == (
        2,
        b"",
        f"randnum: {message}\nRun 'randnum bytes --help' for usage.\n".encode(),
    )
