"""Identity: sign-in sessions, the first-party browser cookie and its link to an account."""

from tastegraph.identity import tables as tables
from tastegraph.identity.service import (
    BROWSER_COOKIE,
    SESSION_COOKIE,
    IdentityService,
    LinkHandler,
    valid_browser_id,
)

__all__ = ["BROWSER_COOKIE", "SESSION_COOKIE", "IdentityService", "LinkHandler", "tables", "valid_browser_id"]
