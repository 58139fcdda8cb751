"""Shared basics: ids, the clock, errors, the table metadata. Uses nothing else of Tastegraph."""

from tastegraph.kernel.clock import Clock, FrozenClock, SettableClock, SystemClock, utc
from tastegraph.kernel.errors import (
    ConfigurationError,
    Conflict,
    CsrfFailed,
    Forbidden,
    InvalidInput,
    MalformedBody,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    TastegraphError,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from tastegraph.kernel.tables import PERSONAL, SUBJECT, IdType, UTCDateTime, metadata

__all__ = [
    "PERSONAL",
    "SUBJECT",
    "Clock",
    "ConfigurationError",
    "Conflict",
    "CsrfFailed",
    "Forbidden",
    "FrozenClock",
    "IdType",
    "InvalidInput",
    "MalformedBody",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "SettableClock",
    "SystemClock",
    "TastegraphError",
    "UTCDateTime",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "metadata",
    "utc",
]
