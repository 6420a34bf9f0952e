"""
C{randnum get}, run in this process against servers in this process.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from inprocess import Ran, Servers
from servers import freePort
from twisted.internet.protocol import Factory, Protocol

from randnum.generation.source import seededSource

Randnum = Callable[..., Ran]


@pytest.fixture
def silentPort() -> Iterator[int]:
    """
    A port that accepts connections (into its backlog) and never answers.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_getPrintsOneNumberPerLine(randnum: Randnum, inProcess: Servers) -> None:
    port = inProcess.tcp()
    ran = randnum("get", "--port", str(port), "-n", "5", "--min", "1", "--max", "6")
    assert (ran.status, ran.err) == (0, "")
    lines = ran.out.splitlines()
    assert len(lines) == 5
    assert all(1 <= int(line) <= 6 for line in lines)


def test_getDefaultsToTheServersRange(randnum: Randnum, inProcess: Servers) -> None:
    port = inProcess.tcp(inProcess.server(low=7, high=7))
    assert randnum("get", "-p", str(port), "-n", "3").out == "7\n7\n7\n"


def test_getUniqueOverAUnixSocket(
    randnum: Randnum, inProcess: Servers, tmp_path: Path
) -> None:
    path = tmp_path / "r.sock"
    inProcess.tcp(description=f"unix:{path}")
    ran = randnum(
        "get", "--endpoint", f"unix:path={path}", "-n", "6", "--max", "6", "--unique"
    )
    assert ran.status == 0, ran.err
    assert sorted(int(line) for line in ran.out.split()) == [1, 2, 3, 4, 5, 6]


def test_getExitsOneWithTheServersReason(randnum: Randnum, inProcess: Servers) -> None:
    port = inProcess.tcp()
    ran = randnum("get", "--port", str(port), "-n", "7", "--max", "6", "--unique")
    assert ran == Ran(
        1, "", "randnum: unique needs n <= 6, the count of values in 1..6\n"
    )


def test_getJsonForScripts(randnum: Randnum, inProcess: Servers) -> None:
    port = str(inProcess.tcp())
    ran = randnum("get", "-p", port, "-n", "3", "--min", "5", "--max", "5", "--json")
    assert ran == Ran(0, '{"numbers":[5,5,5],"min":5,"max":5}\n', "")
    refused = randnum("get", "-p", port, "-n", "0", "--json")
    assert refused.status == 1
    assert json.loads(refused.out) == {"error": "n must be between 1 and 10000"}
    assert refused.err == "randnum: n must be between 1 and 10000\n"


def test_getOtherTypes(randnum: Randnum, inProcess: Servers) -> None:
    port = str(inProcess.tcp(inProcess.server(source=seededSource(1))))
    strings = randnum("get", "-p", port, "--type", "string", "-n", "2", "--length", "8")
    assert strings.status == 0, strings.err
    assert [len(s) for s in strings.out.splitlines()] == [8, 8]
    uuids = randnum("get", "-p", port, "--type", "uuid", "--json")
    document = json.loads(uuids.out)
    assert document["type"] == "uuid" and len(document["values"]) == 1
    wrong = randnum("get", "-p", port, "--type", "decimal", "--places", "99")
    assert wrong.status == 1
    assert wrong.err.startswith("randnum: places ")


def test_getOverIpv6WithAnyHostSpelling(randnum: Randnum, inProcess: Servers) -> None:
    port = str(inProcess.tcp(description="tcp6:0:interface=\\:\\:1"))
    for host in ("::1", "[::1]"):
        ran = randnum("get", "--host", host, "--port", port, "-n", "2")
        assert ran.status == 0, ran.err
        assert len(ran.out.split()) == 2


