"""
Signed draw records: canonical JSON (RFC 8785) and verification.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from hypothesis import given
from hypothesis import strategies as st
from signers import drawn, makeStore, newSigner
from twisted.internet.task import Clock

from randnum.signing.records import (
    GENESIS,
    SAFE_INTEGER,
    RecordError,
    canonical,
    digest,
    keyId,
    parseRecord,
    signedBytes,
    verifyChains,
    verifyDraw,
    verifyRecord,
)

# Canonical JSON.


def jcsString(text: str) -> str:
    """
    RFC 8785 section 3.2.2.2, written out: ECMAScript's JSON.stringify
    escaping, independently of the implementation under test.
    """
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n"}
    short.update({"\r": "\\r", "\t": "\\t"})
    out = []
    for character in text:
        if character in short:
            out.append(short[character])
        elif ord(character) < 0x20:
            out.append(f"\\u{ord(character):04x}")
        else:
            out.append(character)
    return '"' + "".join(out) + '"'


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_stringsAreEscapedAsJcsSays(text: str) -> None:
    assert canonical(text) == jcsString(text).encode("utf-8")


def test_rfc8785Example() -> None:
    # The structure of RFC 8785's section 3.2.3 example, with the numbers a
    # record may hold: names sorted, no whitespace, literals as they are.
    value = {
        "numbers": [333333333, 4, 2, 4503599627370495, 0, -0, 1],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    assert canonical(value) == (
        '{"literals":[null,true,false],"numbers":[333333333,4,2,'
        '4503599627370495,0,0,1],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode("utf-8")


def test_namesAreSortedAtEveryLevel() -> None:
    assert canonical({"b": {"z": 1, "a": 2}, "a": [{"y": 1, "x": 2}]}) == (
        b'{"a":[{"x":2,"y":1}],"b":{"a":2,"z":1}}'
    )


@pytest.mark.parametrize(
    "value", [1.5, SAFE_INTEGER + 1, -SAFE_INTEGER - 1, {"a": [0.0]}, {1: 2}, b"x"]
)
def test_whatJcsCannotCarryExactlyIsRefused(value: Any) -> None:
    with pytest.raises(TypeError):
        canonical(value)


def test_safeIntegersAreNumbers() -> None:
    assert canonical([SAFE_INTEGER, -SAFE_INTEGER]) == (
        b"[9007199254740991,-9007199254740991]"
    )


# Records.


def record(tmp_path: Path, count: int = 1) -> tuple[list[dict[str, Any]], Any]:
    store, _ = makeStore(tmp_path, Clock())
    lines = drawn(store, count)
    return [json.loads(line) for line in lines], store.signer


def test_aRecordVerifiesWithItsKey(tmp_path: Path) -> None:
    (first,), signer = record(tmp_path)
    verifyDraw(first, signer.publicKey)
    verifyDraw(first, signer.publicPem)
    assert first["key"] == keyId(signer.publicKey)
    assert first["prev"] == GENESIS and first["serial"] == 1


def test_theSignatureIsOverTheCanonicalRecordWithoutIt(tmp_path: Path) -> None:
    (first,), signer = record(tmp_path)
    signature = base64.b64decode(first["signature"])
    unsigned = {k: v for k, v in first.items() if k != "signature"}
    signer.publicKey.verify(signature, canonical(unsigned))
    assert signedBytes(first) == canonical(unsigned)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update(values=[r["values"][0] + 1]),
        lambda r: r.update(time="2000-01-01T00:00:00.000Z"),
        lambda r: r.update(data="added"),
        lambda r: r["request"].update(max=6),
        lambda r: r.update(serial=2),
        lambda r: r.update(signature=base64.b64encode(b"\0" * 64).decode()),
        lambda r: r.update(signature="not base64!"),
        lambda r: r.update(signature=r["signature"] + "!!"),
    ],
)
def test_anyChangeBreaksTheSignature(tmp_path: Path, change: Any) -> None:
    (first,), signer = record(tmp_path)
    change(first)
    with pytest.raises(RecordError, match=r"bad signature|prev"):
        verifyDraw(first, signer.publicKey)


def test_anotherKeyIsNotTheKey(tmp_path: Path) -> None:
    (first,), _ = record(tmp_path)
    other = newSigner()
    with pytest.raises(RecordError, match="unknown key"):
        verifyDraw(first, other.publicKey)
    # A record claiming another key's id, still signed by the first.
    first["key"] = other.keyId
    with pytest.raises(RecordError, match="bad signature"):
        verifyRecord(first, {other.keyId: other.publicKey})


def test_chainsLinkByDigest(tmp_path: Path) -> None:
    records, signer = record(tmp_path, 3)
    assert [r["serial"] for r in records] == [1, 2, 3]
    for before, after in itertools.pairwise(records):
        assert after["prev"] == digest(before)
        assert after["prev"] == hashlib.sha256(canonical(before)).hexdigest()
    report = verifyChains(records, {signer.keyId: signer.publicKey}, complete=True)
    assert report.records == 3 and report.chains == {signer.keyId: (1, 3)}


def test_aBrokenLinkNamesItsSerial(tmp_path: Path) -> None:
    records, signer = record(tmp_path, 3)
    keys = {signer.keyId: signer.publicKey}
    with pytest.raises(RecordError) as caught:
        verifyChains([records[0], records[2]], keys, complete=True)
    assert caught.value.serial == 3 and "missing" in caught.value.reason
    report = verifyChains([records[0], records[2]], keys)
    assert report.gaps == {signer.keyId: [(2, 2)]}
    with pytest.raises(RecordError, match="out of order") as caught:
        verifyChains([records[1], records[0]], keys)
    assert caught.value.serial == 1


def test_aSubstitutedRecordBreaksTheNextLink(tmp_path: Path) -> None:
    # A server that drew record 2 twice and kept the one it liked cannot
    # make both link: record 3 names the digest of the one it followed.
    records, signer = record(tmp_path, 3)
    redrawn = dict(records[1], values=[records[1]["values"][0] + 1])
    redrawn["signature"] = base64.b64encode(signer.sign(signedBytes(redrawn))).decode()
    keys = {signer.keyId: signer.publicKey}
    verifyRecord(redrawn, keys)  # validly signed on its own
    with pytest.raises(RecordError, match="prev does not link") as caught:
        verifyChains([records[0], redrawn, records[2]], keys)
    assert caught.value.serial == 3


def test_theSameRecordTwiceIsPassedOverButAForkIsNamed(tmp_path: Path) -> None:
    records, signer = record(tmp_path, 3)
    keys = {signer.keyId: signer.publicKey}
    report = verifyChains([*records[:2], records[1], records[2]], keys, complete=True)
    assert report.records == 3
    forked = dict(records[1], values=[records[1]["values"][0] + 1])
    forked["signature"] = base64.b64encode(signer.sign(signedBytes(forked))).decode()
    with pytest.raises(RecordError) as caught:
        verifyChains([records[0], records[1], forked], keys)
    assert (caught.value.serial, caught.value.reason) == (
        2,
        "two different records with this serial, both signed: the chain forks",
    )


def test_verifyDrawTakesWhatAClientHasAtHand(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    (line,) = drawn(store, 1)
    (tmp_path / "k.pub").write_text(store.signer.publicPem)
    verifyDraw(line, tmp_path / "k.pub")
    verifyDraw(line.decode(), str(tmp_path / "k.pub"))
    private = store.signer._key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    verifyDraw(json.loads(line), private)
    with pytest.raises(ValueError, match="not a PEM Ed25519 public key"):
        verifyDraw(line, b"-----BEGIN PUBLIC KEY-----\nnonsense\n")


def test_severalChainsVerifyTogether(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, signerA = record(tmp_path / "a", 2)
    second, signerB = record(tmp_path / "b", 2)
    keys = {s.keyId: s.publicKey for s in (signerA, signerB)}
    mixed = [first[0], second[0], first[1], second[1]]
    report = verifyChains(mixed, keys, complete=True)
    assert report.chains == {signerA.keyId: (1, 2), signerB.keyId: (1, 2)}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[]", "not a JSON object"),
        ("{", "not a record"),
        ('{"serial": 1}', "no time"),
        ('{"serial": 1.5, "time": 1}', "non-integer"),
    ],
)
def test_whatIsNotARecordIsSaidSo(text: str, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        parseRecord(text)


# The docs' verification in plain Python (docs/signed-draws.md).

PAGE = Path(__file__).resolve().parents[2] / "docs" / "signed-draws.md"


def docsVerifier() -> str:
    text = PAGE.read_text()
    block = text[text.index("<!-- docs:run-with=verifyScript -->") :]
    return block.split("```python\n", 1)[1].split("```", 1)[0]


def test_theDocsPlainVerifierIsTenLinesWithoutRandnum() -> None:
    code = docsVerifier()
    statements = [line for line in code.splitlines() if line.strip()]
    assert len(statements) <= 12
    assert "randnum" not in code


@pytest.mark.live  # runs the verifier as a script, in an isolated Python
def test_theDocsPlainVerifierChecksRecords(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    lines = drawn(store, 3)
    (tmp_path / "verify.py").write_text(docsVerifier())
    (tmp_path / "key.pub").write_text(store.signer.publicPem)
    (tmp_path / "draws.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))

    def verify(records: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", "verify.py", "key.pub", records],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = verify("draws.jsonl")
    assert good.returncode == 0, good.stderr
    assert good.stdout == "ok\n"
    changed = json.loads(lines[1])
    changed["values"] = [99]
    (tmp_path / "changed.jsonl").write_text(json.dumps(changed) + "\n")
    bad = verify("changed.jsonl")
    assert bad.returncode != 0 and "InvalidSignature" in bad.stderr


# Pinned details: what each refusal says, and of which serial.


def test_canonicalRefusalsSayWhy() -> None:
    with pytest.raises(TypeError) as caught:
        canonical([SAFE_INTEGER + 1])
    assert str(caught.value) == "integer 9007199254740992 is beyond 2**53 - 1"
    with pytest.raises(TypeError) as caught:
        canonical({1: 2})
    assert str(caught.value) == "object member names must be strings"
    with pytest.raises(TypeError) as caught:
        canonical(1.5)
    assert str(caught.value) == "float has no canonical form here"
    assert canonical([None, True, {"a": [1]}]) == b'[null,true,{"a":[1]}]'


@pytest.mark.parametrize(
    ("text", "serial", "reason"),
    [
        ('{"serial":1,"values":[NaN]}', "?", "not a record: non-integer number NaN"),
        ('{"serial":1,"values":[1e3]}', "?", "not a record: non-integer number 1e3"),
        ('"x"', "?", "not a record: not a JSON object"),
        (
            '{"serial": 3}',
            3,
            "incomplete record: no time, request, values, key, prev, signature",
        ),
        (
            "{}",
            "?",
            "not a record: no serial, time, request, values, key, prev, signature",
        ),
    ],
)
def test_whatIsNotARecordIsSaidExactly(text: str, serial: object, reason: str) -> None:
    with pytest.raises(RecordError) as caught:
        parseRecord(text)
    assert (caught.value.serial, caught.value.reason) == (serial, reason)


@pytest.mark.parametrize("serial", [0, -1, True, "1", None])
def test_aSerialIsAPositiveInteger(serial: object) -> None:
    fields = {name: "x" for name in ("time", "request", "values", "key", "prev")}
    text = json.dumps({**fields, "serial": serial, "signature": "s"})
    with pytest.raises(RecordError) as caught:
        parseRecord(text)
    assert (caught.value.serial, caught.value.reason) == (
        serial,
        "serial is not a positive integer",
    )


def test_verificationNamesTheSerial(tmp_path: Path) -> None:
    records, signer = record(tmp_path, 2)
    keys = {signer.keyId: signer.publicKey}
    other = newSigner()
    second = dict(records[1])
    second["key"] = other.keyId
    with pytest.raises(RecordError) as caught:
        verifyRecord(second, keys)
    assert caught.value.serial == 2
    assert caught.value.reason == f"signed by an unknown key {other.keyId!r}"
    assert str(caught.value) == f"serial 2: signed by an unknown key {other.keyId!r}"
    liar = {other.keyId: signer.publicKey}  # a key filed under another's id
    with pytest.raises(RecordError) as caught:
        verifyRecord(second, liar)
    assert (caught.value.serial, caught.value.reason) == (
        2,
        "key id does not match the key",
    )
    # A first record must start the chain.
    first = dict(records[0], prev="1" * 64)
    first["signature"] = base64.b64encode(signer.sign(signedBytes(first))).decode()
    with pytest.raises(RecordError) as caught:
        verifyRecord(first, keys)
    assert (caught.value.serial, caught.value.reason) == (
        1,
        "serial 1 must have prev = 64 zeros",
    )
    unsigned = {k: v for k, v in records[1].items() if k != "signature"}
    with pytest.raises(RecordError) as caught:
        verifyDraw(unsigned, signer.publicKey)
    assert (caught.value.serial, caught.value.reason) == (
        2,
        "not a record: no signature",
    )


def test_chainRefusalsSayWhich(tmp_path: Path) -> None:
    records, signer = record(tmp_path, 3)
    keys = {signer.keyId: signer.publicKey}
    cases = [
        (
            [records[1], records[0]],
            1,
            "follows serial 2: out of order (give each "
            "chain's records in serial order)",
        ),
        ([records[0], records[2]], 3, "follows serial 1: serials missing"),
    ]
    for chain, serial, reason in cases:
        with pytest.raises(RecordError) as caught:
            verifyChains(chain, keys, complete=True)
        assert (caught.value.serial, caught.value.reason) == (serial, reason)
    report = verifyChains([records[0], records[2]], keys)
    assert report.records == 2 and report.chains == {signer.keyId: (1, 3)}
    assert verifyChains([], keys).records == 0


def test_aKeyMayBeGivenManyWays(tmp_path: Path) -> None:
    store, _ = makeStore(tmp_path, Clock())
    (line,) = drawn(store, 1)
    (tmp_path / "k.pub").write_text(store.signer.publicPem)
    verifyDraw(line, Path(tmp_path / "k.pub"))
    verifyDraw(line, store.signer.publicPem.encode("ascii"))
    ecKey = tmp_path / "ec.pub"
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import PublicFormat

    ecKey.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match=r"^not an Ed25519 key$"):
        verifyDraw(line, ecKey)


def test_refusalsNameTheSerialOrAQuestionMark(tmp_path: Path) -> None:
    (first,), signer = record(tmp_path)
    keys = {signer.keyId: signer.publicKey}
    tampered = dict(first, values=[first["values"][0] + 1])
    with pytest.raises(RecordError) as caught:
        verifyRecord(tampered, keys)
    assert (caught.value.serial, caught.value.reason) == (1, "bad signature")
    # Without a serial, a refusal names "?".
    anonymous = {k: v for k, v in tampered.items() if k != "serial"}
    with pytest.raises(RecordError) as caught:
        verifyRecord(anonymous, keys)
    assert caught.value.serial == "?"
    with pytest.raises(RecordError) as caught:
        verifyDraw({}, signer.publicKey)
    assert (caught.value.serial, caught.value.reason) == (
        "?",
        "not a record: no serial",
    )


def test_whatIsNotAKeyIsSaidExactly(tmp_path: Path) -> None:
    (first,), _ = record(tmp_path)
    with pytest.raises(ValueError) as caught:
        verifyDraw(first, "-----BEGIN PUBLIC KEY-----\nnot a key\n")
    assert str(caught.value) == "not a PEM Ed25519 public key"
