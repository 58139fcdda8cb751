"""Conversion attribution (issue 16, part 2) on SQLite and PostgreSQL: windows and precedence, the last
of several ads, late events and late impressions, reruns that change nothing, click ids (the same
account's only; signed-out clicks), consent decided as the conversion arrives, `since` recomputation,
export, erasure and the retention sweep."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tastegraph.bootstrap import System
from tastegraph.collect import advertiser_events
from tastegraph.consent import RequestSignals
from tastegraph.kernel import FrozenClock
from tastegraph.measure import Windows, attribution
from tests.integration.ads_support import ad_account, person
from tests.integration.attribution_support import candidates, convert, credited, make_ads, rows, run, touch

H, D = timedelta(hours=1), timedelta(days=1)


def test_click_beats_engagement_beats_view_each_inside_its_window(system: System, clock: FrozenClock) -> None:
    acct = ad_account(system)
    a_view, a_eng, a_click = make_ads(system, acct.id, 3)
    ann = person(system, "ann@example.com")
    t0 = clock.now()
    touch(system, "click", a_click, t0 - 10 * D, ann)
    touch(system, "engagement", a_eng, t0 - 3 * D, ann)
    touch(system, "view", a_view, t0 - 2 * H, ann)
    ev = convert(system, acct.id, "o1", t0, email="ann@example.com", value=12.5)
    assert ev is not None
    result = run(system)
    assert (result.considered, result.inserted, result.full) == (1, 1, True)
    row = rows(system)[ev]
    assert row["person_key"] == f"u:{ann}" and row["user_id"] == ann and float(row["value"]) == 12.5
    assert (row["click_ad_id"], row["engagement_ad_id"], row["view_ad_id"]) == (a_click, a_eng, a_view)
    # Defaults (click 30 d, engagement 30 d, view 1 d): the click, 10 days before, wins.
    assert credited(system, acct.id)[ev] == ("click", a_click)
    # A 7-day click window: the engagement (3 days before) is credited; a 1-day engagement window: the
    # view (2 hours before); no view window: nothing.
    assert credited(system, acct.id, Windows(7, 30, 1))[ev] == ("engagement", a_eng)
    assert credited(system, acct.id, Windows(7, 1, 1))[ev] == ("view", a_view)
    assert credited(system, acct.id, Windows(7, 1, 0))[ev] == (None, None)
    # Exactly at the edge of a window counts: the click was 10 days before; a 14-day window holds it.
    assert credited(system, acct.id, Windows(14, 1, 0))[ev] == ("click", a_click)


def test_the_window_edge_is_exact_to_the_second(system: System, clock: FrozenClock) -> None:
    acct = ad_account(system)
    (ad,) = make_ads(system, acct.id, 1)
    ann = person(system, "ann@example.com")
    t0 = clock.now()
    touch(system, "view", ad, t0 - D, ann)  # exactly one day before
    touch(system, "engagement", ad, t0 - D - timedelta(seconds=1), ann)  # a second more
    ev = convert(system, acct.id, "o1", t0, email="ann@example.com")
    run(system)
    assert credited(system, acct.id, Windows(1, 1, 1))[ev] == ("view", ad)
    assert credited(system, acct.id, Windows(1, 1, 0))[ev] == (None, None)


def test_several_ads_touching_one_person_give_one_conversion_credited_to_the_last(
    system: System, clock: FrozenClock
) -> None:
    acct = ad_account(system)
    other = ad_account(system, "Other shop")
    first, second, third = make_ads(system, acct.id, 3)
    (foreign,) = make_ads(system, other.id, 1)
    ann = person(system, "ann@example.com")
    t0 = clock.now()
    touch(system, "click", first, t0 - 5 * D, ann)
    touch(system, "click", second, t0 - 2 * D, ann)
    touch(system, "click", foreign, t0 - H, ann)  # another advertiser's ad: never a candidate
    touch(system, "click", third, t0 + H, ann)  # after the conversion: not a candidate
    touch(system, "view", third, t0 - 61 * D, ann)  # beyond the longest window
    ev = convert(system, acct.id, "o1", t0, email="ann@example.com")
    # The same conversion reported again (tag and API): one stored event, one row.
    assert convert(system, acct.id, "o1", t0, email="ann@example.com") is None
    run(system)
    assert list(rows(system)) == [ev]
    row = rows(system)[ev]
    assert (row["click_ad_id"], row["view_ad_id"], row["engagement_ad_id"]) == (second, None, None)
    assert credited(system, acct.id)[ev] == ("click", second)
    assert credited(system, other.id) == {}


def test_a_late_event_and_a_late_impression_are_attributed(system: System, clock: FrozenClock) -> None:
    acct = ad_account(system)
    ad1, ad2 = make_ads(system, acct.id, 2)
    ann = person(system, "ann@example.com")
    bob = person(system, "bob@example.com")
    t0 = clock.now()
    touch(system, "view", ad1, t0 - 2 * H, ann)
    run(system)  # nothing to attribute yet
    # A late event: it happened 6 hours ago and arrives now.
    clock.advance(6 * H)
    late = convert(system, acct.id, "late", t0 + 0 * H, email="ann@example.com")
    # Bob's conversion carries a time a few minutes ahead (within the tolerance), and is processed...
    ahead = convert(system, acct.id, "ahead", clock.now() + timedelta(minutes=4), email="bob@example.com")
    r1 = run(system)
    assert r1.inserted == 1 and not r1.full
    assert set(rows(system)) == {late}
    # ...before the impression counted two minutes later, which is still before the conversion.
    clock.advance(timedelta(minutes=2))
    touch(system, "view", ad2, clock.now(), bob)
    r2 = run(system)
    assert r2.inserted == 1 and r2.considered >= 1
    assert rows(system)[ahead]["view_ad_id"] == ad2
    assert credited(system, acct.id)[ahead] == ("view", ad2)
    # A later click of Ann's (before her conversion? no: after it) changes nothing.
    clock.advance(H)
    touch(system, "click", ad2, clock.now(), ann)
    before = rows(system)
    r3 = run(system)
    assert (r3.inserted, r3.updated, r3.deleted) == (0, 0, 0)
    assert rows(system) == before


def test_a_touch_recorded_late_replaces_the_candidate_and_reruns_change_nothing(
    system: System, clock: FrozenClock
) -> None:
    acct = ad_account(system)
    ad1, ad2 = make_ads(system, acct.id, 2)
    ann = person(system, "ann@example.com")
    t0 = clock.now()
    touch(system, "click", ad1, t0 - 3 * D, ann)
    ev = convert(system, acct.id, "o1", t0 + timedelta(minutes=4), email="ann@example.com")
    run(system)
    assert rows(system)[ev]["click_ad_id"] == ad1
    first = rows(system)[ev]["computed_at"]
    # A click counted a minute later (a transaction that was open during the run), still before the
    # conversion: it becomes the last click.
    clock.advance(timedelta(minutes=1))
    touch(system, "click", ad2, clock.now(), ann)
    result = run(system)
    assert result.updated == 1 and result.inserted == 0
    assert rows(system)[ev]["click_ad_id"] == ad2
    assert rows(system)[ev]["computed_at"] > first
    # Rerunning changes nothing: not a row, not a time.
    snapshot = rows(system)
    for _ in range(2):
        clock.advance(timedelta(minutes=5))
        again = run(system)
        assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
        assert rows(system) == snapshot
    # A full recomputation changes nothing either.
    full = run(system, since=t0 - 30 * D)
    assert full.full and full.considered == 1 and (full.inserted, full.updated, full.deleted) == (0, 0, 0)
    assert rows(system) == snapshot


def test_since_recomputes_after_old_touches_are_loaded(system: System, clock: FrozenClock) -> None:
    acct = ad_account(system)
    (ad,) = make_ads(system, acct.id, 1)
    ann = person(system, "ann@example.com")
    t0 = clock.now()
    ev = convert(system, acct.id, "o1", t0, email="ann@example.com")
    run(system)
    clock.advance(H)
    run(system)  # (a run redoes the events that arrived within GRACE before the last one)
    assert rows(system) == {}
    # Old ad logs loaded in bulk days later (their times long before the last run): an incremental run
    # does not look that far back; a run `since` the conversion's day does.
    clock.advance(2 * D)
    touch(system, "view", ad, t0 - 3 * H, ann)
    touch(system, "view", ad, clock.now(), ann)  # and one recorded now, after the conversion
    run(system)
    assert rows(system) == {}
    result = run(system, since=t0 - D)
    assert result.inserted == 1
    assert rows(system)[ev]["view_at"] == t0 - 3 * H


def test_a_click_id_names_the_same_accounts_click_only(system: System, clock: FrozenClock) -> None:
    shop = ad_account(system, "Shop")
    rival = ad_account(system, "Rival")
    (shop_ad,) = make_ads(system, shop.id, 1)
    (rival_ad,) = make_ads(system, rival.id, 1)
    ann = person(system, "ann@example.com")
    t0 = clock.now()
    signed_out = touch(system, "click", shop_ad, t0 - 2 * H, None, browser_key="k" * 32)
    anns = touch(system, "click", shop_ad, t0 - 3 * H, ann)
    # The shop's conversions with only a click id (no person matched).
    by_browser = convert(system, shop.id, "o1", t0, click_id=signed_out.click_id)
    by_ann = convert(system, shop.id, "o2", t0, click_id=anns.click_id)
    # The rival replays the shop's click ids (and a made-up one): they name nothing of the rival's.
    stolen = convert(system, rival.id, "r1", t0, click_id=anns.click_id)
    stolen2 = convert(system, rival.id, "r2", t0, click_id=signed_out.click_id)
    bogus = convert(system, rival.id, "r3", t0, click_id="x" * 24)
    touch(system, "view", rival_ad, t0 - H, ann)
    run(system)
    stored = rows(system)
    assert set(stored) == {by_browser, by_ann}
    assert stored[by_browser]["person_key"] == "b:" + "k" * 32 and stored[by_browser]["user_id"] is None
    assert stored[by_browser]["click_id"] == signed_out.click_id
    assert stored[by_ann]["person_key"] == f"u:{ann}" and stored[by_ann]["user_id"] == ann
    # A click id ties the conversion to its click only, not to the person's other touches.
    assert stored[by_ann]["view_ad_id"] is None
    assert credited(system, shop.id) == {by_browser: ("click", shop_ad), by_ann: ("click", shop_ad)}
    assert credited(system, rival.id) == {}
    with system.read() as conn:
        t = advertiser_events.event_log()
        decided = dict(
            conn.execute(select(t.c.id, t.c.attributable).where(t.c.id.in_([stolen, stolen2, bogus]))).all()
        )
    assert decided == {stolen: False, stolen2: False, bogus: False}


def test_a_click_id_of_a_click_older_than_the_window_names_nothing(
    system: System, clock: FrozenClock
) -> None:
    shop = ad_account(system)
    (ad,) = make_ads(system, shop.id, 1)
    t0 = clock.now()
    old = touch(system, "click", ad, t0 - 61 * D, None, browser_key="b" * 32)
    convert(system, shop.id, "o1", t0, click_id=old.click_id)
    run(system)
    assert rows(system) == {}


def test_consent_at_arrival_decides(system: System, clock: FrozenClock) -> None:
    shop = ad_account(system, "Shop")
    (ad,) = make_ads(system, shop.id, 1)
    ann, bob, cid, dee = (person(system, f"{n}@example.com") for n in ("ann", "bob", "cid", "dee"))
    t0 = clock.now()
    for who in (ann, bob, cid, dee):
        touch(system, "click", ad, t0 - D, who)
    with system.write() as conn:
        system.consent.change(conn, bob, {"ads_advertiser_data": False}, "test", t0)
        system.consent.block_advertiser(conn, cid, shop.id, "Shop", t0)
    e_ann = convert(system, shop.id, "a", t0, email="ann@example.com")
    e_bob = convert(system, shop.id, "b", t0, email="bob@example.com")  # setting off when it arrives
    e_cid = convert(system, shop.id, "c", t0, email="cid@example.com")  # this advertiser turned off
    e_dee = convert(system, shop.id, "d", t0, email="dee@example.com", opt_out=True)  # the event's flag
    # A request with Global Privacy Control: the event is tied to nobody and never attributed.
    e_gpc = convert(
        system, shop.id, "g", t0, email="ann@example.com", signals=RequestSignals(global_privacy_control=True)
    )
    # Bob turns the setting on afterwards: his earlier conversion stays unattributed.
    with system.write() as conn:
        system.consent.change(conn, bob, {"ads_advertiser_data": True}, "test", t0)
    # Ann turns it off after her conversion arrived: that conversion was allowed when it arrived.
    with system.write() as conn:
        system.consent.change(conn, ann, {"ads_advertiser_data": False}, "test", t0)
    run(system)
    assert set(rows(system)) == {e_ann}
    with system.read() as conn:
        t = advertiser_events.event_log()
        decided = dict(conn.execute(select(t.c.id, t.c.attributable)).all())
    assert decided == {e_ann: True, e_bob: False, e_cid: False, e_dee: False, e_gpc: False}
    # Every conversion stays in the advertiser's totals.
    with system.read() as conn:
        (total,) = advertiser_events.summary(conn, shop.id, t0 - D)
    assert total["events"] == 5


def test_a_click_ids_person_must_allow_it(system: System, clock: FrozenClock) -> None:
    shop = ad_account(system)
    (ad,) = make_ads(system, shop.id, 1)
    bob = person(system, "bob@example.com")
    t0 = clock.now()
    click = touch(system, "click", ad, t0 - H, bob)
    with system.write() as conn:
        system.consent.change(conn, bob, {"ads_advertiser_data": False}, "test", t0)
    convert(system, shop.id, "o1", t0, click_id=click.click_id)  # no person matched: the click's decides
    run(system)
    assert rows(system) == {}


def test_attributions_are_exported_erased_and_swept(system: System, clock: FrozenClock) -> None:
    shop = ad_account(system)
    (ad,) = make_ads(system, shop.id, 1)
    ann = person(system, "ann@example.com")
    bob = person(system, "bob@example.com")
    t0 = clock.now()
    for who, email in ((ann, "ann@example.com"), (bob, "bob@example.com")):
        touch(system, "view", ad, t0 - H, who)
        convert(system, shop.id, email, t0, email=email)
    run(system)
    assert len(rows(system)) == 2
    assert "ad_attributions" in [s.name for s in system.privacy.stores]
    with system.read() as conn:
        exported = system.privacy.export(conn, ann)["ad_attributions"]
    assert isinstance(exported, list) and len(exported) == 1
    assert exported[0]["view_ad_id"] == ad and exported[0]["ad_account_id"] == shop.id
    with system.write() as conn:
        erased = system.privacy.erase(conn, ann)
    assert erased["ad_attributions"] == 1
    assert {r["user_id"] for r in rows(system).values()} == {bob}
    # Rerunning after the erasure brings nothing of Ann back.
    run(system, since=t0 - D)
    assert {r["user_id"] for r in rows(system).values()} == {bob}
    # Past the ad logs' retention the rows go with the sweep.
    clock.advance(attribution.RETENTION + D)
    with system.write() as conn:
        assert attribution.sweep(conn, clock.now()) == 1
    assert rows(system) == {}


def test_candidates_are_the_same_on_a_full_and_an_incremental_run(system: System, clock: FrozenClock) -> None:
    """Many conversions in chunks (a small CHUNK): incremental runs as they come equal one full run."""
    shop = ad_account(system)
    ads_ = make_ads(system, shop.id, 3)
    people = [person(system, f"p{i}@example.com") for i in range(12)]
    t0 = clock.now()
    old = attribution.CHUNK
    attribution.CHUNK = 5
    try:
        for step in range(4):
            for i, who in enumerate(people):
                touch(
                    system,
                    ("view", "click", "engagement")[(i + step) % 3],
                    ads_[(i * step) % 3],
                    clock.now(),
                    who,
                )
            clock.advance(H)
            for i in range(step, len(people), 2):
                convert(system, shop.id, f"o{step}-{i}", clock.now(), email=f"p{i}@example.com")
            run(system)
            clock.advance(H)
        incremental = candidates(system)
        result = run(system, since=t0 - D)
        assert (result.inserted, result.updated, result.deleted) == (0, 0, 0)
        assert candidates(system) == incremental and len(incremental) == sum(
            len(range(s, 12, 2)) for s in range(4)
        )
    finally:
        attribution.CHUNK = old


def test_an_ad_log_row_written_late_re_evaluates_the_conversions_it_precedes(
    system: System, clock: FrozenClock
) -> None:
    """A touch whose time is earlier than its commit (a writer that held it, e.g. another server's
    delayed flush) reaches conversions processed long before: the ad logs' own watermark finds it."""
    acct = ad_account(system)
    ad1, ad2 = make_ads(system, acct.id, 2)
    ann = person(system, "ann@example.com")
    t0 = clock.now()
    touch(system, "view", ad1, t0 - 3 * H, ann)
    ev = convert(system, acct.id, "o1", t0 - H, email="ann@example.com")
    run(system)
    clock.advance(H)
    run(system)  # the event is now past the arrival grace: only the ad-log watermark can reach it
    assert rows(system)[ev]["view_ad_id"] == ad1
    # Committed now, timed 2 hours before the conversion (after the latest touch the last run saw).
    touch(system, "view", ad2, t0 - 2 * H, ann)
    result = run(system)
    assert result.updated == 1
    assert rows(system)[ev]["view_ad_id"] == ad2
    clock.advance(H)
    assert run(system).updated == 0


