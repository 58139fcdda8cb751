"""The tag on advertisers' pages: its image pixel. (`/tag.js`, the script that calls it, is a web asset.)

`GET /v1/tag/{tag_id}/event?event=checkout&value=12.50&currency=EUR&event_id=...` answers a 1x1 GIF.
The person is recognized by our browser cookie (sent with the image request when the browser allows
third-party cookies; linked to an account once they signed in here) and by `em`, a SHA-256 hashed email
(enhanced match; the script hashes it in the browser). `fp` is the id the script keeps in a first-party
cookie on the advertiser's own site.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from fastapi import APIRouter, Request, Response

from tastegraph.ads import accounts
from tastegraph.api.context import CallerDep, SystemDep
from tastegraph.collect import advertiser_events
from tastegraph.collect.advertiser_events import EventError, Ingest, PreparedEvent
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.untrusted_text import TOO_DEEP

router = APIRouter(prefix="/v1", tags=["tag"])

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_FP = re.compile(r"^[0-9a-zA-Z_-]{8,40}$")
_CUSTOM_NUMBERS = ("value",)
_CUSTOM_INTS = ("order_quantity",)
_CUSTOM_TEXT = ("currency", "order_id", "search_query")
_ALLOWED = {
    "event", "event_id", "em", "fp", "url", "line_items", "noscript", "ts",
    *_CUSTOM_NUMBERS, *_CUSTOM_INTS, *_CUSTOM_TEXT,
}  # fmt: skip


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput("expected a whole number", field=name) from exc


def event_from_query(params: dict[str, str], now_seconds: int) -> dict[str, Any]:
    """The pixel's query string as a conversions-API event (action_source "web", event_time now)."""
    for name in params:
        if name not in _ALLOWED:
            raise InvalidInput("unknown parameter", field=name)
    if "event" not in params:
        raise InvalidInput("say which event: ?event=page_visit (or another standard event)", field="event")
    custom: dict[str, Any] = {}
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
    user_data: dict[str, Any] = {}
    if params.get("em"):
        user_data["em"] = [params["em"]]
    return {
        "event_name": params["event"],
        "action_source": "web",
        "event_time": now_seconds,
        "event_id": params.get("event_id") or advertiser_events.new_tag_event_id(),
        "user_data": user_data,
        "custom_data": custom or None,
        "event_source_url": params.get("url") or None,
    }


@router.get(
    "/tag/{tag_id}/event",
    summary="The tag's pixel: record one event, answer a 1x1 GIF",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}}},
)
def pixel(tag_id: str, request: Request, system: SystemDep, caller: CallerDep) -> Response:
    params = dict(request.query_params)
    now = system.clock.now()
    with system.read() as conn:
        account = accounts.account_for_tag(conn, tag_id)
    if account is None:
        raise NotFound("no such tag id", field="tag_id")
    raw = event_from_query(params, int(now.timestamp()))
    item = advertiser_events.prepare(raw, "", now, require_identifier=False)
    if isinstance(item, EventError):
        # The field names the query parameter the page sent.
        field = item.field.replace("custom_data.", "").replace("user_data.em[0]", "em")
        field = {"event_name": "event", "event_source_url": "url"}.get(field, field)
        raise InvalidInput(item.message, field=field)
    assert isinstance(item, PreparedEvent)
    item.browser_id = caller.browser_id
    fp = params.get("fp")
    item.site_visitor_id = fp if fp and _FP.match(fp) else None
    with system.write() as conn:
        advertiser_events.record_events(
            conn, system.identity, system.consent, Ingest(account, "tag", caller.signals), [item], now
        )
    return Response(
        GIF,
        media_type="image/gif",
        headers={"Cache-Control": "no-store", "Cross-Origin-Resource-Policy": "cross-origin"},
    )
