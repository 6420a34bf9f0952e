# -*- test-case-name: tests.test_tap -*-
"""
A newcomer's likely mistakes on C{twistd randnum}'s command line (and in a
client's endpoint description), each said in one line in the user's terms
rather than in Twisted's or OpenSSL's: a listening address in the wrong
form, a TLS port without its key, a file that is not a key or a
certificate, a directory that is not there, and twistd's own options given
after C{randnum}.
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import cache

from OpenSSL import crypto
from twisted.internet import ssl

#: An address and a port, as in C{127.0.0.1:5000} or C{[::1]:5000}: the
#: form of a socket address, not of an endpoint description.
_HOST_AND_PORT = re.compile(r"\[?([0-9A-Fa-f:.]+|localhost)\]?:([0-9]+)")


def notAnEndpoint(given: str, meant: str) -> str:
    """
    The one sentence for an address and port given where an endpoint
    description goes: C{given} as the user wrote it (with its option),
    C{meant} the description to write instead.
    """
    return f"{given} is an address and port, not an endpoint: say {meant}"


def clientHostAndPort(description: str) -> str | None:
    """
    If C{description} is an address and a port (C{127.0.0.1:5000}) rather
    than a client endpoint description, the description it likely means
    (C{tcp:host=127.0.0.1:port=5000}).
    """
    match = _HOST_AND_PORT.fullmatch(description)
    if match is None:
        return None
    host, port = match.groups()
    escaped = host.replace(":", "\\:")
    return f"tcp:host={escaped}:port={port}"


def hostAndPort(description: str) -> str | None:
    """
    If C{description} is an address and a port (C{127.0.0.1:5000}) rather
    than an endpoint description, the description it likely means.
    """
    match = _HOST_AND_PORT.fullmatch(description)
    if match is None:
        return None
    host, port = match.groups()
    if host == "localhost":
        return f"tcp:{port}:interface=127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 6:
        escaped = host.replace(":", "\\:")
        return f"tcp6:{port}:interface={escaped}"
    return f"tcp:{port}:interface={host}"


def _arguments(description: str) -> dict[str, str]:
    """
    The C{name=value} arguments of an endpoint description (colons escaped
    with a backslash, as Twisted reads them).
    """
    fields = re.split(r"(?<!\\):", description)
    pairs = (field.replace("\\:", ":").partition("=") for field in fields[1:])
    return {name: value for name, equals, value in pairs if equals}


def tlsKeyMissing(description: str) -> str | None:
    """
    If C{description} is a TLS port without C{privateKey=} (for which
    Twisted would look for C{server.pem} in the working directory), what
    it needs.
    """
    if not description.startswith("ssl:") or "privateKey" in _arguments(description):
        return None
    return (
        "a TLS port needs privateKey=KEYFILE and certKey=CERTFILE, as in "
        "ssl:5001:privateKey=key.pem:certKey=cert.pem"
    )


def tlsFileProblem(description: str) -> str | None:
    """
    Which file of the TLS port C{description} is not a PEM key or
    certificate, or holds what the other should: L{None} if each loads
    (or cannot be read, which Twisted's own error says well).
    """
    arguments = _arguments(description)
    key = arguments.get("privateKey")
    if key is None:
        return None
    cert = arguments.get("certKey", key)
    try:
        with open(key, "rb") as keyFile, open(cert, "rb") as certFile:
            keyPEM, certPEM = keyFile.read(), certFile.read()
    except OSError:
        return None
    # Twisted looks for each in both files, so either may hold either.
    if not (_holdsKey(keyPEM) or _holdsKey(certPEM)):
        return f"privateKey={key} is not a PEM private key"
    if not (_holdsCertificate(certPEM) or _holdsCertificate(keyPEM)):
        if cert == key:
            return (
                f"privateKey={key} holds no certificate: give the "
                "certificate's file in certKey=CERTFILE"
            )
        return f"certKey={cert} is not a PEM certificate"
    return None


def trustRootsProblem(description: str) -> str | None:
    """
    Which C{.pem} file of a client TLS endpoint's CA directory
    (C{trustRoots=}, or C{caCertsDir=}) is not a PEM certificate: Twisted
    loads each, and OpenSSL's error names none.
    """
    arguments = _arguments(description)
    for name in ("trustRoots", "caCertsDir"):
        directory = arguments.get(name)
        if directory is None or not os.path.isdir(directory):
            continue
        for entry in sorted(os.listdir(directory)):
            path = os.path.join(directory, entry)
            if not entry.lower().endswith(".pem") or not os.path.isfile(path):
                continue
            try:
                with open(path, "rb") as file:
                    pem = file.read()
            except OSError:
                continue  # Twisted skips it too
            if not _holdsCertificate(pem):
                return (
                    f"{path} is not a PEM certificate ({name}= loads every "
                    ".pem file in its directory)"
                )
    return None


def _holdsKey(pem: bytes) -> bool:
    try:
        ssl.KeyPair.load(pem, crypto.FILETYPE_PEM)
    except Exception:  # OpenSSL says why in its own terms only
        return False
    return True


def _holdsCertificate(pem: bytes) -> bool:
    try:
        ssl.Certificate.loadPEM(pem)
    except Exception:  # OpenSSL says why in its own terms only
        return False
    return True


def directoryProblem(path: str) -> str | None:
    """
    Why a file cannot be made at C{path} because of its directory (it does
    not exist, is not a directory, or is not writable), or L{None}.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(directory):
        return f"the directory {directory} does not exist"
    if not os.path.isdir(directory):
        return f"{directory} is not a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"the directory {directory} is not writable"
    return None


@cache
def _twistdOptions() -> dict[str, str]:
    """
    C{twistd}'s own options, as Twisted defines them on this platform: each
    name (a letter, or a long name) to how it is written before
    C{randnum}, with a placeholder for its value if it takes one
    (C{-l LOGFILE}).
    """
    # Imported here: only a usage error needs it.
    from twisted.scripts import twistd

    options = twistd.ServerOptions()  # type: ignore[attr-defined,no-untyped-call]
    takesValue = {name.rstrip("=") for name in options.longOpt if name.endswith("=")}
    written: dict[str, str] = {}
    for name, long in options.synonyms.items():
        dashes = "-" if len(name) == 1 else "--"
        value = f" {long.upper()}" if long in takesValue else ""
        written[name] = f"{dashes}{name}{value}"
    return written


#: An option that getopt did not recognise, in its message.
_NOT_RECOGNIZED = re.compile(r"option (-[^-]|--[^\s=]+) not recognized")


def twistdOptionAfterPlugin(message: str) -> str | None:
    """
    If the usage error C{message} is about one of C{twistd}'s own options
    given after C{randnum} (where it means nothing), say where it goes.
    """
    match = _NOT_RECOGNIZED.search(message)
    if match is None:
        return None
    option = match.group(1)
    name = option.lstrip("-")
    written = _twistdOptions()
    if option.startswith("--") and name not in written:
        # getopt takes a long option's unambiguous prefix, as twistd would.
        longs = [long for long in written if len(long) > 1 and long.startswith(name)]
        name = longs[0] if len(longs) == 1 else ""
    if name not in written:
        return None
    return (
        f"twistd's option {option} goes before randnum: "
        f"twistd {written[name]} randnum ..."
    )


def profileIsAPort(parent: object) -> str | None:
    """
    If twistd's own options (C{parent}, the options C{randnum}'s are a
    subcommand of) have a C{--profile} file named like a port number
    (C{twistd -p 5000 randnum}: twistd's C{-p} is C{--profile}), where the
    port goes instead.
    """
    get = getattr(parent, "get", None)
    profile = get("profile") if callable(get) else None
    if not (isinstance(profile, str) and profile.isdigit() and profile.isascii()):
        return None
    return (
        "twistd's -p is --profile; randnum's port goes after randnum: "
        f"twistd -n randnum -p {profile}"
    )
