"""
Clients of randnum's TCP protocol: the Twisted client
(L{randnum.client.protocol}) and a plain-socket one
(L{randnum.client.blocking}), which share the request and reply lines
(L{randnum.client.lines}) and where to connect (L{randnum.client.endpoints}).
"""

from randnum.client.protocol import (
    RandnumClientProtocol,
    RandnumError,
    UnexpectedReply,
    connect,
)
from randnum.client.wrongport import WrongPort

__all__ = [
    "RandnumClientProtocol",
    "RandnumError",
    "UnexpectedReply",
    "WrongPort",
    "connect",
]