# Twisted's ssl: server endpoint hands pyOpenSSL objects to pyOpenSSL.
@pytest.mark.filterwarnings("ignore:Passing pyOpenSSL:DeprecationWarning")
def test_getOverTlsTrustingACaFile(
    randnum: Randnum, inProcess: Servers, tlsPort: str, certificate: tuple[Path, Path]
) -> None:
    _, cert = certificate
    port = str(inProcess.tcp(description=tlsPort))
    trusted = randnum(
        "get", "-H", "localhost", "-p", port, "--cafile", str(cert), "-n", "3", "--json"
    )
    assert trusted.status == 0, trusted.err
    assert len(json.loads(trusted.out)["numbers"]) == 3
    untrusted = randnum("get", "--host", "localhost", "--port", port, "--tls")
    assert untrusted == Ran(
        3,
        "",
        f"randnum: the TLS certificate of localhost:{port} is not trusted: "
        "give the CA certificate that signed it with --cafile FILE\n",
    )


def test_theEnvironmentNamesTheServerAndOptionsWin(
    randnum: Randnum, inProcess: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = str(inProcess.tcp())
    monkeypatch.setenv("RANDNUM_PORT", port)
    assert randnum("get").status == 0
    monkeypatch.setenv("RANDNUM_PORT", str(freePort()))
    monkeypatch.setenv("RANDNUM_HOST", "127.0.0.1")
    assert randnum("get", "-p", port).status == 0
    monkeypatch.setenv("RANDNUM_ENDPOINT", f"tcp:host=127.0.0.1:port={port}")
    both = randnum("get")
    assert both.status == 2
    assert both.err == (
        "randnum: RANDNUM_ENDPOINT and RANDNUM_HOST/RANDNUM_PORT are both set: "
        "unset one\nRun 'randnum get --help' for usage.\n"
    )
    monkeypatch.delenv("RANDNUM_HOST")
    monkeypatch.delenv("RANDNUM_PORT")
    assert randnum("get").status == 0


def test_anUnreachableServerExitsThreeWithOneLine(randnum: Randnum) -> None:
    port = freePort()
    assert randnum("get", "--port", str(port)) == Ran(
        3,
        "",
        f"randnum: connection refused by 127.0.0.1:{port}: is randnum running there?\n",
    )


def test_aSilentServerExitsThreeAfterTheTimeout(
    randnum: Randnum, silentPort: int
) -> None:
    ran = randnum("get", "--port", str(silentPort), "--timeout", "0.3")
    assert ran == Ran(
        3,
        "",
        f"randnum: no answer from 127.0.0.1:{silentPort} within 0.3 s "
        "(a TLS port? add --tls or --cafile FILE)\n",
    )


class NotRandnum(Protocol):
    """
    A server that answers anything with another protocol's greeting.
    """

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(b"SSH-2.0-OpenSSH_9.6\r\n")


def test_aServerThatIsNotRandnumIsSaidSo(randnum: Randnum, inProcess: Servers) -> None:
    port = inProcess.listen(
        Factory.forProtocol(NotRandnum), "tcp:0:interface=127.0.0.1"
    )
    ran = randnum("get", "--port", str(port))
    assert ran.status == 3
    assert ran.err == (
        f"randnum: 127.0.0.1:{port} does not speak randnum's protocol: it answered "
        "'SSH-2.0-OpenSSH_9.6'\n"
    )


def test_randnumsHttpPortIsNamedAtOnce(randnum: Randnum, inProcess: Servers) -> None:
    port = inProcess.http()
    ran = randnum("get", "-p", str(port), "--timeout", "5")
    assert ran == Ran(
        3,
        "",
        f"randnum: 127.0.0.1:{port} speaks HTTP: is that randnum's --http port? "
        "(the TCP port is --port)\n",
    )


# Twisted's ssl: server endpoint hands pyOpenSSL objects to pyOpenSSL.
@pytest.mark.filterwarnings("ignore:Passing pyOpenSSL:DeprecationWarning")
def test_aTlsPortWithoutTlsIsNamedAtOnce(
    randnum: Randnum, inProcess: Servers, tlsPort: str
) -> None:
    port = inProcess.tcp(description=tlsPort)
    ran = randnum("get", "-p", str(port), "--timeout", "5")
    assert ran == Ran(
        3,
        "",
        f"randnum: 127.0.0.1:{port} closed the connection without answering: a "
        "TLS port? add --tls, or --cafile FILE for a private CA's certificate\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "x"], "--count must be an integer, not 'x'"),
        (["--n", "x"], "--count must be an integer, not 'x'"),
        (["--min", "1.5"], "--min must be an integer, not '1.5'"),
        (["--port", "http"], "--port must be a port number (1-65535), not 'http'"),
        (["--port", "99999"], "--port must be a port number (1-65535), not '99999'"),
        (["--port", "5_000"], "--port must be a port number (1-65535), not '5_000'"),
        (["--host", "a b"], "--host must be a host name or address, not 'a b'"),
        (
            ["--host", "127.0.0.1:5000"],
            "--host is the host alone: put the port in --port (--host 127.0.0.1 "
            "--port 5000)",
        ),
        (
            ["--host", "[::1]:5000"],
            "--host is the host alone: put the port in --port (--host ::1 --port 5000)",
        ),
        (
            ["--host", "::1", "--endpoint", "tcp:x:1"],
            "--endpoint names the server on its own: give it or --host, not both",
        ),
        (
            ["--cafile", "/nonexistent.pem"],
            "--cafile: cannot read '/nonexistent.pem': No such file or directory",
        ),
        (["--timeout", "1_0"], "--timeout must be a positive number, not '1_0'"),
        (["--timeout", "soon"], "--timeout must be a positive number, not 'soon'"),
        (["--timeout", "0"], "--timeout must be a positive number, not '0'"),
        (["--bogus"], "option --bogus not recognized"),
        (["--data", "x"], "--data needs --signed"),
        (["--signed", "--data", ""], "--data: give 1 to 256 printable characters"),
        (["--places", "3"], "--places does not apply to --type int"),
        (["--type", "string", "--chars", "a b"], "--chars: no spaces, and not empty"),
    ],
)
def test_usageErrorsExitTwo(randnum: Randnum, args: list[str], message: str) -> None:
    ran = randnum("get", *args)
    assert ran == Ran(
        2, "", f"randnum: {message}\nRun 'randnum get --help' for usage.\n"
    )


