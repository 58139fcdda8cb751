"""Spend and frequency counters for Promoted Pins, shared by every server process and every server.

Two stores with one interface (`SpendStore`): the database (`DatabaseSpend`, SQLite or PostgreSQL; the
default) and Redis (`RedisSpend`, when TASTEGRAPH_REDIS_URL is set). Serving calls them; they have no
routes of their own.

How an ad spends
----------------
1. Serving an ad `reserve`s its auction price (what one impression costs for CPM, one click for CPC)
   on every budget it is under, and counts one serve on every frequency cap it is under — all or
   nothing, atomically across processes: it is refused if spent + reserved + price would pass any
   budget's limit, or if a cap's window would hold more than its cap.
2. The impression (CPM) or the click (CPC) `charge`s the reservation once: its price (never more than
   what was reserved) moves to `spent` and the rest of the hold is freed. A second report of the same
   token is a "duplicate" and charges nothing; a report after the token expired charges nothing.
3. A reservation that is never charged is freed by `release` (the ad was not shown after all) or, once
   its token has expired, by `release_expired` (run it every minute or so).
The spend lands on the budgets it was reserved on: an ad served at 23:59 and clicked at 00:01 spends
yesterday's daily budget.

Overspend
---------
In the store the limits are exact: spent + reserved never passes a limit, and a charge can only turn a
part of a hold into spend, so no budget is ever overspent by the store, whatever the concurrency (0 %,
not the 1 % the issue allows). Prices are integer micro-units fixed at serve time, so nothing is
rounded after the check. Spend can still end above a budget only from outside the store: an advertiser
lowering a budget below what is already spent (nothing more serves; what was spent stays), serving
code that charges a key it did not reserve on (it cannot: a charge takes the reservation's keys), a
Redis that lost its data (run it with persistence) or a switch between stores. The 1 % the issue allows
is left to pacing, which may choose to use it; this module does not.

Frequency caps count serves, not impressions: a served ad counts toward its cap when it is reserved and
stays counted if its token expires unseen. That is what makes a cap hold without exception under
concurrent requests (an impression reported later could not be refused any more); the price is that an
ad served below the fold and never seen uses one of the person's serves.

Budget keys (formed by the caller; 1 to 200 of A-Z a-z 0-9 : _ . -)
-------------------------------------------------------------------
  ag:{ad group id}:d:{YYYY-MM-DD}     an ad group's daily budget, the day in the ad account's time zone
  ag:{ad group id}:life               an ad group's lifetime budget
  c:{campaign id}:d:{YYYY-MM-DD}      a campaign's daily spend cap
  c:{campaign id}:life                a campaign's lifetime spend cap
Give each ad every key that applies with its current limit; the store keeps no limits, only amounts,
so a changed budget takes effect at the next reservation. `day_key` and `lifetime_key` form these.

Frequency caps
--------------
`FrequencyCap(subject, scope, cap, days, today)`: at most `cap` serves of `scope` (an ad group:
`ag:{id}`) to a `Subject` (a person's user id, or a signed-out browser's id) in any `days` consecutive
advertiser days (1, 7 or 30; up to 30), `today` being the advertiser's day now. Counts are kept per
advertiser day, so the window slides a day at a time. These counters are personal data: a person's
are exported and erased through `privacy` (`export_person`, `erase_person`, registered by bootstrap)
and all of them are gone 32 days after their last serve (database: `sweep`; Redis: key expiry). A
signed-out browser's counters are that browser's, not a person's (they are not erased with an account
the browser later signs in to), and age out the same way.
"""

from datetime import date

from tastegraph.ads.spend._database import DatabaseSpend
from tastegraph.ads.spend._model import (
    Budget,
    ChargeOutcome,
    FrequencyCap,
    Reservation,
    ReserveOutcome,
    Spend,
    SpendStore,
    Subject,
)
from tastegraph.ads.spend._redis import RedisSpend


def day_key(kind: str, object_id: int, day: date) -> str:
    """A daily budget's key: `day_key("ag", 12, date(2026, 6, 1))` is "ag:12:d:2026-06-01"."""
    if kind not in ("ag", "c"):
        raise ValueError("kind: 'ag' (ad group) or 'c' (campaign)")
    return f"{kind}:{int(object_id)}:d:{day.isoformat()}"


def lifetime_key(kind: str, object_id: int) -> str:
    """A lifetime budget's key: `lifetime_key("c", 3)` is "c:3:life"."""
    if kind not in ("ag", "c"):
        raise ValueError("kind: 'ag' (ad group) or 'c' (campaign)")
    return f"{kind}:{int(object_id)}:life"


__all__ = [
    "Budget",
    "ChargeOutcome",
    "DatabaseSpend",
    "FrequencyCap",
    "RedisSpend",
    "Reservation",
    "ReserveOutcome",
    "Spend",
    "SpendStore",
    "Subject",
    "day_key",
    "lifetime_key",
]
