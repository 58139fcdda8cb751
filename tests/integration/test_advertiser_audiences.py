"""Audiences from advertisers' data, under each person's control: the setting, GPC, an event's opt-out
or limited-data-processing flag, and per-advertiser blocks keep people out of every audience, while the
advertiser's aggregate counts still include their conversions. Customer lists, engagement and actalike
audiences, sizes, the privacy center and export."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tastegraph.ads import audiences
from tastegraph.ads.audiences import displayed_size
from tastegraph.bootstrap import System
from tastegraph.catalog.tables import users
from tastegraph.db.schema import full_metadata
from tastegraph.demo import WorldSize, load_world
from tastegraph.kernel import FrozenClock
from tastegraph.recommend import model_store, train
from tests.helpers import mini_world, sign_in, sign_up_in, signed_in
from tests.integration.ads_support import (
    Acct,
    ad_account,
    event,
    members,
    people,
    person,
    phone_of,
    row_counts,
    send,
    sha,
    statuses,
    stored_events,
)


def _visitor_audience(client: TestClient, acct: Acct, **spec: Any) -> dict[str, Any]:
    body = {"kind": "visitor", "event_names": ["checkout"], "retention_days": 30, **spec}
    r = client.post(f"/v1/ad_accounts/{acct.id}/audiences", json=body, headers=acct.auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _customer_list(client: TestClient, acct: Acct, **body: Any) -> dict[str, Any]:
    r = client.post(f"/v1/ad_accounts/{acct.id}/customer_lists", json=body, headers=acct.auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _refresh(client: TestClient, acct: Acct, audience_id: int) -> dict[str, Any]:
    r = client.post(f"/v1/ad_accounts/{acct.id}/audiences/{audience_id}/refresh", headers=acct.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _checkouts(client: TestClient, acct: Acct) -> int:
    r = client.get(f"/v1/ad_accounts/{acct.id}/events/summary", headers=acct.auth)
    assert r.status_code == 200, r.text
    return sum(s["events"] for s in r.json()["events"] if s["event_name"] == "checkout")


def test_sizes_are_rounded_and_never_below_the_minimum() -> None:
    cases = {0: 100, 1: 100, 99: 100, 100: 100, 104: 100, 105: 110, 149: 150, 999: 1000, 1234: 1200}
    cases |= {1250: 1300, 56_789: 57_000, 99_999: 100_000}
    assert {n: displayed_size(n) for n in cases} == cases


# --- consent ------------------------------------------------------------------------------------------


def test_no_consent_no_audience_but_still_counted(client: TestClient, system: System) -> None:
    acct = ad_account(system, "Trailpeak")
    # Signed up through the API: one turns the setting off, one's browser sends Sec-GPC: 1.
    off_uid = person(system, "off@example.com")
    off = signed_in(client, system, off_uid)
    r = off.patch("/v1/me/settings", json={"ads_advertiser_data": False})
    assert r.status_code == 200 and r.json()["ads_advertiser_data"] is False
    gpc_uid = person(system, "gpc@example.com")
    gpc = signed_in(client, system, gpc_uid)
    assert gpc.get("/v1/me/advertisers", headers={"Sec-GPC": "1"}).status_code == 200
    ledger = gpc.get("/v1/me/consent-history").json()["items"]
    assert (ledger[0]["setting"], ledger[0]["new_value"], ledger[0]["source"]) == (
        "ads_advertiser_data",
        "false",
        "global_privacy_control",
    )
    assert gpc.get("/v1/me/settings").json()["ads_advertiser_data"] is False
    ok_uid = person(system, "ok@example.com")
    ok = signed_in(client, system, ok_uid)
    # And three people known only by their email hashes: one event opted out, one limited.
    (opt_uid, opt_email), (ldp_uid, ldp_email), (fine_uid, fine_email) = people(system, 3)
    batch = [
        event(system, "o-1", email="off@example.com"),
        event(system, "o-2", email="gpc@example.com"),
        event(system, "o-3", email="ok@example.com"),
        event(system, "o-4", email=opt_email, opt_out=True),
        event(system, "o-5", email=ldp_email, limited_data_processing=True),
        event(system, "o-6", email=fine_email, custom_data={"value": 5, "currency": "USD"}),
    ]
    assert statuses(send(client, acct, batch)) == ["processed"] * 6
    matched = [r["user_id"] for r in stored_events(system)]
    assert matched == [off_uid, gpc_uid, ok_uid, opt_uid, ldp_uid, fine_uid]

    visitors = _visitor_audience(client, acct)
    assert members(system, visitors["id"]) == {ok_uid, fine_uid}
    assert (visitors["size"], visitors["usable"]) == (100, False)
    # A customer list: everyone matches; the flags were on events, not on the people.
    emails = ["off@example.com", "gpc@example.com", "ok@example.com", opt_email, ldp_email, fine_email]
    listed = _customer_list(client, acct, kind="email", hashed=False, records=emails)
    assert (listed["uploaded"], listed["matched"]) == (6, 6)
    assert members(system, listed["audience_id"]) == {ok_uid, opt_uid, ldp_uid, fine_uid}
    # The conversions are all counted.
    assert _checkouts(client, acct) == 6

    # The privacy center shows what matched, and which audiences the person is in.
    mine = ok.get("/v1/me/advertisers").json()
    assert mine["ads_advertiser_data"] is True
    (entry,) = mine["advertisers"]
    assert (entry["ad_account_id"], entry["name"], entry["events"], entry["allowed"]) == (
        acct.id,
        "Trailpeak",
        1,
        True,
    )
    assert sorted(a["kind"] for a in entry["audiences"]) == ["customer_list", "visitor"]
    theirs = off.get("/v1/me/advertisers").json()
    assert theirs["ads_advertiser_data"] is False
    assert [(a["events"], a["audiences"]) for a in theirs["advertisers"]] == [(1, [])]

    # Refreshing decides again and still keeps them out.
    assert members(system, _refresh(client, acct, visitors["id"])["id"]) == {ok_uid, fine_uid}


def test_gpc_on_a_tag_request_opts_the_browser_s_person_out(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    uid = sign_up_in(client, "tagged@example.com")
    # The pixel is a third-party request: it carries the browser id tied to the person, not the session.
    client.cookies.delete("tg_session")
    r = client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "checkout"}, headers={"Sec-GPC": "1"})
    assert r.status_code == 200
    (row,) = stored_events(system)
    assert (row["user_id"], row["global_privacy_control"]) == (uid, True)
    with system.read() as conn:
        assert system.consent.settings(conn, uid)["ads_advertiser_data"] is False
        (latest, *_) = system.consent.history(conn, uid)
    assert (latest.setting, latest.new_value, latest.source) == (
        "ads_advertiser_data",
        "false",
        "global_privacy_control",
    )
    # Even when the person turns the setting back on, that event (it carried GPC) stays out.
    sign_in(client, "tagged@example.com")
    assert client.patch("/v1/me/settings", json={"ads_advertiser_data": True}).status_code == 200
    assert members(system, _visitor_audience(client, acct)["id"]) == set()
    client.get(f"/v1/tag/{acct.tag_id}/event", params={"event": "checkout"})
    assert members(system, _visitor_audience(client, acct)["id"]) == {uid}
    assert _checkouts(client, acct) == 2


def test_withdrawal_removes_people_from_existing_audiences_at_once(
    client: TestClient, system: System
) -> None:
    a, b = ad_account(system, "Shop A"), ad_account(system, "Shop B")
    uid = person(system, "ok@example.com")
    client = signed_in(client, system, uid)
    ((other, other_email),) = people(system, 1)
    for acct in (a, b):
        batch = [event(system, "w-1", email="ok@example.com"), event(system, "w-2", email=other_email)]
        assert statuses(send(client, acct, batch)) == ["processed", "processed"]
    va, vb = _visitor_audience(client, a), _visitor_audience(client, b)
    la = _customer_list(client, a, kind="email", hashed=True, records=[sha("ok@example.com")])
    assert members(system, va["id"]) == members(system, vb["id"]) == {uid, other}
    assert members(system, la["audience_id"]) == {uid}

    # Turning off one advertiser: out of its audiences now, still in the other's.
    r = client.put(f"/v1/me/advertisers/{a.id}", json={"allow": False})
    assert r.status_code == 200, r.text
    assert members(system, va["id"]) == {other} and members(system, la["audience_id"]) == set()
    assert members(system, vb["id"]) == {uid, other}
    assert members(system, _refresh(client, a, va["id"])["id"]) == {other}
    entry = {e["ad_account_id"]: e for e in client.get("/v1/me/advertisers").json()["advertisers"]}
    assert entry[a.id]["allowed"] is False and entry[a.id]["audiences"] == []
    assert entry[b.id]["allowed"] is True and entry[b.id]["audiences"]
    history = client.get("/v1/me/consent-history").json()["items"]
    assert history[0]["setting"] == "advertiser_data:Shop A" and history[0]["new_value"] == "false"
    # ...and back on: the next refresh brings them back (their events are still there).
    assert client.put(f"/v1/me/advertisers/{a.id}", json={"allow": True}).status_code == 200
    assert members(system, _refresh(client, a, va["id"])["id"]) == {uid, other}
    assert client.put("/v1/me/advertisers/999999", json={"allow": False}).status_code == 404

    # Turning the setting off: out of every audience at once.
    assert client.patch("/v1/me/settings", json={"ads_advertiser_data": False}).status_code == 200
    assert members(system, va["id"]) == members(system, vb["id"]) == {other}
    assert all(e["audiences"] == [] for e in client.get("/v1/me/advertisers").json()["advertisers"])
    # GPC on any signed-in request does the same for the other person too (through the consent layer).
    with system.write() as conn:
        assert system.consent.honor_gpc(conn, other, system.clock.now()) is True
    assert members(system, va["id"]) == members(system, vb["id"]) == set()
    assert _checkouts(client, a) == _checkouts(client, b) == 2


def test_visitor_audience_retention_window(client: TestClient, system: System, clock: FrozenClock) -> None:
    acct = ad_account(system)
    ((old, old_email), (new, new_email)) = people(system, 2)
    now = int(system.clock.now().timestamp())
    send(client, acct, [event(system, "r-1", email=old_email, event_time=now - 2 * 86400)])
    clock.advance(timedelta(days=5))
    send(client, acct, [event(system, "r-2", email=new_email, event_name="add_to_cart")])
    assert members(system, _visitor_audience(client, acct, event_names=[], retention_days=10)["id"]) == {
        old,
        new,
    }
    assert members(system, _visitor_audience(client, acct, event_names=[], retention_days=6)["id"]) == {new}
    assert members(system, _visitor_audience(client, acct, event_names=["checkout"])["id"]) == {old}
    for spec, field in (
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 541}, "retention_days"),
        ({"event_names": ["buy"]}, "event_names[0]"),
    ):
        before = row_counts(system)
        r = client.post(
            f"/v1/ad_accounts/{acct.id}/audiences",
            json={"kind": "visitor", "retention_days": 30, **spec},
            headers=acct.auth,
        )
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text
        assert row_counts(system) == before


# --- customer lists ----------------------------------------------------------------------------------------


def _all_values(system: System) -> str:
    with system.read() as conn:
        return json.dumps(
            [dict(r) for t in full_metadata().sorted_tables for r in conn.execute(select(t)).mappings()],
            default=str,
        )


def test_customer_lists_json_and_csv(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    crowd = people(system, 130, "c", phones=True)
    now = system.clock.now()
    with system.write() as conn:
        for uid, _ in crowd[:10]:
            system.consent.change(conn, uid, {"ads_advertiser_data": False}, "api", now)
        for uid, _ in crowd[10:15]:
            system.consent.block_advertiser(conn, uid, acct.id, "Trailpeak", now)
    allowed = {uid for uid, _ in crowd[15:]}

    # Hashed emails (some upper-case hex), 20 that match nobody, and one person listed twice.
    strangers = [sha(f"stranger{i}@nowhere.example") for i in range(20)]
    records = [sha(e).upper() if i % 2 else sha(e) for i, (_, e) in enumerate(crowd)]
    out = _customer_list(client, acct, kind="email", hashed=True, records=records + strangers + records[:1])
    assert (out["uploaded"], out["matched"], out["invalid"]) == (151, 131, 0)
    assert members(system, out["audience_id"]) == allowed  # 115 people
    assert out["audience"]["size"] == 120 and out["audience"]["usable"] is True
    got = client.get(f"/v1/ad_accounts/{acct.id}/audiences/{out['audience_id']}", headers=acct.auth).json()
    assert (got["kind"], got["size"], got["usable"]) == ("customer_list", 120, True)

    # Plain phones in several spellings, one invalid: it fails alone, with its index.
    spellings = [phone_of(i) if i % 2 else phone_of(i).replace(" ", "").replace("+", "00") for i in range(60)]
    out = _customer_list(
        client, acct, kind="phone", hashed=False, records=[*spellings[:30], "(650) 555-1234", *spellings[30:]]
    )
    assert (out["uploaded"], out["matched"], out["invalid"]) == (61, 60, 1)
    assert out["errors"] == [{"field": "records[30]", "message": out["errors"][0]["message"]}]
    phone_members = members(system, out["audience_id"])
    assert phone_members == {uid for uid, _ in crowd[15:60]}
    assert (out["audience"]["size"], out["audience"]["usable"]) == (100, False)

    # CSV, streamed: a BOM, a header row, CRLF line ends, blank lines, quoted values.
    lines = ["email", *(f'"{e.upper()}"' for _, e in crowd[100:]), "", "nobody@nowhere.example"]
    body = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()
    r = client.post(
        f"/v1/ad_accounts/{acct.id}/customer_lists",
        content=body,
        params={"kind": "email", "hashed": "false", "name": "CSV list"},
        headers={**acct.auth, "Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["uploaded"], out["matched"], out["invalid"]) == (31, 30, 0)
    assert members(system, out["audience_id"]) == {uid for uid, _ in crowd[100:]}
    assert out["audience"]["name"] == "CSV list"
    r = client.post(
        f"/v1/ad_accounts/{acct.id}/customer_lists",
        content="\n".join(sha(e) for _, e in crowd[:40]).encode(),
        params={"kind": "email", "hashed": "true"},
        headers={**acct.auth, "Content-Type": "text/csv; charset=utf-8"},
    )
    assert r.status_code == 201 and (r.json()["uploaded"], r.json()["matched"]) == (40, 40)
    assert members(system, r.json()["audience_id"]) == {uid for uid, _ in crowd[15:40]}

    # The lists themselves are not kept: neither the plain values nor the hashes that matched nobody.
    stored = _all_values(system)
    assert "nobody@nowhere.example" not in stored
    assert not any(h in stored for h in strangers)
    assert "6505550031" not in stored and "+1 650 555" not in stored


def test_customer_list_refusals_write_nothing(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    people(system, 2)
    url = f"/v1/ad_accounts/{acct.id}/customer_lists"
    before = row_counts(system)
    csv_headers = {**acct.auth, "Content-Type": "text/csv"}
    cases = [
        (client.post(url, json={"kind": "fax", "hashed": True, "records": ["x"]}, headers=acct.auth), 422),
        (client.post(url, json={"kind": "email", "records": ["a@b.co"]}, headers=acct.auth), 422),
        (client.post(url, json={"kind": "email", "hashed": True, "records": []}, headers=acct.auth), 422),
        (
            client.post(
                url, json={"kind": "email", "hashed": True, "records": ["a@b.co"]}, headers=acct.auth
            ),
            422,
        ),
        (
            client.post(
                url, json={"kind": "email", "hashed": False, "records": ["nope", 5]}, headers=acct.auth
            ),
            422,
        ),
        (
            client.post(
                url,
                content=b"{bad",
                headers={**acct.auth, "Content-Type": "application/json"},
            ),
            400,
        ),
        (client.post(url, content=b"a@b.co\n", headers=csv_headers), 422),
        (
            client.post(
                url, content=b"a@b.co\n", params={"kind": "email", "hashed": "x"}, headers=csv_headers
            ),
            422,
        ),
        (
            client.post(
                url, content=b"email\n\n", params={"kind": "email", "hashed": "false"}, headers=csv_headers
            ),
            422,
        ),
        (
            client.post(
                url,
                content=b"a@b.co",
                params={"kind": "email", "hashed": "false"},
                headers={**acct.auth, "Content-Type": "application/xml"},
            ),
            415,
        ),
    ]
    for r, status in cases:
        assert r.status_code == status, (status, r.text)
        assert r.json()["error"]["message"]
    assert row_counts(system) == before


# --- engagement and actalike audiences ---------------------------------------------------------------


def test_engagement_audience(client: TestClient, system: System) -> None:
    world = mini_world(system)
    acct = ad_account(system, "Trailpeak", website="WWW.Trailpeak-Gear.com")
    bare = ad_account(system, "No site")
    pins = world.pins_by_domain["trailpeak-gear.com"]
    other_pins = world.pins_by_domain["simmerandsage.com"]
    saver = person(system, "saver@example.com")
    client = signed_in(client, system, saver)
    assert (
        client.post("/v1/engagement", json={"events": [{"kind": "save", "pin_id": pins[0]}]}).status_code
        == 200
    )
    clicker_uid = person(system, "clicker@example.com")
    clicker = signed_in(client, system, clicker_uid)
    clicker.post("/v1/engagement", json={"events": [{"kind": "click", "pin_id": pins[1]}]})
    refuser = signed_in(client, system, person(system, "refuser@example.com"))
    refuser.post("/v1/engagement", json={"events": [{"kind": "save", "pin_id": pins[2]}]})
    refuser.patch("/v1/me/settings", json={"ads_advertiser_data": False})
    elsewhere = signed_in(client, system, person(system, "cook@example.com"))
    elsewhere.post("/v1/engagement", json={"events": [{"kind": "save", "pin_id": other_pins[0]}]})

    def create(acct: Acct, **spec: Any) -> Any:
        return client.post(
            f"/v1/ad_accounts/{acct.id}/audiences", json={"kind": "engagement", **spec}, headers=acct.auth
        )

    r = create(acct)
    assert r.status_code == 201, r.text
    assert members(system, r.json()["id"]) == {saver, clicker_uid}
    assert (r.json()["size"], r.json()["usable"]) == (100, False)
    r = create(acct, engagement_kinds=["save"])
    assert members(system, r.json()["id"]) == {saver}
    assert create(acct, engagement_kinds=["hide"]).status_code == 422
    assert create(bare).status_code == 409


def test_actalike_audience(client: TestClient, system: System) -> None:
    with system.write() as conn:
        load_world(conn, 3, system.clock.now(), WorldSize(pins=400, users=60))
    acct = ad_account(system)
    r = client.post(
        f"/v1/ad_accounts/{acct.id}/audiences",
        json={"kind": "actalike", "seed_audience_id": 1, "percent": 5},
        headers=acct.auth,
    )
    assert r.status_code == 404  # no such seed in this account
    with system.read() as conn:
        demo = [
            (int(u.id), u.email) for u in conn.execute(select(users.c.id, users.c.email).order_by(users.c.id))
        ]
    seed = _customer_list(client, acct, kind="email", hashed=False, records=[e for _, e in demo[:8]])
    assert seed["matched"] == 8
    body = {"kind": "actalike", "seed_audience_id": seed["audience_id"], "percent": 10}
    r = client.post(f"/v1/ad_accounts/{acct.id}/audiences", json=body, headers=acct.auth)
    assert r.status_code == 409 and "train" in r.json()["error"]["message"]  # no model yet

    # People who turned the setting off are never eligible.
    refusers = {uid for uid, _ in demo[20:40]}
    now = system.clock.now()
    with system.write() as conn:
        for uid in refusers:
            system.consent.change(conn, uid, {"ads_advertiser_data": False}, "api", now)
        artifact = train(conn, system.consent, now)
    model_store.save(system.models.model_dir, artifact)
    model = system.models.reload()
    assert model is not None
    in_model = {int(u) for u in model.user_ids}
    eligible = in_model - refusers
    r = client.post(f"/v1/ad_accounts/{acct.id}/audiences", json=body, headers=acct.auth)
    assert r.status_code == 201, r.text
    got = members(system, r.json()["id"])
    assert len(got) == math.ceil(len(eligible) * 0.10) and got
    assert got <= eligible and not got & {uid for uid, _ in demo[:8]} and not got & refusers
    assert r.json()["kind"] == "actalike" and r.json()["spec"]["percent"] == 10
    with system.read() as conn:
        assert audiences.get(conn, acct.id, r.json()["id"]).members == len(got)
    for bad, field in (
        ({"percent": 11}, "percent"),
        ({"percent": 0.5}, "percent"),
        ({"seed_audience_id": None}, "seed_audience_id"),
    ):
        r = client.post(f"/v1/ad_accounts/{acct.id}/audiences", json={**body, **bad}, headers=acct.auth)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text


# --- export -------------------------------------------------------------------------------------------------


def test_export_includes_advertiser_data(client: TestClient, system: System) -> None:
    acct = ad_account(system, "Loom and Linen")
    uid = sign_up_in(client, "zoe@example.com")
    client.get(
        f"/v1/tag/{acct.tag_id}/event", params={"event": "page_visit", "url": "https://loom.example/rugs"}
    )
    send(client, acct, [event(system, "x-1", email="zoe@example.com", custom_data={"value": "3.5"})])
    listed = _customer_list(client, acct, kind="email", hashed=False, records=["ZOE@example.com "])
    other = ad_account(system, "Blocked shop")
    assert client.put(f"/v1/me/advertisers/{other.id}", json={"allow": False}).status_code == 200
    data = client.get("/v1/me/export").json()
    assert data["user_id"] == uid
    events = data["advertiser_events"]
    assert [(e["ad_account_id"], e["event_name"], e["source"]) for e in events] == [
        (acct.id, "page_visit", "tag"),
        (acct.id, "checkout", "api"),
    ]
    assert events[0]["page_url"] == "https://loom.example/rugs" and events[1]["value"].startswith("3.5")
    assert [(m["ad_account_id"], m["kind"], m["audience_id"]) for m in data["audiences"]] == [
        (acct.id, "customer_list", listed["audience_id"])
    ]
    assert {"kind": "email", "sha256": sha("zoe@example.com")} in data["identity"]["hashed_identifiers"]
    assert data["consent"]["advertisers_turned_off"] == [other.id]
    assert data["consent"]["settings"]["ads_advertiser_data"] is True


def test_sign_up_phone_is_kept_only_hashed_and_matches_lists(client: TestClient, system: System) -> None:
    acct = ad_account(system)
    before = row_counts(system)
    r = client.post("/v1/users", json={"email": "tel@example.com", "password": "long enough", "phone": "555"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "phone", r.text
    assert row_counts(system) == before
    r = client.post(
        "/v1/users",
        json={"email": "Tel@Example.com", "password": "long enough", "phone": "+44 (0)20 7946 0958"},
    )
    assert r.status_code == 201, r.text
    uid = int(r.json()["id"])
    stored = _all_values(system)
    assert "7946" not in stored
    assert sha("442079460958") in stored and sha("tel@example.com") in stored
    listed = _customer_list(client, acct, kind="phone", hashed=True, records=[sha("442079460958")])
    assert listed["matched"] == 1 and members(system, listed["audience_id"]) == {uid}
    listed = _customer_list(client, acct, kind="email", hashed=False, records=["  TEL@example.COM"])
    assert listed["matched"] == 1 and members(system, listed["audience_id"]) == {uid}


def test_turning_off_an_advertiser_with_a_long_name(client: TestClient, system: System) -> None:
    name = "The Very Long Named Outdoor Equipment & Mountaineering Supply Company of the Northern Ranges"
    assert len(name) <= 120
    acct = ad_account(system, name)
    client = signed_in(client, system, person(system, "long@example.com"))
    for allow in (False, True):
        r = client.put(f"/v1/me/advertisers/{acct.id}", json={"allow": allow})
        assert r.status_code == 200, r.text
    history = client.get("/v1/me/consent-history").json()["items"]
    assert [h["new_value"] for h in history[:2]] == ["true", "false"]
    assert all(h["setting"].startswith("advertiser_data:The Very Long") for h in history[:2])
    assert all(len(h["setting"]) <= 60 for h in history[:2])  # it fits the ledger column


def test_events_are_swept_after_their_retention(
    client: TestClient, system: System, clock: FrozenClock
) -> None:
    acct = ad_account(system)
    ((uid, email),) = people(system, 1)
    send(client, acct, [event(system, "old-1", email=email)])
    clock.advance(timedelta(days=539))
    assert system.sweep()["advertiser_events"] == 0
    assert members(system, _visitor_audience(client, acct, event_names=[], retention_days=540)["id"]) == {uid}
    clock.advance(timedelta(days=2))
    # Past 540 days it no longer counts for an audience, even before a sweep removes it...
    assert members(system, _visitor_audience(client, acct, event_names=[], retention_days=540)["id"]) == set()
    assert system.sweep()["advertiser_events"] == 1
    assert stored_events(system) == []
