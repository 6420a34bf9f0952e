"""
The TCP face: framing bytes into requests (L{randnum.tcp.framing}), answering
them (L{randnum.tcp.answering}), and the protocol and factory that run a
connection (L{randnum.tcp.protocol}), told of a half-close through a
C{haproxy:} port too (L{randnum.tcp.wrappers}, imported for its adapter).
"""

from randnum.tcp import wrappers as _wrappers

del _wrappers
