# Twisted's test doubles (MemoryReactorClock) are not annotated.
# mypy: disallow-untyped-calls=False
"""
The files under C{deploy/}: Kubernetes manifests valid against the
Kubernetes schemas (offline), probes and ports that agree with randnum's own
arguments, a container image that runs as a non-root user, and systemd
units that systemd itself accepts.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from servers import BIN
from twisted.internet.testing import MemoryReactorClock

from randnum.tap import Options

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
VERIFY = ("systemd-analyze", "verify", "--man=no")
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))


def options(args: list[str]) -> Options:
    """
    randnum's options as twistd would parse C{args}.
    """
    parsed = Options(reactor=MemoryReactorClock())
    parsed.parseOptions(args)
    return parsed


def httpPort(args: list[str]) -> int:
    """
    The TCP port of the (one) C{--http} endpoint among C{args}.
    """
    [description] = options(args)["http"]
    match = re.fullmatch(r"tcp:(\d+)(:.*)?", description)
    assert match, description
    return int(match.group(1))


def manifest(kind: str, name: str = "randnum") -> dict[str, Any]:
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            if document["kind"] == kind and document["metadata"]["name"] == name:
                return dict(document)
    raise AssertionError(f"no {kind} {name} under deploy/k8s")


def test_thereAreManifests() -> None:
    kinds = {
        document["kind"]
        for path in MANIFESTS
        for document in yaml.safe_load_all(path.read_text())
    }
    assert kinds == {"Deployment", "Service", "HorizontalPodAutoscaler", "StatefulSet"}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_manifestIsValidKubernetes(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        # strict: unknown fields are errors too.
        kubernetes_validate.validate(
            document, kubernetes_validate.latest_version(), strict=True
        )


def test_probesUseTheHttpPortRandnumServes() -> None:
    pod = manifest("Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    args = container["args"]
    port = httpPort(args)
    byName = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz"
        assert byName.get(get["port"], get["port"]) == port
    assert pod["securityContext"]["runAsNonRoot"] is True
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]) & set(resources["limits"])


def test_serviceAndAutoscalerPointAtTheDeployment() -> None:
    deployment = manifest("Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    containerPorts = {p["name"] for p in container["ports"]}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = manifest("Service")["spec"]
    assert service["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["ports"]} <= containerPorts
    target = manifest("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "randnum")


@pytest.mark.live
def test_signedReplicasEachKeepTheirKeyAndStoreOnTheirVolume(tmp_path: Path) -> None:
    statefulSet = manifest("StatefulSet", "randnum-signed")["spec"]
    pod = statefulSet["template"]["spec"]
    [container] = pod["containers"]
    [keygen] = pod["initContainers"]
    [claim] = statefulSet["volumeClaimTemplates"]
    args = container["args"]
    key = args[args.index("--signing-key") + 1]
    database = args[args.index("--audit-db") + 1]
    # Both on the replica's own volume, where the init container makes the
    # key on the first start only.
    [mount] = container["volumeMounts"]
    assert mount["name"] == claim["metadata"]["name"]
    assert keygen["volumeMounts"] == [mount]
    volume = mount["mountPath"] + "/"
    assert key.startswith(volume) and database.startswith(volume)
    assert keygen["command"][1:] == ["keygen", "--if-missing", key]
    assert keygen["image"] == container["image"]
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"]
    # The headless Service names the replicas.
    service = manifest("Service", "randnum-signed")["spec"]
    assert service["clusterIP"] == "None"
    assert statefulSet["serviceName"] == "randnum-signed"
    assert (
        service["selector"].items()
        <= statefulSet["template"]["metadata"]["labels"].items()
    )
    # What the init container makes, randnum accepts.
    local = str(tmp_path) + "/"
    made = subprocess.run(
        [str(BIN / "randnum"), *keygen["command"][1:-1], key.replace(volume, local)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    parsed = options([a.replace(volume, local) for a in args])
    assert parsed.signing is not None
    assert parsed.signing.signer.keyId == made.stdout.strip()
    assert parsed["http"] == ["tcp:8080"]
    # The store stops short of its volume's size.
    volumeSize = claim["spec"]["resources"]["requests"]["storage"]
    assert volumeSize.endswith("Gi")
    assert 0 < parsed.config.auditMaxSize < int(volumeSize[:-2]) << 30


def containerfile() -> dict[str, list[str]]:
    """
    The final stage's instructions, by name (JSON-form arguments parsed).
    """
    text = (DEPLOY / "Containerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)
    instructions: dict[str, list[str]] = {}
    for line in stages[-1].splitlines():
        name, _, rest = line.partition(" ")
        if name in ("USER", "EXPOSE", "ENTRYPOINT", "CMD"):
            rest = rest.strip()
            instructions[name] = (
                json.loads(rest) if rest.startswith("[") else rest.split()
            )
    return instructions


def test_containerRunsRandnumAsANonRootUser() -> None:
    image = containerfile()
    [user] = image["USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid != "0"
    deployment = manifest("Deployment")["spec"]["template"]["spec"]
    assert deployment["securityContext"]["runAsUser"] == int(uid)
    entrypoint, command = image["ENTRYPOINT"], image["CMD"]
    assert entrypoint[0].endswith("/twistd") and "--nodaemon" in entrypoint
    assert entrypoint[-1] == "randnum"
    assert str(httpPort(command)) in image["EXPOSE"]
    # The Deployment's arguments replace CMD; both are valid randnum options.
    [container] = deployment["containers"]
    assert httpPort(container["args"]) == httpPort(command)


def systemdUnit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_systemdUnitsShareOnePortAcrossProcesses() -> None:
    socketUnit = systemdUnit("randnum@.socket")["Socket"]
    assert socketUnit["ReusePort"] == "yes"
    assert socketUnit["FileDescriptorName"] == "randnum"
    service = systemdUnit("randnum@.service")["Service"]
    command = shlex.split(service["ExecStart"])
    args = command[command.index("randnum") + 1 :]
    assert args == ["--port", "systemd:domain=INET:index=0"]
    assert int(service["LimitNOFILE"]) > 10_000


@pytest.mark.live
@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze"
)
def test_systemdAcceptsTheUnits(tmp_path: Path) -> None:
    # Verify an instance of each template; point ExecStart at an existing
    # twistd, since verification checks that the command is executable.
    twistd = str(BIN / "twistd")
    for name in ("randnum@.socket", "randnum@.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        (tmp_path / name).write_text(text.replace("/opt/randnum/bin/twistd", twistd))
    result = subprocess.run(
        [*VERIFY, "./randnum@1.socket", "./randnum@1.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings to systemd.
    assert result.stderr.strip() == "", result.stderr
