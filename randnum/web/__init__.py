# -*- test-case-name: tests.web.test_site -*-
"""
The HTTP face, on C{twisted.web}, cut along twisted.web's own lines:

 - L{randnum.web.site}: the site, L{webSite} (as L{twisted.web.server});
 - L{randnum.web.channel}: one connection within the server's limits (as
   L{twisted.web.http}'s channel);
 - L{randnum.web.resources}: the tree of pages, with L{randnum.web.random},
   L{randnum.web.bytes} and L{randnum.web.draws} for the larger ones (as
   L{twisted.web.resource});
 - L{randnum.web.responses}: what every page answers with;
 - L{randnum.web.streaming}: bodies made and sent while the client reads.
"""

from __future__ import annotations

from typing import Any

__all__ = ["webSite"]


def __getattr__(name: str) -> Any:
    # The site is imported when asked for, not with the package: the
    # faces it serves (randnum.jsonrpc) build on this package's modules.
    if name == "webSite":
        from randnum.web.site import webSite

        return webSite
    raise AttributeError(f"module 'randnum.web' has no attribute {name!r}")
