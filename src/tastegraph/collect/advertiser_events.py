"""Advertisers' events, from the tag and the conversions API: validation, matching, idempotent ingest,
and the consent-gated reads that audiences are built from.

Each event is validated on its own: a bad event fails with its field's path and never rejects the others.
An event with the same (event_name, event_id) as one the same ad account sent in the last 48 hours, by
tag or by API, is a duplicate and is not stored again. Every event is kept (for the advertiser's aggregate
counts, for its retention period); whether it may shape the ads a person sees is decided by consent at
read time (`audience_members`), from the person's settings and the flags stored with the event.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from ipaddress import ip_address
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from sqlalchemy import Connection, func, insert, select, text, update

from tastegraph.collect.tables import advertiser_events
from tastegraph.consent import AdvertiserDatum, ConsentService, Purpose, RequestSignals, decide
from tastegraph.identity import IdentifierKind, IdentityService, hashed_identifier
from tastegraph.kernel.ids import new_event_id
from tastegraph.kernel.json_numbers import WHOLE_NUMBER, JsonInt
from tastegraph.kernel.untrusted_text import MAX_JSON_DEPTH, json_problem

MAX_EVENTS = 1000
# An event sits two levels down in a request ({"data": [event]}): the request's depth limit, from there.
MAX_EVENT_DEPTH = MAX_JSON_DEPTH - 2
DEDUPE_WINDOW = timedelta(hours=48)
MAX_AGE = timedelta(days=7)
FUTURE_TOLERANCE = timedelta(minutes=5)


class EventName(StrEnum):
    PAGE_VISIT = "page_visit"
    VIEW_CATEGORY = "view_category"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    CHECKOUT = "checkout"
    SIGNUP = "signup"
    LEAD = "lead"
    WATCH_VIDEO = "watch_video"
    CUSTOM = "custom"


class Status(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    FAILED = "failed"


def _currency(code: str) -> str:
    upper = code.strip().upper()
    if len(upper) != 3 or pycountry.currencies.get(alpha_3=upper) is None:
        raise ValueError("not an ISO 4217 currency code (e.g. USD, EUR)")
    return upper


def _ip(value: str) -> str:
    ip_address(value.strip())  # raises ValueError for anything that is not an IPv4/IPv6 address
    return value.strip()


def _no_controls(value: str) -> str:
    # NUL and other control characters are never part of real text, and PostgreSQL refuses NUL.
    if not value.isprintable() and any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("control characters (such as NUL) are not allowed")
    return value


Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]
Text = Annotated[StrictStr, AfterValidator(_no_controls)]
Text128 = Annotated[Text, Field(min_length=1, max_length=128)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineItem(_Strict):
    product_id: Text128 | None = None
    product_name: Annotated[Text, Field(max_length=256)] | None = None
    product_category: Annotated[Text, Field(max_length=256)] | None = None
    product_price: Money | None = None
    product_quantity: Annotated[StrictInt, Field(ge=0, le=1_000_000), WHOLE_NUMBER] | None = None


class CustomData(_Strict):
    # A number or a numeric string ("12.50"); never NaN or infinite.
    value: Money | None = None
    currency: Annotated[StrictStr, AfterValidator(_currency)] | None = None
    order_quantity: Annotated[StrictInt, Field(ge=0, le=1_000_000), WHOLE_NUMBER] | None = None
    order_id: Text128 | None = None
    search_query: Annotated[Text, Field(max_length=256)] | None = None
    line_items: Annotated[list[LineItem], Field(max_length=200)] | None = None


Identifiers = Annotated[list[StrictStr], Field(min_length=1, max_length=20)]


class UserData(_Strict):
    em: Identifiers | None = None
    ph: Identifiers | None = None
    external_id: Identifiers | None = None
    client_ip_address: Annotated[StrictStr, AfterValidator(_ip)] | None = None
    client_user_agent: Annotated[Text, Field(min_length=1, max_length=1024)] | None = None
    click_id: Text128 | None = None


class ConversionEvent(_Strict):
    event_name: EventName
    action_source: Literal["web", "app_android", "app_ios", "offline"]
    event_time: JsonInt
    event_id: Text128
    user_data: UserData
    custom_data: CustomData | None = None
    event_source_url: Annotated[Text, Field(max_length=2048)] | None = None
    opt_out: StrictBool = False
    limited_data_processing: StrictBool = False


_EVENT = TypeAdapter(ConversionEvent)
_IDENTIFIER_KINDS = {"em": IdentifierKind.EMAIL, "ph": IdentifierKind.PHONE}


@dataclass(frozen=True)
class EventError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True)
class EventOutcome:
    status: Status
    error: EventError | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status.value}
        if self.error is not None:
            out["error"] = self.error.as_dict()
        return out


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
    for key, kind in (*_IDENTIFIER_KINDS.items(), ("external_id", IdentifierKind.EXTERNAL_ID)):
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


@dataclass(frozen=True)
class Ingest:
    """Who is sending: the ad account, the channel, and for the tag the browser and its signals."""

    ad_account_id: int
    source: Literal["tag", "api"]
    signals: RequestSignals = field(default_factory=RequestSignals)
    test_only: bool = False  # validate and answer, store nothing


def record_events(
    conn: Connection,
    identity: IdentityService,
    consent: ConsentService,
    ingest: Ingest,
    items: Sequence[PreparedEvent | EventError],
    now: datetime,
) -> list[EventOutcome]:
    """Store the valid events (not already stored), matched to people; statuses in request order."""
    if conn.dialect.name == "postgresql" and not ingest.test_only:
        # Serialize ingest per ad account, so two concurrent batches cannot both store one event.
        lock_key = zlib.crc32(f"advertiser_events:{ingest.ad_account_id}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
    valid = [p for p in items if isinstance(p, PreparedEvent)]
    seen = _recent_keys(
        conn, ingest.ad_account_id, {(p.event.event_name.value, p.event.event_id) for p in valid}, now
    )
    matches = {
        kind: identity.match_hashes(conn, kind, {h for p in valid for h in p.hashes.get(kind, ())})
        for kind in _IDENTIFIER_KINDS.values()
    }
    outcomes: list[EventOutcome] = []
    rows: list[dict[str, Any]] = []
    gpc_users: set[int] = set()
    for item in items:
        if isinstance(item, EventError):
            outcomes.append(EventOutcome(Status.FAILED, item))
            continue
        key = (item.event.event_name.value, item.event.event_id)
        if key in seen:
            outcomes.append(EventOutcome(Status.DUPLICATE))
            continue
        seen.add(key)
        user_id, matched_by = _match(conn, identity, item, matches)
        if ingest.signals.global_privacy_control and user_id is not None:
            if matched_by is not None and matched_by.startswith("cookie"):
                # The browser that sent GPC is tied to this person: it speaks for them.
                gpc_users.add(user_id)
            else:
                # A hashed email or phone authenticates nobody: under GPC the event is counted for the
                # advertiser, tied to no one, and changes nobody's settings.
                user_id, matched_by = None, None
        rows.append(_row(ingest, item, user_id, matched_by, now))
        outcomes.append(EventOutcome(Status.PROCESSED))
    if ingest.test_only:
        return outcomes
    if rows:
        conn.execute(insert(advertiser_events), rows)
    for user_id in sorted(gpc_users):
        # The person's own browser carried GPC: an opt-out of sharing for their account, logged.
        consent.honor_gpc(conn, user_id, now)
    return outcomes


def _recent_keys(
    conn: Connection, ad_account_id: int, keys: set[tuple[str, str]], now: datetime
) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    ids = sorted({event_id for _, event_id in keys})
    since = now - DEDUPE_WINDOW
    for start in range(0, len(ids), 500):
        # Only the event-id index is usable here (its leading column takes the IN list); the time
        # window is checked on the few rows found, so a planner without statistics on a fresh table
        # cannot pick a scan of every recent event instead (seen on PostgreSQL: seconds per batch).
        rows = conn.execute(
            select(
                advertiser_events.c.event_name, advertiser_events.c.event_id, advertiser_events.c.received_at
            ).where(
                advertiser_events.c.event_id.in_(ids[start : start + 500]),
                advertiser_events.c.ad_account_id == ad_account_id,
            )
        )
        found.update((r.event_name, r.event_id) for r in rows if r.received_at >= since)
    return found & keys


def _match(
    conn: Connection,
    identity: IdentityService,
    item: PreparedEvent,
    matches: dict[IdentifierKind, dict[str, int]],
) -> tuple[int | None, str | None]:
    """The person an event is about: our browser cookie first (linked to an account when known), then
    enhanced match on hashed email or phone. Returns (user id, how it matched)."""
    how: list[str] = []
    user_id = identity.user_for_browser(conn, item.browser_id) if item.browser_id else None
    if user_id is not None:
        how.append("cookie")
    for key, kind in _IDENTIFIER_KINDS.items():
        for digest in item.hashes.get(kind, ()):
            found = matches[kind].get(digest)
            if found is not None and (user_id is None or found == user_id):
                user_id = found
                if key not in how:
                    how.append(key)
    return user_id, ",".join(how) or None


def _row(
    ingest: Ingest, item: PreparedEvent, user_id: int | None, matched_by: str | None, now: datetime
) -> dict[str, Any]:
    e, cd = item.event, item.event.custom_data or CustomData()
    return {
        "ad_account_id": ingest.ad_account_id,
        "source": ingest.source,
        "event_name": e.event_name.value,
        "event_id": e.event_id,
        "action_source": e.action_source,
        "event_time": item.event_time,
        "received_at": now,
        "user_id": user_id,
        "browser_id": item.browser_id,
        "site_visitor_id": item.site_visitor_id,
        "matched_by": matched_by,
        "click_id": e.user_data.click_id,
        "opt_out": e.opt_out,
        "limited_data_processing": e.limited_data_processing,
        "global_privacy_control": ingest.signals.global_privacy_control,
        "value": cd.value,
        "currency": cd.currency,
        "order_id": cd.order_id,
        "order_quantity": cd.order_quantity,
        "search_query": cd.search_query,
        "line_items": None if cd.line_items is None else [li.model_dump(mode="json") for li in cd.line_items],
        "page_url": item.page_url,
    }


def new_tag_event_id() -> str:
    return new_event_id()


# --- reads ---------------------------------------------------------------------------------------


def usable_people(
    conn: Connection,
    consent: ConsentService,
    ad_account_id: int,
    event_names: Sequence[str],
    since: datetime,
    now: datetime,
) -> set[int]:
    """People whose events of these kinds since `since` may shape the ads they see (consent decides,
    event by event, from the person's settings now and the flags stored with the event)."""
    query = select(
        advertiser_events.c.user_id,
        advertiser_events.c.event_time,
        advertiser_events.c.opt_out,
        advertiser_events.c.limited_data_processing,
        advertiser_events.c.global_privacy_control,
    ).where(
        advertiser_events.c.ad_account_id == ad_account_id,
        advertiser_events.c.user_id.is_not(None),
        advertiser_events.c.event_time >= since,
    )
    if event_names:
        query = query.where(advertiser_events.c.event_name.in_(list(event_names)))
    rows = conn.execute(query).all()
    subjects = consent.subjects_for_ads(conn, (int(r.user_id) for r in rows))
    allowed: set[int] = set()
    for r in rows:
        uid = int(r.user_id)
        if uid in allowed:
            continue
        datum = AdvertiserDatum(
            ad_account_id, bool(r.opt_out), bool(r.limited_data_processing), bool(r.global_privacy_control)
        )
        decision = decide(
            Purpose.ADS_WITH_ADVERTISER_DATA,
            subjects[uid],
            RequestSignals(),
            now,
            consent.policy,
            data_time=r.event_time,
            advertiser_datum=datum,
        )
        if decision.allowed:
            allowed.add(uid)
    return allowed


def summary(conn: Connection, ad_account_id: int, since: datetime) -> list[dict[str, Any]]:
    """Aggregate counts per event kind, every stored event included whatever consent says about
    personalization (measurement only: nothing here names a person)."""
    rows = conn.execute(
        select(
            advertiser_events.c.event_name,
            advertiser_events.c.currency,
            func.count().label("events"),
            func.sum(advertiser_events.c.value).label("value"),
        )
        .where(advertiser_events.c.ad_account_id == ad_account_id, advertiser_events.c.event_time >= since)
        .group_by(advertiser_events.c.event_name, advertiser_events.c.currency)
        .order_by(advertiser_events.c.event_name, advertiser_events.c.currency)
    )
    return [
        {
            "event_name": r.event_name,
            "currency": r.currency,
            "events": int(r.events),
            "value": None if r.value is None else str(Decimal(r.value).quantize(Decimal("0.01"))),
        }
        for r in rows
    ]


def accounts_with_data_about(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """Which ad accounts shared events that matched this person: for the privacy center."""
    rows = conn.execute(
        select(
            advertiser_events.c.ad_account_id,
            func.count().label("events"),
            func.max(advertiser_events.c.received_at).label("last_at"),
        )
        .where(advertiser_events.c.user_id == user_id)
        .group_by(advertiser_events.c.ad_account_id)
    )
    return [
        {"ad_account_id": int(r.ad_account_id), "events": int(r.events), "last_at": r.last_at} for r in rows
    ]


# --- personal data (registered with privacy by bootstrap) -------------------------------------------


def export(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The events tied to the person (matched when they arrived, or tied at sign-in: `attach_browser`)."""
    rows = conn.execute(
        select(advertiser_events)
        .where(advertiser_events.c.user_id == user_id)
        .order_by(advertiser_events.c.event_time)
    ).mappings()
    out = []
    for r in rows:
        out.append(
            {
                "ad_account_id": r["ad_account_id"],
                "source": r["source"],
                "event_name": r["event_name"],
                "event_time": r["event_time"].isoformat(),
                "received_at": r["received_at"].isoformat(),
                "matched_by": r["matched_by"],
                "value": None if r["value"] is None else str(r["value"]),
                "currency": r["currency"],
                "order_id": r["order_id"],
                "page_url": r["page_url"],
                "opt_out": r["opt_out"],
                "limited_data_processing": r["limited_data_processing"],
            }
        )
    return out


def erase(conn: Connection, user_id: int) -> int:
    """Unlink the person from every event about them: the events stay, anonymous, in aggregate counts."""
    return conn.execute(
        update(advertiser_events)
        .where(advertiser_events.c.user_id == user_id)
        .values(user_id=None, browser_id=None, site_visitor_id=None, click_id=None, page_url=None)
    ).rowcount


def attach_browser(conn: Connection, browser_id: str, user_id: int, now: datetime) -> None:
    """A browser signed in for the first time: the tag events it sent while tied to nobody become the
    account's, as its off-site visits do (their stored GPC and opt-out flags still decide their use)."""
    conn.execute(
        update(advertiser_events)
        .where(advertiser_events.c.browser_id == browser_id, advertiser_events.c.user_id.is_(None))
        .values(user_id=user_id, matched_by="cookie")
    )


def sweep(conn: Connection, now: datetime, retention: timedelta) -> int:
    return conn.execute(
        advertiser_events.delete().where(advertiser_events.c.received_at < now - retention)
    ).rowcount
