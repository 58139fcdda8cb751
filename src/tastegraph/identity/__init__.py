"""Identity: sign-in sessions, the first-party browser cookie and its link to an account, normalizing and
hashing identifiers, matching advertisers' hashes, and private set intersection."""

from tastegraph.identity import bulk as bulk
from tastegraph.identity import normalize as normalize
from tastegraph.identity import psi as psi
from tastegraph.identity import psi_keys as psi_keys
from tastegraph.identity.normalize import IdentifierKind, hashed_identifier, is_sha256_hex, plain_hash
from tastegraph.identity.service import (
    BROWSER_COOKIE,
    SESSION_COOKIE,
    IdentityService,
    LinkHandler,
    valid_browser_id,
)
from tastegraph.identity.signin_guard import DEVICE_COOKIE, SignInGuard

__all__ = [
    "BROWSER_COOKIE",
    "DEVICE_COOKIE",
    "SESSION_COOKIE",
    "IdentifierKind",
    "IdentityService",
    "LinkHandler",
    "SignInGuard",
    "bulk",
    "hashed_identifier",
    "is_sha256_hex",
    "normalize",
    "plain_hash",
    "psi",
    "psi_keys",
    "valid_browser_id",
]
