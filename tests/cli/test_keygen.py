"""
C{randnum keygen}, run in this process on files in a temporary directory.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from inprocess import Ran

from randnum.signing.keys import Signer, loadPublicKey
from randnum.signing.records import keyId

Randnum = Callable[..., Ran]


@pytest.fixture(autouse=True)
def inTmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Key files are named relative to a fresh directory.
    """
    monkeypatch.chdir(tmp_path)


def test_keygenWritesTheKeyAndPrintsItsId(randnum: Randnum, tmp_path: Path) -> None:
    made = randnum("keygen", "k.pem")
    identity = Signer.fromFile(tmp_path / "k.pem").keyId
    assert made == Ran(
        0, f"{identity}\n", "randnum: wrote k.pem (private, mode 0600) and k.pem.pub\n"
    )
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    assert keyId(loadPublicKey(tmp_path / "k.pem.pub")) == identity


def test_keygenNeverOverwrites(randnum: Randnum, tmp_path: Path) -> None:
    randnum("keygen", "k.pem")
    before = (tmp_path / "k.pem").read_bytes()
    assert randnum("keygen", "k.pem") == Ran(
        1,
        "",
        "randnum: k.pem already exists; not overwriting it (--if-missing keeps "
        "it and prints its key id)\n",
    )
    assert (tmp_path / "k.pem").read_bytes() == before


def test_ifMissingKeepsAnExistingKey(randnum: Randnum, tmp_path: Path) -> None:
    first = randnum("keygen", "--if-missing", "k.pem")
    assert first.status == 0 and "wrote k.pem" in first.err
    assert randnum("keygen", "--if-missing", "k.pem") == Ran(
        0, first.out, "randnum: keeping the key in k.pem\n"
    )
    (tmp_path / "k.pem.pub").unlink()
    assert randnum("keygen", "--if-missing", "k.pem").out == first.out
    assert keyId(loadPublicKey(tmp_path / "k.pem.pub")) == first.out.strip()


def test_ifMissingRefusesAFileThatIsNotAKey(randnum: Randnum, tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("junk")
    bad = randnum("keygen", "--if-missing", "bad.pem")
    assert (bad.status, bad.out) == (1, "")
    assert bad.err.startswith("randnum: ") and "not a PEM private key" in bad.err
    assert bad.err.count("\n") == 1


def test_aMissingDirectoryIsSaidInOneLine(randnum: Randnum) -> None:
    ran = randnum("keygen", "nowhere/k.pem")
    assert (ran.status, ran.out) == (1, "")
    assert ran.err.startswith("randnum: cannot write ")
    assert "No such file" in ran.err and ran.err.count("\n") == 1


@pytest.mark.parametrize("args", [[], ["a.pem", "b.pem"]])
def test_oneKeyfileIsNeeded(randnum: Randnum, args: list[str]) -> None:
    assert randnum("keygen", *args) == Ran(
        2, "", "randnum: give one KEYFILE\nRun 'randnum keygen --help' for usage.\n"
    )
