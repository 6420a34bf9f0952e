"""
Where the server is (L{serverLocation}), and what went wrong reaching it,
in words (L{explain}).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from OpenSSL import SSL
from twisted.internet import defer
from twisted.internet import error as error_
from twisted.python import usage

from randnum.cli.get import GetOptions
from randnum.cli.location import ServerLocation, explain, serverLocation


def located(args: list[str], environ: dict[str, str] | None = None) -> ServerLocation:
    """
    Where C{randnum get ARGS} goes, with C{environ} the environment.
    """
    options = GetOptions()  # type: ignore[no-untyped-call]
    options.parseOptions(args)
    return serverLocation(options, environ or {})


def refusal(args: list[str], environ: dict[str, str] | None = None) -> str:
    """
    Why C{randnum get ARGS} is a usage error.
    """
    with pytest.raises(usage.UsageError) as refused:
        located(args, environ)
    return str(refused.value)


def test_theDefaultIsLoopbackPort5000() -> None:
    assert located([]) == ServerLocation(None, "127.0.0.1", 5000)


def test_optionsWinOverTheEnvironment() -> None:
    environ = {"RANDNUM_HOST": "a.example", "RANDNUM_PORT": "1"}
    assert located([], environ) == ServerLocation(None, "a.example", 1)
    assert located(["-H", "b.example", "-p", "2"], environ) == ServerLocation(
        None, "b.example", 2
    )
    assert located(["-p", "2"], environ).host == "a.example"


def test_anEndpointStandsAlone() -> None:
    assert located(["-e", "unix:path=/s"]) == ServerLocation("unix:path=/s", "", 0)
    assert located([], {"RANDNUM_ENDPOINT": "unix:path=/e"}).endpoint == "unix:path=/e"
    # A host or port option wins over the environment's endpoint.
    assert located(["-p", "7"], {"RANDNUM_ENDPOINT": "unix:path=/e"}).port == 7
    assert refusal(["-e", "unix:path=/s", "-p", "1", "--tls"]) == (
        "--endpoint names the server on its own: give it or --port/--tls, not both"
    )
    assert refusal([], {"RANDNUM_ENDPOINT": "x", "RANDNUM_PORT": "1"}) == (
        "RANDNUM_ENDPOINT and RANDNUM_PORT are both set: unset one"
    )


@pytest.mark.parametrize(
    ("args", "environ", "message"),
    [
        (["-H", ""], {}, "--host must be a host name or address, not ''"),
        (["-H", "[]"], {}, "--host must be a host name or address, not '[]'"),
        (["-H", "a/b"], {}, "--host must be a host name or address, not 'a/b'"),
        (
            [],
            {"RANDNUM_HOST": "a b"},
            "RANDNUM_HOST must be a host name or address, not 'a b'",
        ),
        (["-p", "0"], {}, "--port must be a port number (1-65535), not '0'"),
        (["-p", "65536"], {}, "--port must be a port number (1-65535), not '65536'"),
        (
            [],
            {"RANDNUM_PORT": "x"},
            "RANDNUM_PORT must be a port number (1-65535), not 'x'",
        ),
        (
            [],
            {"RANDNUM_CAFILE": "/nonexistent"},
            "RANDNUM_CAFILE: cannot read '/nonexistent': No such file or directory",
        ),
    ],
)
def test_badValuesSayWhereTheyCameFrom(
    args: list[str], environ: dict[str, str], message: str
) -> None:
    assert refusal(args, environ) == message


def test_aCaFileThatHoldsNoCertificate(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing\n")
    assert refusal(["--cafile", str(empty)]) == (
        f"--cafile: {str(empty)!r} holds no PEM certificate"
    )


def test_aCaFileMeansTls(certificate: tuple[Path, Path]) -> None:
    _, cert = certificate
    location = located(["--cafile", str(cert), "-H", "::1"])
    assert (location.tls, location.cafile) == (True, str(cert))
    assert location.shown == "[::1]:5000"
    assert location.description == "tcp:host=\\:\\:1:port=5000"


def test_bracketsAreTakenOffAnIpv6Address() -> None:
    location = located(["-H", "[::1]", "-p", "5001"])
    assert (location.host, location.shown) == ("::1", "[::1]:5001")


LOCATION = ServerLocation(None, "127.0.0.1", 5000)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            defer.TimeoutError(),
            "no answer from 127.0.0.1:5000 within 2.5 s (a TLS "
            "port? add --tls or --cafile FILE)",
        ),
        (
            ConnectionRefusedError(),
            "connection refused by 127.0.0.1:5000: is randnum running there?",
        ),
        (
            error_.ConnectionRefusedError(),
            "connection refused by 127.0.0.1:5000: is randnum running there?",
        ),
        (error_.DNSLookupError(), "cannot find the host 127.0.0.1"),
        (
            SSL.Error([("SSL routines", "", "certificate verify failed")]),
            "the TLS certificate of 127.0.0.1:5000 is not trusted: give the CA "
            "certificate that signed it with --cafile FILE",
        ),
        (
            SSL.Error([("SSL routines", "", "wrong version number")]),
            "the TLS handshake with 127.0.0.1:5000 failed: is it a TLS port?",
        ),
        (
            error_.ConnectionDone(),
            "127.0.0.1:5000 closed the connection without answering",
        ),
        (
            OSError(101, "Network is unreachable"),
            "cannot connect to 127.0.0.1:5000: Network is unreachable",
        ),
        (RuntimeError("odd"), "cannot get an answer from 127.0.0.1:5000: odd"),
        (RuntimeError(), "cannot get an answer from 127.0.0.1:5000: RuntimeError"),
    ],
)
def test_explainSaysWhatWentWrongInWords(error: Any, words: str) -> None:
    assert explain(error, LOCATION, 2.5) == words


def test_explainOverTlsNeedsNoHint() -> None:
    location = ServerLocation(None, "h", 1, tls=True)
    assert explain(defer.TimeoutError(), location, 1) == (
        "no answer from h:1 within 1 s"
    )
