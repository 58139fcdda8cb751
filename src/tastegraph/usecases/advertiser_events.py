"""Advertisers' events: the conversions API (a batch from the advertiser's server), the tag's pixel (one
event from a person's browser), and the aggregate counts an advertiser sees.

Every event is validated on its own; what consent allows is decided when the events are read
(collect.advertiser_events.usable_people), except that a Global Privacy Control signal from a browser
tied to a person turns that person's sharing off as the event is stored, and that whether a conversion
may ever be attributed to an ad is decided as it arrives (its person's settings then, the click its
click id names: ads.ad_log.click_owners, the account's own clicks only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from tastegraph.ads import accounts, ad_log
from tastegraph.bootstrap import System
from tastegraph.collect import advertiser_events
from tastegraph.collect.advertiser_events import (
    ClickOwner,
    EventError,
    EventOutcome,
    Ingest,
    PreparedEvent,
    Status,
    SummaryRow,
)
from tastegraph.collect.advertiser_events import (
    ConversionEvent as ConversionEvent,  # the schema /openapi.json publishes for one event
)
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.untrusted_text import TOO_DEEP
from tastegraph.usecases.callers import AdCaller, Caller

MAX_EVENTS = advertiser_events.MAX_EVENTS  # per conversions-API request
EVENT_NAMES: tuple[str, ...] = tuple(e.value for e in advertiser_events.EventName)


@dataclass(frozen=True)
class EventsRecorded:
    """One status per event, in request order (processed, duplicate, or failed with the field's path)."""

    outcomes: list[EventOutcome]
    test: bool  # validated only: nothing was stored

    def _count(self, status: Status) -> int:
        return sum(o.status is status for o in self.outcomes)

    @property
    def processed(self) -> int:
        return self._count(Status.PROCESSED)

    @property
    def duplicate(self) -> int:
        return self._count(Status.DUPLICATE)

    @property
    def failed(self) -> int:
        return self._count(Status.FAILED)


@dataclass(frozen=True)
class EventCount:
    """Events of one kind (and currency) received: measurement only, no person in it."""

    event_name: str
    currency: str | None
    events: int
    value: str | None  # the sum, two decimals; None when no event carried a value


@dataclass(frozen=True)
class EventsSummary:
    since: datetime
    events: list[EventCount]


def event_counts(rows: Sequence[SummaryRow]) -> list[EventCount]:
    """collect.advertiser_events.summary's rows, typed (the advertiser pages read them too)."""
    return [EventCount(r["event_name"], r["currency"], r["events"], r["value"]) for r in rows]


def _click_owners(conn: Connection, ad_account_id: int, click_ids: Collection[str]) -> dict[str, ClickOwner]:
    """The ad account's own clicks among these click ids, and who made them (for the attribution decision
    taken as each event arrives)."""
    return {
        click_id: ClickOwner(user_id, browser_key)
        for click_id, (user_id, browser_key) in ad_log.click_owners(conn, ad_account_id, click_ids).items()
    }


def record_events(system: System, caller: AdCaller, data: Sequence[object], *, test: bool) -> EventsRecorded:
    """The conversions API: validate each event (a bad one fails alone), then store the new ones in one
    transaction, matched to people. `test` validates and stores nothing (a read transaction)."""
    now = system.clock.now()
    items = [advertiser_events.prepare(raw, f"data[{i}]", now) for i, raw in enumerate(data)]
    ingest = Ingest(caller.ad_account_id, "api", test_only=test, click_owners=_click_owners)
    with system.read() if test else system.write() as conn:
        outcomes = advertiser_events.record_events(conn, system.identity, system.consent, ingest, items, now)
    return EventsRecorded(outcomes, test)


def events_summary(system: System, caller: AdCaller, days: int) -> EventsSummary:
    """Counts per event kind over the last `days`, every stored event included whatever consent says
    about personalization (nothing here names a person)."""
    since = system.clock.now() - timedelta(days=days)
    with system.read() as conn:
        rows = advertiser_events.summary(conn, caller.ad_account_id, since)
    return EventsSummary(since, event_counts(rows))


# --- the tag -------------------------------------------------------------------------------------

# The pixel's query parameters (what /tag.js sends): the tag's own wire format, read here because the
# tag id is checked before them.
_FP = re.compile(r"^[0-9a-zA-Z_-]{8,40}$")
_CUSTOM_NUMBERS = ("value",)
_CUSTOM_INTS = ("order_quantity",)
_CUSTOM_TEXT = ("currency", "order_id", "search_query")
_ALLOWED = {
    "event", "event_id", "em", "fp", "url", "line_items", "noscript", "ts", "click_id",
    *_CUSTOM_NUMBERS, *_CUSTOM_INTS, *_CUSTOM_TEXT,
}  # fmt: skip


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput("expected a whole number", field=name) from exc


def event_from_query(params: Mapping[str, str], now_seconds: int) -> dict[str, object]:
    """The pixel's query string as a conversions-API event (action_source "web", event_time now), to be
    validated as one (`advertiser_events.prepare`)."""
    for name in params:
        if name not in _ALLOWED:
            raise InvalidInput("unknown parameter", field=name)
    if "event" not in params:
        raise InvalidInput("say which event: ?event=page_visit (or another standard event)", field="event")
    custom: dict[str, object] = {}
    for name in _CUSTOM_NUMBERS:
        if name in params:
            custom[name] = params[name]  # a numeric string is accepted, as by the API
    for name in _CUSTOM_INTS:
        if name in params:
            custom[name] = _int(name, params[name])
    for name in _CUSTOM_TEXT:
        if name in params:
            custom[name] = params[name]
    if "line_items" in params:
        try:
            custom["line_items"] = json.loads(params["line_items"])
        except RecursionError as exc:  # the rest of the depth limit is checked with the event
            raise InvalidInput(TOO_DEEP, field="line_items") from exc
        except ValueError as exc:
            raise InvalidInput("line_items must be a JSON list", field="line_items") from exc
    user_data: dict[str, object] = {}
    if params.get("em"):
        user_data["em"] = [params["em"]]
    if params.get("click_id"):
        user_data["click_id"] = params["click_id"]  # a Promoted Pin's tg_click, kept by the tag
    return {
        "event_name": params["event"],
        "action_source": "web",
        "event_time": now_seconds,
        "event_id": params.get("event_id") or advertiser_events.new_tag_event_id(),
        "user_data": user_data,
        "custom_data": custom or None,
        "event_source_url": params.get("url") or None,
    }


def _parameter_error(error: EventError) -> InvalidInput:
    """An event's error, naming the query parameter the page sent."""
    field = error.field.replace("custom_data.", "").replace("user_data.em[0]", "em")
    field = field.replace("user_data.click_id", "click_id")
    field = {"event_name": "event", "event_source_url": "url"}.get(field, field)
    return InvalidInput(error.message, field=field)


def record_tag_event(system: System, caller: Caller, tag_id: str, params: Mapping[str, str]) -> None:
    """The tag's pixel: one event from the browser, for the ad account the tag id names. The person is
    recognized by our browser cookie (tied to an account once they signed in here) and by `em`, a hashed
    email; `fp` is the id the tag keeps in a first-party cookie on the advertiser's site. The request's
    GPC signal counts only for the person this browser is tied to.

    Raises NotFound for an unknown tag id, InvalidInput naming the parameter for a bad event."""
    now = system.clock.now()
    with system.read() as conn:
        account = accounts.account_for_tag(conn, tag_id)
    if account is None:
        raise NotFound("no such tag id", field="tag_id")
    item = advertiser_events.prepare(
        event_from_query(params, int(now.timestamp())), "", now, require_identifier=False
    )
    if isinstance(item, EventError):
        raise _parameter_error(item)
    assert isinstance(item, PreparedEvent)
    item.browser_id = caller.browser_id
    fp = params.get("fp")
    item.site_visitor_id = fp if fp and _FP.match(fp) else None
    with system.write() as conn:
        advertiser_events.record_events(
            conn,
            system.identity,
            system.consent,
            Ingest(account, "tag", caller.signals, click_owners=_click_owners),
            [item],
            now,
        )
