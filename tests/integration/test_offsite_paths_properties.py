"""Property test (issue 14): for any of the four ways a visit can reach a person (the first-party browser
cookie, the frame with storage access, a partition tied later by the person's Save, an outbound click
id) and any combination of DNT, GPC, the opt-out cookie and the Personalization setting on each
request involved, nothing disallowed is stored or used, nothing is tied to anyone who did not act, and a
bystander replaying the person's ticket or click id gets nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tastegraph.bootstrap import build
from tastegraph.collect.tables import offsite_visits
from tastegraph.db.schema import full_metadata
from tastegraph.kernel import FrozenClock
from tastegraph.server import compose
from tastegraph.usecases import offsite
from tastegraph.usecases.callers import Caller, RequestSignals
from tests.conftest import START, make_settings
from tests.helpers import mini_world, offsite_reasons, sign_up_in

PLATFORM = "http://127.0.0.1:8000"
SHOP = "https://trailpeak-gear.com"
PATHS = ("first_party", "storage_access", "partition", "click")

QUIET = {"dnt": False, "gpc": False, "opt_out": False}
# Half the draws send no signal at all, so the paths that store and tie are reached as often as not.
signals = st.one_of(
    st.just(QUIET),
    st.fixed_dictionaries({"dnt": st.booleans(), "gpc": st.booleans(), "opt_out": st.booleans()}),
)


def _headers(s: dict[str, bool], *, frame: bool) -> dict[str, str]:
    out = {"origin": PLATFORM if frame else SHOP}
    if s["dnt"]:
        out["DNT"] = "1"
    if s["gpc"]:
        out["Sec-GPC"] = "1"
    return out


def _quiet(s: dict[str, bool]) -> bool:
    return not (s["dnt"] or s["gpc"] or s["opt_out"])


def _post(
    client: TestClient, body: dict[str, Any], s: dict[str, bool], *, frame: bool, cookie: str = ""
) -> Any:
    headers = _headers(s, frame=frame)
    cookies = [c for c in (cookie, "tg_optout=1" if s["opt_out"] else "") if c]
    if cookies:
        headers["cookie"] = "; ".join(cookies)
    r = client.post("/v1/offsite/visits", json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r


def _user_visits(system: Any, user_id: int) -> int:
    with system.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(offsite_visits).where(offsite_visits.c.user_id == user_id)
            ).scalar_one()
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(PATHS),
    personalization=st.booleans(),
    visit=signals,
    act=signals,  # the click, or the Save that links the partition
    feed=signals,
)
def test_every_path_obeys_every_signal(
    path: str,
    personalization: bool,
    visit: dict[str, bool],
    act: dict[str, bool],
    feed: dict[str, bool],
) -> None:
    clock = FrozenClock(START)
    system = build(make_settings("sqlite://"), clock=clock)
    full_metadata().create_all(system.engine)
    world = mini_world(system, pins_per_site=2)
    app = compose(system, run_sweeper=False)
    url = SHOP + "/item-0"
    with (
        TestClient(app, base_url=PLATFORM) as ann_browser,
        TestClient(app, base_url=PLATFORM) as bob_browser,
        TestClient(app, base_url=PLATFORM) as frame,
    ):
        ann = sign_up_in(ann_browser, "ann@example.com")
        bob = sign_up_in(bob_browser, "bob@example.com")
        assert (
            ann_browser.patch("/v1/me/settings", json={"personalization": personalization}).status_code == 200
        )
        ann_bid = ann_browser.cookies.get("tg_bid_local")
        assert ann_bid

        token = click_id = None
        if path == "first_party":  # third-party cookies allowed: the widget's request carries tg_bid
            answer = _post(frame, {"url": url}, visit, frame=False, cookie=f"tg_bid_local={ann_bid}").json()
            expect_stored = _quiet(visit) and personalization
            expect_linked = expect_stored
        elif path == "storage_access":  # the frame, granted access: tg_bid travels from our own origin
            body = {"url": url, "embedder": SHOP}
            answer = _post(frame, body, visit, frame=True, cookie=f"tg_bid_local={ann_bid}").json()
            expect_stored = _quiet(visit) and personalization
            expect_linked = expect_stored
        elif path == "partition":
            answer = _post(
                frame, {"url": url, "embedder": SHOP, "partitioned": True}, visit, frame=True
            ).json()
            expect_stored = _quiet(visit)  # tied to nobody: the person's setting is asked when they act
            token = answer["partition_token"]
            assert (token is not None) is expect_stored
            act_caller = Caller(
                ann,
                ann_bid,
                None,
                RequestSignals(act["dnt"], act["gpc"], act["opt_out"]),
            )
            linked = offsite.link_partitioned_visits(system, act_caller, token or "", url)
            expect_linked = expect_stored and _quiet(act) and personalization
            assert linked == (1 if expect_linked else 0)
        else:  # click
            headers = {k: v for k, v in _headers(act, frame=False).items() if k != "origin"}
            if act["opt_out"]:
                ann_browser.cookies.set("tg_optout_local", "1")
            pin = world.pins_by_domain["trailpeak-gear.com"][0]
            r = ann_browser.get(f"/pins/{pin}/visit", headers=headers, follow_redirects=False)
            ann_browser.cookies.delete("tg_optout_local")
            assert r.status_code == 303
            click_id = parse_qs(urlsplit(r.headers["location"]).query).get("tg_click", [None])[0]
            minted = personalization and _quiet(act)
            assert (click_id is not None) is minted
            body = {"url": url, "embedder": SHOP, "partitioned": True}
            if click_id:
                body["click_id"] = click_id
            answer = _post(frame, body, visit, frame=True).json()
            expect_stored = _quiet(visit)
            expect_linked = expect_stored and minted
        assert answer["stored"] is expect_stored, (path, answer)
        if path != "partition":
            assert answer["linked"] is expect_linked, (path, answer)
        if not expect_stored:
            assert answer["reason"]
        assert _user_visits(system, ann) == (1 if expect_linked else 0)

        # The bystander replays what he could have seen: the ticket, the click id.
        if token is not None:
            assert (
                offsite.link_partitioned_visits(system, Caller(bob, None, None, RequestSignals()), token, url)
                == 0
            )
        if click_id is not None:  # from his own browser's frame (another partition)
            replay = {"url": SHOP + "/item-1", "embedder": SHOP, "partitioned": True, "click_id": click_id}
            assert _post(frame, replay, QUIET, frame=True).json()["linked"] is False
            assert _user_visits(system, ann) == (1 if expect_linked else 0)
        assert _user_visits(system, bob) == 0

        # Used only as the feed request's signals and Ann's setting allow.
        if feed["opt_out"]:
            ann_browser.cookies.set("tg_optout_local", "1")
        headers = {k: v for k, v in _headers(feed, frame=False).items() if k != "origin"}
        shown = offsite_reasons(ann_browser.get("/v1/feed/home?limit=50", headers=headers).json())
        may_use = expect_linked and _quiet(feed) and personalization
        assert bool(shown) is may_use, (path, shown)
    system.dispose()
