# -*- test-case-name: tests.client.test_endpoints -*-
"""
Where a client connects: L{clientEndpoint} for a host and port (TCP, or TLS
trusting L{trustRoot}'s CA file), and L{endpointError} to say in words why
an endpoint description was refused (the C{randnum} command and C{twistd
randnum} both use it).
"""

from __future__ import annotations

import re
from typing import Any

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet._sslverify import IOpenSSLTrustRoot
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IStreamClientEndpoint

#: What a description left out, as Python's TypeError names the arguments.
_MISSING = re.compile(r"missing \d+ required positional arguments?: (.+)")


def endpointError(error: BaseException) -> str:
    """
    Why an endpoint description was refused, in words: no empty reasons,
    Python internals or OpenSSL error tuples.
    """
    text = str(error)
    if isinstance(error, TypeError) and "multiple values" in text:
        return "a value with colons must escape them, as in tcp:5000:interface=\\:\\:1"
    missing = _MISSING.search(text) if isinstance(error, TypeError) else None
    if missing is not None:
        # "TCP4ClientEndpoint.__init__() missing 1 required positional argument"
        names = missing.group(1).replace("'", "")
        return f"incomplete: no {names} given"
    if isinstance(error, SSL.Error) or text.startswith("[('"):
        return f"not a usable certificate or key (OpenSSL: {_opensslReason(error)})"
    if isinstance(error, OSError) and error.strerror:
        name = f" {error.filename!r}" if error.filename else ""
        return f"{error.strerror}{name}"
    return text or error.__class__.__name__


def _opensslReason(error: BaseException) -> str:
    reasons = [item[-1] for item in getattr(error, "args", [[]])[0] or []]
    return ", ".join(str(r) for r in reasons if r) or str(error)


def trustRoot(cafile: str) -> IOpenSSLTrustRoot:
    """
    A TLS trust root of the CA certificates in the PEM file C{cafile}.

    @raise ValueError: if the file holds no certificate, or cannot be read.
    """
    try:
        with open(cafile, "rb") as file:
            pem = file.read()
    except OSError as error:
        raise ValueError(f"cannot read {cafile!r}: {error.strerror}") from None
    marker = b"-----END CERTIFICATE-----"
    blocks = [block + marker for block in pem.split(marker) if b"-----BEGIN" in block]
    try:
        certificates = [ssl.Certificate.loadPEM(block) for block in blocks]
    except Exception:
        certificates = []
    if not certificates:
        raise ValueError(f"{cafile!r} holds no PEM certificate")
    root: IOpenSSLTrustRoot = ssl.trustRootFromCertificates(certificates)
    return root


def clientEndpoint(
    reactor: Any,
    host: str,
    port: int,
    *,
    tls: bool = False,
    cafile: str | None = None,
    timeout: float = 30,
) -> IStreamClientEndpoint:
    """
    An endpoint for a randnum server at C{host} (a name, or an IPv4 or IPv6
    address) and C{port}: TCP, or TLS if C{tls} or C{cafile}, trusting the
    CA certificates in C{cafile} or else the system's.

    @raise ValueError: if C{cafile} holds no certificate.
    """
    endpoint: IStreamClientEndpoint = HostnameEndpoint(
        reactor, host, port, timeout=timeout
    )
    if tls or cafile is not None:
        trust = trustRoot(cafile) if cafile is not None else None
        options = ssl.optionsForClientTLS(host, trustRoot=trust)
        endpoint = wrapClientTLS(options, endpoint)
    return endpoint
