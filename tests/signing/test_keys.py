# Twisted's test doubles (MemoryReactorClock) are not annotated.
# mypy: disallow-untyped-calls=False
"""
Signing keys (C{randnum keygen}), and what C{twistd randnum} says of a
signing key or audit database it cannot use.
"""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from servers import run
from signers import newSigner
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage

from randnum.signing.keys import (
    KeyFileError,
    Signer,
    generateKey,
    loadPrivateKey,
    loadPublicKey,
    parsePublicPem,
)
from randnum.signing.records import keyId
from randnum.tap import Options


def test_keygenWritesAPrivateKeyOnlyItsOwnerReads(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    identity = generateKey(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    public = loadPublicKey(tmp_path / "signing.pem.pub")
    assert keyId(public) == identity == Signer.fromFile(path).keyId
    assert len(identity) == 64 and int(identity, 16) >= 0


@pytest.mark.parametrize("existing", ["signing.pem", "signing.pem.pub"])
def test_keygenNeverOverwrites(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("precious")
    with pytest.raises(KeyFileError, match="already exists; not overwriting"):
        generateKey(tmp_path / "signing.pem")
    assert (tmp_path / existing).read_text() == "precious"
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.live
def test_keygenCommand(tmp_path: Path) -> None:
    made = run("randnum", "keygen", "k.pem", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == Signer.fromFile(tmp_path / "k.pem").keyId
    again = run("randnum", "keygen", "k.pem", cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "randnum: k.pem already exists; not overwriting it (--if-missing "
        "keeps it and prints its key id)"
    )
    usageError = run("randnum", "keygen", cwd=tmp_path)
    assert usageError.returncode == 2 and "give one KEYFILE" in usageError.stderr
    assert "Traceback" not in usageError.stderr + again.stderr


@pytest.mark.live
def test_keygenIfMissingKeepsAnExistingKey(tmp_path: Path) -> None:
    first = run("randnum", "keygen", "--if-missing", "k.pem", cwd=tmp_path)
    assert first.returncode == 0 and "wrote k.pem" in first.stderr
    kept = run("randnum", "keygen", "--if-missing", "k.pem", cwd=tmp_path)
    assert kept.returncode == 0 and "keeping the key in k.pem" in kept.stderr
    assert kept.stdout == first.stdout
    (tmp_path / "k.pem.pub").unlink()
    again = run("randnum", "keygen", "--if-missing", "k.pem", cwd=tmp_path)
    assert again.stdout == first.stdout
    assert keyId(loadPublicKey(tmp_path / "k.pem.pub")) == first.stdout.strip()
    (tmp_path / "bad.pem").write_text("junk")
    bad = run("randnum", "keygen", "--if-missing", "bad.pem", cwd=tmp_path)
    assert bad.returncode == 1 and "not a PEM private key" in bad.stderr


def test_keygenIntoAMissingDirectory(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"cannot write .*No such file"):
        generateKey(tmp_path / "nowhere" / "k.pem")


def writeKey(path: Path, key: object, password: bytes | None = None) -> Path:
    encryption = BestAvailableEncryption(password) if password else NoEncryption()
    path.write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            Encoding.PEM, PrivateFormat.PKCS8, encryption
        )
    )
    return path


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, r"cannot read .*No such file"),
        (b"hello", r"is not a PEM private key .*randnum keygen"),
        ("public", "is a public key; the signing key is the private one"),
        ("rsa", "holds an RSA key, not an Ed25519 key"),
        ("ec", r"holds an elliptic-curve key \(secp256r1\), not an Ed25519 key"),
        ("encrypted", "is encrypted"),
    ],
)
def test_unusableKeysAreExplained(
    tmp_path: Path, content: bytes | str | None, reason: str
) -> None:
    path = tmp_path / "key.pem"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "public":
        generateKey(tmp_path / "made.pem")
        path.write_bytes((tmp_path / "made.pem.pub").read_bytes())
    elif content == "rsa":
        writeKey(path, rsa.generate_private_key(65537, 2048))
    elif content == "ec":
        writeKey(path, ec.generate_private_key(ec.SECP256R1()))
    elif content == "encrypted":
        writeKey(path, newSigner()._key, b"secret")
    with pytest.raises(KeyFileError, match=reason):
        loadPrivateKey(path)


def test_aPublicKeyIsReadFromEitherFile(tmp_path: Path) -> None:
    identity = generateKey(tmp_path / "k.pem")
    assert keyId(loadPublicKey(tmp_path / "k.pem")) == identity
    assert keyId(parsePublicPem((tmp_path / "k.pem.pub").read_text())) == identity
    with pytest.raises(KeyFileError, match="not a PEM public key"):
        parsePublicPem("nonsense")


# twistd randnum's options.


def parse(*args: str) -> Options:
    options = Options(reactor=MemoryReactorClock())
    options.parseOptions(list(args))
    return options


