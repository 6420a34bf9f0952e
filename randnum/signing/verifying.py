# -*- test-case-name: tests.signing.test_signed_live -*-
"""
C{randnum verify}: check signed draws' records, offline or against a server.

Records are read as JSON lines (what C{randnum get --signed}, the TCP face
and C{GET /v1/draws} give), from a file, standard input, or (with C{--all})
a server's whole audit store, a page at a time.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from randnum.client.webface import FetchError, Refused, WebFace
from randnum.signing.drawings import DrawingError, checkAnswer
from randnum.signing.keys import KeyFileError, parsePublicPem
from randnum.signing.records import (
    ChainReport,
    NotARecord,
    RecordError,
    keyId,
    parseRecord,
)

#: Records asked for per page of C{GET /v1/draws}.
PAGE = 10000


def _isJsonRpc(line: str | bytes) -> bool:
    """
    Whether a line looks like a JSON-RPC response (a signed RANDOM.ORG
    result saved whole) rather than a record.
    """
    text = line if isinstance(line, str) else line.decode("utf-8", "replace")
    return '"jsonrpc"' in text


def readRecords(
    lines: Iterable[str | bytes], name: str = "-"
) -> Iterator[dict[str, Any]]:
    """
    The records in JSON lines (blank lines skipped) read from C{name}: a
    line may also be a public drawing's answer (C{randnum export
    --drawings}), whose record is taken once its entrants and winners are
    checked against it (L{randnum.signing.drawings.checkAnswer}).

    @raise NotARecord: for a line that is not a record, naming C{name} and
        the line.
    """
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            answer = _drawingAnswer(line)
            if answer is not None:
                yield parseRecord(json.dumps(checkAnswer(answer)))
                continue
            yield parseRecord(line)
        except DrawingError as error:
            raise RecordError(
                answer.get("serial") if answer else None,
                f"{name}, line {number}: a drawing whose {error.reason[4:]}"
                if error.reason.startswith("its ")
                else f"{name}, line {number}: {error.reason}",
            ) from None
        except NotARecord as error:
            lacking = f": no {', '.join(error.missing)}" if error.missing else ""
            hint = (
                "a JSON-RPC result's record is GET /v1/draws/SERIAL, SERIAL "
                "being its serialNumber"
                if _isJsonRpc(line)
                else "records are the lines of randnum get --signed or randnum export"
            )
            raise NotARecord(
                error.serial,
                f"{name} line {number} is not a JSON record{lacking} ({hint})",
                error.missing,
            ) from None
        except RecordError as error:
            raise RecordError(
                error.serial, f"{name}, line {number}: {error.reason}"
            ) from None


def _drawingAnswer(line: str | bytes) -> dict[str, Any] | None:
    """
    The drawing's answer a line holds (C{GET /v1/drawings/SERIAL}, as
    C{randnum export --drawings} writes them), or L{None} for another line.
    """
    text = line if isinstance(line, str) else line.decode("utf-8", "replace")
    if '"entrants"' not in text or '"record"' not in text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, dict) and "record" in value and "entrants" in value:
        return value
    return None


def readFiles(names: Iterable[str], stdin: IO[bytes]) -> Iterator[dict[str, Any]]:
    """
    The records of each file in turn (C{-}: C{stdin}), as one stream.

    @raise OSError: for a file that cannot be read.
    """
    for name in names:
        if name == "-":
            yield from readRecords(stdin, "stdin")
            continue
        with open(name, "rb") as file:
            yield from readRecords(file, name)


class DamagedStore(FetchError):
    """
    The server says its audit store is damaged: a record cannot be read.
    """


class Server(WebFace):
    """
    A randnum server's HTTP face, asked for its key and its records.
    """

    def get(self, path: str) -> bytes:
        """
        The body of C{GET path}, which must answer 200.

        @raise Refused: if the server refuses, with its reason (signing is
            not enabled).
        @raise FetchError: otherwise.
        """
        response = self.response(path)
        try:
            if response.status != 200:
                reason = self.refusal(response)
                if response.status == 500:
                    raise DamagedStore(f"{self.urlOf(path)}: {reason}")
                if 400 <= response.status < 500 and not reason.startswith("HTTP "):
                    raise Refused(f"{self.urlOf(path)}: {reason}")
                raise FetchError(f"{self.urlOf(path)}: {reason}")
            return response.read()
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(self.problem(error, path)) from None

    def head(self) -> int | None:
        """
        The serial of the last record the server has committed, as
        C{GET /v1/key} says (L{None} from a server that does not say).
        """
        try:
            serial = json.loads(self.get("/v1/key"))["head"]["serial"]
        except (ValueError, KeyError, TypeError):
            return None
        return serial if isinstance(serial, int) else None

    def key(self) -> Ed25519PublicKey:
        """
        The server's public key (C{GET /v1/key}), checked against its id.

        @raise FetchError: if there is none.
        """
        try:
            answer = json.loads(self.get("/v1/key"))
            key = parsePublicPem(answer["publicKey"])
        except (ValueError, KeyError, TypeError, KeyFileError):
            raise FetchError(f"{self.url}/v1/key is not a randnum key") from None
        if keyId(key) != answer.get("key"):
            raise FetchError(f"{self.url}/v1/key: the key id does not match the key")
        return key

    def records(self, after: int = 0, through: int | None = None) -> Iterator[bytes]:
        """
        The stored records after serial C{after} (up to C{through}), in
        order, a page at a time.
        """
        while through is None or after < through:
            limit = PAGE if through is None else min(PAGE, through - after)
            page = self.get(f"/v1/draws?after={after}&limit={limit}").splitlines()
            if not page:
                return
            yield from page
            try:
                after = parseRecord(page[-1])["serial"]
            except RecordError:
                raise FetchError(
                    f"{self.url}/v1/draws is not a randnum store"
                ) from None


def describe(report: ChainReport) -> str:
    """
    What was verified, for a person.
    """
    chains = "; ".join(
        f"key {key[:16]}: serials {first}..{last}"
        + (
            f" ({sum(b - a + 1 for a, b in report.gaps[key])} not given)"
            if key in report.gaps
            else ""
        )
        for key, (first, last) in report.chains.items()
    )
    plural = "" if report.records == 1 else "s"
    return f"{report.records} record{plural} verified ({chains or 'none'})"


def keysById(keys: Iterable[Ed25519PublicKey]) -> Mapping[str, Ed25519PublicKey]:
    """
    Public keys by their key ids.
    """
    return {keyId(key): key for key in keys}
