# -*- test-case-name: tests.jsonrpc.test_protocol -*-
"""
The JSON-RPC 2.0 envelope, as RANDOM.ORG's API reads and writes it: one
call per request, named parameters, and errors as error objects that echo
the call's C{id}.  No I/O here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

#: The value of a call's or a response's C{jsonrpc} member.
VERSION = "2.0"

#: JSON-RPC's own error codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602


class RpcError(Exception):
    """
    An error to answer a call with: a JSON-RPC error object's C{code},
    C{message} and C{data}.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(code, message, data)
        self.code = code
        self.message = message
        self.data = data


def parseError(reason: str) -> RpcError:
    """
    -32700: the body is not JSON.
    """
    return RpcError(PARSE_ERROR, f"Parse error: {reason}")


def invalidRequest(reason: str) -> RpcError:
    """
    -32600: JSON, but not a JSON-RPC 2.0 call.
    """
    return RpcError(INVALID_REQUEST, f"Invalid Request: {reason}")


def methodNotFound(method: str, reason: str = "no such method") -> RpcError:
    """
    -32601: a method not served here.
    """
    return RpcError(METHOD_NOT_FOUND, f"Method not found: {method}: {reason}")


def invalidParams(reason: str) -> RpcError:
    """
    -32602: parameters that are not the method's (an unknown name, a
    missing one).
    """
    return RpcError(INVALID_PARAMS, f"Invalid params: {reason}")


def serverError(reason: str, code: int = -32000) -> RpcError:
    """
    A server's own error (JSON-RPC's -32000 range): the call was fine, the
    server cannot answer it now.
    """
    return RpcError(code, f"Server error: {reason}")


def internalError() -> RpcError:
    """
    -32603: the server failed answering (and has logged why).
    """
    return RpcError(-32603, "Internal error")


@dataclass(frozen=True)
class Call:
    """
    One JSON-RPC call.

    @ivar method: the method's name.
    @ivar params: its named parameters.
    @ivar id: the call's C{id}, echoed in the response.
    @ivar notification: whether it had no C{id} (and so gets no response).
    """

    method: str
    params: dict[str, Any]
    id: Any = None
    notification: bool = False


class CallError(Exception):
    """
    A request that is not a call it can answer: the L{RpcError} and the
    C{id} to echo (L{None} when it could not be read).
    """

    def __init__(self, error: RpcError, id: Any = None) -> None:
        super().__init__(error, id)
        self.error = error
        self.id = id


def _rejectConstant(name: str) -> float:
    # NaN and Infinity are not JSON, though Python's json reads them.
    raise ValueError(f"{name} is not JSON")


def parseCall(body: bytes) -> Call:
    """
    The call a request body holds.

    @raise CallError: for a body that is not JSON (-32700), or not a single
        JSON-RPC 2.0 call with named parameters (-32600, -32602).
    """
    try:
        document = json.loads(body, parse_constant=_rejectConstant)
    except (ValueError, RecursionError):
        raise CallError(parseError("the body is not JSON")) from None
    if isinstance(document, list):
        raise CallError(
            invalidRequest("batches are not served here: send one call a request")
        )
    if not isinstance(document, dict):
        raise CallError(invalidRequest("a call is a JSON object"))
    id = document.get("id")
    if isinstance(id, (dict, list, bool)) or (
        isinstance(id, float) and not math.isfinite(id)
    ):
        # 1e999 reads as infinity, which no JSON can echo.
        raise CallError(invalidRequest("id must be a string, a number or null"))
    if document.get("jsonrpc") != VERSION:
        raise CallError(invalidRequest('the member "jsonrpc" must be "2.0"'), id)
    method = document.get("method")
    if not isinstance(method, str):
        raise CallError(invalidRequest('the member "method" must be a string'), id)
    params = document.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise CallError(
            invalidParams('"params" must be an object of named parameters'), id
        )
    return Call(method, params, id, notification="id" not in document)


def _encode(document: dict[str, Any]) -> bytes:
    """
    C{document} as compact JSON, with a trailing newline.
    """
    return (
        json.dumps(document, separators=(",", ":"), allow_nan=False).encode("utf-8")
        + b"\n"
    )


def resultResponse(id: Any, result: dict[str, Any]) -> bytes:
    """
    The response to a call that succeeded.
    """
    return _encode({"jsonrpc": VERSION, "result": result, "id": id})


def errorResponse(id: Any, error: RpcError) -> bytes:
    """
    The response to a call that failed: an error object, echoing C{id}.
    """
    return _encode(
        {
            "jsonrpc": VERSION,
            "error": {"code": error.code, "message": error.message, "data": error.data},
            "id": id,
        }
    )
