"""
Where a client connects (L{clientEndpoint}, L{trustRoot}), and why an
endpoint description was refused, in words (L{endpointError}).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from OpenSSL import SSL
from twisted.internet.endpoints import HostnameEndpoint, _WrapperEndpoint
from twisted.internet.testing import MemoryReactorClock

from randnum.client.endpoints import clientEndpoint, endpointError, trustRoot


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            TypeError("__init__() got multiple values for argument 'interface'"),
            "a value with colons must escape them, as in tcp:5000:interface=\\:\\:1",
        ),
        (
            SSL.Error([("PEM routines", "", "no start line")]),
            "not a usable certificate or key (OpenSSL: no start line)",
        ),
        (
            FileNotFoundError(2, "No such file or directory", "/k.pem"),
            "No such file or directory '/k.pem'",
        ),
        (PermissionError(13, "Permission denied"), "Permission denied"),
        (
            ValueError("Unknown endpoint type: 'bogus'"),
            "Unknown endpoint type: 'bogus'",
        ),
        (
            TypeError(
                "TCP4ClientEndpoint.__init__() missing 1 required positional "
                "argument: 'port'"
            ),
            "incomplete: no port given",
        ),
        (
            TypeError(
                "__init__() missing 2 required positional arguments: 'host' and 'port'"
            ),
            "incomplete: no host and port given",
        ),
        (KeyError(), "KeyError"),
    ],
)
def test_endpointErrorSaysWhyInWords(error: BaseException, words: str) -> None:
    assert endpointError(error) == words


def test_trustRootReadsPemCertificates(certificate: tuple[Path, Path]) -> None:
    _, cert = certificate
    assert trustRoot(str(cert)) is not None


def test_trustRootRefusesWhatHoldsNoCertificate(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    key, _ = certificate
    with pytest.raises(ValueError, match="holds no PEM certificate"):
        trustRoot(str(key))
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n")
    with pytest.raises(ValueError, match="holds no PEM certificate"):
        trustRoot(str(broken))
    with pytest.raises(ValueError, match="cannot read '/nonexistent': No such file"):
        trustRoot("/nonexistent")


def test_clientEndpointIsTcpOrTls(certificate: tuple[Path, Path]) -> None:
    _, cert = certificate
    reactor = MemoryReactorClock()
    assert isinstance(clientEndpoint(reactor, "::1", 5000), HostnameEndpoint)
    assert isinstance(clientEndpoint(reactor, "h", 1, tls=True), _WrapperEndpoint)
    assert isinstance(
        clientEndpoint(reactor, "h", 1, cafile=str(cert)), _WrapperEndpoint
    )
    with pytest.raises(ValueError, match="cannot read"):
        clientEndpoint(reactor, "h", 1, cafile="/nonexistent")
