"""The outbox of third-party measurement pixel calls (measure.pixels writes and sends it).

One row per counted event and tracking URL, written in the transaction that counts the event
(an impression, click or engagement recorded for the first time), so a count and its calls are
committed together or not at all. (`event_key`, `url_index`) is unique: a URL is queued at most once
per event. The URL is stored with its macros expanded (ads.tracking_urls.expand).

Not personal data: a row names an ad, an event kind, and a URL that the rules of ads.tracking_urls keep
free of any identifier of a person. `event_key` is the event kind and the served token's random id (the
key the ad logs count the event by); a person's ad logs are erased with them, after which it ties to no
one. Rows are deleted SENT_KEPT after they are done (`tastegraph sweep`)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, UniqueConstraint

from tastegraph.kernel.tables import UTCDateTime, id_column, reference, table

pixel_outbox = table(
    "pixel_outbox",
    id_column(),
    Column("event_key", String(64), nullable=False),
    Column("url_index", Integer, nullable=False),
    reference("ad_id", "ads.id", nullable=False, index=True),
    Column("event", String(12), nullable=False),  # impression | click | engagement
    Column("url", String(2100), nullable=False),
    Column("host", String(300), nullable=False),  # "host:port", to hold back calls to a host that is down
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    # A dispatcher's claim: until `lease_until` no other process sends the row.
    Column("lease_id", String(24), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    # Done: sent (the receiver answered 2xx/3xx), unconfirmed (the request went out and no answer
    # came: not repeated, so a URL is never called twice for one event), refused (a 4xx answer, or the
    # URL's host is not public), gave_up (retried until measure.pixels.GIVE_UP_AFTER).
    Column("done_at", UTCDateTime, nullable=True),
    Column("outcome", String(12), nullable=True),
    Column("last_error", String(200), nullable=True),
    UniqueConstraint("event_key", "url_index", name="uq_pixel_outbox_event_url"),
    Index("ix_pixel_outbox_due", "done_at", "next_attempt_at"),
    personal=False,
)