def test_the_measure_command_and_the_sweep_run_attribution(
    system: System, clock: FrozenClock, database_url: str
) -> None:
    import json

    from typer.testing import CliRunner

    from tastegraph.cli import app as cli_app

    acct = ad_account(system)
    (ad,) = make_ads(system, acct.id, 1)
    ann = person(system, "ann@example.com")
    bob = person(system, "bob@example.com")
    t0 = clock.now()
    touch(system, "click", ad, t0 - H, ann)
    ev = convert(system, acct.id, "o1", t0, email="ann@example.com")

    def measure(*args: str) -> tuple[int, str]:
        r = CliRunner().invoke(cli_app, ["measure", *args], env={"TASTEGRAPH_DATABASE_URL": database_url})
        return r.exit_code, r.stdout

    code, out = measure()
    assert code == 0, out
    done = json.loads(out.strip().splitlines()[-1])
    assert (done["considered"], done["inserted"], done["full"]) == (1, 1, True)
    assert set(rows(system)) == {ev}
    code, out = measure("--since", t0.date().isoformat())
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["inserted"] == 0
    assert measure("--since", "2999-01-01")[0] == 2
    assert measure("--since", "June 1")[0] == 2
    # The sweep attributes what arrived since.
    touch(system, "view", ad, t0 + H, bob)
    clock.advance(2 * H)
    ev2 = convert(system, acct.id, "o2", clock.now(), email="bob@example.com")
    assert system.sweep()["attributions_changed"] == 1
    assert set(rows(system)) == {ev, ev2}


