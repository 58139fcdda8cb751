"""Advertisers' events, from the tag and the conversions API: validation, matching, idempotent ingest,
and the consent-gated reads that audiences are built from.

Each event is validated on its own: a bad event fails with its field's path and never rejects the others.
An event with the same (event_name, event_id) as one the same ad account sent in the last 48 hours, by
tag or by API, is a duplicate and is not stored again. Every event is kept (for the advertiser's aggregate
counts, for its retention period); whether it may shape the ads a person sees is decided by consent at
read time (`usable_people`), from the person's settings and the flags stored with the event.

The package's modules, by concern: `_schema` (the event's shape), `_prepare` (validating and hashing
one event), `_ingest` (deduplicating, matching and storing; `_ingest_lock` serializes an ad account's
batches on PostgreSQL), `_reads` (consent-gated readers and aggregate counts) and `_personal_data`
(export, erasure, browser tie, retention). Other packages use only the names below.
"""

from tastegraph.collect.advertiser_events._ingest import (
    DEDUPE_WINDOW,
    ClickOwner,
    ClickOwners,
    EventOutcome,
    Ingest,
    Status,
    record_events,
)
from tastegraph.collect.advertiser_events._personal_data import (
    EventRecord,
    attach_browser,
    erase,
    export,
    sweep,
)
from tastegraph.collect.advertiser_events._prepare import (
    EventError,
    PreparedEvent,
    new_tag_event_id,
    prepare,
)
from tastegraph.collect.advertiser_events._reads import (
    AccountData,
    SummaryRow,
    accounts_with_data_about,
    event_log,
    summary,
    usable_people,
)
from tastegraph.collect.advertiser_events._schema import (
    FUTURE_TOLERANCE,
    MAX_AGE,
    MAX_EVENT_DEPTH,
    MAX_EVENTS,
    ConversionEvent,
    CustomData,
    EventName,
    LineItem,
    UserData,
)

__all__ = [
    "DEDUPE_WINDOW",
    "FUTURE_TOLERANCE",
    "MAX_AGE",
    "MAX_EVENTS",
    "MAX_EVENT_DEPTH",
    "AccountData",
    "ClickOwner",
    "ClickOwners",
    "ConversionEvent",
    "CustomData",
    "EventError",
    "EventName",
    "EventOutcome",
    "EventRecord",
    "Ingest",
    "LineItem",
    "PreparedEvent",
    "Status",
    "SummaryRow",
    "UserData",
    "accounts_with_data_about",
    "attach_browser",
    "erase",
    "event_log",
    "export",
    "new_tag_event_id",
    "prepare",
    "record_events",
    "summary",
    "sweep",
    "usable_people",
]
