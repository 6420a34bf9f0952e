"""
Clients of randnum's TCP protocol: the Twisted client
(L{randnum.client.protocol}) and a plain-socket one
(L{randnum.client.blocking}).
"""

from randnum.client.protocol import (
    RandnumClientProtocol,
    RandnumError,
    UnexpectedReply,
    connect,
)

__all__ = ["RandnumClientProtocol", "RandnumError", "UnexpectedReply", "connect"]
