"""
The documented import path of the record verifier: see
L{randnum.signing.records}.
"""

from randnum.signing.records import verifyDraw

__all__ = ["verifyDraw"]
