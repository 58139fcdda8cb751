"""Identifiers that tie off-site visits to a person without third-party cookies (issue 14).

- A **partition id** is the value of the partitioned cookie (CHIPS, `tg_pid`) the platform sets in the
  save button's frame when the browser keeps no unpartitioned cookie there. Visits stored under it are
  tied to nobody. The browser keeps a separate one per top-level site, so it cannot follow anyone across
  sites.
- A **link ticket** is minted for a partition when one of its visits is stored: random, single use,
  short-lived, bound to the site. The frame hands it to the Pin It popup it opens; the person who saves
  there redeems it (`redeem_ticket`) and that partition's visits on that site become theirs. A partition
  is tied to one person at most (`offsite_partition_links`), so a ticket replayed by someone else ties
  nothing to them.
- A **click id** (`tg_click`) is minted when a signed-in person whose settings allow off-site
  personalization follows a Pin to its site: random, one person, one host, expiring within a day.

Only SHA-256 hashes of tickets and click ids are stored: a copy of the tables cannot be replayed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import Connection, delete, insert, select, update

from tastegraph.collect.tables import (
    offsite_click_ids,
    offsite_link_tickets,
    offsite_partition_links,
    offsite_visits,
)
from tastegraph.consent import Purpose, Subject

PARTITION_COOKIE = "tg_pid"
CLICK_PARAMETER = "tg_click"
TICKET_TTL = timedelta(minutes=30)
CLICK_TTL = timedelta(hours=24)
_ID_HEX = 32  # 128 random bits


def new_partition_id() -> str:
    return secrets.token_hex(_ID_HEX // 2)


def valid_partition_id(value: str | None) -> str | None:
    """A partition id as we issue it (32 lowercase hex characters), else None."""
    if value is None or len(value) != _ID_HEX or any(c not in "0123456789abcdef" for c in value):
        return None
    return value


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _plausible(token: str) -> bool:
    return 16 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


# --- link tickets ----------------------------------------------------------------------------------


def mint_ticket(conn: Connection, partition_id: str, domain: str, host: str, now: datetime) -> str:
    """A single-use ticket that lets the person who acts on `domain` claim this partition's visits."""
    token = secrets.token_urlsafe(24)
    conn.execute(
        insert(offsite_link_tickets).values(
            ticket_hash=_digest(token),
            partition_id=partition_id,
            domain=domain,
            host=host,
            created_at=now,
            expires_at=now + TICKET_TTL,
        )
    )
    return token


@dataclass(frozen=True)
class Ticket:
    partition_id: str
    domain: str


def redeem_ticket(conn: Connection, token: str, site: str | None, now: datetime) -> Ticket | None:
    """Use a ticket up: the partition and site it stands for, or None if it is unknown, used, expired or
    for another site. A ticket is deleted when presented for the right site, whatever follows."""
    if not _plausible(token):
        return None
    row = conn.execute(
        select(offsite_link_tickets).where(offsite_link_tickets.c.ticket_hash == _digest(token))
    ).first()
    if row is None or row.expires_at <= now:
        return None
    if site is not None and site not in (row.domain, row.host):
        return None
    conn.execute(delete(offsite_link_tickets).where(offsite_link_tickets.c.ticket_hash == row.ticket_hash))
    return Ticket(row.partition_id, row.domain)


def partition_owner(conn: Connection, partition_id: str, domain: str) -> int | None:
    """The person this partition's visits on `domain` were tied to, if anyone."""
    found = conn.execute(
        select(offsite_partition_links.c.user_id).where(
            offsite_partition_links.c.partition_id == partition_id,
            offsite_partition_links.c.domain == domain,
        )
    ).scalar()
    return None if found is None else int(found)


def link_partition(
    conn: Connection, partition_id: str, domain: str, user_id: int, since: datetime, now: datetime
) -> int:
    """Tie the partition's unclaimed visits on `domain` (from `since` on) to `user_id`; returns how many.
    Refuses (0) when the partition is already someone else's."""
    owner = partition_owner(conn, partition_id, domain)
    if owner is not None and owner != user_id:
        return 0
    moved = conn.execute(
        update(offsite_visits)
        .where(
            offsite_visits.c.partition_id == partition_id,
            offsite_visits.c.domain == domain,
            offsite_visits.c.user_id.is_(None),
            offsite_visits.c.browser_id.is_(None),
            offsite_visits.c.visited_at >= since,
        )
        .values(user_id=user_id, tied_by="partition")
    ).rowcount
    if owner is None:
        conn.execute(
            insert(offsite_partition_links).values(
                partition_id=partition_id, domain=domain, user_id=user_id, visits=moved, linked_at=now
            )
        )
    else:
        conn.execute(
            update(offsite_partition_links)
            .where(
                offsite_partition_links.c.partition_id == partition_id,
                offsite_partition_links.c.domain == domain,
            )
            .values(visits=offsite_partition_links.c.visits + moved, linked_at=now)
        )
    return int(moved)


