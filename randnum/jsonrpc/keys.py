# -*- test-case-name: tests.jsonrpc.test_keys -*-
"""
The API keys of RANDOM.ORG's JSON-RPC face (C{--api-keys FILE}): each key
with a name, and optional daily allowances of requests and bits.

The file is plain lines::

    # key                                   name     allowances
    7f3c2e4d-0b9a-4c1e-9d3f-2a6b8c0e1f42    alice    requests=1000 bits=250000
    c0ffee00-1234-4abc-8def-0123456789ab    batch
    0badc0de-5678-4fed-8cba-9876543210fe    old      stopped

or, when its name ends in C{.toml}, TOML: a C{[[key]]} table for each,
with C{key}, C{name} and optionally C{requests}, C{bits} and C{status}
(C{"running"} or C{"stopped"}).  No I/O here but reading the file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The longest key, in characters (RANDOM.ORG's C{apiKey} parameter).
MOST_KEY_CHARACTERS = 128

#: A key's two states, as C{getUsage} reports them.
RUNNING = "running"
STOPPED = "stopped"


@dataclass(frozen=True)
class ApiKey:
    """
    One API key.

    @ivar key: the key, as clients send it in C{apiKey}.
    @ivar name: who or what it is for (unique; for logs and people).
    @ivar requests: the requests it may make a UTC day; L{None}: no limit.
    @ivar bits: the random bits it may draw a UTC day; L{None}: no limit.
    @ivar running: whether it may be used (a stopped key gets error 401).
    """

    key: str
    name: str
    requests: int | None
    bits: int | None
    running: bool = True


class KeysError(ValueError):
    """
    A keys file that cannot be used: the message names the file and the
    line at fault, and says why.
    """


def validKey(key: str) -> bool:
    """
    Whether C{key} may be an API key: 1 to L{MOST_KEY_CHARACTERS} printable
    characters, none of them a space.
    """
    return 0 < len(key) <= MOST_KEY_CHARACTERS and all(
        c.isprintable() and not c.isspace() for c in key
    )


class _Collected:
    """
    The keys read so far, and the line each key and name was first given
    on, to refuse one given twice.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.keys: dict[str, ApiKey] = {}
        self.keyLines: dict[str, int] = {}
        self.nameLines: dict[str, int] = {}

    def error(self, line: int, problem: str) -> KeysError:
        return KeysError(f"{self.path}, line {line}: {problem}")

    def add(self, line: int, key: ApiKey) -> None:
        if not validKey(key.key):
            raise self.error(
                line,
                f"a key is 1 to {MOST_KEY_CHARACTERS} printable characters "
                "without spaces",
            )
        if not key.name or not key.name.isprintable():
            raise self.error(line, "a name is printable characters, at least one")
        # The key itself is a secret: messages never repeat it.
        if key.key in self.keyLines:
            raise self.error(
                line, f"this key is already given on line {self.keyLines[key.key]}"
            )
        if key.name in self.nameLines:
            raise self.error(
                line,
                f"the name {key.name!r} is already given on line "
                f"{self.nameLines[key.name]}",
            )
        self.keys[key.key] = key
        self.keyLines[key.key] = line
        self.nameLines[key.name] = line

    def done(self) -> dict[str, ApiKey]:
        if not self.keys:
            raise KeysError(f"{self.path} names no API keys")
        return self.keys


