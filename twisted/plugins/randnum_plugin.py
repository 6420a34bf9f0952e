"""
The C{twistd randnum} plugin.
"""

from twisted.application.service import ServiceMaker

randnum = ServiceMaker(
    "randnum",
    "randnum.tap",
    "A random-number service: plain TCP, pipelined lines, CSPRNG by default.",
    "randnum",
)
