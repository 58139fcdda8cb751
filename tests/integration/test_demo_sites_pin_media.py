"""Every product page of the demo's third-party sites names a picture the Save button can save (its
own `data-pin-media` or the page's `og:image`), served by the demo sites themselves as a raster image
that the platform's re-encoding accepts."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tastegraph.catalog.media import reencode
from tastegraph.web.demo_sites import SITES, create_demo_sites_app

_NAMED = re.compile(r'(?:data-pin-media|property="og:image" content)="([^"]+)"')


def test_each_product_page_names_a_picture_the_platform_accepts() -> None:
    client = TestClient(create_demo_sites_app("http://127.0.0.1:8000"), base_url="http://localhost:8001")
    checked = set()
    for site in SITES.values():
        for item in site.items:
            page = client.get(f"/{site.key}/{item.category}/{item.slug}")
            assert page.status_code == 200
            named = _NAMED.findall(page.text)
            assert named, f"{site.key}/{item.slug} names no picture"
            for url in named:
                assert url.startswith("http://localhost:8001/assets/img/") and url.endswith(".png")
                if url in checked:
                    continue
                picture = client.get(url.removeprefix("http://localhost:8001"))
                assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
                copy = reencode(picture.content)
                assert (copy.width, copy.height) == (600, 600)
                checked.add(url)
    assert len(checked) >= 4
