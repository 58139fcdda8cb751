# ruff: noqa: E501  (long SQL and Markdown templates read better unwrapped)
"""Advertiser reports (issue 16): latency of a 90-day campaign-level report over 10,000,000 impressions,
1,000,000 clicks and 1,000,000 conversions from 1,000,000 people, and the time to build the rollups.

The data is synthetic and written directly into the ad logs (ad_impressions, ad_clicks,
ad_engagements), advertiser_events and ad_attributions by set-based SQL inside the database (not
through serving or attribution): one ad account (UTC) with 20 campaigns x 5 ad groups x 5 ads, spread
evenly over the 90 days before today; people are signed-out browsers. Then `measure.reports.refresh`
builds the cells (timed, with peak memory), and a real `tastegraph serve` answers
GET /v1/ad_accounts/{id}/reports over TCP, one request at a time: granularity=total (the table) and
granularity=day (the chart) at level campaign over 90 days.

    .venv/bin/python bench/report_bench.py                  # the full scale, SQLite
    .venv/bin/python bench/report_bench.py --backend postgresql
    .venv/bin/python bench/report_bench.py --quick --no-docs  # a small run (the smoke test)
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Server,
    latency_summary_ms,
    machine_info,
    machine_line,
    md_table,
    print_json_line,
    replace_doc_section,
    scratch_database,
)

CAMPAIGNS, GROUPS_PER, ADS_PER = 20, 5, 5
EVENTS = ("checkout", "add_to_cart", "page_visit", "signup")


def _series(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        return f"generate_series(1::bigint, {n}) AS s(n)"
    return f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s) AS s"


def _at(dialect: str, seconds: str) -> str:
    """A UTC timestamp `seconds` (an SQL expression) after the Unix epoch, as the column type stores it."""
    if dialect == "postgresql":
        return f"to_timestamp({seconds})"
    return f"(strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000')"


def load(url: str, impressions: int, clicks: int, conversions: int, people: int) -> dict[str, Any]:
    from tastegraph.ads import Ceilings, accounts, ad_groups, ad_pins, ads, campaigns, tracking_urls
    from tastegraph.catalog import content
    from tastegraph.db import make_engine, upgrade

    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    t0 = int((today - timedelta(days=90)).timestamp())
    span = 90 * 86400
    n_ads = CAMPAIGNS * GROUPS_PER * ADS_PER
    with engine.begin() as conn:
        account, token = accounts.create_account(conn, "Bench outdoor", now, website="bench.example")
        content.ensure_topic(conn, "outdoors", "Outdoors")
        pin = ad_pins.create(
            conn,
            account,
            title="Bench tent",
            description="",
            link="https://bench.example/tent",
            topics=["outdoors"],
            image_url="https://bench.example/tent.png",
            now=now,
        )
        # Through the ads domain's own create functions (validated as the API would).
        ceilings = Ceilings(10**12, 10**15)
        ad_ids: list[int] = []
        for c in range(CAMPAIGNS):
            campaign = campaigns.create(
                conn, account.id, {"name": f"Campaign {c + 1}", "objective": "conversions"}, ceilings, now
            )
            for g in range(GROUPS_PER):
                group = ad_groups.create(
                    conn,
                    account.id,
                    {
                        "campaign_id": campaign.id,
                        "name": f"Group {c + 1}.{g + 1}",
                        "billable_event": "impression",
                        "bid_in_micro": 2_000_000,
                        "budget_in_micro": 100_000_000,
                        "budget_type": "daily",
                        "pacing_delivery_type": "standard",
                        "targeting_spec": {},
                    },
                    ceilings,
                    now,
                )
                for a in range(ADS_PER):
                    made = ads.create(
                        conn,
                        account,
                        {"ad_group_id": group.id, "pin_id": pin.id, "name": f"Ad {c + 1}.{g + 1}.{a + 1}"},
                        now,
                        tracking_urls.Rules(platform_host=""),
                    )
                    ad_ids.append(made.id)
    first_ad = min(ad_ids)
    assert ad_ids == list(range(first_ad, first_ad + n_ads)), "ads are numbered in a row"
    d = engine.dialect.name
    acct = account.id
    ad = f"({first_ad} + (n % {n_ads}))"
    group = f"(SELECT ad_group_id FROM ads WHERE id = {ad})"
    person = "('p' || ((n * {mult}) % {people}))"
    steps = [
        (
            "ad_impressions",
            f"INSERT INTO ad_impressions (token_id, ad_id, ad_group_id, ad_account_id, user_id, browser_key,"
            f" placement, position, charged_micro, served_at, at)"
            f" SELECT 'i' || n, {ad}, {group}, {acct}, NULL, {person.format(mult=7919, people=people)},"
            f" 'browse', 1, 2000, {_at(d, f'{t0} + (n * {span}) / {impressions}')},"
            f" {_at(d, f'{t0} + (n * {span}) / {impressions}')} FROM {_series(d, impressions)}",
        ),
        (
            "ad_clicks",
            f"INSERT INTO ad_clicks (click_id, token_id, ad_id, ad_group_id, ad_account_id, user_id, browser_key,"
            f" placement, position, charged_micro, at)"
            f" SELECT 'c' || n, 'ct' || n, {ad}, {group}, {acct}, NULL, {person.format(mult=104729, people=people)},"
            f" 'browse', 1, 0, {_at(d, f'{t0} + (n * {span}) / {clicks}')} FROM {_series(d, clicks)}",
        ),
        (
            "ad_engagements",
            f"INSERT INTO ad_engagements (token_id, kind, ad_id, ad_group_id, ad_account_id, user_id, browser_key,"
            f" placement, position, at)"
            f" SELECT 'g' || n, CASE WHEN n % 2 = 0 THEN 'save' ELSE 'closeup' END, {ad}, {group}, {acct}, NULL,"
            f" {person.format(mult=15485863, people=people)}, 'browse', 1,"
            f" {_at(d, f'{t0} + (n * {span}) / {max(1, clicks // 5)}')} FROM {_series(d, max(1, clicks // 5))}",
        ),
    ]
    event = f"(CASE n % 4 WHEN 0 THEN '{EVENTS[0]}' WHEN 1 THEN '{EVENTS[1]}' WHEN 2 THEN '{EVENTS[2]}' ELSE '{EVENTS[3]}' END)"
    when = f"{t0} + (n * {span}) / {conversions}"
    value = "(CASE WHEN n % 4 = 0 THEN 20 + (n % 80) ELSE NULL END)"
    steps.append(
        (
            "advertiser_events",
            f"INSERT INTO advertiser_events (id, ad_account_id, source, event_name, event_id, action_source,"
            f" event_time, received_at, opt_out, limited_data_processing, global_privacy_control, value)"
            f" SELECT n, {acct}, 'api', {event}, 'e' || n, 'web', {_at(d, when)}, {_at(d, when)},"
            f" false, false, false, {value} FROM {_series(d, conversions)}",
        )
    )
    steps.append(
        (
            "ad_attributions",
            f"INSERT INTO ad_attributions (event_id, ad_account_id, user_id, person_key, event_name, event_time,"
            f" value, currency, click_ad_id, click_at, click_id, engagement_ad_id, engagement_at, view_ad_id,"
            f" view_at, computed_at)"
            f" SELECT n, {acct}, NULL, 'b:' || {person.format(mult=104729, people=people)}, {event}, {_at(d, when)},"
            f" {value}, 'USD',"
            f" CASE WHEN n % 3 = 0 THEN {ad} END, CASE WHEN n % 3 = 0 THEN {_at(d, f'{when} - (n % 40) * 86400')} END,"
            f" NULL,"
            f" CASE WHEN n % 3 = 1 THEN {ad} END, CASE WHEN n % 3 = 1 THEN {_at(d, f'{when} - (n % 10) * 86400')} END,"
            f" {first_ad} + ((n * 7) % {n_ads}), {_at(d, f'{when} - (n % 48) * 3600')},"
            f" {_at(d, str(int(now.timestamp())))} FROM {_series(d, conversions)}",
        )
    )
    timings: dict[str, float] = {}
    for name, sql in steps:
        t = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql(sql.replace("%", "%%") if d == "postgresql" else sql)
        timings[name] = round(time.perf_counter() - t, 1)
        print(f"loaded {name} in {timings[name]} s", file=sys.stderr, flush=True)
    if d == "postgresql":
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {
        "account_id": account.id,
        "token": token.token,
        "load_seconds": timings,
        "total_load_seconds": round(time.perf_counter() - started, 1),
    }


def build_rollups(url: str) -> dict[str, Any]:
    from tastegraph.bootstrap import build
    from tastegraph.config import Settings
    from tastegraph.usecases import reports

    system = build(Settings(database_url=url, env="development", ikea_dir=None))
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        full = reports.refresh(system, full=True)
        full_s = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        again = reports.refresh(system)  # nothing new: finds that out and stops
        again_s = time.perf_counter() - t
        with system.read() as conn:
            from sqlalchemy import func, select

            from tastegraph.measure.report_tables import report_cells

            cells = int(conn.execute(select(func.count()).select_from(report_cells)).scalar_one())
    finally:
        system.dispose()
    return {
        "full_seconds": round(full_s, 1),
        "full_cells": cells,
        "full_account_days": full.account_days,
        "peak_rss_mb": round(max(before, peak) / 1024, 0),
        "incremental_nothing_new_seconds": round(again_s, 2),
        "incremental_account_days": again.account_days,
    }


def measure(base_url: str, account_id: int, token: str, requests: int) -> dict[str, Any]:
    end = (datetime.now(UTC) - timedelta(days=1)).date()
    start = end - timedelta(days=89)
    out: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        for granularity in ("total", "day"):
            params = {
                "level": "campaign",
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "granularity": granularity,
            }
            for _ in range(5):  # warm up
                r = client.get(f"/v1/ad_accounts/{account_id}/reports", params=params)
                r.raise_for_status()
            rows = len(r.json()["rows"])
            seconds = []
            for _ in range(requests):
                t = time.perf_counter()
                r = client.get(f"/v1/ad_accounts/{account_id}/reports", params=params)
                seconds.append(time.perf_counter() - t)
                r.raise_for_status()
            out[granularity] = {"rows": rows, "requests": requests, **latency_summary_ms(seconds)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--quick", action="store_true", help="a small run: 100,000 impressions")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()
    scale = (100_000, 10_000, 10_000, 10_000) if args.quick else (10_000_000, 1_000_000, 1_000_000, 1_000_000)
    requests = min(args.requests, 20) if args.quick else args.requests
    with scratch_database(args.backend, "report_bench") as db:
        loaded = load(db.url, *scale)
        rollups = build_rollups(db.url)
        server = Server(db.url, workers=1).start()
        try:
            latency = measure(server.base_url, loaded["account_id"], loaded["token"], requests)
        finally:
            server.stop()
    result = {
        "backend": args.backend,
        "scale": dict(zip(("impressions", "clicks", "conversions", "people"), scale, strict=True)),
        "load": {k: v for k, v in loaded.items() if k != "token"},
        "rollups": rollups,
        "latency": latency,
    }
    print_json_line(result)
    if not args.no_docs:
        _write_docs(result)


def _write_docs(result: dict[str, Any]) -> None:
    s, r, lat = result["scale"], result["rollups"], result["latency"]
    body = f"""### Measured: {result["backend"]}, {s["impressions"]:,} impressions, {s["clicks"]:,} clicks, {s["conversions"]:,} conversions

{machine_line(machine_info())}

Synthetic data written directly into the ad logs and ad_attributions (bench/report_bench.py): one ad
account, 20 campaigns x 5 ad groups x 5 ads, 90 days, {s["people"]:,} people. Rollups built by
`measure.reports.refresh` (full run): {r["full_seconds"]} s, {r["full_cells"]:,} cells for
{r["full_account_days"]} account days, peak RSS of the process {r["peak_rss_mb"]:.0f} MB; a second refresh right
after it {r["incremental_nothing_new_seconds"]} s ({r["incremental_account_days"]} account days: the attributions were
stamped at load time, inside the refresh's 10-minute slack, so every conversion day counts as touched). Latency of GET /v1/ad_accounts/{{id}}/reports, level=campaign,
90 days, one request at a time over TCP to `tastegraph serve` (1 worker):

{md_table(["granularity", "rows", "requests", "p50 ms", "p90 ms", "p99 ms", "max ms"], [[g, v["rows"], v["requests"], v["p50"], v["p90"], v["p99"], v["max"]] for g, v in lat.items()])}
"""
    replace_doc_section(f"reports-{result['backend']}", body)


if __name__ == "__main__":
    main()