def test_aBadEndpointIsAUsageError(randnum: Randnum) -> None:
    ran = randnum("get", "--endpoint", "bogus:x")
    assert ran.status == 2
    assert ran.err.startswith("randnum: --endpoint 'bogus:x': Unknown endpoint type")
    assert ran.err.count("\n") == 1


def test_helpDocumentsEverything(randnum: Randnum) -> None:
    ran = randnum("get", "--help")
    assert ran.status == 0
    for option in ("--host", "--port", "--endpoint", "-n", "--min", "--max"):
        assert option in ran.out
    assert "Exit status: 0 success, 1 the server refused" in " ".join(ran.out.split())


def test_noSuchUnixSocketIsSaidSo(randnum: Randnum) -> None:
    assert randnum("get", "-e", "unix:/nonexistent/x.sock") == Ran(
        3,
        "",
        "randnum: no such socket file: unix:/nonexistent/x.sock (is randnum "
        "serving a UNIX socket there?)\n",
    )


def test_aCaDirectoryNamesTheFileThatIsNotACertificate(
    randnum: Randnum, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not looked at\n")
    (tmp_path / "junk.pem").write_text("junk\n")
    description = f"tls:localhost:5001:trustRoots={tmp_path}"
    assert randnum("get", "-e", description) == Ran(
        2,
        "",
        f"randnum: --endpoint {description!r}: {tmp_path}/junk.pem is not a PEM "
        "certificate (trustRoots= loads every .pem file in its directory)\n",
    )


def test_anAddressAndPortIsNotAnEndpoint(randnum: Randnum) -> None:
    assert randnum("get", "-e", "127.0.0.1:5000") == Ran(
        2,
        "",
        "randnum: --endpoint '127.0.0.1:5000' is an address and port, not an "
        "endpoint: say --endpoint tcp:host=127.0.0.1:port=5000\n",
    )


def test_aPortOptionWinsOverTheEnvironmentsEndpoint(
    randnum: Randnum, inProcess: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANDNUM_ENDPOINT", f"tcp:host=127.0.0.1:port={freePort()}")
    assert randnum("get", "-p", str(inProcess.tcp())).status == 0
