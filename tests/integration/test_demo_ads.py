"""The demo's Promoted Pins: made once, with real images in the media store, and served where their
targeting says (keywords in search, the Pin's topic on a Pin page), labelled and explained."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from tastegraph.ads.tables import ad_groups, ads
from tastegraph.bootstrap import System
from tastegraph.catalog import media
from tastegraph.catalog.tables import pins
from tastegraph.demo import ensure_demo_ads
from tastegraph.demo.promoted import DEMO_ADVERTISERS, DemoAd, draw_image
from tests.helpers import demo_world

EXPECTED_ADS = sum(len(g.ads) for a in DEMO_ADVERTISERS for g in a.groups)


def test_demo_images_are_real_pictures() -> None:
    raw = draw_image(DemoAd("A tent", "", "/x", (40, 90, 70)), size=(300, 400))
    assert media.reencode(raw, formats=frozenset({"PNG"}))
    with Image.open(io.BytesIO(raw)) as image:
        assert image.size == (300, 400) and image.getpixel((5, 5)) == (40, 90, 70)


def test_demo_ads_are_made_once_and_served_by_their_targeting(client: TestClient, system: System) -> None:
    demo_world(system)
    assert ensure_demo_ads(system) == EXPECTED_ADS
    assert ensure_demo_ads(system) == 0  # a second load leaves them alone
    with system.read() as conn:
        assert conn.execute(select(func.count()).select_from(ads)).scalar_one() == EXPECTED_ADS
        assert conn.execute(select(func.count()).select_from(ad_groups)).scalar_one() == 4
        images = conn.execute(select(pins.c.image_url).join(ads, ads.c.pin_id == pins.c.id)).scalars().all()
    for url in images:
        r = client.get(url)
        # Re-encoded as an upload is: an opaque picture is stored as JPEG.
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"

    items = client.get("/v1/search/pins", params={"q": "tent"}).json()["items"]
    promoted = [i for i in items if i.get("promoted")]
    assert [p["promoted"]["advertiser_name"] for p in promoted] == ["TrailPeak Gear"]
    assert promoted[0]["reasons"][0]["kind"] == "ad_keyword"
