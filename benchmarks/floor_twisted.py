"""
Floor: the least a Twisted server can do for the seed exchange.

On a connection's first data, write one number (1..10000, from the OS
CSPRNG) and a newline, and close: a bare L{Protocol} and L{Factory} on the
default reactor, without limits, timers or statistics.  What randnum costs
per connection above this is randnum's own.

With --lines, answer each newline-terminated line with one number instead,
and never close (the asyncio reference's job, done the ordinary Twisted way,
with C{transport.write}): the floor of the light-request loads.

    python benchmarks/floor_twisted.py [--port 0] [--lines]

Prints "listening on port N" once it listens.
"""

from __future__ import annotations

import argparse
import secrets
from typing import cast

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IReactorCore, IReactorTCP, ITransport
from twisted.internet.protocol import Protocol, ServerFactory


class SeedExchange(Protocol):
    """
    Answer the first data with one number, then close.
    """

    # Set by makeConnection before any data can arrive.
    transport: ITransport

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(b"%d\n" % (secrets.randbelow(10000) + 1))
        self.transport.loseConnection()


class Lines(Protocol):
    """
    Answer each newline-terminated line with one number.
    """

    # Set by makeConnection before any data can arrive.
    transport: ITransport
    buffer = b""

    def dataReceived(self, data: bytes) -> None:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        if lines:
            self.transport.write(
                "".join(f"{secrets.randbelow(10000) + 1}\n" for _ in lines).encode()
            )


def main(port: int, lines: bool) -> None:
    from twisted.internet import reactor

    factory = ServerFactory()
    factory.protocol = Lines if lines else SeedExchange
    listening = cast(IReactorTCP, reactor).listenTCP(
        port, factory, interface="127.0.0.1"
    )
    print(
        f"listening on port {cast(IPv4Address, listening.getHost()).port}", flush=True
    )
    cast(IReactorCore, reactor).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lines", action="store_true")
    arguments = parser.parse_args()
    main(arguments.port, arguments.lines)
