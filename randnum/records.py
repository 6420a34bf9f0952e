# -*- test-case-name: tests.signing.test_records -*-
"""
The documented import path of the record verifier: see
L{randnum.signing.records}.
"""

from randnum.signing.records import verifyDraw

__all__ = ["verifyDraw"]
