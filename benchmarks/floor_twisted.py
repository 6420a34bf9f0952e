"""
Floor: the least a Twisted server can do for the seed exchange.

On a connection's first data, write one number (1..10000, from the OS
CSPRNG) and a newline, and close: a bare L{Protocol} and L{Factory} on the
default reactor, without limits, timers or statistics.  What randnum costs
per connection above this is randnum's own.

    python benchmarks/floor_twisted.py [--port 0]

Prints "listening on port N" once it listens.
"""

from __future__ import annotations

import argparse
import secrets

from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol


class SeedExchange(Protocol):
    """
    Answer the first data with one number, then close.
    """

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(b"%d\n" % (secrets.randbelow(10000) + 1))  # type: ignore[attr-defined]
        self.transport.loseConnection()  # type: ignore[attr-defined]


def main(port: int) -> None:
    listening = reactor.listenTCP(  # type: ignore[attr-defined]
        port, Factory.forProtocol(SeedExchange), interface="127.0.0.1"
    )
    print(f"listening on port {listening.getHost().port}", flush=True)
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    main(parser.parse_args().port)
