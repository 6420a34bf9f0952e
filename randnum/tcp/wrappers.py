# -*- test-case-name: tests.tcp.test_wrappers -*-
"""
A peer's half-close, told through the PROXY protocol's wrapper.

Twisted's TCP transport tells its protocol that the peer has ended its
input only if the protocol adapts to L{IHalfCloseableProtocol}; otherwise
it closes the connection at once, and replies not yet written are lost.
A C{haproxy:} endpoint puts a wrapper between the transport and randnum's
protocol, and the wrapper does not adapt.  Here it adapts as the protocol
it wraps does (L{randnum.tcp.protocol.RandnumProtocol.__conform__}): a
client that sends its requests through HAProxy and half-closes gets every
reply, as it does without HAProxy.

(TLS is another matter: L{twisted.protocols.tls} cannot go on writing
once the peer's input has ended, so a C{ssl:} port is not told.)
"""

from __future__ import annotations

from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.protocols.haproxy._wrapper import HAProxyProtocolWrapper
from twisted.python.components import registerAdapter


def wrappedHalfClose(wrapper: HAProxyProtocolWrapper) -> object:
    """
    What the protocol inside C{wrapper} adapts to for a half-close, or
    L{None}: the transport tells it directly (the wrapper passes nothing on
    but bytes).
    """
    return IHalfCloseableProtocol(wrapper.wrappedProtocol, None)


registerAdapter(wrappedHalfClose, HAProxyProtocolWrapper, IHalfCloseableProtocol)
