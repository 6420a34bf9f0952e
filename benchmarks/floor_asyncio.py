"""
Floor: the least a stdlib-asyncio server can do for the seed exchange.

On a connection's first data, write one number (1..10000, from the OS
CSPRNG) and a newline, and close: a bare C{asyncio.Protocol}, without
limits, timers or statistics.

    python benchmarks/floor_asyncio.py [--port 0]

Prints "listening on port N" once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets


class SeedExchange(asyncio.Protocol):
    """
    Answer the first data with one number, then close.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(b"%d\n" % (secrets.randbelow(10000) + 1))
        self.transport.close()


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(
        SeedExchange, "127.0.0.1", port
    )
    print(f"listening on port {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(main(parser.parse_args().port))
