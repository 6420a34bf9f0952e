"""
The TCP face: framing bytes into requests (L{randnum.tcp.framing}), answering
them (L{randnum.tcp.answering}), and the protocol and factory that run a
connection (L{randnum.tcp.protocol}).
"""
