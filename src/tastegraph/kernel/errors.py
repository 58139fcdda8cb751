"""One error hierarchy. Each error has a stable code and an HTTP status; `api` maps them in one place.

A subclass names both in its class line: `class NotFound(TastegraphError, code="not_found", status=404)`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TastegraphError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init_subclass__(cls, *, code: str, status: int, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = code
        cls.status = status

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(TastegraphError, code="invalid_input", status=422):
    """A value is out of range, of the wrong kind or missing (`field` names it)."""


class MalformedBody(TastegraphError, code="malformed_body", status=400):
    """The body cannot be read at all: not JSON, not UTF-8 text."""


class Unauthenticated(TastegraphError, code="unauthenticated", status=401):
    """No valid session or token, or a wrong email or password."""


class Forbidden(TastegraphError, code="forbidden", status=403):
    """The caller is known but may not do this (another person's board, another ad account)."""


class CsrfFailed(TastegraphError, code="csrf_failed", status=403):
    """A page's form carried no valid CSRF token (web.csrf)."""


class NotFound(TastegraphError, code="not_found", status=404):
    """No such thing, or none the caller may see."""


class Conflict(TastegraphError, code="conflict", status=409):
    """It already exists (an email that has an account, a catalogue that is not empty)."""


class PayloadTooLarge(TastegraphError, code="payload_too_large", status=413):
    """The body, or a list in it, is over its limit."""


class UnsupportedMediaType(TastegraphError, code="unsupported_media_type", status=415):
    """The body is not of a content type this endpoint reads."""


class RateLimited(TastegraphError, code="rate_limited", status=429):
    """Over a request, token or sign-in limit; the client is told when to try again (Retry-After)."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Unavailable(TastegraphError, code="unavailable", status=503):
    """The database cannot be reached, is locked or full, or answers too slowly: nothing the request did
    wrong, and likely over soon, so the client is told when to try again (Retry-After)."""

    def __init__(self, message: str, retry_after_seconds: int = 5) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ConfigurationError(TastegraphError, code="configuration_error", status=500):
    """Refused configuration (e.g. the development secret key outside development). Not an HTTP error."""
