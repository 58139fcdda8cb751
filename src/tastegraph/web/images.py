"""Generated placeholder pictures (SVG, served by the app itself) and which picture a Pin shows, so that
showing a Pin never makes the browser call a third party."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from fastapi import Response

from tastegraph.demo import TOPICS as DEMO_TOPICS

# (background top, background bottom, shape colour) per demo topic; other topics get a colour from a hash.
TOPIC_COLOURS: dict[str, tuple[str, str, str]] = {
    "home-decor": ("#f6d7c3", "#e9a988", "#fff4ea"),
    "cooking": ("#ffd59e", "#f08a4b", "#fff3dc"),
    "fashion": ("#f7c6d9", "#d9749c", "#fff0f6"),
    "travel": ("#bfe3f2", "#4f9fcf", "#f2fbff"),
    "diy-crafts": ("#e4d4f4", "#9a7bd0", "#fbf7ff"),
    "beauty": ("#fbd3cf", "#e88a8a", "#fff5f4"),
    "fitness": ("#c9f0d6", "#4cb87a", "#f0fff5"),
    "gardening": ("#d8ecc0", "#76a955", "#f7fff0"),
    "outdoors": ("#cfe5d3", "#3f7d5c", "#eef8f0"),
    "photography": ("#d5d9e8", "#5d6b94", "#f4f6fc"),
    "parenting": ("#fde7b0", "#e3b23c", "#fffaf0"),
    "cars": ("#d9dde2", "#6b7785", "#f5f7f9"),
}
TOPIC_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_HEIGHTS = (400, 520, 460, 580)


def _hash_colours(topic: str) -> tuple[str, str, str]:
    hue = int(hashlib.sha256(topic.encode()).hexdigest()[:4], 16) % 360
    return (f"hsl({hue},60%,86%)", f"hsl({hue},45%,55%)", f"hsl({hue},70%,96%)")


# The demo world's topic names, for pictures (served without a database read: a feed page loads dozens).
DEMO_TOPIC_NAMES: dict[str, str] = dict(DEMO_TOPICS)


def topic_label(slug: str, name: str | None = None) -> str:
    """A topic's display name: `name` (the catalogue's) when given, else the demo world's, else the slug
    made readable."""
    if name:
        return name
    if slug in DEMO_TOPIC_NAMES:
        return DEMO_TOPIC_NAMES[slug]
    words = slug.replace("-", " ").strip()
    return (words[:1].upper() + words[1:]) if words else "Idea"


def placeholder_svg(topic: str, k: int, label: str | None = None, *, square: bool = False) -> str:
    """A pleasant generated picture: the topic's colours, a simple shape chosen by `k`, and a label.
    400 wide and, unless `square`, one of a few heights (so a feed of them looks like a real one)."""
    top, bottom, shape = TOPIC_COLOURS.get(topic) or _hash_colours(topic)
    w, h = 400, 400 if square else _HEIGHTS[k % len(_HEIGHTS)]
    cx = 120 + (k * 53) % 160
    cy = 110 + (k * 37) % 90
    variant = k % 6
    if variant == 0:  # sun over hills
        art = (
            f'<circle cx="{cx}" cy="{cy}" r="54" fill="{shape}" opacity=".9"/>'
            f'<path d="M0 {h - 150} Q {w * 0.3} {h - 250} {w * 0.55} {h - 160} T {w} {h - 190} V {h} H 0Z" '
            f'fill="{bottom}" opacity=".55"/>'
            f'<path d="M0 {h - 110} Q {w * 0.45} {h - 190} {w} {h - 100} V {h} H 0Z" fill="{bottom}"/>'
        )
    elif variant == 1:  # overlapping circles
        art = "".join(
            f'<circle cx="{cx + dx}" cy="{h / 2 + dy}" r="{r}" fill="{shape}" opacity="{o}"/>'
            for dx, dy, r, o in ((-40, -30, 110, ".55"), (60, 40, 90, ".7"), (0, 90, 60, ".9"))
        )
    elif variant == 2:  # waves
        art = "".join(
            f'<path d="M0 {y} Q 100 {y - 40} 200 {y} T 400 {y} V {h} H 0Z" fill="{shape}" opacity="{o}"/>'
            for y, o in ((h * 0.45, ".35"), (h * 0.6, ".5"), (h * 0.75, ".8"))
        )
    elif variant == 3:  # stacked blocks
        art = "".join(
            f'<rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="18" fill="{shape}" opacity="{o}"/>'
            for x, y, bw, bh, o in (
                (70, h - 170, 260, 90, ".9"),
                (110, h - 260, 180, 80, ".75"),
                (150, h - 335, 100, 65, ".6"),
            )
        )
    elif variant == 4:  # a leaf / drop
        art = (
            f'<path d="M{w / 2} {h * 0.18} C {w * 0.85} {h * 0.42} {w * 0.8} {h * 0.78} {w / 2} {h * 0.8} '
            f'C {w * 0.2} {h * 0.78} {w * 0.15} {h * 0.42} {w / 2} {h * 0.18}Z" '
            f'fill="{shape}" opacity=".85"/>'
            f'<path d="M{w / 2} {h * 0.3} V {h * 0.74}" stroke="{bottom}" stroke-width="6" '
            f'stroke-linecap="round" opacity=".6"/>'
        )
    else:  # a scatter of dots
        art = "".join(
            f'<circle cx="{(k * 31 + i * 67) % 360 + 20}" cy="{(k * 17 + i * 89) % (h - 140) + 40}" '
            f'r="{14 + (i * 7 + k) % 30}" fill="{shape}" opacity=".{5 + i % 5}"/>'
            for i in range(9)
        )
    name = (label or topic_label(topic))[:40]
    text = escape(name)
    grad = f"g-{topic}-{k}"
    # The label sits on a translucent dark pill, so it reads on light and dark shapes alike.
    pill_w = round(len(name) * 12.4 + 32)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-label="{text}">'
        f'<defs><linearGradient id="{grad}" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/>'
        "</linearGradient></defs>"
        f'<rect width="{w}" height="{h}" fill="url(#{grad})"/>{art}'
        f'<rect x="18" y="{h - 60}" width="{pill_w}" height="38" rx="19" fill="#1b1410" fill-opacity=".34"/>'
        f'<text x="33" y="{h - 34}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
        f'font-size="20" font-weight="700" fill="#ffffff">{text}</text></svg>'
    )


def svg_response(svg: str) -> Response:
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400, immutable"}
    )


_DEMO_IMAGE = re.compile(r"^/static/demo-img/[a-z0-9][a-z0-9-]{0,39}/(\d{1,4})\.svg$")


def image_size(src: str) -> tuple[int, int] | None:
    """Width and height of a generated picture (so the page can reserve its space), else None."""
    match = _DEMO_IMAGE.match(src)
    if match is None:
        return None
    return 400, _HEIGHTS[int(match.group(1)) % len(_HEIGHTS)]


def image_src(pin: Mapping[str, Any]) -> str:
    """The Pin's image if we serve it ourselves; a generated picture otherwise, so that showing a Pin
    never makes the browser call a third party."""
    url = str(pin.get("image_url") or "")
    if url.startswith("/") and not url.startswith("//"):
        return url
    topics = pin.get("topics") or []
    topic = str(topics[0]) if topics else "idea"
    return f"/static/demo-img/{topic}/{int(pin.get('id') or 0) % 24}.svg"