def test_signingNeedsAKeyAndAStore(tmp_path: Path) -> None:
    generateKey(tmp_path / "k.pem")
    with pytest.raises(usage.UsageError, match="--signing-key needs --audit-db"):
        parse("--signing-key", str(tmp_path / "k.pem"))
    with pytest.raises(usage.UsageError, match="--audit-db needs --signing-key"):
        parse("--audit-db", str(tmp_path / "a.db"))
    assert not (tmp_path / "a.db").exists()
    options = parse(
        "--signing-key", str(tmp_path / "k.pem"), "--audit-db", str(tmp_path / "a.db")
    )
    assert options.signing is not None and options.signing.tail[0] == 0
    assert parse().signing is None


@pytest.mark.parametrize(
    ("given", "size"),
    [("0", 0), ("1000", 1000), ("900M", 900 << 20), ("2GiB", 2 << 30)],
)
def test_theAuditStoreMayBeGivenALimit(tmp_path: Path, given: str, size: int) -> None:
    generateKey(tmp_path / "k.pem")
    options = parse(
        *("--signing-key", str(tmp_path / "k.pem")),
        *("--audit-db", str(tmp_path / "a.db"), "--audit-max-size", given),
    )
    assert options.config.auditMaxSize == size


def test_aBadAuditLimitIsAUsageError(tmp_path: Path) -> None:
    generateKey(tmp_path / "k.pem")
    with pytest.raises(usage.UsageError, match="--audit-max-size must be a size"):
        parse(
            *("--signing-key", str(tmp_path / "k.pem")),
            *("--audit-db", str(tmp_path / "a.db"), "--audit-max-size", "lots"),
        )


def test_oneAuditDatabaseServesOneProcess(tmp_path: Path) -> None:
    generateKey(tmp_path / "k.pem")
    args = (
        "--signing-key",
        str(tmp_path / "k.pem"),
        "--audit-db",
        str(tmp_path / "a.db"),
    )
    first = parse(*args)
    with pytest.raises(usage.UsageError, match="in use by another randnum process"):
        parse(*args)
    assert first.signing is not None
    first.signing.lock.close()  # as when that process ends
    parse(*args)


def test_anUnusableKeyIsAUsageError(tmp_path: Path) -> None:
    (tmp_path / "k.pem").write_text("junk")
    with pytest.raises(usage.UsageError, match=r"^--signing-key: .* not a PEM private"):
        parse("--signing-key", str(tmp_path / "k.pem"), "--audit-db", "a.db")


@pytest.mark.parametrize("damage", ["garbage", "foreign table", "other key"])
def test_anUnusableStoreIsAUsageError(tmp_path: Path, damage: str) -> None:
    generateKey(tmp_path / "k.pem")
    database = tmp_path / "a.db"
    if damage == "garbage":
        database.write_bytes(b"not a database at all" * 200)
    elif damage == "foreign table":
        with sqlite3.connect(database) as connection:
            connection.execute("CREATE TABLE draws (a, b)")
            connection.execute("INSERT INTO draws VALUES (1, 2)")
    else:
        generateKey(tmp_path / "other.pem")
        parse(
            *("--signing-key", str(tmp_path / "other.pem")),
            *("--audit-db", str(database)),
        )
        with sqlite3.connect(database) as connection:
            connection.execute("INSERT INTO draws VALUES (1, ?)", (_record(tmp_path),))
    with pytest.raises(usage.UsageError, match=r"^--audit-db: the audit database"):
        parse("--signing-key", str(tmp_path / "k.pem"), "--audit-db", str(database))


def _record(tmp_path: Path) -> str:
    """
    A valid record signed with other.pem.
    """
    from signers import drawn, makeStore
    from twisted.internet.task import Clock

    (tmp_path / "scratch").mkdir()
    store, _ = makeStore(
        tmp_path / "scratch", Clock(), Signer.fromFile(tmp_path / "other.pem")
    )
    return drawn(store, 1)[0].decode()


@pytest.mark.live
def test_twistdSaysWhatIsWrongInOneLine(tmp_path: Path) -> None:
    (tmp_path / "k.pem").write_text("junk")
    result = run(
        "twistd",
        *("-n", "--pidfile=", "randnum", "--signing-key", "k.pem"),
        *("--audit-db", "a.db"),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "twistd randnum: --signing-key: k.pem is not a PEM private key "
        "(make one with 'randnum keygen')"
    )
    assert "Traceback" not in result.stderr


def test_anAuditDatabaseInAMissingDirectoryIsAUsageError(tmp_path: Path) -> None:
    generateKey(tmp_path / "k.pem")
    missing = tmp_path / "x" / "audit.db"
    with pytest.raises(usage.UsageError) as raised:
        parse("--signing-key", str(tmp_path / "k.pem"), "--audit-db", str(missing))
    assert str(raised.value) == (
        f"--audit-db {str(missing)!r}: the directory {tmp_path / 'x'} does not exist"
    )
