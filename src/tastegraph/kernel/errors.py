"""One error hierarchy. Each error has a stable code and an HTTP status; `api` maps them in one place."""

from __future__ import annotations

from typing import ClassVar


class TastegraphError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(TastegraphError):
    code = "invalid_input"
    status = 422


class MalformedBody(TastegraphError):
    code = "malformed_body"
    status = 400


class Unauthenticated(TastegraphError):
    code = "unauthenticated"
    status = 401


class Forbidden(TastegraphError):
    code = "forbidden"
    status = 403


class CsrfFailed(TastegraphError):
    code = "csrf_failed"
    status = 403


class NotFound(TastegraphError):
    code = "not_found"
    status = 404


class Conflict(TastegraphError):
    code = "conflict"
    status = 409


class PayloadTooLarge(TastegraphError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(TastegraphError):
    code = "unsupported_media_type"
    status = 415


class RateLimited(TastegraphError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Unavailable(TastegraphError):
    """The database cannot be reached, is locked or full, or answers too slowly: nothing the request did
    wrong, and likely over soon, so the client is told when to try again (Retry-After)."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str, retry_after_seconds: int = 5) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ConfigurationError(TastegraphError):
    """Refused configuration (e.g. the development secret key outside development). Not an HTTP error."""

    code = "configuration_error"
    status = 500
