"""Property test: random sequences of advertisers' events (some flagged opt-out, limited data processing,
or carried by a request with GPC, which keeps an event matched by hashed email tied to nobody), setting
changes, per-advertiser blocks, audience refreshes, customer lists and clock moves. Whatever happens, no
audience ever holds a person whose consent does not allow it, a refreshed visitor audience holds exactly
the people the rules allow, and the aggregate counts include every stored event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tastegraph.ads import audiences, customer_lists
from tastegraph.ads.audiences import AudienceKind
from tastegraph.bootstrap import build
from tastegraph.collect import advertiser_events
from tastegraph.collect.advertiser_events import Ingest
from tastegraph.consent import RequestSignals
from tastegraph.db.schema import full_metadata
from tastegraph.kernel import FrozenClock
from tests.conftest import START, make_settings
from tests.integration.ads_support import ad_account, members, people, sha

PEOPLE, ACCOUNTS = 3, 2
RETENTION_DAYS = 10
P = st.integers(min_value=0, max_value=PEOPLE - 1)
A = st.integers(min_value=0, max_value=ACCOUNTS - 1)

Action = tuple[object, ...]
actions = st.one_of(
    st.tuples(st.just("event"), P, A, st.booleans(), st.booleans(), st.booleans()),
    st.tuples(st.just("setting"), P, st.booleans()),
    st.tuples(st.just("block"), P, A, st.booleans()),
    st.tuples(st.just("refresh"), A),
    st.tuples(st.just("customer_list"), A),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=24 * 6)),
)


@dataclass
class Rules:
    """What the rules allow, kept independently of the service."""

    setting: list[bool] = field(default_factory=lambda: [True] * PEOPLE)
    blocked: set[tuple[int, int]] = field(default_factory=set)
    # (person, account, when, usable flags-wise)
    events: list[tuple[int, int, datetime, bool]] = field(default_factory=list)

    def may_reach(self, p: int, a: int) -> bool:
        return self.setting[p] and (p, a) not in self.blocked

    def visitors(self, a: int, now: datetime) -> set[int]:
        since = now - timedelta(days=RETENTION_DAYS)
        return {
            p
            for p, acct, when, clean in self.events
            if acct == a and clean and when >= since and self.may_reach(p, a)
        }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=1, max_size=20))
def test_no_audience_ever_holds_someone_consent_keeps_out(steps: list[Action]) -> None:
    clock = FrozenClock(START)
    system = build(make_settings("sqlite://"), clock=clock)
    full_metadata().create_all(system.engine)
    try:
        accts = [ad_account(system, f"Shop {i}") for i in range(ACCOUNTS)]
        crowd = people(system, PEOPLE)
        uid = [u for u, _ in crowd]
        person_of = {u: i for i, u in enumerate(uid)}
        with system.write() as conn:
            spec = audiences.visitor_spec([], RETENTION_DAYS)
            visitor_ids = [
                audiences.create(
                    conn, system.consent, None, a.id, AudienceKind.VISITOR, "", spec, clock.now()
                ).id
                for a in accts
            ]
        lists: list[tuple[int, int]] = []  # (account index, audience id)
        rules = Rules()
        stored = [0] * ACCOUNTS
        for n, step in enumerate(steps):
            now = clock.now()
            kind = step[0]
            if kind == "event":
                _, p, a, opt_out, ldp, gpc = step
                assert isinstance(p, int) and isinstance(a, int)
                raw = {
                    "event_name": "checkout",
                    "action_source": "web",
                    "event_time": int(now.timestamp()),
                    "event_id": f"e{n}",
                    "user_data": {"em": [sha(crowd[p][1])]},
                    "opt_out": opt_out,
                    "limited_data_processing": ldp,
                }
                item = advertiser_events.prepare(raw, "data[0]", now)
                signals = RequestSignals(global_privacy_control=bool(gpc))
                with system.write() as conn:
                    (out,) = advertiser_events.record_events(
                        conn,
                        system.identity,
                        system.consent,
                        Ingest(accts[a].id, "tag", signals),
                        [item],
                        now,
                    )
                assert out.status.value == "processed"
                stored[a] += 1
                # A hashed email authenticates nobody: under GPC the event is kept tied to no one and
                # changes nobody's setting (only a browser tied to the person speaks for them).
                if not gpc:
                    rules.events.append((p, a, now, not (opt_out or ldp)))
            elif kind == "setting":
                _, p, on = step
                assert isinstance(p, int)
                with system.write() as conn:
                    system.consent.change(conn, uid[p], {"ads_advertiser_data": bool(on)}, "api", now)
                rules.setting[p] = bool(on)
            elif kind == "block":
                _, p, a, block = step
                assert isinstance(p, int) and isinstance(a, int)
                with system.write() as conn:
                    if block:
                        system.consent.block_advertiser(conn, uid[p], accts[a].id, f"Shop {a}", now)
                        rules.blocked.add((p, a))
                    else:
                        system.consent.unblock_advertiser(conn, uid[p], accts[a].id, f"Shop {a}", now)
                        rules.blocked.discard((p, a))
            elif kind == "refresh":
                _, a = step
                assert isinstance(a, int)
                with system.write() as conn:
                    audiences.refresh(conn, system.consent, None, accts[a].id, visitor_ids[a], now)
                got = {person_of[u] for u in members(system, visitor_ids[a])}
                assert got == rules.visitors(a, now), (step, rules)
            elif kind == "customer_list":
                _, a = step
                assert isinstance(a, int)
                with system.write() as conn:
                    matcher = customer_lists.Matcher(
                        conn, system.identity, customer_lists.kind_of("email"), hashed=False
                    )
                    matcher.feed([e for _, e in crowd])
                    matcher.finish()
                    result = customer_lists.save(conn, system.consent, accts[a].id, matcher, "", now)
                assert result["matched"] == PEOPLE
                lists.append((a, int(result["audience_id"])))
                got = {person_of[u] for u in members(system, result["audience_id"])}
                assert got == {p for p in range(PEOPLE) if rules.may_reach(p, a)}
            else:
                _, hours = step
                assert isinstance(hours, int)
                clock.advance(timedelta(hours=hours))
            # Whatever happened: nobody is in an audience their consent keeps them out of.
            for a, audience_id in [*enumerate(visitor_ids), *lists]:
                for u in members(system, audience_id):
                    assert rules.may_reach(person_of[u], a), (step, person_of[u], a, rules)
            with system.read() as conn:
                for a, acct in enumerate(accts):
                    counted = advertiser_events.summary(conn, acct.id, START - timedelta(days=1))
                    assert sum(r["events"] for r in counted) == stored[a]
    finally:
        system.dispose()
