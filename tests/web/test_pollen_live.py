"""
The pollen protocol with its real client: Debian's C{pollinate}, against a
live C{twistd randnum --pollen}, over HTTP and over HTTPS with the server's
certificate pinned, as docs/pollen.md tells an operator to run it.

CI installs pollinate and sets RANDNUM_REQUIRE_POLLINATE, so that there
these tests run or fail, never skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from servers import startServer, stopServer

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        shutil.which("pollinate") is None
        and not os.environ.get("RANDNUM_REQUIRE_POLLINATE"),
        reason="needs pollinate (.ci/run installs it; set RANDNUM_REQUIRE_POLLINATE "
        "to fail rather than skip)",
    ),
]


def pollinate(url: str, *curlOptions: str) -> subprocess.CompletedProcess[bytes]:
    """
    Run C{pollinate} in its testing mode (the seed to standard output, not
    the machine's pool), in binary, failing on any network error.
    """
    curl = ["-c", " ".join(curlOptions)] if curlOptions else []
    return subprocess.run(
        ["pollinate", "-t", "--strict", "-b", "-q", "-s", url, *curl],
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_pollinateSeedsFromRandnumOverHttp(tmp_path: Path) -> None:
    server = startServer(
        tmp_path,
        "--port",
        "tcp:0:interface=127.0.0.1",
        "--http",
        "tcp:0:interface=127.0.0.1",
        "--pollen",
        listeners=2,
    )
    try:
        http = server.ports[1]
        seeded = pollinate(f"http://127.0.0.1:{http}/pollen")
        assert (seeded.returncode, len(seeded.stdout)) == (0, 64), seeded.stderr
        # And it fails where randnum does not answer pollen.
        wrong = pollinate(f"http://127.0.0.1:{http}/v1/pollen")
        assert wrong.returncode == 1
        assert wrong.stdout == b""
    finally:
        stopServer(server)


def test_pollinateSeedsFromRandnumOverHttpsWithItsCertificatePinned(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    key, cert = certificate
    server = startServer(
        tmp_path,
        "--port",
        "tcp:0:interface=127.0.0.1",
        "--http",
        f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
        "--pollen",
        listeners=2,
    )
    try:
        url = f"https://localhost:{server.ports[1]}/pollen"
        seeded = pollinate(url, "--cacert", str(cert), "--capath", "/dev/null")
        assert (seeded.returncode, len(seeded.stdout)) == (0, 64), seeded.stderr
        # Without the pin the certificate is not trusted: no seed.
        unpinned = pollinate(url)
        assert unpinned.returncode == 1
        assert unpinned.stdout == b""
    finally:
        stopServer(server)
