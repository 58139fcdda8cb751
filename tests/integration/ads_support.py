"""Helpers for the advertiser-data tests: ad accounts, events, many people made cheaply."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from tastegraph.ads import accounts, audiences
from tastegraph.bootstrap import System
from tastegraph.catalog.tables import users
from tastegraph.collect.tables import advertiser_events
from tastegraph.consent.tables import user_settings
from tastegraph.db.schema import full_metadata
from tastegraph.identity.normalize import IdentifierKind, plain_hash
from tastegraph.identity.tables import person_identifiers
from tastegraph.kernel.tables import inserted_id


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Acct:
    id: int
    token: str
    tag_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def ad_account(
    system: System, name: str = "Trailpeak", *, website: str | None = None, owner: int | None = None
) -> Acct:
    with system.write() as conn:
        account, token = accounts.create_account(
            conn, name, system.clock.now(), website=website, owner_user_id=owner
        )
    return Acct(account.id, token.token, account.tag_id)


def event(system: System, event_id: str, *, email: str | None = None, **over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event_name": "checkout",
        "action_source": "web",
        "event_time": int(system.clock.now().timestamp()),
        "event_id": event_id,
        "user_data": {"em": [sha(email or f"{event_id}@nobody.example")]},
    }
    out.update(over)
    return out


def send(client: TestClient, acct: Acct, events: list[dict[str, Any]], **params: str) -> dict[str, Any]:
    r = client.post(
        f"/v1/ad_accounts/{acct.id}/events", json={"data": events}, headers=acct.auth, params=params
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def statuses(result: dict[str, Any]) -> list[str]:
    return [e["outcome"] for e in result["events"]]


def people(system: System, n: int, prefix: str = "p", *, phones: bool = False) -> list[tuple[int, str]]:
    """n people with email (and phone) hashes, inserted directly (no password hashing): [(id, email)]."""
    now = system.clock.now()
    out: list[tuple[int, str]] = []
    with system.write() as conn:
        for i in range(n):
            email = f"{prefix}{i}@people.example"
            uid = int(
                inserted_id(
                    conn.execute(
                        insert(users).values(
                            email=email, password_hash="x", display_name=f"{prefix}{i}", created_at=now
                        )
                    )
                )
            )
            conn.execute(
                insert(user_settings).values(
                    user_id=uid, personalization=True, ads_advertiser_data=True, updated_at=now
                )
            )
            conn.execute(
                insert(person_identifiers).values(
                    user_id=uid, kind="email", hash=plain_hash(IdentifierKind.EMAIL, email), added_at=now
                )
            )
            if phones:
                conn.execute(
                    insert(person_identifiers).values(
                        user_id=uid,
                        kind="phone",
                        hash=plain_hash(IdentifierKind.PHONE, phone_of(i)),
                        added_at=now,
                    )
                )
            out.append((uid, email))
    return out


def person(system: System, email: str) -> int:
    """One person with this email (hash stored), inserted directly: no password hashing."""
    now = system.clock.now()
    with system.write() as conn:
        uid = int(
            inserted_id(
                conn.execute(
                    insert(users).values(email=email, password_hash="x", display_name=email, created_at=now)
                )
            )
        )
        conn.execute(
            insert(user_settings).values(
                user_id=uid, personalization=True, ads_advertiser_data=True, updated_at=now
            )
        )
        system.identity.set_identifiers(conn, uid, now, email=email)
    return uid


def phone_of(i: int) -> str:
    return f"+1 650 555 {i:04d}"


def members(system: System, audience_id: int) -> set[int]:
    with system.read() as conn:
        return audiences.members(conn, audience_id)


# Rate counters are bookkeeping that refused requests are meant to write (wrong tokens are
# counted, and the shared-count sync writes them on its own clock), not data a request changes.
_BOOKKEEPING = frozenset({"rate_counters"})


def row_counts(system: System) -> dict[str, int]:
    with system.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in full_metadata().sorted_tables
            if t.name not in _BOOKKEEPING
        }


def stored_events(system: System) -> list[dict[str, Any]]:
    with system.read() as conn:
        return [
            dict(r)
            for r in conn.execute(select(advertiser_events).order_by(advertiser_events.c.id)).mappings()
        ]
