"""The advertiser's report page in a real Chromium: an owner's account with two weeks of ad logs and
conversions (written directly, then the rollups refreshed), the charts drawn by the server (SVG, no
request to another host), the table per campaign and per ad with a withheld figure, an error for a
range over 90 days, the CSV download; screenshots at 1280 and 390 px."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tastegraph.usecases import reports
from tests.e2e.conftest import World, shot, sign_up_and_in, watch
from tests.integration.report_support import World as ReportWorld
from tests.integration.report_support import add_objects, clicks, conversion, impressions, people

pytestmark = pytest.mark.e2e


def _data(world: World, account_id: int) -> tuple[str, str]:
    system = world.system
    w = ReportWorld(account_id, "", "Europe/Berlin")
    add_objects(
        system, w, {"Spring trail": {"Hikers": ["Shoe", "Sock"]}, "Camp kitchen": {"Cooks": ["Stove"]}}
    )
    zone = ZoneInfo("Europe/Berlin")
    today = system.clock.now().astimezone(zone).date()
    for i in range(14):
        at = datetime.combine(today - timedelta(days=14 - i), time(12), tzinfo=zone).astimezone(UTC)
        impressions(system, w, w.ads["Shoe"], people(f"s{i}-", 200 + 15 * i), at, charged=3000)
        impressions(system, w, w.ads["Stove"], people(f"k{i}-", 120 + 5 * i), at, charged=3000)
        clicks(system, w, w.ads["Shoe"], people(f"s{i}-", 12 + i), at, charged=250_000)
        clicks(system, w, w.ads["Stove"], people(f"k{i}-", 10 + i % 4), at, charged=250_000)
        clicks(system, w, w.ads["Sock"], people(f"x{i}-", 2), at)  # always under the threshold
        for p in people(f"s{i}-", 10 + i % 3):
            conversion(system, w, p, at + timedelta(hours=2), value=35.0, click=(w.ads["Shoe"], at))
    reports.refresh(system)
    end = today - timedelta(days=1)
    return (end - timedelta(days=13)).isoformat(), end.isoformat()


def test_the_report_page_charts_tables_and_csv(
    browser_context: Any, world: World, screenshots: Path, tmp_path: Path
) -> None:
    page = browser_context.new_page()
    errors: list[str] = []
    watch(page, errors)
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlsplit(req.url).netloc))
    sign_up_and_in(page, world, "report-owner@example.com", "a good password", "Rhea")
    page.goto(world.platform + "/advertisers")
    page.fill("#adv-name", "Rhea Outdoor")
    page.fill("#adv-site", "rhea-outdoor.example")
    page.fill("#adv-timezone", "Europe/Berlin")
    page.click("form[action='/advertisers'] button[type=submit]")
    page.get_by_role("link", name=re.compile("Promoted Pins")).last.click()
    page.wait_for_url(re.compile(r".*/advertisers/\d+/promoted$"))
    account_id = int(re.findall(r"/advertisers/(\d+)/promoted", page.url)[0])
    start, end = _data(world, account_id)

    page.get_by_role("link", name=re.compile("Reports")).click()
    page.wait_for_url(re.compile(rf".*/advertisers/{account_id}/reports$"))
    page.fill("#start_date", start)
    page.fill("#end_date", end)
    page.select_option("#level", "campaign")
    page.click(".report-form button[type=submit]")
    page.wait_for_url(re.compile(r".*level=campaign.*"))
    main = page.text_content("main") or ""
    assert "Spring trail" in main and "Camp kitchen" in main
    assert "click 30 days" in main
    assert page.locator("figure.report-chart svg").count() == 4
    assert page.locator("figure[data-series=clicks] rect.bar").count() == 14
    spring = page.locator("tr", has_text="Spring trail")
    # Spring's clicks: Shoe's published cells only; Sock's two people a day are left out (marked *).
    expected = sum(12 + i for i in range(14))
    assert spring.locator("td[data-figure=clicks]").inner_text().startswith(f"{expected:,}")
    assert "*" in spring.locator("td[data-figure=clicks]").inner_text()
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, screenshots, "reports-01-campaigns-1280")

    page.select_option("#level", "ad")
    page.click(".report-form button[type=submit]")
    page.wait_for_url(re.compile(r".*level=ad&.*|.*level=ad$"))
    sock = page.locator("tr", has_text="Sock")
    assert sock.locator("td[data-figure=clicks]").inner_text() == "withheld"
    assert page.locator("tr[data-id=other]").count() == 1
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, screenshots, "reports-02-ads-390")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download CSV")).click()
    path = tmp_path / "report.csv"
    download_info.value.save_as(str(path))
    table = list(csv.DictReader(io.StringIO(path.read_text())))
    assert {r["name"] for r in table} >= {"Shoe", "Stove", "Sock"}
    assert all(r["clicks"] == "" for r in table if r["name"] == "Sock")

    # The attribution windows, changed on the page.
    page.select_option("#w-click_days", "7")
    page.select_option("#w-view_days", "0")
    page.click("#windows button[type=submit]")
    page.wait_for_url(re.compile(r".*notice=windows_saved.*"))
    assert page.input_value("#w-click_days") == "7" and page.input_value("#w-view_days") == "0"
    assert "click 7 days" in (page.text_content("main") or "") and "view off" in (
        page.text_content("main") or ""
    )
    assert not errors, errors
    # Another account's report is not found (the demo advertiser's, owned by no one here).
    assert page.goto(world.platform + "/advertisers/1/reports").status == 404
    # A range over 90 days: the page answers 422 and says why, next to the field.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(world.platform + f"/advertisers/{account_id}/reports?start_date=2026-01-01&end_date=2026-05-31")
    assert "at most 90 days" in page.inner_text("#report-error").lower()
    assert page.get_attribute("#end_date", "aria-invalid") == "true"

    platform_host = urlsplit(world.platform).netloc
    assert hosts <= {platform_host}, hosts  # nothing from a CDN or any other host
