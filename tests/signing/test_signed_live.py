# Twisted's test doubles (StringTransport) are not annotated.
# mypy: disallow-untyped-calls=False
"""
Signed draws from a real C{twistd randnum --signing-key ... --audit-db ...}
on loopback: both faces, both Python clients, and the C{randnum get
--signed} and C{randnum verify} commands.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from servers import Server, run
from twisted.internet.testing import StringTransport

import randnum
from randnum.client.protocol import RandnumClientProtocol
from randnum.signing.keys import loadPublicKey
from randnum.signing.records import digest, verifyDraw

# Every test here starts real processes.
pytestmark = pytest.mark.live

LOCAL = "tcp:0:interface=127.0.0.1"


class Signing:
    """
    A signing server, its key's files, and how to reach its faces.
    """

    def __init__(self, server: Server, key: Path, keyId: str) -> None:
        self.server = server
        self.key = key
        self.keyId = keyId
        self.tcp, self.http = server.ports
        self.url = f"http://127.0.0.1:{self.http}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


@pytest.fixture
def signing(serve: Callable[..., Server], tmp_path: Path) -> Signing:
    made = run("randnum", "keygen", "signing.pem", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    server = serve(
        *("--port", LOCAL, "--http", LOCAL),
        *("--signing-key", str(tmp_path / "signing.pem")),
        *("--audit-db", str(tmp_path / "audit.db")),
        listeners=2,
    )
    return Signing(server, tmp_path / "signing.pem", made.stdout.strip())


def test_httpSignedDrawIsStoredAsSent(signing: Signing) -> None:
    status, body = signing.get(
        "/v1/random?signed=true&type=decimal&places=3&n=2&data=raffle%2012"
    )
    assert status == 200
    record = json.loads(body)
    assert record["key"] == signing.keyId and record["data"] == "raffle 12"
    assert record["request"] == {
        "type": "decimal",
        "n": 2,
        "places": 3,
        "unique": False,
    }
    status, key = signing.get("/v1/key")
    assert json.loads(key)["key"] == signing.keyId
    verifyDraw(record, json.loads(key)["publicKey"])
    assert signing.get(f"/v1/draws/{record['serial']}") == (200, body)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("signed=maybe", "signed must be true or false"),
        ("signed=true&format=text", "format=text does not apply"),
        ("signed=true&data=" + "x" * 257, "data must be at most 256 characters"),
        ("signed=true&data=%FF", "data must be UTF-8 text"),
        ("data=x", "data needs signed=true"),
    ],
)
def test_httpRefusesBadSignedRequests(
    signing: Signing, query: str, reason: str
) -> None:
    status, body = signing.get(f"/v1/random?{query}")
    assert status == 400
    assert reason in json.loads(body)["error"]


def test_theAuditStoreIsReadBackByPages(signing: Signing) -> None:
    with randnum.connect("127.0.0.1", signing.tcp) as client:
        records = [client.values("int", 1, signed=True) for _ in range(5)]
    status, body = signing.get("/v1/draws?after=1&limit=3")
    assert status == 200
    head = http.client.HTTPConnection("127.0.0.1", signing.http, timeout=10)
    head.request("HEAD", "/v1/draws?after=0")
    response = head.getresponse()
    assert response.status == 200 and response.read() == b""
    assert response.getheader("content-type") == "application/x-ndjson"
    head.close()
    assert [json.loads(line) for line in body.splitlines()] == records[1:4]
    assert signing.get("/v1/draws?after=5") == (200, b"")
    for path, code in [
        ("/v1/draws/6", 404),
        ("/v1/draws/x", 400),
        ("/v1/draws?limit=0", 400),
        ("/v1/draws?limit=10001", 400),
        ("/v1/draws?after=-1", 400),
        ("/v1/draws?other=1", 400),
        ("/v1/draws/1/2", 404),
        ("/v1/draws/", 404),
        ("/v1/draws/9223372036854775808", 400),
        ("/v1/draws?after=99999999999999999999", 400),
    ]:
        status, body = signing.get(path)
        assert status == code, path
        assert "error" in json.loads(body)


def test_theBlockingClientGetsAVerifiableRecord(signing: Signing) -> None:
    with randnum.connect("127.0.0.1", signing.tcp) as client:
        first = client.values("int", 3, min=1, max=6, signed=True, data="dice \u2680")
        plain = client.get(n=2, min=7, max=7)
        second = client.values("uuid", 2, version=7, signed=True)
    publicKey = loadPublicKey(f"{signing.key}.pub")
    verifyDraw(first, publicKey)
    verifyDraw(second, publicKey)
    assert first["data"] == "dice \u2680" and all(1 <= v <= 6 for v in first["values"])
    assert plain == [7, 7]
    assert second["serial"] == first["serial"] + 1
    assert second["prev"] == digest(first)


def test_theTwistedClientGetsTheRecord() -> None:
    client = RandnumClientProtocol()
    transport = StringTransport()
    client.makeConnection(transport)
    got: list[Any] = []
    client.values("int", 2, max=6, signed=True, data="a b").addCallback(got.append)
    assert transport.value() == b"type=int n=2 max=6 signed=true data=a%20b\n"
    client.lineReceived(
        b'{"key":"k","prev":"p","request":{},"serial":1,'
        b'"signature":"s","time":"t","values":[1,2]}'
    )
    assert got[0]["values"] == [1, 2]


def test_getSignedAndVerify(signing: Signing, tmp_path: Path) -> None:
    got = run(
        "randnum",
        *("get", "--port", str(signing.tcp), "--signed", "--data", "raffle 12"),
        *("-n", "3", "--max", "6"),
        cwd=tmp_path,
    )
    assert got.returncode == 0, got.stderr
    (line,) = got.stdout.splitlines()
    assert json.loads(line)["data"] == "raffle 12"
    (tmp_path / "draw.json").write_text(got.stdout)
    checked = run(
        "randnum", "verify", "--key", "signing.pem.pub", "draw.json", cwd=tmp_path
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("1 record verified")
    online = run("randnum", "verify", "--url", signing.url, "draw.json", cwd=tmp_path)
    assert online.returncode == 0, online.stderr
    whole = run("randnum", "verify", "--url", signing.url, "--all", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.startswith("1 record verified")
    # A changed value is found, and named by its serial.
    record = json.loads(line)
    record["values"][0] = 7
    (tmp_path / "changed.json").write_text(json.dumps(record) + "\n")
    bad = run(
        "randnum", "verify", "--key", "signing.pem.pub", "changed.json", cwd=tmp_path
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == f"randnum: serial {record['serial']}: bad signature"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give --key PUBFILE or --url BASE"),
        (("--key", "k.pub", "--url", "http://x"), "give --key PUBFILE or --url BASE"),
        (("--key", "k.pub", "--all"), "--all needs --url"),
        (("--url", "ftp://x"), "--url must be an http:// or https:// URL"),
        (("--key", "missing.pub", "-"), "--key: cannot read missing.pub"),
        (("--url", "http://x", "--all", "f"), "--all reads the server's records"),
    ],
)
def test_verifyUsageErrors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run("randnum", "verify", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_getDataNeedsSigned(tmp_path: Path) -> None:
    result = run("randnum", "get", "--data", "x", cwd=tmp_path)
    assert result.returncode == 2 and "--data needs --signed" in result.stderr
    empty = run("randnum", "get", "--signed", "--data", "", cwd=tmp_path)
    assert empty.returncode == 2 and "--data: give 1 to 256" in empty.stderr


def test_exportArchivesAndVerifyJoinsArchiveAndStore(
    signing: Signing, tmp_path: Path
) -> None:
    # The docs' retention recipe: archive records 1..3, delete them from
    # the store, and the archive and a later export still verify as one.
    with randnum.connect("127.0.0.1", signing.tcp) as client:
        for _ in range(5):
            client.values("int", signed=True)
    url = signing.url
    archive = run("randnum", "export", "--url", url, "--through", "3", cwd=tmp_path)
    assert archive.returncode == 0, archive.stderr
    assert [json.loads(x)["serial"] for x in archive.stdout.splitlines()] == [1, 2, 3]
    (tmp_path / "archive.jsonl").write_text(archive.stdout)
    rest = run("randnum", "export", "--url", url, "--after", "2", cwd=tmp_path)
    assert [json.loads(x)["serial"] for x in rest.stdout.splitlines()] == [3, 4, 5]
    (tmp_path / "rest.jsonl").write_text(rest.stdout)
    both = run(
        "randnum",
        *("verify", "--complete", "--key", "signing.pem.pub"),
        *("archive.jsonl", "rest.jsonl"),
        cwd=tmp_path,
    )
    assert both.returncode == 0, both.stderr
    assert both.stdout.startswith("5 records verified (key ")
    wrongPort = run(
        "randnum",
        *("verify", "--url", f"http://127.0.0.1:{signing.tcp}", "archive.jsonl"),
        cwd=tmp_path,
    )
    assert wrongPort.returncode == 3
    assert "is randnum's TCP port, not its HTTP face" in wrongPort.stderr


def test_aSignedRequestThatIsNotOneIsRefused(signing: Signing) -> None:
    # An unencoded space makes the line free text, which would get an
    # unsigned number: the server says so instead.
    with randnum.connect("127.0.0.1", signing.tcp) as client:
        client._socket.sendall(b"signed=true data=raffle 12\n")
        assert client._readLine().startswith(b"ERR a signed request must be only")


def test_withoutSigningSignedRequestsAreRefused(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve("--port", LOCAL, "--http", LOCAL, listeners=2)
    tcp, http = server.ports
    with randnum.connect("127.0.0.1", tcp) as client:
        with pytest.raises(randnum.RandnumError, match="signing is not enabled"):
            client.values("int", signed=True)
    for path, code in [
        ("/v1/random?signed=true", 400),
        ("/v1/key", 404),
        ("/v1/draws/1", 404),
    ]:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{http}{path}", timeout=10)
        except urllib.error.HTTPError as error:
            assert error.code == code
            assert json.loads(error.read()) == {"error": "signing is not enabled"}
        else:
            pytest.fail(f"{path} answered 200")
    got = run("randnum", "get", "--port", str(tcp), "--signed", cwd=tmp_path)
    assert got.returncode == 1
    assert got.stderr.strip() == "randnum: signing is not enabled"


def test_metricsReportTheAuditStore(signing: Signing) -> None:
    with randnum.connect("127.0.0.1", signing.tcp) as client:
        for _ in range(3):
            client.values("int", signed=True)
    _, body = signing.get("/metrics")
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    assert samples["randnum_audit_records"] == 3
    assert samples["randnum_audit_store_bytes"] > 0
    assert 1 <= samples["randnum_audit_commits_total"] <= 3
    assert samples["randnum_audit_failures_total"] == 0
    assert "Traceback" not in signing.server.logText()
