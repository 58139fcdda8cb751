"""The home feed with Promoted Pins on and off, side by side (issue 15): a Gowalla-sized catalogue, 10,000
active ad groups with mixed targeting, SQLite, `tastegraph serve --workers 2`, 200 requests/s open loop.

1. load the Gowalla catalogue (bench/gowalla_catalogue.py) into a scratch SQLite database;
2. add 1,000 ad accounts with 10 ad groups each (10,000 active ad groups, one ad each, its own Pin):
   interests (one to three topics, 40 %), keywords (20 %), a customer-list audience of 150-500
   catalogue people (15 %), interests with expanded targeting (10 %), broad (15 %); half CPM, half CPC;
   bids spread over two orders of magnitude; ample daily budgets; half standard pacing, half
   accelerated; a quarter with a frequency cap;
3. sign 400 people in (half with off-site visits), `tastegraph train`, then measure
   `GET /v1/feed/home?limit=25` at the rate with `TASTEGRAPH_ADS_ENABLED=true` and `=false`, alternating
   (on, off, on, off, ...), each run on a freshly started server after a warm-up; medians of the runs.
   Before the timed runs, 200 feeds are read to count how many carry an ad (the fill rate).

    .venv/bin/python bench/ads_feed_bench.py            # full run: docs/benchmarks.md "ads_feed"
    .venv/bin/python bench/ads_feed_bench.py --quick    # smoke test: small catalogue, short runs, no docs
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Server,
    machine_info,
    machine_line,
    md_table,
    median,
    print_json_line,
    replace_doc_section,
    scratch_database,
)
from bench.feed_latency import Target, measure
from bench.gowalla_catalogue import GOWALLA_TRAIN, load_catalogue, rich_progress
from bench.serving_gowalla import FEED_PATH, pin_sample, prepare_clients, train, warm_up
from bench.serving_gowalla import Config as ServingConfig

TARGET_P99_MS = 40.0


@dataclass
class Config:
    quick: bool
    users: int | None
    ad_accounts: int
    groups_per_account: int
    rate: int
    seconds: float
    runs: int
    signed_in: int
    write_docs: bool


def add_ad_groups(url: str, cfg: Config, seed: int = 15) -> dict[str, int]:
    """The advertisers, through the ads domain's own create functions (validated as the API would)."""
    from sqlalchemy import text

    from tastegraph.ads import (
        Ceilings,
        accounts,
        ad_groups,
        ad_pins,
        ads,
        audiences,
        campaigns,
        tracking_urls,
    )
    from tastegraph.bootstrap import build
    from tastegraph.catalog import content
    from tastegraph.config import Settings

    system = build(Settings(database_url=url, ikea_dir=None))
    rng = random.Random(seed)
    ceilings = Ceilings(system.settings.ad_max_bid_micro, system.settings.ad_max_budget_micro)
    now = system.clock.now()
    kinds = {"interests": 0, "keywords": 0, "audience": 0, "expanded": 0, "broad": 0}
    words = ["chair", "lamp", "tent", "recipe", "jacket", "garden", "travel", "camera", "shoes", "desk"]
    with system.write(long_running=True) as conn:
        slugs = sorted(content.topics_by_slug(conn))
        people = [int(u) for u in conn.execute(text("SELECT id FROM users ORDER BY id")).scalars()]
        for a in range(cfg.ad_accounts):
            website = f"advertiser{a}.example"
            account, _ = accounts.create_account(conn, f"Advertiser {a}", now, website=website)
            campaign = campaigns.create(
                conn, account.id, {"name": "Always on", "objective": "consideration"}, ceilings, now
            )
            for g in range(cfg.groups_per_account):
                roll = rng.random()
                spec: dict[str, Any]
                if roll < 0.40:
                    spec, kind = {"interests": rng.sample(slugs, rng.randint(1, 3))}, "interests"
                elif roll < 0.60:
                    spec, kind = {"keywords": rng.sample(words, 2)}, "keywords"
                elif roll < 0.75:
                    members = rng.sample(people, min(len(people), rng.randint(150, 500)))
                    audience = audiences.create_from_people(
                        conn,
                        system.consent,
                        account.id,
                        f"list {g}",
                        {"list_kind": "email", "mode": "plain"},
                        members,
                        now,
                    )
                    spec, kind = {"audience_include": [audience.id]}, "audience"
                elif roll < 0.85:
                    spec, kind = {"interests": [rng.choice(slugs)], "expanded": True}, "expanded"
                else:
                    spec, kind = {}, "broad"
                kinds[kind] += 1
                cpc = rng.random() < 0.5
                bid = int(10 ** rng.uniform(5, 7)) if cpc else int(10 ** rng.uniform(5.5, 7.5))
                group = ad_groups.create(
                    conn,
                    account.id,
                    {
                        "campaign_id": campaign.id,
                        "name": f"group {g}",
                        "billable_event": "click" if cpc else "impression",
                        "bid_in_micro": bid,
                        "budget_in_micro": 50_000_000_000,
                        "budget_type": "daily",
                        "pacing_delivery_type": rng.choice(["standard", "accelerated"]),
                        "frequency_cap": {"impressions": 5, "days": 1} if rng.random() < 0.25 else None,
                        "targeting_spec": spec,
                    },
                    ceilings,
                    now,
                )
                pin = ad_pins.create(
                    conn,
                    account,
                    title=f"Advertiser {a} offer {g}",
                    description="",
                    link=f"https://{website}/offer/{g}",
                    topics=spec.get("interests", [])[:1],
                    image_url="/static/demo-img/outdoors/0.svg",
                    now=now,
                )
                ads.create(
                    conn, account, {"ad_group_id": group.id, "pin_id": pin.id}, now, tracking_urls.Rules("")
                )
    system.dispose()
    return {"ad_groups": sum(kinds.values()), **kinds}