def test_one_run_at_a_time(system: System, clock: FrozenClock) -> None:
    from sqlalchemy import func

    acct = ad_account(system)
    (ad,) = make_ads(system, acct.id, 1)
    ann = person(system, "ann@example.com")
    touch(system, "view", ad, clock.now() - H, ann)
    ev = convert(system, acct.id, "o1", clock.now(), email="ann@example.com")
    postgres = system.engine.dialect.name == "postgresql"
    with system.engine.connect() as other:
        # Another run holds the lock (PostgreSQL: its advisory lock; SQLite: its lease).
        if postgres:
            other.execute(select(func.pg_advisory_lock(attribution._PG_LOCK)))
            other.commit()
        else:
            assert attribution._take_lease(other, clock.now())
        busy = run(system)
        assert busy.skipped and rows(system) == {}
        if postgres:
            other.execute(select(func.pg_advisory_unlock(attribution._PG_LOCK)))
            other.commit()
    if not postgres:
        # A lease nobody released (a crashed run) runs out.
        clock.advance(attribution.LEASE + timedelta(seconds=1))
    done = run(system)
    assert not done.skipped and set(rows(system)) == {ev}
    assert not run(system).skipped  # released at the end of each run


def test_the_sweep_deletes_rows_whose_event_is_gone(system: System, clock: FrozenClock) -> None:
    shop = ad_account(system)
    (ad,) = make_ads(system, shop.id, 1)
    ann = person(system, "ann@example.com")
    touch(system, "view", ad, clock.now() - H, ann)
    ev = convert(system, shop.id, "o1", clock.now(), email="ann@example.com")
    keep = convert(system, shop.id, "o2", clock.now(), email="ann@example.com")
    run(system)
    assert set(rows(system)) == {ev, keep}
    with system.write() as conn:
        t = advertiser_events.event_log()
        conn.execute(t.delete().where(t.c.id == ev))  # as the events' own retention sweep would
        assert attribution.sweep(conn, clock.now()) == 1
    assert set(rows(system)) == {keep}


