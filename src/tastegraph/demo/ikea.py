"""Load the IKEA products from the shared data folder as home-decor Pins.

The photos stay where they are: the app serves `ikea_dir` at /ikea-images/, and the images may not be
copied into the project (see the data README's licence note).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TypedDict
from urllib.parse import quote

from sqlalchemy import Connection

from tastegraph import catalog
from tastegraph.kernel import InvalidInput

IKEA_DOMAIN = "ikea.com"
IKEA_TOPIC = ("home-decor", "Home decor")
IMAGE_PREFIX = "/ikea-images/"


def load_ikea(conn: Connection, ikea_dir: Path, now: datetime) -> int:
    """Add every product not loaded yet as a Pin; return how many were added (0 without products.json)."""
    if now.tzinfo is None:
        raise InvalidInput("`now` must be a timezone-aware datetime", field="now")
    source = ikea_dir / "products.json"
    if not source.is_file():
        return 0
    products = json.loads(source.read_text(encoding="utf-8"))
    if not isinstance(products, list):
        raise InvalidInput(f"{source} must hold a JSON list of products", field="ikea_dir")
    topic_ids, _ = catalog.bulk.ensure_topics(conn, [IKEA_TOPIC])
    loaded = {url for _, url in catalog.bulk.pins_of_domain(conn, IKEA_DOMAIN)}
    rows = []
    for index, product in enumerate(products):
        row = _pin_row(product, ikea_dir, now - timedelta(minutes=index))
        if row is not None and row["link_url"] not in loaded:
            loaded.add(row["link_url"])  # the file could list a product twice
            rows.append(row)
    catalog.bulk.add_pins(conn, rows)
    _tag(conn, [r["link_url"] for r in rows], topic_ids[IKEA_TOPIC[0]])
    return len(rows)


class PinRow(TypedDict):
    """A row of the pins table, for catalog.bulk.add_pins."""

    title: str
    description: str
    image_url: str
    link_url: str
    domain: str
    creator_id: None
    save_count: int
    created_at: datetime


def _pin_row(product: object, ikea_dir: Path, created_at: datetime) -> PinRow | None:
    """A Pin row, or None for an entry without an id, a name or an image file we can serve."""
    if not isinstance(product, dict):
        return None
    product_id, name, image = (_text(product, key) for key in ("product_id", "name", "image"))
    if not (product_id and name and image) or not _servable(ikea_dir, image):
        return None
    kind = _text(product, "type")
    # "HEMNES Wall shelf": many products share a name, so the type tells them apart.
    title = f"{name} {kind}" if kind and kind.lower() not in name.lower() else name
    return {
        "title": title[:200],
        "description": _description(product),
        "image_url": IMAGE_PREFIX + quote(image),  # folder names have spaces ("dining table")
        "link_url": f"https://www.ikea.com/p/{quote(product_id)}",
        "domain": IKEA_DOMAIN,
        "creator_id": None,
        "save_count": 0,
        "created_at": created_at,
    }


def _description(product: Mapping[str, object]) -> str:
    """'Wall shelf, stainless steel, 80 cm. Saves space on the worktop.': the name alone says little."""
    kind, color, size = (_text(product, key) for key in ("type", "color", "size"))
    facts = ", ".join(part for part in (kind, color.lower(), size) if part)
    text = _text(product, "description")
    return " ".join(part for part in (f"{facts}." if facts else "", text) if part)


def _text(product: Mapping[str, object], key: str) -> str:
    value = product.get(key)
    return value.strip() if isinstance(value, str) else ""


def _servable(ikea_dir: Path, image: str) -> bool:
    """Only relative paths inside ikea_dir that exist: anything else would be a broken or escaping URL."""
    path = PurePosixPath(image)
    if path.is_absolute() or ".." in path.parts:
        return False
    return (ikea_dir / path).is_file()


def _tag(conn: Connection, link_urls: list[str], topic_id: int) -> None:
    """Ids come from the database, so look the new Pins up by their (unique) IKEA link."""
    if not link_urls:
        return
    wanted = set(link_urls)
    found = catalog.bulk.pins_of_domain(conn, IKEA_DOMAIN)
    catalog.bulk.tag_pins(
        conn, [{"pin_id": pid, "topic_id": topic_id} for pid, url in found if url in wanted]
    )
