"""
A reference HTTP server for benchmarks/http.py: Starlette answering
C{GET /v1/random} with the same JSON randnum's HTTP face answers,

    {"numbers":[4711],"min":1,"max":10000}

(with a trailing newline), drawn from the OS CSPRNG as randnum's are, with
C{Content-Type: application/json} and C{Cache-Control: no-store}; uvicorn
adds C{Date}, C{Server} and C{Content-Length}, as twisted.web does.  C{n},
C{min} and C{max} are read from the query string (defaults 1, 1 and 10000)
and checked, so that it does about the work randnum does for the common
query; anything else is a JSON 400.

Neither Starlette nor uvicorn is a randnum dependency: benchmarks/http.py
installs them in a virtual environment of its own and runs

    uvicorn --app-dir benchmarks reference_starlette:app \\
        --loop uvloop --http httptools --no-access-log --workers 1 \\
        --host 127.0.0.1 --port PORT
"""

from __future__ import annotations

import json
import secrets

# Installed only in the benchmark's own environment, not randnum's (where
# mypy checks this file): unknown there, typed where it is installed.
from starlette.applications import Starlette  # type: ignore[import-not-found,unused-ignore]
from starlette.requests import Request  # type: ignore[import-not-found,unused-ignore]
from starlette.responses import Response  # type: ignore[import-not-found,unused-ignore]
from starlette.routing import Route  # type: ignore[import-not-found,unused-ignore]

#: At most this many numbers a request, as randnum's default limit.
MAX_N = 10000
HEADERS = {"cache-control": "no-store"}


def _error(reason: str) -> Response:
    body = json.dumps({"error": reason}, separators=(",", ":")) + "\n"
    return Response(body, 400, HEADERS, "application/json")


async def random(request: Request) -> Response:
    """
    C{n} numbers in C{min..max}, as randnum answers them.
    """
    params = request.query_params
    try:
        n = int(params.get("n", "1"))
        low = int(params.get("min", "1"))
        high = int(params.get("max", "10000"))
    except ValueError:
        return _error("n, min and max must be integers")
    if not 1 <= n <= MAX_N or low > high:
        return _error("out of range")
    span = high - low + 1
    numbers = [low + secrets.randbelow(span) for _ in range(n)]
    body = json.dumps(
        {"numbers": numbers, "min": low, "max": high}, separators=(",", ":")
    )
    return Response(body + "\n", 200, HEADERS, "application/json")


app = Starlette(routes=[Route("/v1/random", random, methods=["GET", "HEAD"])])
