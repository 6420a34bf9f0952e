"""
L{randnum.jsonrpc.keys}: the API keys file, plain or TOML.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from randnum.jsonrpc.keys import (
    MOST_KEY_CHARACTERS,
    ApiKey,
    KeysError,
    loadKeys,
    parsePlain,
    parseToml,
    validKey,
)

needsTomllib = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="tomllib is Python 3.11's"
)

PLAIN = """\
# key                                   name     allowances
7f3c2e4d-0b9a-4c1e-9d3f-2a6b8c0e1f42    alice    requests=1000 bits=250000

c0ffee00    batch
0badc0de    old      stopped   # kept for its history
"""

TOML = """\
[[key]]
key = "7f3c2e4d-0b9a-4c1e-9d3f-2a6b8c0e1f42"
name = "alice"
requests = 1000
bits = 250000

[[key]]
key = "c0ffee00"
name = "batch"

[[key]]
key = "0badc0de"
name = "old"
status = "stopped"
"""

EXPECTED = {
    "7f3c2e4d-0b9a-4c1e-9d3f-2a6b8c0e1f42": ApiKey(
        "7f3c2e4d-0b9a-4c1e-9d3f-2a6b8c0e1f42", "alice", 1000, 250000
    ),
    "c0ffee00": ApiKey("c0ffee00", "batch", None, None),
    "0badc0de": ApiKey("0badc0de", "old", None, None, running=False),
}


def test_plainLinesNameKeysWithTheirAllowances() -> None:
    assert parsePlain("keys", PLAIN) == EXPECTED


@needsTomllib
def test_tomlTablesNameTheSameKeys() -> None:
    assert parseToml("keys.toml", TOML) == EXPECTED


@needsTomllib
def test_theFormatFollowsTheFilesName(tmp_path: Path) -> None:
    (tmp_path / "keys.toml").write_text(TOML)
    (tmp_path / "keys").write_text(PLAIN)
    assert loadKeys(str(tmp_path / "keys.toml")) == EXPECTED
    assert loadKeys(str(tmp_path / "keys")) == EXPECTED
    with pytest.raises(KeysError):
        # TOML read as plain lines: '[[key]]' has no name after it.
        (tmp_path / "toml-text").write_text(TOML)
        loadKeys(str(tmp_path / "toml-text"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lonely\n", "keys, line 1: a key needs a name after it: KEY NAME"),
        (
            "a n\nb m requests=0\n",
            "keys, line 2: requests is a daily allowance: a positive integer, not 0",
        ),
        (
            "a n bits=-5\n",
            "keys, line 1: bits is a daily allowance: a positive integer, not '-5'",
        ),
        (
            "a n bits=lots\n",
            "keys, line 1: bits is a daily allowance: a positive integer, not 'lots'",
        ),
        ("a n bits=1 bits=2\n", "keys, line 1: bits= is given twice"),
        (
            "a n colour=red\n",
            "keys, line 1: unknown field 'colour=red': after KEY NAME come "
            "requests=N, bits=N and stopped",
        ),
        ("a n\n\n# x\na m\n", "keys, line 4: this key is already given on line 1"),
        ("a n\nb n\n", "keys, line 2: the name 'n' is already given on line 1"),
        (
            "x" * (MOST_KEY_CHARACTERS + 1) + " n\n",
            "keys, line 1: a key is 1 to 128 printable characters without spaces",
        ),
        (
            "\x07 n\n",
            "keys, line 1: a key is 1 to 128 printable characters without spaces",
        ),
        ("# nothing\n\n", "keys names no API keys"),
    ],
)
def test_aBadPlainFileSaysWhichLineAndWhy(text: str, message: str) -> None:
    with pytest.raises(KeysError) as raised:
        parsePlain("keys", text)
    assert str(raised.value) == message


@needsTomllib
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[key]]\nkey = "a"\nname = "n"\n\n[[key]]\nkey = "b"\nname = "m"\n'
            "requests = 0\n",
            "k.toml, line 8: requests is a daily allowance: a positive integer, not 0",
        ),
        (
            '[[key]]\nkey = "a"\nname = "n"\nbits = "5"\n',
            "k.toml, line 4: bits is a daily allowance: a positive integer, not '5'",
        ),
        (
            '[[key]]\nkey = "a"\nname = "n"\nbits = true\n',
            "k.toml, line 4: bits is a daily allowance: a positive integer, not True",
        ),
        (
            '[[key]]\nkey = "a"\nname = "n"\ncolour = "red"\n',
            "k.toml, line 4: unknown field 'colour': a key's fields are key, "
            "name, requests, bits, status",
        ),
        (
            '[[key]]\nkey = "a"\nname = "n"\nstatus = "paused"\n',
            'k.toml, line 4: status is "running" or "stopped", not \'paused\'',
        ),
        ('[[key]]\nname = "n"\n', 'k.toml, line 1: each [[key]] needs key = "..."'),
        (
            '[[key]]\nkey = 5\nname = "n"\n',
            'k.toml, line 1: each [[key]] needs key = "..."',
        ),
        ('[[key]]\nkey = "a"\n', 'k.toml, line 1: each [[key]] needs name = "..."'),
        (
            '[[key]]\nkey = "a b"\nname = "n"\n',
            "k.toml, line 1: a key is 1 to 128 printable characters without spaces",
        ),
        (
            '[[key]]\nkey = "a"\nname = "n"\n[[key]]\nkey = "a"\nname = "m"\n',
            "k.toml, line 4: this key is already given on line 1",
        ),
        (
            '[[key]]\nkey = "a"\nname = "n"\n[[key]]\nkey = "b"\nname = "n"\n',
            "k.toml, line 4: the name 'n' is already given on line 1",
        ),
        (
            "keys = 1\n",
            "k.toml: unknown table or field 'keys': a keys file is [[key]] tables",
        ),
        ('[key]\nkey = "a"\n', "k.toml: each key is a [[key]] table, not [key]"),
        ("", "k.toml names no API keys"),
    ],
)
def test_aBadTomlFileSaysWhichTableAndWhy(text: str, message: str) -> None:
    with pytest.raises(KeysError) as raised:
        parseToml("k.toml", text)
    assert str(raised.value) == message


@needsTomllib
def test_textThatIsNotTomlIsSaidToBeSo() -> None:
    with pytest.raises(KeysError) as raised:
        parseToml("k.toml", "[[key]\n")
    assert str(raised.value).startswith("k.toml: not TOML: ")
    assert "line 1" in str(raised.value)


def test_aFileThatCannotBeReadIsSaidToBeSo(tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    with pytest.raises(KeysError) as raised:
        loadKeys(str(missing))
    assert str(raised.value) == f"cannot read {missing}: No such file or directory"
    (tmp_path / "binary").write_bytes(b"\xff\xfe n\n")
    with pytest.raises(KeysError) as raised:
        loadKeys(str(tmp_path / "binary"))
    assert str(raised.value) == f"{tmp_path / 'binary'} is not UTF-8 text"


_KEY_CHARACTERS = st.characters(
    blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp", "Cf", "Co", "Cn"),
    blacklist_characters="#",
)


@given(
    st.lists(
        st.tuples(
            st.text(_KEY_CHARACTERS, min_size=1, max_size=MOST_KEY_CHARACTERS),
            st.none() | st.integers(1, 10**12),
            st.none() | st.integers(1, 10**12),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda entry: entry[0],
    )
)
def test_anyKeysWrittenAsLinesReadBack(
    entries: list[tuple[str, int | None, int | None, bool]],
) -> None:
    keys = {
        key: ApiKey(key, f"name{number}", requests, bits, running)
        for number, (key, requests, bits, running) in enumerate(entries)
    }
    lines = []
    for key in keys.values():
        words = [key.key, key.name]
        if key.requests is not None:
            words.append(f"requests={key.requests}")
        if key.bits is not None:
            words.append(f"bits={key.bits}")
        if not key.running:
            words.append("stopped")
        lines.append("  ".join(words))
    assert parsePlain("keys", "\n".join(lines)) == keys


@given(st.text(max_size=200))
def test_anyTextIsKeysOrAKeysError(text: str) -> None:
    try:
        keys = parsePlain("keys", text)
    except KeysError as error:
        assert str(error).startswith("keys")
    else:
        assert keys and all(validKey(key) for key in keys)
