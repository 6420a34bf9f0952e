# -*- test-case-name: tests.test_tap -*-
"""
Listening on an endpoint as a twistd service, with failures said in one
line.
"""

from __future__ import annotations

import ast
import errno
import re
import sys
from typing import Any, TextIO

from twisted.application.service import Service
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IAddress,
    IListeningPort,
    IProtocolFactory,
    IReactorCore,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.python import log as legacyLog
from twisted.python.failure import Failure

log = Logger(namespace="randnum")


def _listenError(failure: Failure) -> str:
    """
    Why listening failed, briefly: C{in use} rather than C{Couldn't listen
    on any:5000: [Errno 98] Address already in use.}.
    """
    error = failure.value
    if isinstance(error, CannotListenError) and isinstance(error.socketError, OSError):
        if error.socketError.errno == errno.EADDRINUSE:
            return "in use"
        reason = error.socketError.strerror or str(error.socketError)
        return reason[:1].lower() + reason[1:]
    return failure.getErrorMessage()


#: Interfaces that mean every one.
_EVERY_INTERFACE = ("", "0.0.0.0", "::")


def where(address: IAddress) -> str:
    """
    Where a port listens, in words: C{every interface, port 5000},
    C{127.0.0.1 port 5000}, or a UNIX socket's path.
    """
    if isinstance(address, (IPv4Address, IPv6Address)):
        host = "every interface" if address.host in _EVERY_INTERFACE else address.host
        return f"{host}, port {address.port}"
    if isinstance(address, UNIXAddress) and address.name is not None:
        name = address.name
        return name.decode("utf-8", "replace") if isinstance(name, bytes) else name
    return str(address)


class StartupFailed(SystemExit, Exception):
    """
    The service cannot start: exit with this one line.

    It is a L{SystemExit}, so that C{twistd -n} exits with status 1 and
    no traceback (printing the line, unless it is logged and its C{code}
    is 1); and an L{Exception}, so that a
    daemonizing C{twistd} (which only reports an C{Exception} from the
    daemon to the waiting parent) removes its pid file, prints the line on
    the terminal and exits with status 1 rather than waiting forever.
    """

    # Its documented name, which a daemonizing twistd prints before the
    # line: it was born in randnum.tap, and users may match on it.
    __module__ = "randnum.tap"


#: What a daemonizing twistd's waiting parent prints when the daemon failed
#: to start: the repr of the first 100 bytes of "module.Class: message".
_DAEMON_FAILED = re.compile(
    r"An error has occurred: (b'.*'|b\".*\")\nPlease look at log file for "
    r"more information\.\n",
    re.DOTALL,
)

#: The most bytes of "module.Class: message" twistd passes on: 100, less
#: its "1 " status.
_DAEMON_CUT = 98


class PlainStartupFailure:
    """
    Standard error for a daemonizing twistd's waiting parent: it prints
    L{StartupFailed}'s line as the foreground does, rather than as the
    repr of bytes after a class path.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """
        Write C{text}, or the plain line of a L{StartupFailed} it reports.
        """
        match = _DAEMON_FAILED.fullmatch(text)
        if match is not None:
            raw = ast.literal_eval(match.group(1))
            told = raw.decode("utf-8", "ignore")
            prefix = f"{StartupFailed.__module__}.{StartupFailed.__name__}: "
            if told.startswith(prefix):
                text = f"{told[len(prefix) :]}\n"
                if len(raw) >= _DAEMON_CUT:
                    text = f"{text[:-1]}...\n(cut short: the log file has it whole)\n"
        written = self.stream.write(text)
        # The waiting parent exits with os._exit, which flushes nothing.
        self.stream.flush()
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def sayStartupFailuresPlainly() -> None:
    """
    Have a daemonizing twistd print a L{StartupFailed} line plainly; called
    before it daemonizes, in the process that will wait.
    """
    if not isinstance(sys.__stderr__, PlainStartupFailure | None):
        sys.__stderr__ = PlainStartupFailure(sys.__stderr__)  # type: ignore[assignment,misc]


class ListeningService(Service):
    """
    Listen on one endpoint while running, and log where.

    Unlike L{twisted.application.internet.StreamServerEndpointService}, a
    failure to listen is reported as one clear line: at startup by exiting
    twistd with that line, later by logging it and stopping the reactor.
    """

    def __init__(
        self,
        description: str,
        endpoint: IStreamServerEndpoint,
        factory: IProtocolFactory,
        reactor: IReactorCore,
        face: str = "",
        logged: bool = False,
    ) -> None:
        """
        @param face: what is served, for the log (C{""} for the TCP
            protocol, C{"HTTP"}).
        @param logged: whether a failure to listen at startup is logged
            (under twistd, whose log is where it is read), rather than only
            said by the L{StartupFailed} raised.
        """
        self.face = face
        self.logged = logged
        self.description = description
        self.endpoint = endpoint
        self.factory = factory
        self.reactor = reactor
        self.port: IListeningPort | None = None
        self._listening: Deferred[IListeningPort] | None = None

    def privilegedStartService(self) -> None:
        """
        Start listening now, so that privileged ports can be bound before
        twistd drops privileges.
        """
        super().privilegedStartService()  # type: ignore[no-untyped-call]
        self._listen()

    def startService(self) -> None:
        """
        Start listening, unless L{privilegedStartService} already has.
        """
        super().startService()  # type: ignore[no-untyped-call]
        if self._listening is None:
            self._listen()

    def _listen(self) -> None:
        atStartup: list[Failure] = []
        starting = True

        def failed(failure: Failure) -> None:
            if starting:
                atStartup.append(failure)
            elif not failure.check(CancelledError):
                self._failedLater(failure)

        # Twisted's port logs "RandnumFactory starting on 5000" as it
        # listens, with no switch to turn it off; an empty format silences
        # that line in text logs (their observers skip an event with no
        # text), as _listened says it better.  Structured observers still
        # get the event, marked so that they may drop it too.
        self._listening = legacyLog.callWithContext(
            {"log_format": "", "randnum_quiet": True},
            self.endpoint.listen,
            self.factory,
        )
        self._listening.addCallbacks(self._listened, failed)
        starting = False
        if atStartup:
            line = self._cannotListen(atStartup[0])
            refusal = StartupFailed(line)
            if self.logged:
                # Said in randnum's own log namespace, not printed by the
                # exit to a standard error that twistd logs as stderr's.
                log.error("{line}", line=line)
                refusal.code = 1
            raise refusal

    def _listened(self, port: IListeningPort) -> IListeningPort:
        self.port = port
        log.info(
            f"randnum {self.face} listening on {{description}} ({{where}})"
            if self.face
            else "randnum listening on {description} ({where})",
            face=self.face or "TCP",
            description=self.description,
            address=port.getHost(),
            where=where(port.getHost()),
        )
        return port

    def _cannotListen(self, failure: Failure) -> str:
        """
        The line that says listening failed: where first, then briefly
        why, so that it fits in the 100 bytes a daemonizing twistd passes
        on (C{randnum: cannot listen on --http
        tcp:5000:interface=127.0.0.1: in use}).
        """
        option = "--http" if self.face == "HTTP" else "--port"
        return (
            f"randnum: cannot listen on {option} {self.description}: "
            f"{_listenError(failure)}"
        )

    def _failedLater(self, failure: Failure) -> None:
        log.error("{line}", line=self._cannotListen(failure))
        self.reactor.stop()

    def stopService(self) -> Deferred[None] | None:
        """
        Stop listening.
        """
        super().stopService()  # type: ignore[no-untyped-call]
        listening, self._listening = self._listening, None
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        if listening is not None:
            listening.cancel()
        return None
