"""Sign-in sessions and cookie-to-account linking."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from tastegraph.identity import psi, psi_keys
from tastegraph.identity.normalize import IdentifierKind, plain_hash
from tastegraph.identity.tables import browser_links, person_identifiers, psi_points, sessions
from tastegraph.kernel.fastsql import Query, utc_time
from tastegraph.kernel.ids import new_browser_id, new_token, sha256_hex

BROWSER_COOKIE = "tg_bid"
SESSION_COOKIE = "tg_session"
_BROWSER_ID = re.compile(r"^[0-9a-f]{32}$")

# Run in the linking transaction: other domains move a browser's signed-out data to the account.
LinkHandler = Callable[[Connection, str, int, datetime], None]


def valid_browser_id(value: str | None) -> str | None:
    """A browser cookie we issued, or None for anything else (forged or malformed values are ignored)."""
    return value if value is not None and _BROWSER_ID.match(value) else None


_SESSION = Query(
    select(sessions.c.user_id, sessions.c.expires_at).where(sessions.c.token_hash == bindparam("token_hash"))
)


class HashedIdentifier(TypedDict):
    kind: str  # email or phone
    sha256: str


class LinkedBrowser(TypedDict):
    browser_id: str
    linked_at: str  # ISO 8601
    unlinked_at: str | None


class SessionTimes(TypedDict):
    created_at: str  # ISO 8601
    expires_at: str


class IdentityExport(TypedDict):
    hashed_identifiers: list[HashedIdentifier]
    linked_browsers: list[LinkedBrowser]
    sessions: list[SessionTimes]


class IdentityService:
    def __init__(self, session_ttl: timedelta = timedelta(days=30)) -> None:
        self.session_ttl = session_ttl
        self._link_handlers: list[LinkHandler] = []

    def on_link(self, handler: LinkHandler) -> None:
        self._link_handlers.append(handler)

    @staticmethod
    def new_browser_id() -> str:
        return new_browser_id()

    # --- sessions ------------------------------------------------------------------------------

    def start_session(self, conn: Connection, user_id: int, now: datetime) -> str:
        token = new_token()
        conn.execute(
            insert(sessions).values(
                token_hash=sha256_hex(token),
                user_id=user_id,
                created_at=now,
                expires_at=now + self.session_ttl,
            )
        )
        return token

    def user_for_session(self, conn: Connection, token: str | None, now: datetime) -> int | None:
        if not token:
            return None
        rows = _SESSION.rows(conn, {"token_hash": sha256_hex(token)})  # every signed-in request
        if not rows or utc_time(rows[0][1]) <= now:
            return None
        return int(rows[0][0])

    def end_session(self, conn: Connection, token: str) -> None:
        conn.execute(delete(sessions).where(sessions.c.token_hash == sha256_hex(token)))

    # --- browsers ------------------------------------------------------------------------------

    def user_for_browser(self, conn: Connection, browser_id: str | None) -> int | None:
        if browser_id is None:
            return None
        uid = conn.execute(
            select(browser_links.c.user_id).where(
                browser_links.c.browser_id == browser_id, browser_links.c.retired_at.is_(None)
            )
        ).scalar_one_or_none()
        return None if uid is None else int(uid)

    def browsers_of(self, conn: Connection, user_id: int) -> list[str]:
        return list(
            conn.execute(
                select(browser_links.c.browser_id).where(
                    browser_links.c.user_id == user_id, browser_links.c.retired_at.is_(None)
                )
            ).scalars()
        )

    def link(self, conn: Connection, browser_id: str | None, user_id: int, now: datetime) -> str:
        """Tie the browser a person signed in on to their account; return the browser id now tied.

        A browser id belongs to at most one person, ever. A fresh (or never linked) browser id is tied,
        and what that browser reported while signed out becomes the account's (the link handlers). A
        browser id still tied to someone else (they never signed out there) is untied from them and
        replaced by a new one, so nothing of theirs reaches this person and nothing of this person's
        lands on theirs. Signing out unties the browser too (`unlink`).
        """
        if browser_id is not None:
            row = conn.execute(
                select(browser_links.c.user_id, browser_links.c.retired_at).where(
                    browser_links.c.browser_id == browser_id
                )
            ).first()
            if row is not None and row.retired_at is None and int(row.user_id) == user_id:
                return browser_id
            if row is not None:  # someone else's, or untied at a sign-out: never reused
                self.unlink(conn, browser_id, now)
                browser_id = None
        if browser_id is None:
            browser_id = self.new_browser_id()
        conn.execute(insert(browser_links).values(browser_id=browser_id, user_id=user_id, linked_at=now))
        for handler in self._link_handlers:
            handler(conn, browser_id, user_id, now)
        return browser_id

    def unlink(self, conn: Connection, browser_id: str, now: datetime) -> None:
        """Untie the browser (sign-out): later reports from it are tied to nobody, and the id is retired,
        so signing in with it again gets a new one. The row stays (with its person) until erasure."""
        conn.execute(
            update(browser_links)
            .where(browser_links.c.browser_id == browser_id, browser_links.c.retired_at.is_(None))
            .values(retired_at=now)
        )

    # --- hashed identifiers (what advertisers' hashes are matched against) -----------------------

    def set_identifiers(
        self,
        conn: Connection,
        user_id: int,
        now: datetime,
        *,
        email: str | None = None,
        phone: str | None = None,
    ) -> None:
        """Store the hashes of a person's email and phone (replacing earlier ones); plain values are not kept.

        Raises InvalidInput (field "email"/"phone") for a value that does not normalize.
        """
        for kind, value in ((IdentifierKind.EMAIL, email), (IdentifierKind.PHONE, phone)):
            if value is None:
                continue
            digest = plain_hash(kind, value, field=kind.value)
            psi_keys.forget(conn, user_id, kind)  # a point made from the old value must not match
            conn.execute(
                delete(person_identifiers).where(
                    person_identifiers.c.user_id == user_id, person_identifiers.c.kind == kind.value
                )
            )
            conn.execute(
                insert(person_identifiers).values(user_id=user_id, kind=kind.value, hash=digest, added_at=now)
            )

    def match_hashes(self, conn: Connection, kind: IdentifierKind, hashes: Iterable[str]) -> dict[str, int]:
        """hash -> user id for every hash (lower-case SHA-256 hex) that names one of our people."""
        found: dict[str, int] = {}
        chunk: list[str] = []

        def flush() -> None:
            rows = conn.execute(
                select(person_identifiers.c.hash, person_identifiers.c.user_id).where(
                    person_identifiers.c.kind == kind.value, person_identifiers.c.hash.in_(chunk)
                )
            )
            found.update({r.hash: int(r.user_id) for r in rows})
            chunk.clear()

        for digest in hashes:
            chunk.append(digest)
            if len(chunk) >= 2000:
                flush()
        if chunk:
            flush()
        return found

    def all_hashes(self, conn: Connection, kind: IdentifierKind) -> list[tuple[int, str]]:
        """(user id, hash) of everyone with an identifier of this kind, by user id."""
        rows = conn.execute(
            select(person_identifiers.c.user_id, person_identifiers.c.hash)
            .where(person_identifiers.c.kind == kind.value)
            .order_by(person_identifiers.c.user_id)
        )
        return [(int(r.user_id), r.hash) for r in rows]

    def blinded_people(
        self, conn: Connection, kind: IdentifierKind, now: datetime, blinder: psi.Blinder
    ) -> tuple[list[int], list[bytes], bytes]:
        """Round 1 of private set intersection: (user ids, H(y)^b in that order, b)."""
        return psi_keys.blinded_people(conn, kind, now, blinder)

    # --- personal data -------------------------------------------------------------------------

    def export(self, conn: Connection, user_id: int) -> IdentityExport:
        links = conn.execute(select(browser_links).where(browser_links.c.user_id == user_id)).mappings()
        open_sessions = conn.execute(
            select(sessions.c.created_at, sessions.c.expires_at).where(sessions.c.user_id == user_id)
        ).mappings()
        identifiers = conn.execute(
            select(person_identifiers.c.kind, person_identifiers.c.hash).where(
                person_identifiers.c.user_id == user_id
            )
        ).mappings()
        return {
            "hashed_identifiers": [{"kind": r["kind"], "sha256": r["hash"]} for r in identifiers],
            "linked_browsers": [
                {
                    "browser_id": r["browser_id"],
                    "linked_at": r["linked_at"].isoformat(),
                    "unlinked_at": None if r["retired_at"] is None else r["retired_at"].isoformat(),
                }
                for r in links
            ],
            "sessions": [
                {"created_at": r["created_at"].isoformat(), "expires_at": r["expires_at"].isoformat()}
                for r in open_sessions
            ],
        }

    def erase(self, conn: Connection, user_id: int) -> int:
        n = conn.execute(delete(browser_links).where(browser_links.c.user_id == user_id)).rowcount
        n += conn.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount
        n += conn.execute(delete(person_identifiers).where(person_identifiers.c.user_id == user_id)).rowcount
        n += conn.execute(delete(psi_points).where(psi_points.c.user_id == user_id)).rowcount
        return n

    def sweep_sessions(self, conn: Connection, now: datetime) -> int:
        return conn.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount
