"""
The HTTP face, on C{twisted.web}: the site (L{randnum.web.site}) and the
pages it serves.
"""

from randnum.web.site import webSite

__all__ = ["webSite"]
