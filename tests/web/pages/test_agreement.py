"""
The browser's verifier (C{assets/verify.js}) and Python's
(L{randnum.signing.records}) agree: on records of every value type from a
real signing store, genuine and tampered in every way we know, and on the
canonical form of any JSON value a record may hold.

Each test runs the JavaScript on all its cases in one browser call.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pagebrowser import runVerifier
from signers import makeStore
from twisted.internet.task import Clock

from randnum.generation.source import seededSource
from randnum.generation.values import UUID7Clock
from randnum.query import Query
from randnum.signing.keys import Signer
from randnum.signing.records import (
    SAFE_INTEGER,
    RecordError,
    canonical,
    keyId,
    parseRecord,
    signedBytes,
    verifyChains,
    verifyDraw,
)
from randnum.signing.store import AuditStore
from randnum.web.pages.page import renderPage

pytestmark = pytest.mark.live

#: The order of the group of Ed25519's base point: S + L is the same
#: signature to a lax verifier, and must be refused.
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493

#: A request's data: markup, quotes, control characters, every plane.
DATA = [
    None,
    "raffle 12",
    'quotes " and \\ backslashes \\"',
    "controls \x00\x01\x08\x0c\x1f\x7f tab\t newline\n return\r",
    "unicode é ü ß 漢字 \u2028 \u2029 😀 \U0010ffff",
    "</script><script>alert(1)</script><!--",
]

#: One query of each value type and shape of record.
QUERIES = [
    Query(n=5, min=1, max=6),
    Query(n=4, min=-SAFE_INTEGER, max=SAFE_INTEGER, unique=True),
    Query(n=3, min=0, max=2**63 - 1),
    Query(n=2, min=-(2**63), max=-(2**53)),
    Query(type="decimal", n=3, places=4, unique=True),
    Query(type="gaussian", n=3, mean=-5.5, sd=0.00001, digits=8),
    Query(type="string", n=3, length=12, chars=':"\\<>&{}ab'),
    Query(type="string", n=2, length=5, unique=True),
    Query(type="uuid", n=2, version=4),
    Query(type="uuid", n=2, version=7),
    Query(type="bytes", n=2, length=9, format="hex"),
    Query(type="bytes", n=2, length=10, format="base64"),
]


def genuineRecords(tmp_path: Path) -> tuple[Signer, list[str]]:
    """
    Records of every value type, each data above, and one of a
    RANDOM.ORG-style signed call, signed into one chain by a real store.
    """
    clock = Clock()
    clock.advance(1_764_000_000.5)
    store, pool = makeStore(tmp_path, clock)
    assert isinstance(store, AuditStore)
    source, uuid7 = seededSource(7), UUID7Clock(clock.seconds)
    lines: list[bytes] = []
    # A request's data is printable (Query.checked); the store signs what
    # it is given, control characters too (store.issue, below).
    printable = [d for d in DATA if d is None or d.isprintable()]
    for i, query in enumerate(QUERIES):
        data = printable[i % len(printable)]
        signed = Query(**{**query.__dict__, "signed": True, "data": data}).checked()
        store.draw(signed, source, uuid7).addCallback(lines.append)
    for data in DATA:
        store.issue(Query(signed=True), [42], data).addCallback(lines.append)
    store.issueRecord(
        {"method": "generateSignedIntegers", "n": 2, "ünï": "cødé", "base": 10},
        [3, 1],
    ).addCallback(lines.append)
    clock.advance(0)
    pool.runAll()
    assert len(lines) == len(QUERIES) + len(DATA) + 1
    return store.signer, [line.decode("utf-8") for line in lines]


def resign(signer: Signer, record: dict[str, Any]) -> dict[str, Any]:
    """
    C{record} signed again (a record the key's holder really signed).
    """
    signature = signer.sign(signedBytes(record))
    return dict(record, signature=base64.b64encode(signature).decode())


def malleated(signature: str) -> str:
    """
    The signature with S + L for S: the same to a verifier that does not
    check that S is reduced.
    """
    raw = base64.b64decode(signature)
    s = int.from_bytes(raw[32:], "little") + ED25519_ORDER
    return base64.b64encode(raw[:32] + s.to_bytes(32, "little")).decode()


Change = Callable[[dict[str, Any]], object]


def changes(other: str) -> dict[str, Change]:
    """
    Ways of changing a record after it was signed (C{other}: another
    record's signature).
    """

    def changeValue(r: dict[str, Any]) -> None:
        first = r["values"][0]
        r["values"][0] = first + 1 if isinstance(first, int) else first[::-1] + "x"

    return {
        "value": changeValue,
        "value dropped": lambda r: r["values"].pop(),
        "value added": lambda r: r["values"].append(r["values"][0]),
        "data": lambda r: r.__setitem__("data", str(r.get("data")) + "!"),
        "data removed": lambda r: (
            r.__setitem__("data", None) if "data" not in r else r.pop("data")
        ),
        "request": lambda r: r["request"].__setitem__("n", r["request"]["n"] + 1),
        "time": lambda r: r.__setitem__("time", r["time"].replace("Z", "0Z")),
        "serial": lambda r: r.__setitem__("serial", r["serial"] + 1),
        "prev": lambda r: r.__setitem__("prev", "0" * 63 + "1"),
        "key": lambda r: r.__setitem__("key", "f" * 64),
        "member added": lambda r: r.__setitem__("extra", 1),
        # JavaScript's objects have a prototype: a member of this name must
        # stay a member (and be signed) there too.
        "member __proto__": lambda r: r.__setitem__("__proto__", {"extra": 1}),
        "signature swapped": lambda r: r.__setitem__("signature", other),
        "signature malleated": lambda r: r.__setitem__(
            "signature", malleated(r["signature"])
        ),
        "signature not base64": lambda r: r.__setitem__("signature", "!!" + other),
        "signature unpadded": lambda r: r.__setitem__(
            "signature", r["signature"].rstrip("=")
        ),
        "signature not a string": lambda r: r.__setitem__("signature", 7),
        "signature removed": lambda r: r.pop("signature"),
        "key removed": lambda r: r.pop("key"),
        "serial removed": lambda r: r.pop("serial"),
        "serial zero": lambda r: r.__setitem__("serial", 0),
        "serial true": lambda r: r.__setitem__("serial", True),
        "serial text": lambda r: r.__setitem__("serial", str(r["serial"])),
        "unsafe integer": lambda r: r.__setitem__("values", [2**53]),
        "values not a list": lambda r: r.__setitem__("values", {"0": r["values"]}),
    }


def case(record: str, key: str, previous: str | None = None, **why: str) -> Any:
    """
    One input to both verifiers.
    """
    return {"record": record, "key": key, "previous": previous, **why}


def allCases(signer: Signer, lines: list[str], other: Signer) -> list[dict[str, Any]]:
    """
    Every record genuine, alone and with the one before it; every change
    to each; wrong keys, forks, broken links and text that is no record.
    """
    pem, otherPem = signer.publicPem, other.publicPem
    cases = []
    for i, line in enumerate(lines):
        record = json.loads(line)
        cases.append(case(line, pem, why="genuine"))
        if i:
            cases.append(case(line, pem, lines[i - 1], why="genuine, linked"))
            # A fork: another serial i, truly signed, that it does not follow.
            fork = resign(signer, dict(json.loads(lines[i - 1]), values=[0]))
            cases.append(case(line, pem, json.dumps(fork), why="fork"))
            # The previous record changed after signing.
            changed = dict(json.loads(lines[i - 1]), time="2000-01-01T00:00:00.000Z")
            cases.append(case(line, pem, json.dumps(changed), why="previous changed"))
        if i > 1:
            cases.append(case(line, pem, lines[i - 2], why="gap: not checked"))
        cases.append(case(line, otherPem, why="wrong key"))
        for name, change in changes(json.loads(lines[i - 1])["signature"]).items():
            changedRecord = json.loads(line)
            change(changedRecord)
            text = json.dumps(changedRecord, ensure_ascii=i % 2 == 0)
            cases.append(case(text, pem, why=name))
        # Text-level changes: a decimal where an integer was, a repeated
        # member (the last one counts, in both languages), spacing.
        cases.append(
            case(line.replace('"serial":', '"serial":1.0,"x":', 1), pem, why="1.0")
        )
        cases.append(case(line[:-1] + ',"values":[1]}', pem, why="repeated member"))
        cases.append(case(json.dumps(record, indent=2), pem, why="indented"))
    # Serial 1 re-signed with a wrong prev: signed, but no chain starts so.
    first = dict(json.loads(lines[0]), prev="ab" * 32)
    cases.append(case(json.dumps(resign(signer, first)), pem, why="genesis prev"))
    for text in ("", "[]", "null", "7", '"record"', "{", '{"serial": 1}', "{}"):
        cases.append(case(text, pem, why="not a record"))
    return cases


def pythonVerdict(given: dict[str, Any]) -> str:
    """
    What Python's verifier says of one case: C{randnum verify}'s checks.
    """
    try:
        record = parseRecord(given["record"])
        verifyDraw(record, given["key"])
        if given["previous"] is not None:
            previous = parseRecord(given["previous"])
            public = _publicKey(given["key"])
            verifyChains([previous, record], {keyId(public): public})
    except RecordError:
        return "invalid"
    return "valid"


def _publicKey(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(pem.encode())


@pytest.fixture
def verifierPage(browser: Any, tmp_path: Path) -> Any:
    """
    The browser, on the verify page saved to disk (no server).
    """
    page = tmp_path / "verify.html"
    page.write_bytes(
        renderPage("verify.html", "Verify", {"publicKey": None, "keyId": None})
    )
    browser.get(page.as_uri())
    return browser


def test_theVerifiersAgreeOnEveryRecord(verifierPage: Any, tmp_path: Path) -> None:
    signer, lines = genuineRecords(tmp_path)
    other = Signer.fromFile(_newKey(tmp_path))
    cases = allCases(signer, lines, other)
    expected = [pythonVerdict(c) for c in cases]
    results = runVerifier(verifierPage, cases)
    disagreements = [
        (c["why"], c["record"][:120], want, got)
        for c, want, got in zip(cases, expected, results, strict=True)
        if got["verdict"] != want
    ]
    assert disagreements == []
    # Both verdicts are well represented: the cases test something.
    assert expected.count("valid") >= 2 * len(lines)
    assert expected.count("invalid") >= 20 * len(lines)
    # The link was checked wherever the record before was given.
    for c, got in zip(cases, results, strict=True):
        if c["why"] == "genuine, linked":
            assert got["chain"] == "linked"
        if c["why"] == "gap: not checked":
            assert got["chain"] == "not checked"
        if c["why"] == "fork":
            assert got["reasons"][0].startswith("the previous record does not link")
        if c["why"] in ("value", "data", "signature swapped", "signature malleated"):
            assert got["reasons"] == [
                "the signature does not match: the record was changed after "
                "signing, or signed by another key"
            ]
        if c["why"] == "wrong key":
            assert got["reasons"][0].startswith("the record names key ")


def _newKey(tmp_path: Path) -> Path:
    from randnum.signing.keys import generateKey

    path = tmp_path / "other.pem"
    generateKey(path)
    return path


# JSON values a record may hold.  Member names stay below U+10000: there
# Python's code-point order is RFC 8785's UTF-16 order (see
# randnum.signing.records.canonical, and the test after this one).
names = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]))
jsonValues = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-SAFE_INTEGER, SAFE_INTEGER)
    | st.text()
    | st.sampled_from(["\x00\x1f\x7f\u2028", '"\\/', "😀", "\U0010ffff", "é"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            names | st.sampled_from(["é", "1", "10", "a"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(jsonValues, min_size=20, max_size=40))
def test_canonicalAgrees(verifierPage: Any, values: list[Any]) -> None:
    got = verifierPage.execute_script(
        "return JSON.parse(arguments[0]).map(window.randnumVerify.canonical);",
        json.dumps(values),
    )
    assert got == [canonical(value).decode("utf-8") for value in values]


def test_canonicalIsRFC8785(verifierPage: Any) -> None:
    # RFC 8785, section 3.2.3: names sorted by UTF-16 code units, where an
    # astral character (a surrogate pair) sorts before U+FB33.
    sample = (
        '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew",'
        '"1":"One","\\ud83d\\ude00":"Emoji","\\u0080":"Control","\\u00f6":"o"}'
    )
    got = verifierPage.execute_script(
        "return window.randnumVerify.canonical(JSON.parse(arguments[0]));", sample
    )
    assert got == (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"o",'
        '"€":"Euro Sign","😀":"Emoji","\ufb33":"Hebrew"}'
    )
    # Section 3.2.2.2's strings: escaped as JSON.stringify escapes them.
    strings = '"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/"'
    got = verifierPage.execute_script(
        "return window.randnumVerify.canonical(JSON.parse(arguments[0]));", strings
    )
    assert got == '"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"'
    assert got == canonical(json.loads(strings)).decode()
    # What no record holds is refused, as Python refuses it.
    refused = verifierPage.execute_script(
        "var out = [];"
        "[1.5, 2 ** 53, -(2 ** 53), NaN, undefined].forEach(function (v) {"
        "  try { window.randnumVerify.canonical([v]); out.push('accepted'); }"
        "  catch (e) { out.push('refused'); }"
        "});"
        "return out;"
    )
    assert refused == ["refused"] * 5
    for value in (1.5, 2**53, -(2**53)):
        with pytest.raises(TypeError):
            canonical([value])