def fill_rate(server: Server, targets: Sequence[Target], n: int) -> dict[str, float]:
    """Of n feeds, the share with at least one Promoted Pin, and ads per feed."""
    with_ad = ads_seen = 0
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for t in targets[:n]:
            r = client.get(FEED_PATH, headers={"Cookie": t.cookie} if t.cookie else {})
            r.raise_for_status()
            count = sum(1 for i in r.json()["items"] if i.get("promoted"))
            with_ad += count > 0
            ads_seen += count
    done = max(1, min(n, len(targets)))
    return {
        "feeds": done,
        "share_with_an_ad": round(with_ad / done, 3),
        "ads_per_feed": round(ads_seen / done, 2),
    }


def bench(cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": {"on": [], "off": []}}
    with (
        scratch_database("sqlite", "tastegraph_bench_ads_feed") as db,
        tempfile.TemporaryDirectory(prefix="tastegraph-ads-models-") as model_dir,
    ):
        bar, report = rich_progress()
        with bar:
            out["catalogue"] = load_catalogue(db.url, GOWALLA_TRAIN, cfg.users, progress=report)
        t = time.perf_counter()
        out["ads"] = add_ad_groups(db.url, cfg)
        out["ads_seconds"] = round(time.perf_counter() - t, 1)
        print(f"[ads_feed] {out['ads']} in {out['ads_seconds']} s", file=sys.stderr, flush=True)
        os.environ["TASTEGRAPH_MODEL_DIR"] = model_dir
        serving = ServingConfig(
            quick=cfg.quick,
            backends=["sqlite"],
            workers=2,
            rate=cfg.rate,
            seconds=cfg.seconds,
            runs=cfg.runs,
            users=cfg.users,
            signed_in=cfg.signed_in,
            visits_per_client=20,
            related_pins=50,
            wrk=False,
            wrk_seconds=0,
            write_docs=False,
        )
        with Server(db.url, workers=2) as server:
            clients = prepare_clients(server.base_url, serving, pin_sample(db.url, serving.related_pins))
        out["training"] = train(db.url, Path(model_dir))
        feed = clients["feed"]
        for run_no in range(cfg.runs):
            for mode in ("on", "off"):
                os.environ["TASTEGRAPH_ADS_ENABLED"] = "true" if mode == "on" else "false"
                try:
                    with Server(db.url, workers=2) as server:
                        warm_up(server, clients)
                        if run_no == 0:
                            out[f"fill_{mode}"] = fill_rate(server, feed, 200 if not cfg.quick else 20)
                        shift = (run_no * 997) % len(feed)
                        run = measure(
                            server,
                            FEED_PATH,
                            feed[shift:] + feed[:shift],
                            cfg.rate,
                            cfg.seconds,
                            not cfg.quick,
                        )
                finally:
                    os.environ.pop("TASTEGRAPH_ADS_ENABLED", None)
                lat = run["latency_ms"]
                print(
                    f"[ads_feed] ads {mode} run {run_no + 1}: achieved {run['achieved_rate']}/s, "
                    f"p50 {lat['p50']} p99 {lat['p99']} ms, errors {run['errors']}, cpu {run['cpu']}",
                    file=sys.stderr,
                    flush=True,
                )
                out["runs"][mode].append(run)
    return out


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    p99s = [r["latency_ms"]["p99"] for r in runs]
    return {
        "runs": len(runs),
        "p50_median": round(median([r["latency_ms"]["p50"] for r in runs]), 1),
        "p90_median": round(median([r["latency_ms"]["p90"] for r in runs]), 1),
        "p99_median": round(median(p99s), 1),
        "p99_max": max(p99s),
        "achieved_median": round(median([r["achieved_rate"] for r in runs]), 1),
        "errors": sum(r["errors"] for r in runs),
    }


def render(cfg: Config, info: dict[str, str], res: dict[str, Any]) -> str:
    on, off = summary(res["runs"]["on"]), summary(res["runs"]["off"])
    met = on["p99_median"] <= TARGET_P99_MS and on["errors"] == 0
    rows = [
        [
            mode,
            s["runs"],
            s["achieved_median"],
            s["p50_median"],
            s["p90_median"],
            s["p99_median"],
            s["p99_max"],
            s["errors"],
        ]
        for mode, s in (("ads on", on), ("ads off", off))
    ]
    ads = res["ads"]
    fill = res.get("fill_on", {})
    return "\n".join(
        [
            "## Home feed with Promoted Pins on and off (issue 15)",
            "",
            f"`.venv/bin/python bench/ads_feed_bench.py` — {machine_line(info)}",
            "",
            f"Gowalla-sized catalogue ({res['catalogue']}), SQLite, `tastegraph serve --workers 2`, "
            f"{ads['ad_groups']:,} active ad groups ({ads['interests']:,} interests, {ads['keywords']:,} "
            f"keywords, {ads['audience']:,} customer-list audiences, {ads['expanded']:,} expanded, "
            f"{ads['broad']:,} broad; half CPM, half CPC; half standard pacing) in "
            f"{cfg.ad_accounts:,} ad accounts; {cfg.signed_in} signed-in people, half with off-site visits; "
            f"`GET /v1/feed/home?limit=25` at {cfg.rate} requests/s open loop for {cfg.seconds:.0f} s a "
            "run, ads on and off alternating, each on a freshly started server. Latency counts from when "
            "each request was due.",
            "",
            md_table(
                ["", "runs", "achieved /s", "p50 ms", "p90 ms", "p99 ms (median)", "p99 ms (max)", "errors"],
                rows,
            ),
            "",
            f"Feeds with at least one Promoted Pin (ads on, {fill.get('feeds', 0)} feeds): "
            f"{fill.get('share_with_an_ad', 0):.0%}, {fill.get('ads_per_feed', 0)} ads a feed. "
            f"Target p99 ≤ {TARGET_P99_MS:.0f} ms with ads on: **{'met' if met else 'not met'}** "
            f"(ads add {on['p99_median'] - off['p99_median']:+.1f} ms at p99, "
            f"{on['p50_median'] - off['p50_median']:+.1f} ms at p50).",
            "",
        ]
    )


def parse(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rate", type=int, default=None)
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--users", type=int, default=None, help="load only the first N Gowalla users")
    p.add_argument("--ad-accounts", type=int, default=None)
    p.add_argument("--no-docs", action="store_true")
    a = p.parse_args(argv)
    quick = bool(a.quick)
    return Config(
        quick=quick,
        users=a.users or (400 if quick else None),
        ad_accounts=a.ad_accounts or (20 if quick else 1000),
        groups_per_account=10,
        rate=a.rate or (40 if quick else 200),
        seconds=a.seconds or (3.0 if quick else 30.0),
        runs=a.runs or (1 if quick else 3),
        signed_in=8 if quick else 400,
        write_docs=not quick and not a.no_docs,
    )


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse(argv)
    started = time.perf_counter()
    info = machine_info()
    res = bench(cfg)
    ok = all(r["errors"] == 0 for runs in res["runs"].values() for r in runs)
    if cfg.write_docs:
        replace_doc_section("ads_feed", render(cfg, info, res))
    print_json_line(
        {
            "bench": "ads_feed",
            "quick": cfg.quick,
            "ok": ok,
            "seconds": round(time.perf_counter() - started, 1),
            "ads": res["ads"],
            "fill_on": res.get("fill_on"),
            "fill_off": res.get("fill_off"),
            "summary": {mode: summary(runs) for mode, runs in res["runs"].items()},
        }
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
