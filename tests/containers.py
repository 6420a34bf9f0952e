"""
What the container and systemd tests build: a wheelhouse of this checkout,
Debian roots made from Debian's own packages (cached for a week), and
podman and systemd-nspawn run the way this kind of machine allows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parent.parent
DEPLOY = TOP / "deploy"
#: The base deploy/build-debian-base.sh makes by default.
DEBIAN_BASE = "localhost/randnum-debian-base:bookworm"
#: Where Debian roots are kept between runs (CI's machine may keep them).
CACHE = Path(
    os.environ.get("RANDNUM_TEST_CACHE", Path.home() / ".cache" / "randnum-tests")
)
#: Older roots are made again, so that they carry Debian's security updates.
MAX_AGE = 7 * 24 * 3600
#: podman on these machines: crun (podman's default where installed)
#: refuses their hybrid cgroups and rlimits; runc with cgroupfs works.
PODMAN = ("podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs")
#: systemd-nspawn without a system bus (no machined registration, and the
#: container stays in the caller's cgroup).
NSPAWN = ("systemd-nspawn", "--quiet", "--register=no", "--keep-unit")


def required(tools: tuple[str, ...], variable: str) -> pytest.MarkDecorator:
    """
    Skip unless C{tools} are installed and this runs as root; but where
    C{variable} is set in the environment (CI sets it), run and fail rather
    than skip.
    """
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root")
    return pytest.mark.skipif(
        bool(missing) and not os.environ.get(variable),
        reason=f"needs {', '.join(missing)} (.ci/run installs them; set {variable} "
        "to fail rather than skip)",
    )


def run(*command: str, timeout: float = 600, **kwargs: object) -> str:
    """
    Run C{command}; its standard output, or a failure that shows both.
    """
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n"
        f"stdout: {result.stdout[-3000:]}\nstderr: {result.stderr[-3000:]}"
    )
    return str(result.stdout)


def fresh(path: Path) -> bool:
    """
    Whether C{path} exists and was made within L{MAX_AGE}.
    """
    return path.exists() and time.time() - path.stat().st_mtime < MAX_AGE


def debianBase() -> str:
    """
    The Debian-built base image, made with deploy/build-debian-base.sh unless
    podman already holds one from the last week.
    """
    created = subprocess.run(
        [*PODMAN, "image", "inspect", "--format", "{{.Created.Unix}}", DEBIAN_BASE],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode == 0 and time.time() - int(created.stdout) < MAX_AGE:
        return DEBIAN_BASE
    return run(str(DEPLOY / "build-debian-base.sh"), DEBIAN_BASE).strip()


def systemdRoot() -> Path:
    """
    A tarball of a bootable Debian root (systemd, python3 and venv), made
    with mmdebstrap unless the cache holds one from the last week.
    """
    tarball = CACHE / "bookworm-systemd.tar"
    if not fresh(tarball):
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial.tar")
        run(
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            "--include=systemd,systemd-sysv,dbus,python3,python3-venv,ca-certificates",
            "bookworm",
            str(partial),
        )
        partial.replace(tarball)
    return tarball


def wheelhouse(directory: Path) -> Path:
    """
    randnum and its dependencies as wheels, in C{directory}/wheels, made by
    deploy/build-wheelhouse.sh with this Python.
    """
    wheels = directory / "wheels"
    script = str(DEPLOY / "build-wheelhouse.sh")
    run(script, str(wheels), env={**os.environ, "PYTHON": sys.executable})
    return wheels