def test_the_tag_sends_a_click_id_and_gpc_keeps_it_unattributed(
    client: TestClient, system: System, clock: FrozenClock
) -> None:
    shop = ad_account(system)
    (ad,) = make_ads(system, shop.id, 1)
    click = touch(system, "click", ad, clock.now() - H, None, browser_key="k" * 32)
    other = touch(system, "click", ad, clock.now() - H, None, browser_key="j" * 32)
    r = client.get(f"/v1/tag/{shop.tag_id}/event", params={"event": "checkout", "click_id": click.click_id})
    assert r.status_code in (200, 204), r.text
    r = client.get(
        f"/v1/tag/{shop.tag_id}/event",
        params={"event": "checkout", "click_id": other.click_id},
        headers={"Sec-GPC": "1"},
    )
    assert r.status_code in (200, 204), r.text
    run(system)
    (row,) = rows(system).values()
    assert row["click_id"] == click.click_id and row["person_key"] == "b:" + "k" * 32
    assert credited(system, shop.id)[row["event_id"]] == ("click", ad)
    # A click id that is not one is refused like any bad parameter, and stores nothing.
    r = client.get(f"/v1/tag/{shop.tag_id}/event", params={"event": "checkout", "click_id": "x" * 200})
    assert r.status_code == 422 and r.json()["error"]["field"] == "click_id"
