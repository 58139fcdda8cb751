"""Property test: random sequences of ad touches (by people and signed-out browsers), conversions (matched
by hashed email, by a browser tied to the person, or by a click id, of this account's click or another's;
flagged opt-out or limited data processing; carried by a request with Global Privacy Control), setting
changes, per-advertiser blocks, attribution runs and clock moves. Whatever the order: no conversion of a
person who did not allow it when it arrived is ever attributed, and after a final incremental run the
rows are exactly those an independent model expects, with the model's candidates."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tastegraph.bootstrap import build
from tastegraph.collect import advertiser_events
from tastegraph.collect.advertiser_events import Ingest
from tastegraph.consent import RequestSignals
from tastegraph.db.schema import full_metadata
from tastegraph.kernel import FrozenClock
from tastegraph.measure import attribution
from tastegraph.usecases import advertiser_events as events_usecase
from tests.conftest import START, make_settings
from tests.integration.ads_support import ad_account, people, sha
from tests.integration.attribution_support import Touch, make_ads, model_candidates, rows, touch

PEOPLE, ACCOUNTS = 3, 2
P = st.integers(min_value=0, max_value=PEOPLE - 1)
WHO = st.one_of(P, st.none())  # None: a signed-out browser
A = st.integers(min_value=0, max_value=ACCOUNTS - 1)
KIND = st.sampled_from(["click", "engagement", "view"])
VIA = st.sampled_from(["email", "cookie", "click", "email+click"])
RARE = st.integers(min_value=0, max_value=5).map(lambda x: x == 0)  # a flag set on about 1 event in 6

Action = tuple[Any, ...]
EVENT = st.tuples(
    st.just("event"),
    P,
    A,
    VIA,
    st.integers(min_value=0, max_value=50),  # which click id (modulo the clicks so far)
    st.integers(min_value=-3 * 24 * 60, max_value=4),  # event_time - now, minutes
    RARE,  # opt_out
    RARE,  # limited data processing
    RARE,  # GPC on the request
)
actions = st.one_of(
    st.tuples(st.just("touch"), WHO, A, KIND),
    st.tuples(st.just("touch"), P, A, KIND),
    EVENT,
    EVENT,
    st.tuples(st.just("setting"), P, st.booleans()),
    st.tuples(st.just("block"), P, A, st.booleans()),
    st.tuples(st.just("run")),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=36 * 60)),  # minutes
)


@dataclass
class Model:
    setting: list[bool] = field(default_factory=lambda: [True] * PEOPLE)
    blocked: set[tuple[int, int]] = field(default_factory=set)
    touches: list[Touch] = field(default_factory=list)
    # stored event id -> (allowed when it arrived, account, matched person, event time, click id's click)
    events: dict[int, tuple[bool, int, int | None, datetime, Touch | None]] = field(default_factory=dict)

    def allows(self, p: int, a: int) -> bool:
        return self.setting[p] and (p, a) not in self.blocked


# Sequences that must come out right, besides the random ones: an allowed conversion credited to a
# click, a late touch, a disallowed person's conversion, a click id of a person who then said no.
@example(
    [
        ("touch", 0, 0, "click"),
        ("event", 0, 0, "email", 0, -1, False, False, False),
        ("setting", 1, False),
        ("touch", 1, 0, "view"),
        ("event", 1, 0, "email", 0, 0, False, False, False),
        ("run",),
        ("event", 2, 0, "email", 0, 4, False, False, False),
        ("run",),
        ("touch", 2, 0, "engagement"),
        ("event", 2, 0, "click", 0, 0, False, False, False),
        ("touch", None, 0, "click"),
        ("event", 2, 0, "click", 2, 0, False, False, False),
        ("event", 2, 1, "click", 2, 0, False, False, False),
        ("event", 0, 0, "cookie", 0, 0, False, False, True),
    ]
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=1, max_size=24))
def test_nothing_of_a_person_who_disallowed_is_ever_attributed(steps: list[Action]) -> None:
    clock = FrozenClock(START)
    system = build(make_settings("sqlite://"), clock=clock)
    full_metadata().create_all(system.engine)
    try:
        accts = [ad_account(system, f"Shop {i}") for i in range(ACCOUNTS)]
        ad_of = [make_ads(system, a.id, 1)[0] for a in accts]
        crowd = people(system, PEOPLE)
        uid = [u for u, _ in crowd]
        browsers = []
        with system.write() as conn:
            for u in uid:
                browsers.append(system.identity.link(conn, secrets.token_hex(16), u, clock.now()))
        model = Model()
        # Everyone saw each account's ad a while ago: most conversions have a candidate to credit.
        for a in range(ACCOUNTS):
            for u in uid:
                model.touches.append(touch(system, "view", ad_of[a], clock.now() - timedelta(days=5), u))
                clock.advance(timedelta(seconds=1))
        account_index = {a.id: i for i, a in enumerate(accts)}
        for n, step in enumerate(steps):
            now = clock.now()
            kind = step[0]
            if kind == "touch":
                _, who, a, what = step
                t = touch(
                    system,
                    what,
                    ad_of[a],
                    now,
                    None if who is None else uid[who],
                    browser_key=secrets.token_hex(16) if who is None else None,
                )
                model.touches.append(t)
                clock.advance(timedelta(seconds=1))  # no two touches at one instant
            elif kind == "event":
                _, p, a, via, pick, minutes, opt_out, ldp, gpc = step
                when = now + timedelta(minutes=minutes)
                clicks = [t for t in model.touches if t.kind == "click"]
                click = clicks[pick % len(clicks)] if clicks and "click" in via else None
                user_data: dict[str, Any] = {}
                if "email" in via:
                    user_data["em"] = [sha(crowd[p][1])]
                if click is not None:
                    user_data["click_id"] = click.click_id
                if not user_data:
                    user_data["external_id"] = [sha(f"x{n}")]
                raw = {
                    "event_name": "checkout",
                    "action_source": "web",
                    "event_time": int(when.timestamp()),
                    "event_id": f"e{n}",
                    "user_data": user_data,
                    "opt_out": opt_out,
                    "limited_data_processing": ldp,
                }
                item = advertiser_events.prepare(raw, "data[0]", now)
                assert isinstance(item, advertiser_events.PreparedEvent), item
                if via == "cookie":
                    item.browser_id = browsers[p]
                signals = RequestSignals(global_privacy_control=gpc)
                ingest = Ingest(accts[a].id, "tag", signals, click_owners=events_usecase._click_owners)
                with system.write() as conn:
                    (out,) = advertiser_events.record_events(
                        conn, system.identity, system.consent, ingest, [item], now
                    )
                    assert out.status.value == "processed"
                    t = advertiser_events.event_log()
                    ev = int(conn.execute(select(t.c.id).where(t.c.event_id == f"e{n}")).scalar_one())
                # The model: who the event is about, and whether all of them allowed it now.
                matched = (
                    p if via in ("email", "cookie", "email+click") and not (gpc and via != "cookie") else None
                )
                same_account = click is not None and click.ad_account_id == accts[a].id
                involved_ok: list[bool] = []
                if matched is not None:
                    involved_ok.append(model.allows(matched, a))
                if same_account:
                    assert click is not None
                    if click.user_id is not None:
                        owner = uid.index(click.user_id)
                        if owner != matched:
                            involved_ok.append(model.allows(owner, a))
                    else:
                        involved_ok.append(True)  # signed out: the flags and signals decide
                allowed = bool(involved_ok) and all(involved_ok) and not (opt_out or ldp or gpc)
                model.events[ev] = (
                    allowed,
                    a,
                    None if matched is None else uid[matched],
                    when,
                    click if same_account else None,
                )
                if gpc and via == "cookie":
                    model.setting[p] = False  # the person's own browser said GPC: their setting goes off
            elif kind == "setting":
                _, p, on = step
                with system.write() as conn:
                    system.consent.change(conn, uid[p], {"ads_advertiser_data": on}, "api", now)
                model.setting[p] = on
            elif kind == "block":
                _, p, a, block = step
                with system.write() as conn:
                    if block:
                        system.consent.block_advertiser(conn, uid[p], accts[a].id, f"Shop {a}", now)
                        model.blocked.add((p, a))
                    else:
                        system.consent.unblock_advertiser(conn, uid[p], accts[a].id, f"Shop {a}", now)
                        model.blocked.discard((p, a))
            elif kind == "run":
                attribution.run(system.engine, now)
            else:
                _, minutes = step
                clock.advance(timedelta(minutes=minutes))
            # Whatever happened: no row of a conversion that was not allowed when it arrived.
            for ev in rows(system):
                assert model.events[ev][0], (step, ev)
        # A final incremental run: exactly the expected rows, with the expected candidates.
        clock.advance(timedelta(minutes=1))
        attribution.run(system.engine, clock.now())
        expected: dict[int, tuple[Any, ...]] = {}
        for ev, (allowed, a, matched_uid, when, click) in model.events.items():
            if not allowed:
                continue
            cands = model_candidates(
                model.touches if matched_uid is not None else [], accts[a].id, matched_uid, when, click
            )
            if not any(cands.values()):
                continue
            expected[ev] = tuple(
                (None, None) if cands[k] is None else (cands[k].ad_id, cands[k].at)  # type: ignore[union-attr]
                for k in ("click", "engagement", "view")
            )
        got = {
            ev: (
                (r["click_ad_id"], r["click_at"]),
                (r["engagement_ad_id"], r["engagement_at"]),
                (r["view_ad_id"], r["view_at"]),
            )
            for ev, r in rows(system).items()
        }
        assert got == expected
        assert all(account_index[r["ad_account_id"]] == model.events[ev][1] for ev, r in rows(system).items())
    finally:
        system.dispose()
