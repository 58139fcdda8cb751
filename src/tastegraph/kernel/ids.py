"""Identifiers: random tokens for cookies and sessions, and their one-way digests."""

from __future__ import annotations

import hashlib
import secrets
import uuid


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token (session ids, CSRF secrets)."""
    return secrets.token_urlsafe(nbytes)


def new_browser_id() -> str:
    """The first-party browser cookie value: 128 random bits as 32 hex characters."""
    return uuid.uuid4().hex


def new_event_id() -> str:
    return uuid.uuid4().hex


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
