"""Validating one event on its own (a bad event fails with its field's path and never rejects the
others), and hashing its identifiers at the edge: what `prepare` returns is ready to store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import TypeAdapter, ValidationError

from tastegraph.collect.advertiser_events._schema import (
    FUTURE_TOLERANCE,
    MAX_AGE,
    MAX_EVENT_DEPTH,
    ConversionEvent,
)
from tastegraph.identity import IdentifierKind, hashed_identifier
from tastegraph.kernel.ids import new_event_id
from tastegraph.kernel.untrusted_text import json_problem

_EVENT = TypeAdapter(ConversionEvent)
# The identifiers enhanced match looks up (an external id is checked and hashed, but matches no one).
MATCHED_IDENTIFIERS = {"em": IdentifierKind.EMAIL, "ph": IdentifierKind.PHONE}


@dataclass(frozen=True)
class EventError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class PreparedEvent:
    """A valid event, ready to store: identifiers hashed, custom data flattened."""

    event: ConversionEvent
    event_time: datetime
    hashes: dict[IdentifierKind, list[str]] = field(default_factory=dict)
    browser_id: str | None = None
    site_visitor_id: str | None = None
    page_url: str | None = None


def _path(prefix: str, loc: Sequence[int | str]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "this field is required"
    if kind == "extra_forbidden":
        return "unknown field"
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def _without_query(url: str | None) -> str | None:
    """A page address without its query string and fragment: those often carry personal data (emails,
    order details) that nobody needs in order to count a visit."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) or None


def prepare(
    raw: object, prefix: str, now: datetime, *, require_identifier: bool = True
) -> PreparedEvent | EventError:
    """Validate one event. Errors name the field's full path under `prefix` (e.g. "data[3]")."""
    problem = json_problem(raw, MAX_EVENT_DEPTH)  # NUL, lone surrogates, nesting: this event fails alone
    if problem is not None:
        return EventError(_path(prefix, problem.loc), problem.message)
    try:
        event = _EVENT.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        return EventError(_path(prefix, first.get("loc", ())), _message(first))
    when = datetime.fromtimestamp(event.event_time, UTC) if 0 <= event.event_time < 2**37 else None
    if when is None or when < now - MAX_AGE:
        return EventError(_path(prefix, ["event_time"]), "event_time is more than 7 days old")
    if when > now + FUTURE_TOLERANCE:
        return EventError(_path(prefix, ["event_time"]), "event_time is in the future")
    ud = event.user_data
    if require_identifier and not (
        ud.em or ud.ph or ud.external_id or ud.click_id or (ud.client_ip_address and ud.client_user_agent)
    ):
        return EventError(
            _path(prefix, ["user_data"]),
            "give at least one of em, ph, external_id, click_id, or client_ip_address with client_user_agent",
        )
    try:
        page_url = _without_query(event.event_source_url)
    except ValueError:
        return EventError(_path(prefix, ["event_source_url"]), "not a valid URL")
    prepared = PreparedEvent(event, when, page_url=page_url)
    for key, kind in (*MATCHED_IDENTIFIERS.items(), ("external_id", IdentifierKind.EXTERNAL_ID)):
        values = getattr(ud, key)
        if not values:
            continue
        hashes: list[str] = []
        for i, value in enumerate(values):
            try:
                hashes.append(hashed_identifier(kind, value))
            except Exception as exc:  # InvalidInput: keep this event's failure to itself
                return EventError(_path(prefix, ["user_data", key, i]), getattr(exc, "message", str(exc)))
        prepared.hashes[kind] = hashes
    return prepared


def new_tag_event_id() -> str:
    return new_event_id()
