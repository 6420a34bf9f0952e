"""
Reference: a serial blocking-socket server like the original one.

One connection at a time: accept, recv(1024), send one random number, close.

    python benchmarks/reference_serial.py [--port 0]

Prints "listening on port N" once it listens.
"""

from __future__ import annotations

import argparse
import random
import socket


def serve(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
        print(f"listening on port {listener.getsockname()[1]}", flush=True)
        while True:
            connection, _ = listener.accept()
            with connection:
                if connection.recv(1024):
                    connection.sendall(str(random.randint(1, 10000)).encode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    serve(parser.parse_args().port)
