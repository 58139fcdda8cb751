"""Advertiser reports (issue 16, part 3): rollups computed in the database, per day in the account's
time zone, incrementally; the report route (JSON and CSV, validation, another account's token); no
figure from fewer than TASTEGRAPH_REPORT_MIN_PEOPLE people, and the subtraction attacks that fail."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tastegraph.bootstrap import System
from tastegraph.measure import settings as measurement_settings
from tastegraph.measure.report_tables import report_cells
from tests.integration.report_support import (
    World,
    clicks,
    conversion,
    engagements,
    impressions,
    people,
    refresh,
    world,
)

D1 = datetime(2026, 5, 20, 15, 0, tzinfo=UTC)
D2 = D1 + timedelta(days=1)
TREE = {"Spring": {"Hikers": ["big", "small"]}, "Summer": {"Campers": ["tiny"]}}


def get(client: TestClient, w: World, **params: Any) -> dict[str, Any]:
    r = client.get(w.url, params=params, headers=w.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


def rows_by(report: dict[str, Any], key: str = "name") -> dict[Any, dict[str, Any]]:
    return {(r["date"], r[key]): r for r in report["rows"]}


def test_ad_cells_below_the_threshold_are_withheld_and_folded_into_other(
    client: TestClient, system: System
) -> None:
    w = world(system, TREE)
    big, small, tiny = w.ads["big"], w.ads["small"], w.ads["tiny"]
    impressions(system, w, big, people("i", 100), D1, charged=2000)
    impressions(system, w, tiny, people("j", 50), D1, charged=2000)
    clicks(system, w, big, people("a", 12), D1, charged=100_000)
    clicks(system, w, small, people("b", 3), D1)
    clicks(system, w, tiny, people("c", 9), D1)
    engagements(system, w, big, people("a", 10), D1, kind="save")
    engagements(system, w, big, people("a", 4), D1, kind="closeup")
    refresh(system)

    ad = rows_by(get(client, w, level="ad", start_date="2026-05-20", end_date="2026-05-20"))
    day = "2026-05-20"
    assert ad[(day, "big")]["clicks"] == 12 and ad[(day, "big")]["impressions"] == 100
    assert ad[(day, "big")]["saves"] == 10 and ad[(day, "big")]["closeups"] is None
    assert "closeups" in ad[(day, "big")]["withheld"]
    assert ad[(day, "big")]["spend_in_micro"] == 100 * 2000 + 12 * 100_000
    assert ad[(day, "big")]["ctr"] == 0.12
    assert ad[(day, "small")]["clicks"] is None and "clicks" in ad[(day, "small")]["withheld"]
    assert ad[(day, "small")]["withheld_reason"] == "fewer_people"
    assert ad[(day, "tiny")]["clicks"] is None and ad[(day, "tiny")]["impressions"] == 50
    assert ad[(day, "tiny")]["ctr"] is None  # a ratio of a withheld figure is withheld too
    other = ad[(day, "Other (withheld cells together)")]
    assert other["id"] == "other" and other["clicks"] == 12  # 3 + 9 people together
    assert other["closeups"] is None  # 4 people: still under the threshold

    camp = rows_by(get(client, w, level="campaign", start_date=day, end_date=day))
    # A campaign's figure is the sum of its ads' published cells: Spring's clicks leave "small" out.
    assert camp[(day, "Spring")]["clicks"] == 12 and "clicks" in camp[(day, "Spring")]["partial"]
    assert camp[(day, "Summer")]["clicks"] is None and "clicks" in camp[(day, "Summer")]["withheld"]
    assert camp[(day, "Other (withheld cells together)")]["clicks"] == 12
    groups = rows_by(get(client, w, level="ad_group", start_date=day, end_date=day))
    assert groups[(day, "Hikers")]["clicks"] == 12


def test_two_overlapping_ranges_cannot_be_subtracted_to_isolate_one_person(
    client: TestClient, system: System
) -> None:
    w = world(system, TREE)
    big, small = w.ads["big"], w.ads["small"]
    # Day 1: ten people click "big". Day 2: only the target person does (and nothing else happens).
    clicks(system, w, big, people("a", 10), D1)
    clicks(system, w, big, ["target"], D2)
    # Across levels: on day 1 one more person, alone, clicks "small" of the same campaign.
    clicks(system, w, small, ["alone"], D1)
    refresh(system)

    both = get(client, w, level="ad", start_date="2026-05-20", end_date="2026-05-21", granularity="total")
    first = get(client, w, level="ad", start_date="2026-05-20", end_date="2026-05-20", granularity="total")
    b, f = rows_by(both), rows_by(first)
    # Computed again from the logs, the two-day total would be 11 clicks from 11 people — enough to
    # publish — and 11 - 10 would be the target's click. It is the sum of published day cells instead.
    assert b[(None, "big")]["clicks"] == 10
    assert b[(None, "big")]["clicks"] - f[(None, "big")]["clicks"] == 0
    assert "clicks" in b[(None, "big")]["partial"]  # it says a day's cell was left out
    other_b = b.get((None, "Other (withheld cells together)"))
    assert other_b is None or other_b["clicks"] is None  # one or two people: withheld
    # Campaign minus its published ad: Spring = 10 (the lone click on "small" is not in it).
    camp = rows_by(get(client, w, level="campaign", start_date="2026-05-20", end_date="2026-05-20"))
    assert camp[("2026-05-20", "Spring")]["clicks"] == 10
    ad = rows_by(get(client, w, level="ad", start_date="2026-05-20", end_date="2026-05-20"))
    assert camp[("2026-05-20", "Spring")]["clicks"] - ad[("2026-05-20", "big")]["clicks"] == 0
    # Day granularity over both days: day 2 withheld, not zero.
    days = rows_by(get(client, w, level="ad", start_date="2026-05-20", end_date="2026-05-21"))
    assert days[("2026-05-21", "big")]["clicks"] is None


def test_days_are_the_accounts_days_and_refresh_is_incremental_and_idempotent(
    client: TestClient, system: System
) -> None:
    w = world(system, TREE, timezone="America/Los_Angeles")
    big = w.ads["big"]
    late = datetime(2026, 5, 21, 3, 0, tzinfo=UTC)  # 20:00 on May 20 in Los Angeles
    clicks(system, w, big, people("a", 10), late)
    first = refresh(system)
    assert first.full
    report = get(client, w, level="ad", start_date="2026-05-20", end_date="2026-05-21")
    assert [(r["date"], r["clicks"]) for r in report["rows"]] == [("2026-05-20", 10)]

    def snapshot() -> list[tuple[Any, ...]]:
        with system.read() as conn:
            return sorted(tuple(r) for r in conn.execute(select(report_cells)))

    before = snapshot()
    again = refresh(system)
    assert not again.full and again.account_days == 0  # nothing new since the last run
    assert snapshot() == before
    # New clicks on a later day: only that day is recomputed; the old day's cells stay.
    system.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    clicks(system, w, big, people("b", 11), system.clock.now())
    third = refresh(system)
    assert third.account_days == 1
    report = get(client, w, level="ad", start_date="2026-05-20", end_date="2026-06-01")
    assert [(r["date"], r["clicks"]) for r in report["rows"]] == [("2026-05-20", 10), ("2026-06-01", 11)]
    full = refresh(system, full=True)
    assert full.full
    assert get(client, w, level="ad", start_date="2026-05-20", end_date="2026-06-01") == report


def test_conversions_follow_the_windows_in_force(client: TestClient, system: System) -> None:
    w = world(system, TREE)
    big, tiny = w.ads["big"], w.ads["tiny"]
    when = D2
    for p in people("p", 10):
        # Clicked "big" 10 days before, saw "tiny" 2 hours before.
        conversion(
            system,
            w,
            p,
            when,
            value=20.0,
            click=(big, when - timedelta(days=10)),
            view=(tiny, when - timedelta(hours=2)),
        )
    for p in people("q", 10):
        conversion(system, w, p, when, event_name="signup", engagement=(tiny, when - timedelta(days=3)))
    impressions(system, w, big, people("i", 10), when, charged=100_000)
    refresh(system)
    day = "2026-05-21"
    ad = rows_by(get(client, w, level="ad", start_date=day, end_date=day))
    assert ad[(day, "big")]["click_through_conversions"] == 10
    assert ad[(day, "big")]["conversions_by_event"] == {"checkout": 10}
    assert ad[(day, "big")]["conversion_value"] == 200.0
    assert ad[(day, "big")]["cpa_in_micro"] == 100_000  # 1,000,000 spent / 10
    assert ad[(day, "big")]["roas"] == 200.0  # 200.00 of value per 1.00 spent
    assert ad[(day, "tiny")]["engagement_through_conversions"] == 10
    assert ad[(day, "tiny")]["view_through_conversions"] == 0

    with system.write() as conn:
        measurement_settings.update(
            conn,
            w.account_id,
            attribution={"click_days": 7, "engagement_days": 1},
            privacy=None,
            now=system.clock.now(),
        )
    refresh(system)
    ad = rows_by(get(client, w, level="ad", start_date=day, end_date=day))
    # The click is now outside its 7-day window: the view (1 day) is credited; the engagement is out.
    assert ad[(day, "tiny")]["view_through_conversions"] == 10
    assert ad[(day, "tiny")]["engagement_through_conversions"] == 0
    assert ad.get((day, "big"), {}).get("conversions", 0) == 0
    assert get(client, w, level="ad", start_date=day, end_date=day)["attribution"] == {
        "click_days": 7,
        "engagement_days": 1,
        "view_days": 1,
    }


def test_csv_columns_and_bad_requests(client: TestClient, system: System) -> None:
    w = world(system, TREE)
    other = world(system, {"X": {"Y": ["z"]}}, name="Other")
    clicks(system, w, w.ads["big"], people("a", 10), D1)
    impressions(system, w, w.ads["big"], people("a", 20), D1)
    refresh(system)
    day = {"start_date": "2026-05-20", "end_date": "2026-05-20"}

    narrow = get(client, w, level="ad", columns="clicks,ctr", **day)
    assert narrow["columns"] == ["clicks", "ctr"]
    assert set(narrow["rows"][0]) == {"date", "level", "id", "name", "clicks", "ctr", "withheld", "partial"}

    for how in ({"params": {"format": "csv", **day}}, {"params": day, "headers": {"Accept": "text/csv"}}):
        r = client.get(w.url, params=how["params"], headers={**w.auth, **how.get("headers", {})})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(r.text)))
        assert table[0]["name"] == "Spring" and table[0]["clicks"] == "10" and table[0]["impressions"] == "20"
        assert "conversions_checkout" in table[0]

    bad = [
        ({"level": "person"}, "level"),
        ({"start_date": "2026-01-01", "end_date": "2026-05-20"}, "end_date"),  # 140 days
        ({"start_date": "2026-05-21", "end_date": "2026-05-20"}, "start_date"),
        ({"start_date": "20-05-2026"}, "start_date"),
        ({"granularity": "hour"}, "granularity"),
        ({"columns": "clicks,email"}, "columns"),
        ({"format": "xml"}, "format"),
    ]
    for params, field in bad:
        r = client.get(w.url, params=params, headers=w.auth)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["field"] == field, (params, r.text)
    assert client.get(w.url, params=day).status_code == 401
    assert client.get(w.url, params=day, headers=other.auth).status_code == 403
    assert client.get(other.url, params=day, headers=w.auth).status_code == 403
    # 90 days is allowed.
    assert (
        client.get(
            w.url, params={"start_date": "2026-03-01", "end_date": "2026-05-29"}, headers=w.auth
        ).status_code
        == 200
    )


def test_a_daylight_saving_change_inside_the_range_keeps_each_click_on_its_local_day(
    client: TestClient, system: System
) -> None:
    w = world(system, TREE, timezone="Europe/Berlin")
    big = w.ads["big"]
    # 00:30 local time on both days: UTC+1 before the change (March 29, 2026, 01:00 UTC), UTC+2 after.
    clicks(system, w, big, people("a", 10), datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    clicks(system, w, big, people("b", 11), datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    clicks(system, w, big, people("c", 12), datetime(2026, 3, 29, 21, 59, tzinfo=UTC))  # 23:59 on the 29th
    refresh(system)
    report = get(client, w, level="ad", start_date="2026-03-28", end_date="2026-03-31")
    assert [(r["date"], r["clicks"]) for r in report["rows"]] == [("2026-03-29", 22), ("2026-03-30", 11)]
    # The totals the database adds up equal the day rows added up here.
    total = get(client, w, level="ad", start_date="2026-03-28", end_date="2026-03-31", granularity="total")
    assert total["rows"][0]["clicks"] == 33
