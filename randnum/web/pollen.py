# -*- test-case-name: tests.web.test_pollen -*-
"""
The pollen protocol, which Ubuntu's and Debian's C{pollinate} speaks to
seed a new machine's entropy at first boot: C{/pollen}, with C{--pollen}.

A client sends a C{challenge} (a form field of a C{POST}, or a query
argument), and gets two lines of hex: the SHA-512 of the challenge, which
proves that the server read it, then the SHA-512 of the challenge followed
by 64 fresh random bytes, which the client mixes into its pool.  As the
reference server (C{dustinkirkland/pollen}) answers.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs

from twisted.web.server import Request

from randnum.server import RandnumServer
from randnum.web.responses import JSONResource, jsonError, respond

#: The path the pollen protocol is served at.
PATH = b"/pollen"

#: The most bytes of a request body (pollinate sends 138: its challenge is
#: the hex SHA-512 of 64 random bytes).
MAX_BODY = 4096

#: The random bytes mixed into each answer, as the reference server's.
ENTROPY = 64

#: The Content-Type of a form, as curl --data sends it.
FORM = b"application/x-www-form-urlencoded"

#: The methods it answers.
METHODS = (b"GET", b"HEAD", b"POST")


def pollenAnswer(challenge: bytes, randomBytes: bytes) -> bytes:
    """
    The two lines that answer C{challenge}: its SHA-512, then the SHA-512
    of it followed by C{randomBytes}, in hex.
    """
    hashing = hashlib.sha512(challenge)
    proof = hashing.hexdigest()
    hashing.update(randomBytes)
    return f"{proof}\n{hashing.hexdigest()}\n".encode("ascii")


def formField(request: Request, name: bytes) -> bytes:
    """
    The first value of field C{name} of C{request}'s query, or of its
    urlencoded form (C{curl --data}); empty if it has none.
    """
    values = (request.args or {}).get(name)
    if not values and request.method == b"POST" and request.content is not None:
        contentType = request.getHeader(b"content-type") or b""
        if contentType.split(b";", 1)[0].strip().lower() == FORM:
            request.content.seek(0)
            values = parse_qs(request.content.read(), keep_blank_values=True).get(name)
    return values[0] if values else b""


class PollenResource(JSONResource):
    """
    C{/pollen}: the pollen protocol's answer to a challenge; a JSON 400 for
    a request without one.
    """

    isLeaf = True

    def __init__(self, server: RandnumServer) -> None:
        super().__init__()
        self.randnum = server

    def render(self, request: Request) -> bytes | int:
        """
        Answer C{GET}, C{HEAD} and C{POST} (a form's challenge).
        """
        if request.method not in METHODS:
            request.setHeader(b"allow", b", ".join(METHODS))
            return jsonError(
                request, 405, f"method {request.method.decode('latin-1')} not allowed"
            )
        if request.postpath:
            return jsonError(request, 404, "not found")
        challenge = formField(request, b"challenge")
        if not challenge:
            return jsonError(
                request,
                400,
                "challenge is required: this is the pollen protocol, as "
                "pollinate speaks it (pollinate -s URL)",
            )
        randomBytes = self.randnum.source.randomBytes(ENTROPY)
        body = pollenAnswer(challenge, randomBytes)
        return respond(request, 200, body, b"text/plain; charset=utf-8")
