"""What the spend stores take and answer, the one interface both stores implement, and the checks every
call goes through before either store touches anything."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, NamedTuple, Protocol

from sqlalchemy import Connection

ReserveOutcome = Literal["reserved", "budget", "frequency"]
ChargeOutcome = Literal["charged", "duplicate", "expired"]

# Frequency counts are kept this many advertiser days back: the longest window (30) plus one day for
# servers whose clocks disagree about which day it is.
KEPT_DAYS = 31
MAX_WINDOW_DAYS = 30
# Amounts and limits stay below 2**53 micro-units (9 billion in a currency's units), so Redis's Lua,
# whose numbers are doubles, compares them exactly.
MAX_MICRO = 2**53 - 1

_KEY = re.compile(r"[A-Za-z0-9:_.\-]{1,200}")
_SCOPE = re.compile(r"[A-Za-z0-9:_.\-]{1,100}")
_BROWSER = re.compile(r"[A-Za-z0-9_\-]{1,32}")
_RESERVATION = re.compile(r"[A-Za-z0-9_\-]{1,64}")


class Spend(NamedTuple):
    spent: int  # micro-units charged
    reserved: int  # micro-units held by served ads not yet charged or released


@dataclass(frozen=True)
class Budget:
    """A budget key and its limit: spent + reserved never passes `limit_micro`."""

    key: str
    limit_micro: int


@dataclass(frozen=True)
class Subject:
    """Whom a frequency cap counts for: a person (signed in) or a signed-out browser, never both."""

    user_id: int | None = None
    browser_id: str | None = None

    @property
    def key(self) -> str:
        if self.user_id is not None:
            return f"u:{self.user_id}"
        assert self.browser_id is not None
        return f"b:{self.browser_id}"


@dataclass(frozen=True)
class FrequencyCap:
    """At most `cap` ads of `scope` served to `subject` in any `days` consecutive advertiser days;
    `today` is the advertiser's day now (its time zone)."""

    subject: Subject
    scope: str
    cap: int
    days: int
    today: date


@dataclass(frozen=True)
class Reservation:
    """One served ad's hold, for `reserve_many`: what `reserve` takes."""

    reservation_id: str
    amount_micro: int
    budgets: Sequence[Budget]
    caps: Sequence[FrequencyCap]
    expires_at: datetime


class SpendStore(Protocol):
    """Budgets and frequency caps that hold across processes and servers (ads.spend explains them)."""

    def reserve(
        self,
        reservation_id: str,
        amount_micro: int,
        budgets: Sequence[Budget],
        caps: Sequence[FrequencyCap],
        *,
        now: datetime,
        expires_at: datetime,
    ) -> ReserveOutcome:
        """All or nothing: "reserved" (the amount is held on every budget and each cap counted one
        more serve), else "budget" or "frequency" (the first refusal found) and nothing changed.
        Raises ValueError for bad arguments or a reservation id used before."""
        ...

    def reserve_many(self, items: Sequence[Reservation], *, now: datetime) -> list[ReserveOutcome]:
        """A page's ads, in order, each all or nothing as `reserve` does it (and seeing the ones before
        it), stopping at the first refusal: the outcomes of those tried (the last one refused, or all
        reserved). One transaction (or round of scripts) for the page instead of one per ad."""
        ...

    def charge(self, reservation_id: str, price_micro: int, now: datetime) -> ChargeOutcome:
        """Move the reservation to spend at `price_micro` (≤ its amount; the rest is freed), once:
        "charged", "duplicate" (charged before: nothing more), "expired" (past its expiry, released,
        or unknown: nothing charged, its hold is freed)."""
        ...

    def release(self, reservation_id: str, now: datetime) -> bool:
        """Free an uncharged reservation's hold (True); False if there was none to free."""
        ...

    def release_expired(self, now: datetime, batch: int = 500) -> int:
        """Free every reservation past its expiry and forget charged ones past theirs, `batch` to a
        transaction (or script); returns how many holds were freed."""
        ...

    def spent(self, keys: Sequence[str]) -> dict[str, Spend]:
        """Each key's spend and holds (a key never reserved: zeros)."""
        ...

    def served(self, caps: Sequence[FrequencyCap]) -> list[int]:
        """How many ads each cap's window has counted (to skip ads already capped before an auction)."""
        ...

    def export_person(self, conn: Connection, user_id: int) -> list[dict[str, object]]:
        """The person's frequency counts (privacy export)."""
        ...

    def erase_person(self, conn: Connection, user_id: int) -> int:
        """Delete the person's frequency counts; returns how many counters went."""
        ...

    def sweep(self, conn: Connection, now: datetime) -> int:
        """Delete frequency counts no window can reach any more."""
        ...


