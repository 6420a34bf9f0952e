"""
Reference: a straightforward stdlib-asyncio line server.

Each line gets str(secrets.randbelow(10000) + 1); the replies to the lines in
one received chunk leave in one write (a fair, not a naive, baseline).

    python benchmarks/reference_asyncio.py [--port 0]

Prints "listening on port N" once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets


class LineServer(asyncio.Protocol):
    """
    Answer each newline-terminated line with one random number.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        if lines:
            self.transport.write(
                "".join(f"{secrets.randbelow(10000) + 1}\n" for _ in lines).encode()
            )


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(
        LineServer, "127.0.0.1", port
    )
    print(f"listening on port {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(main(parser.parse_args().port))
