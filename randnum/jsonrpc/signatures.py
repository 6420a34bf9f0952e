# -*- test-case-name: tests.jsonrpc.test_signatures -*-
"""
RANDOM.ORG's signed results as records of randnum's audit chain: a signed
call's values signed into one record (its serial is C{serialNumber}), and
RANDOM.ORG's C{random} object, rebuilt from that record, signed with the
same key (L{randnum.jsonrpc.signed}).

The private key stays in the process that holds the audit store: a worker
of C{--workers} asks it to sign a C{random} object, and it signs only the
object of a record it has signed itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from twisted.internet.defer import CancelledError, Deferred, TimeoutError, fail, succeed
from twisted.python.failure import Failure

import randnum.jsonrpc.signed as signed
from randnum.generation.source import NumberSource
from randnum.jsonrpc.methods import SIGNED, Plan
from randnum.jsonrpc.protocol import invalidParams, serverError
from randnum.query import QueryError
from randnum.signing.records import RecordError, parseRecord
from randnum.signing.store import AuditStore, AuditUnavailable, SignedDraws
from randnum.workers import messages as cluster
from randnum.workers.store import SharedAuditStore


@dataclass(frozen=True)
class Endorsed:
    """
    RANDOM.ORG's C{random} object of a record, and its signature.
    """

    random: dict[str, Any]
    signature: str


def _unavailable(failure: Failure) -> Failure:
    """
    A signed result that could not be made or found, as the error to
    answer with (as C{/v1/random} answers 503 for a signed draw).
    """
    if failure.check(cluster.StoreFull):
        return Failure(serverError("audit store full"))
    if failure.check(
        AuditUnavailable,
        cluster.StoreUnavailable,
        cluster.SigningDisabled,
        TimeoutError,
        CancelledError,
    ):
        # In a worker: the main process did not answer in time, or refused.
        return Failure(serverError("the audit store is unavailable; try again"))
    return failure


def issue(
    audit: SignedDraws, planned: Plan, source: NumberSource
) -> Deferred[Endorsed]:
    """
    Draw a signed call's values, sign them into the next record, and
    endorse it once it is stored.
    """
    # A signed call is small (MOST_SIGNED_DATA): made at once, and read
    # back as values, decimals kept as their exact text.
    data = json.loads(b"".join(planned.drawing.pieces(source)), parse_float=str)
    request = signed.recordRequest(
        planned.method,
        planned.drawing.params,
        planned.apiKey,
        planned.extras.get("licenseData"),
        planned.extras.get("userData"),
    )
    try:
        record = audit.issueRecord(request, signed.recordValues(planned.method, data))
    except QueryError as error:
        return fail(serverError(error.reason))
    return record.addCallback(lambda line: endorse(audit, line)).addErrback(
        _unavailable
    )


def endorse(audit: SignedDraws, line: bytes) -> Deferred[Endorsed]:
    """
    The C{random} object of a stored record, signed: here if this process
    holds the key, else by the process that does.
    """
    random = signed.randomObject(parseRecord(line))
    if isinstance(audit, AuditStore):
        return succeed(Endorsed(random, signed.signRandom(random, audit.signer.sign)))
    if isinstance(audit, SharedAuditStore):
        asked = audit.endorse(line)
        return asked.addCallback(lambda signature: Endorsed(random, signature))
    return fail(serverError("this process cannot sign"))


def endorsement(audit: AuditStore, line: bytes) -> Deferred[str]:
    """
    The signature of a record's C{random} object, for a worker: only for
    a RANDOM.ORG record stored in this store, byte for byte (signed by
    this server, with its key then).

    @return: a L{Deferred} that fails with L{RecordError} for any other.
    """
    record = parseRecord(line)
    if record["request"].get("type") != signed.RECORD_TYPE:
        return fail(RecordError(record["serial"], "not a RANDOM.ORG signed result"))

    def compare(stored: bytes | None) -> str:
        if stored != line:
            raise RecordError(record["serial"], "not a record of this store")
        return signed.signRandom(signed.randomObject(record), audit.signer.sign)

    return audit.record(record["serial"]).addCallback(compare)


def stored(audit: SignedDraws, serial: int, apiKey: str) -> Deferred[Endorsed]:
    """
    C{getResult}'s answer: the signed result C{serial}, if it was made
    with C{apiKey}.
    """
    missing = invalidParams(
        f"no signed result with serialNumber {serial} was made with this apiKey"
    )

    def found(line: bytes | None) -> Deferred[Endorsed]:
        if line is None:
            return fail(missing)
        request = parseRecord(line)["request"]
        if request.get("type") != signed.RECORD_TYPE or request.get(
            "hashedApiKey"
        ) != signed.hashedApiKey(apiKey):
            return fail(missing)
        return endorse(audit, line)

    return audit.record(serial).addCallback(found).addErrback(_unavailable)


_keys: dict[str, Ed25519PublicKey] = {}


def _publicKey(audit: SignedDraws) -> Ed25519PublicKey:
    pem = audit.signer.publicPem
    key = _keys.get(pem)
    if key is None:
        loaded = load_pem_public_key(pem.encode("ascii"))
        assert isinstance(loaded, Ed25519PublicKey)
        key = _keys[pem] = loaded
    return key


def authenticFor(audit: SignedDraws, random: Any, signature: Any) -> bool:
    """
    C{verifySignature}'s answer: whether C{signature} is this server's
    signature of C{random}, a RANDOM.ORG signed call's object (and not
    anything else the key signs, such as a record).
    """
    if not isinstance(random, dict):
        return False
    method = random.get("method")
    if not isinstance(method, str) or method not in SIGNED:
        return False
    return signed.authentic(random, signature, _publicKey(audit))