# --- checks -----------------------------------------------------------------------------------------


def check_reservation_id(reservation_id: str) -> None:
    if not _RESERVATION.fullmatch(reservation_id):
        raise ValueError("reservation_id: 1 to 64 letters, digits, '-' or '_'")


def check_time(name: str, value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name}: a timezone-aware time")


def check_reserve(
    reservation_id: str,
    amount_micro: int,
    budgets: Sequence[Budget],
    caps: Sequence[FrequencyCap],
    now: datetime,
    expires_at: datetime,
) -> None:
    check_reservation_id(reservation_id)
    check_time("now", now)
    check_time("expires_at", expires_at)
    if expires_at <= now:
        raise ValueError("expires_at: after now")
    if not _is_micro(amount_micro) or amount_micro <= 0:
        raise ValueError("amount_micro: a positive integer under 2**53")
    if not budgets:
        raise ValueError("budgets: at least one (an ad is never served without a budget to hold)")
    seen: set[str] = set()
    for b in budgets:
        if not _KEY.fullmatch(b.key):
            raise ValueError(f"budgets: key {b.key!r} must be 1 to 200 of A-Z a-z 0-9 : _ . -")
        if b.key in seen:
            raise ValueError(f"budgets: key {b.key!r} given twice")
        seen.add(b.key)
        if not _is_micro(b.limit_micro):
            raise ValueError(f"budgets: limit of {b.key!r} must be an integer from 0 to 2**53 - 1")
    counted: set[tuple[str, str]] = set()
    for c in caps:
        check_subject(c.subject)
        if not _SCOPE.fullmatch(c.scope):
            raise ValueError(f"caps: scope {c.scope!r} must be 1 to 100 of A-Z a-z 0-9 : _ . -")
        if (c.subject.key, c.scope) in counted:
            raise ValueError(f"caps: scope {c.scope!r} given twice for one subject")
        counted.add((c.subject.key, c.scope))
        if not 1 <= c.days <= MAX_WINDOW_DAYS:
            raise ValueError(f"caps: days must be 1 to {MAX_WINDOW_DAYS}")
        if isinstance(c.cap, bool) or not isinstance(c.cap, int) or c.cap < 0:
            raise ValueError("caps: cap must be an integer, 0 or more")


def check_subject(subject: Subject) -> None:
    if (subject.user_id is None) == (subject.browser_id is None):
        raise ValueError("subject: exactly one of user_id and browser_id")
    if subject.user_id is not None and (isinstance(subject.user_id, bool) or subject.user_id <= 0):
        raise ValueError("subject: user_id must be a positive integer")
    if subject.browser_id is not None and not _BROWSER.fullmatch(subject.browser_id):
        raise ValueError("subject: browser_id must be 1 to 32 letters, digits, '-' or '_'")


def check_price(price_micro: int) -> None:
    if not _is_micro(price_micro):
        raise ValueError("price_micro: an integer from 0 to 2**53 - 1")


def _is_micro(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_MICRO


def window_count(days: dict[int, int], today: int, window: int) -> int:
    """Serves counted in the window ending today. Days after `today` count too: another server whose
    clock is ahead may already be in the next day, and its serves must not be missed."""
    return sum(n for d, n in days.items() if d > today - window)


def dated(days: dict[str, int]) -> dict[str, int]:
    """Day ordinals as ISO dates, in order (for a person's export)."""
    ordered = sorted((int(d), int(n)) for d, n in days.items())
    return {date.fromordinal(d).isoformat(): n for d, n in ordered}
