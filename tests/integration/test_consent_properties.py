"""Property test: random sequences of visits, setting changes, browser signals, opt-outs, clock moves and
sweeps, driven through the real service. Whatever happens, no feed carries an off-site reason that is not
allowed at that moment, and nothing older than the retention window survives a sweep."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tastegraph.bootstrap import build
from tastegraph.collect.tables import offsite_visits
from tastegraph.db.schema import full_metadata
from tastegraph.kernel import FrozenClock
from tastegraph.server import compose
from tests.conftest import START, make_settings
from tests.helpers import SITES, mini_world, sign_in, sign_up_in

RETENTION = timedelta(days=30)
DOMAINS = sorted(SITES)
WHO = st.sampled_from(["member", "guest"])  # a signed-in person, and a signed-out browser

Action = tuple[str, ...] | tuple[object, ...]
actions = st.one_of(
    st.tuples(st.just("visit"), WHO, st.sampled_from(DOMAINS), st.booleans(), st.booleans()),
    st.tuples(st.just("personalization"), st.booleans()),
    st.tuples(st.just("guest_opt_out"), st.booleans()),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=24 * 40)),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("feed"), WHO, st.booleans(), st.booleans()),
)


@dataclass
class Model:
    """What the rules say may be stored and used, kept independently of the service."""

    now: datetime
    personalization: bool = True
    guest_opted_out: bool = False
    visits: dict[str, list[tuple[str, datetime]]] = field(default_factory=lambda: {"member": [], "guest": []})

    def may_store(self, who: str, dnt: bool, gpc: bool) -> bool:
        if dnt or gpc:
            return False
        return self.personalization if who == "member" else not self.guest_opted_out

    def usable_domains(self, who: str) -> set[str]:
        return {d for d, t in self.visits[who] if t >= self.now - RETENTION}


def _headers(dnt: bool, gpc: bool) -> dict[str, str]:
    out = {}
    if dnt:
        out["DNT"] = "1"
    if gpc:
        out["Sec-GPC"] = "1"
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=1, max_size=30))
def test_no_disallowed_offsite_reason_ever(steps: list[Action]) -> None:
    clock = FrozenClock(START)
    system = build(make_settings("sqlite://"), clock=clock)
    full_metadata().create_all(system.engine)
    mini_world(system, pins_per_site=3)
    app = compose(system, run_sweeper=False)
    model = Model(now=clock.now())
    with (
        TestClient(app, base_url="http://127.0.0.1:8000") as member,
        TestClient(app, base_url="http://127.0.0.1:8000") as guest,
    ):
        sign_up_in(member, "m@example.com", "long enough")
        clients = {"member": member, "guest": guest}
        for step in steps:
            kind = step[0]
            if kind == "visit":
                _, who, domain, dnt, gpc = step
                assert isinstance(who, str) and isinstance(domain, str)
                r = clients[who].post(
                    "/v1/offsite/visits",
                    json={"url": f"https://{domain}/page"},
                    headers=_headers(bool(dnt), bool(gpc)),
                )
                assert r.status_code in (200, 201), r.text
                stored = model.may_store(who, bool(dnt), bool(gpc))
                assert r.json()["stored"] is stored
                if stored:
                    model.visits[who].append((domain, model.now))
            elif kind == "personalization":
                value = bool(step[1])
                assert member.patch("/v1/me/settings", json={"personalization": value}).status_code == 200
                if model.personalization and not value:
                    model.visits["member"] = []
                model.personalization = value
            elif kind == "guest_opt_out":
                opted_out = bool(step[1])
                assert (
                    guest.put("/v1/browser/personalization", json={"allow": not opted_out}).status_code == 200
                )
                if opted_out and not model.guest_opted_out:
                    model.visits["guest"] = []
                model.guest_opted_out = opted_out
            elif kind == "advance":
                hours = step[1]
                assert isinstance(hours, int)
                clock.advance(timedelta(hours=hours))
                model.now = clock.now()
                # Keep the member signed in across long jumps (sessions last 30 days).
                sign_in(member, "m@example.com", "long enough")
            elif kind == "sweep":
                assert member.post("/v1/test/sweep").status_code == 200
                with system.read() as conn:
                    oldest = conn.execute(select(offsite_visits.c.visited_at)).scalars().all()
                assert all(t >= model.now - RETENTION for t in oldest)
            elif kind == "feed":
                _, who, dnt, gpc = step
                assert isinstance(who, str)
                r = clients[who].get("/v1/feed/home?limit=50", headers=_headers(bool(dnt), bool(gpc)))
                assert r.status_code == 200
                feed = r.json()
                shown = {
                    (reason["domain"], reason["at"])
                    for item in feed["items"]
                    for reason in item["reasons"]
                    if reason["kind"] == "offsite_visit"
                }
                may_use = not (dnt or gpc) and (
                    model.personalization if who == "member" else not model.guest_opted_out
                )
                if not may_use:
                    assert shown == set(), (step, feed)
                    continue
                allowed = model.usable_domains(who)
                for domain, at in shown:
                    assert domain in allowed, (domain, allowed)
                    assert datetime.fromisoformat(at) >= model.now - RETENTION
                # And what is allowed is actually used.
                assert {d for d, _ in shown} == allowed
    system.dispose()