def _allowance(collected: _Collected, line: int, name: str, value: object) -> int:
    """
    A daily allowance: a positive integer.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise collected.error(
            line, f"{name} is a daily allowance: a positive integer, not {value!r}"
        )
    return value


def parsePlain(path: str, text: str) -> dict[str, ApiKey]:
    """
    The keys of a plain keys file: C{KEY NAME [requests=N] [bits=N]
    [stopped]} a line, with C{#} comments and blank lines.

    @param path: the file's name, for messages.
    @raise KeysError: naming the line at fault.
    """
    collected = _Collected(path)
    for number, whole in enumerate(text.splitlines(), 1):
        words = whole.partition("#")[0].split()
        if not words:
            continue
        if len(words) < 2:
            raise collected.error(number, "a key needs a name after it: KEY NAME")
        key, name, *rest = words
        allowances: dict[str, int] = {}
        running = True
        for word in rest:
            field, equals, value = word.partition("=")
            if word == STOPPED:
                running = False
            elif equals and field in ("requests", "bits"):
                if field in allowances:
                    raise collected.error(number, f"{field}= is given twice")
                given: object = (
                    int(value) if re.fullmatch(r"[0-9]{1,18}", value) else value
                )
                allowances[field] = _allowance(collected, number, field, given)
            else:
                raise collected.error(
                    number,
                    f"unknown field {word!r}: after KEY NAME come requests=N, "
                    "bits=N and stopped",
                )
        collected.add(
            number,
            ApiKey(
                key,
                name,
                allowances.get("requests"),
                allowances.get("bits"),
                running,
            ),
        )
    return collected.done()


#: The fields of a key's table in a TOML keys file.
_TOML_FIELDS = ("key", "name", "requests", "bits", "status")

#: A C{[[key]]} table's header.
_TABLE = re.compile(r"\s*\[\[\s*key\s*\]\]")


if sys.version_info >= (3, 11):
    import tomllib

    def _readToml(path: str, text: str) -> dict[str, Any]:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise KeysError(f"{path}: not TOML: {error}") from None

else:

    def _readToml(path: str, text: str) -> dict[str, Any]:
        raise KeysError(
            f"{path}: TOML keys files need Python 3.11 or later; "
            "use the plain format (a file whose name does not end in .toml)"
        )


def parseToml(path: str, text: str) -> dict[str, ApiKey]:
    """
    The keys of a TOML keys file: C{[[key]]} tables.

    @param path: the file's name, for messages.
    @raise KeysError: naming the line at fault (its field's, or its table's header).
    """
    document = _readToml(path, text)
    collected = _Collected(path)
    # tomllib says nothing of where a value was: each table is named by
    # the line of its header, found in the text in the same order.
    headers = [
        number for number, line in enumerate(text.splitlines(), 1) if _TABLE.match(line)
    ]
    unknown = sorted(set(document) - {"key"})
    if unknown:
        raise KeysError(
            f"{path}: unknown table or field {unknown[0]!r}: a keys file is "
            "[[key]] tables"
        )
    tables = document.get("key", [])
    if not isinstance(tables, list):
        raise KeysError(f"{path}: each key is a [[key]] table, not [key]")
    lines = text.splitlines()
    for index, table in enumerate(tables):
        line = headers[index] if index < len(headers) else 0
        end = headers[index + 1] if index + 1 < len(headers) else len(lines) + 1

        def where(field: str, line: int = line, end: int = end) -> int:
            # The line that sets a field, if one of the table's does.
            for number in range(line + 1, end):
                name = lines[number - 1].split("=", 1)[0].strip().strip("\"'")
                if name == field:
                    return number
            return line

        collected.add(line, _tomlKey(collected, line, table, where))
    return collected.done()


def _tomlKey(
    collected: _Collected,
    line: int,
    table: dict[str, Any],
    where: Callable[[str], int],
) -> ApiKey:
    """
    The key one C{[[key]]} table describes; C{where} finds the line of one
    of its fields.
    """
    unknown = sorted(set(table) - set(_TOML_FIELDS))
    if unknown:
        raise collected.error(
            where(unknown[0]),
            f"unknown field {unknown[0]!r}: a key's fields are "
            + ", ".join(_TOML_FIELDS),
        )
    for name in ("key", "name"):
        if not isinstance(table.get(name), str):
            raise collected.error(line, f'each [[key]] needs {name} = "..."')
    status = table.get("status", RUNNING)
    if status not in (RUNNING, STOPPED):
        raise collected.error(
            where("status"), f'status is "running" or "stopped", not {status!r}'
        )
    allowances = {
        name: None
        if table.get(name) is None
        else _allowance(collected, where(name), name, table[name])
        for name in ("requests", "bits")
    }
    return ApiKey(
        table["key"],
        table["name"],
        allowances["requests"],
        allowances["bits"],
        status == RUNNING,
    )


def loadKeys(path: str) -> dict[str, ApiKey]:
    """
    The API keys in the file at C{path}, by key: TOML if its name ends in
    C{.toml}, else plain lines (L{parsePlain}).

    @raise KeysError: if it cannot be read, or is not a keys file.
    """
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as error:
        raise KeysError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise KeysError(f"{path} is not UTF-8 text") from None
    if path.endswith(".toml"):
        return parseToml(path, text)
    return parsePlain(path, text)