def drop_partition_visits(conn: Connection, partition_id: str, domain: str) -> int:
    """Delete a partition's unclaimed visits on `domain` (the person acting there refused them)."""
    return conn.execute(
        delete(offsite_visits).where(
            offsite_visits.c.partition_id == partition_id,
            offsite_visits.c.domain == domain,
            offsite_visits.c.user_id.is_(None),
            offsite_visits.c.browser_id.is_(None),
        )
    ).rowcount


# --- click ids -------------------------------------------------------------------------------------


def mint_click(conn: Connection, user_id: int, pin_id: int | None, host: str, now: datetime) -> str:
    token = secrets.token_urlsafe(24)
    conn.execute(
        insert(offsite_click_ids).values(
            click_hash=_digest(token),
            user_id=user_id,
            pin_id=pin_id,
            host=host,
            created_at=now,
            expires_at=now + CLICK_TTL,
        )
    )
    return token


def click_owner(conn: Connection, token: str, host: str, presenter: str, now: datetime) -> int | None:
    """The person whose click id this is, when it is unexpired, for the host the visit is on, and
    `presenter` (the partition or browser id the visit came with) is the first to come back with it:
    a landing URL someone copied and shared ties nothing the next reader does to the clicker."""
    if not _plausible(token):
        return None
    row = conn.execute(
        select(
            offsite_click_ids.c.id,
            offsite_click_ids.c.user_id,
            offsite_click_ids.c.host,
            offsite_click_ids.c.bound_to,
            offsite_click_ids.c.expires_at,
        ).where(offsite_click_ids.c.click_hash == _digest(token))
    ).first()
    if row is None or row.expires_at <= now or row.host != host:
        return None
    if row.bound_to is None:
        bound = conn.execute(
            update(offsite_click_ids)
            .where(offsite_click_ids.c.id == row.id, offsite_click_ids.c.bound_to.is_(None))
            .values(bound_to=presenter)
        ).rowcount
        if bound != 1:  # another request bound it first
            return None
    elif row.bound_to != presenter:
        return None
    return int(row.user_id)


def on_withdrawal(conn: Connection, subject: Subject, purpose: Purpose, now: datetime) -> None:
    """Consent to collect off-site data was withdrawn: the person's click ids tie nothing any more."""
    if subject.user_id is not None and purpose is Purpose.COLLECT_OFFSITE:
        forget_clicks(conn, subject.user_id)


def forget_clicks(conn: Connection, user_id: int) -> int:
    """Withdrawal: the person's click ids stop tying anything to them."""
    return conn.execute(delete(offsite_click_ids).where(offsite_click_ids.c.user_id == user_id)).rowcount


# --- privacy: export, erasure, retention -----------------------------------------------------------


class ClickRecord(TypedDict):
    host: str
    pin_id: int | None
    created_at: str
    expires_at: str


class PartitionLinkRecord(TypedDict):
    site: str
    visits: int
    linked_at: str


class OffsiteIdsExport(TypedDict):
    click_ids: list[ClickRecord]
    partitions_linked: list[PartitionLinkRecord]


def export(conn: Connection, user_id: int) -> OffsiteIdsExport:
    """The person's click ids (never the ids themselves: only hashes are kept) and the partitions they
    tied to themselves. Their visits are in the `offsite_visits` export, each with how it was tied."""
    clicks = conn.execute(
        select(offsite_click_ids)
        .where(offsite_click_ids.c.user_id == user_id)
        .order_by(offsite_click_ids.c.created_at.desc())
    ).mappings()
    links = conn.execute(
        select(offsite_partition_links)
        .where(offsite_partition_links.c.user_id == user_id)
        .order_by(offsite_partition_links.c.linked_at.desc())
    ).mappings()
    return {
        "click_ids": [
            {
                "host": r["host"],
                "pin_id": r["pin_id"],
                "created_at": r["created_at"].isoformat(),
                "expires_at": r["expires_at"].isoformat(),
            }
            for r in clicks
        ],
        "partitions_linked": [
            {"site": r["domain"], "visits": int(r["visits"]), "linked_at": r["linked_at"].isoformat()}
            for r in links
        ],
    }


def erase(conn: Connection, user_id: int) -> int:
    clicks = forget_clicks(conn, user_id)
    links = conn.execute(
        delete(offsite_partition_links).where(offsite_partition_links.c.user_id == user_id)
    ).rowcount
    return int(clicks + links)


def sweep(conn: Connection, now: datetime, retention: timedelta) -> int:
    """Expired tickets and click ids go at once; partition links after the off-site retention window
    (by then every visit they tied is gone too)."""
    tickets = conn.execute(delete(offsite_link_tickets).where(offsite_link_tickets.c.expires_at <= now))
    clicks = conn.execute(delete(offsite_click_ids).where(offsite_click_ids.c.expires_at <= now))
    links = conn.execute(
        delete(offsite_partition_links).where(offsite_partition_links.c.linked_at < now - retention)
    )
    return int(tickets.rowcount + clicks.rowcount + links.rowcount)
