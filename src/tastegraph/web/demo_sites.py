"""Invented third-party websites that embed the Tastegraph save button, for demos and browser tests.

Run them on another origin than the platform (e.g. the platform on http://127.0.0.1:8000 and these on
http://localhost:8001): to the browser they are then a different site, as a real shop or blog would be.
Each page names the site it stands for in `<meta name="tastegraph:site">`; the widget sends that name
only from loopback pages (a development convenience the visit API accepts only from loopback hosts).
"""

from __future__ import annotations

import functools
import io
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from tastegraph.demo import DEMO_SHOP_TAG_ID, TOPIC_DOMAINS
from tastegraph.web.images import TOPIC_COLOURS, placeholder_svg

HERE = Path(__file__).parent / "demo_sites"
templates = Jinja2Templates(directory=HERE)

OUTDOORS_SITE = TOPIC_DOMAINS["outdoors"][0]  # trailpeak-gear.com
COOKING_SITE = TOPIC_DOMAINS["cooking"][0]  # simmerandsage.com


@dataclass(frozen=True)
class Item:
    slug: str
    category: str
    title: str
    blurb: str
    body: tuple[str, ...]
    price: str = ""
    meta: str = ""
    image: int = 0

    @property
    def amount(self) -> str:
        """The price as a number for the tag ("$389" -> "389")."""
        return self.price.lstrip("$").replace(",", "") or "0"


@dataclass(frozen=True)
class Site:
    key: str  # path prefix on the demo server
    domain: str  # the site this stands for
    name: str
    tagline: str
    topic: str  # placeholder-image colours
    template: str
    items: tuple[Item, ...]
    tag_id: str | None = None  # an advertiser's site carries the Tastegraph tag

    def item(self, category: str, slug: str) -> Item | None:
        return next((i for i in self.items if i.category == category and i.slug == slug), None)


TRAILPEAK = Site(
    key="trailpeak-gear",
    domain=OUTDOORS_SITE,
    name="TrailPeak Gear",
    tagline="Light, tough kit for nights under the stars.",
    topic="outdoors",
    template="trailpeak.html",
    tag_id=DEMO_SHOP_TAG_ID,
    items=(
        Item(
            "ultralight-2p",
            "tents",
            "Ridgeline UL2 ultralight tent",
            "A two-person, three-season tent that packs to the size of a water bottle.",
            (
                "At 1.1 kg the Ridgeline UL2 is our lightest two-person shelter. Two doors and two "
                "vestibules mean nobody climbs over anybody at 3 a.m.",
                "Pitch it fly-first in the rain, or leave the fly in the pack on clear nights and "
                "watch the stars through the mesh.",
            ),
            price="$389",
            meta="1.1 kg · 2 people · 3 seasons",
            image=0,
        ),
        Item(
            "basecamp-4",
            "tents",
            "Basecamp 4 family tent",
            "Stand-up headroom, a porch for muddy boots, and room for the dog.",
            (
                "Colour-coded poles go up in ten minutes, even if the kids are helping.",
                "Blackout bedrooms keep summer sunrises from waking everybody at five.",
            ),
            price="$549",
            meta="6.8 kg · 4 people · 3 seasons",
            image=3,
        ),
        Item(
            "pocket-stove",
            "stoves",
            "Pocket canister stove",
            "Boils a litre in three and a half minutes and folds to 80 grams.",
            (
                "A piezo igniter, a wide pot support and a simmer valve that actually simmers.",
                "Screws onto any standard gas canister.",
            ),
            price="$59",
            meta="80 g · 3.5 min/litre",
            image=1,
        ),
        Item(
            "twin-burner",
            "stoves",
            "Twin-burner camp kitchen",
            "Two burners, a windshield and a griddle for pancakes at the lake.",
            (
                "Each burner puts out 10,000 BTU and has its own control, so the coffee and the "
                "bacon are both right.",
            ),
            price="$129",
            meta="4.2 kg · 2 x 10,000 BTU",
            image=5,
        ),
        Item(
            "down-bag-minus5",
            "sleeping-bags",
            "Alpine down sleeping bag, -5 °C",
            "Responsibly sourced 800-fill down for cold shoulder-season nights.",
            ("A draft collar, a snag-free zip and a hood that cinches with one hand.",),
            price="$279",
            meta="850 g · comfort -5 °C",
            image=2,
        ),
        Item(
            "trail-pack-45",
            "packs",
            "Trail 45 backpack",
            "An adjustable back, hip-belt pockets and a lid that turns into a day pack.",
            ("Made from recycled nylon, with a rain cover tucked in the bottom pocket.",),
            price="$199",
            meta="1.4 kg · 45 litres",
            image=4,
        ),
    ),
)

SIMMER = Site(
    key="simmerandsage",
    domain=COOKING_SITE,
    name="Simmer & Sage",
    tagline="Slow Sundays and fast weeknights: recipes from a small kitchen.",
    topic="cooking",
    template="simmer.html",
    items=(
        Item(
            "one-pan-lemon-orzo",
            "recipes",
            "One-pan lemon orzo with spinach",
            "Creamy without cream, ready in 25 minutes, and only one pan to wash.",
            (
                "Toast the orzo in butter until it smells nutty, then add stock a ladle at a time, "
                "like a quick risotto.",
                "Stir in spinach, lemon zest and a handful of parmesan right at the end.",
            ),
            meta="25 minutes · serves 4",
            image=1,
        ),
        Item(
            "sunday-braised-beans",
            "recipes",
            "Sunday braised white beans with sage",
            "A pot of beans that makes the whole flat smell like a trattoria.",
            (
                "Soak the beans overnight, then simmer them low with garlic, sage and a parmesan rind.",
                "Finish with good olive oil and toast rubbed with garlic.",
            ),
            meta="3 hours, mostly waiting · serves 6",
            image=4,
        ),
        Item(
            "crispy-chickpea-salad",
            "recipes",
            "Crispy chickpea salad",
            "Roasted chickpeas, charred lettuce and a tahini dressing you'll want on everything.",
            ("Roast the chickpeas hot and dry: a wet chickpea never crisps.",),
            meta="30 minutes · serves 2",
            image=0,
        ),
        Item(
            "ginger-miso-noodles",
            "recipes",
            "Ginger miso noodles",
            "A ten-minute weeknight bowl with whatever greens are in the fridge.",
            ("Whisk miso, ginger, soy and a little honey while the noodles cook.",),
            meta="10 minutes · serves 2",
            image=2,
        ),
    ),
)

SITES: dict[str, Site] = {s.key: s for s in (TRAILPEAK, SIMMER)}


def create_demo_sites_app(platform_origin: str) -> FastAPI:
    """The demo websites, embedding the widget from `platform_origin` (e.g. http://127.0.0.1:8000)."""
    platform = platform_origin.rstrip("/")
    app = FastAPI(title="Tastegraph demo sites", docs_url=None, redoc_url=None, openapi_url=None)

    def page(request: Request, site: Site, context: Mapping[str, object]) -> Response:
        # `here`: this server's own origin, for absolute picture URLs (og:image, data-pin-media).
        here = str(request.base_url).rstrip("/")
        ctx = {"platform": platform, "site": site, "here": here, **context}
        return templates.TemplateResponse(request, site.template, ctx)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        return templates.TemplateResponse(
            request, "index.html", {"platform": platform, "sites": list(SITES.values())}
        )

    @app.get("/{key}/", response_class=HTMLResponse)
    def site_home(key: str, request: Request) -> Response:
        site = SITES.get(key)
        if site is None:
            raise HTTPException(404)
        return page(request, site, {"item": None, "category": None})

    @app.get("/{key}/{category}/", response_class=HTMLResponse)
    def site_category(key: str, category: str, request: Request) -> Response:
        site = SITES.get(key)
        if site is None or not any(i.category == category for i in site.items):
            raise HTTPException(404)
        return page(request, site, {"item": None, "category": category})

    @app.get("/{key}/{category}/{slug}", response_class=HTMLResponse)
    def site_item(key: str, category: str, slug: str, request: Request) -> Response:
        site = SITES.get(key)
        item = site.item(category, slug) if site is not None else None
        if site is None or item is None:
            raise HTTPException(404)
        return page(request, site, {"item": item, "category": category})

    @app.get("/{key}/checkout/{category}/{slug}", response_class=HTMLResponse)
    def checkout(key: str, category: str, slug: str, request: Request) -> Response:
        """An invented order confirmation: the tag reports the purchase (checkout)."""
        site = SITES.get(key)
        item = site.item(category, slug) if site is not None else None
        if site is None or item is None or site.tag_id is None:
            raise HTTPException(404)
        order_id = "TP-" + secrets.token_hex(4).upper()
        return page(request, site, {"item": item, "category": category, "order_id": order_id})

    @app.get("/assets/{name}.css")
    def stylesheet(name: str) -> FileResponse:
        if name not in ("trailpeak", "simmer", "index"):
            raise HTTPException(404)
        return FileResponse(HERE / f"{name}.css", media_type="text/css")

    @app.get("/assets/img/{topic}/{k}.svg")
    def image(topic: str, k: int, label: str = "") -> Response:
        if topic not in ("outdoors", "cooking") or not 0 <= k < 100:
            raise HTTPException(404)
        svg = placeholder_svg(topic, k, label[:40] or None, square=True)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/assets/img/{topic}/{k}.png")
    def raster_image(topic: str, k: int) -> Response:
        """The pictures the Save button names (the platform re-encodes them, so they must be raster)."""
        if topic not in ("outdoors", "cooking") or not 0 <= k < 100:
            raise HTTPException(404)
        return Response(
            placeholder_png(topic, k),
            media_type="image/png",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return app


@functools.lru_cache(maxsize=64)
def placeholder_png(topic: str, k: int) -> bytes:
    """A 600 x 600 picture in the topic's colours: a gradient, a sun and hills (varied by `k`)."""
    from PIL import Image, ImageDraw

    top, bottom, shape = (_rgb(c) for c in TOPIC_COLOURS.get(topic, ("#dddddd", "#888888", "#ffffff")))
    size = 600
    img = Image.new("RGB", (size, size), top)
    draw = ImageDraw.Draw(img)
    for y in range(size):
        t = y / (size - 1)
        draw.line(
            [(0, y), (size, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    cx, cy = 150 + (k * 83) % 300, 140 + (k * 47) % 120
    draw.ellipse([cx - 80, cy - 80, cx + 80, cy + 80], fill=shape)
    hill = 380 + (k * 29) % 80
    draw.polygon(
        [
            (0, size),
            (0, hill),
            (size * 0.35, hill - 90),
            (size * 0.7, hill + 10),
            (size, hill - 60),
            (size, size),
        ],
        fill=bottom,
    )
    draw.polygon(
        [(0, size), (0, hill + 90), (size * 0.5, hill + 20), (size, hill + 100), (size, size)], fill=shape
    )
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _rgb(colour: str) -> tuple[int, int, int]:
    from PIL import ImageColor

    r, g, b = ImageColor.getrgb(colour)[:3]
    return r, g, b


def run(platform_origin: str, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve the demo sites (blocking). Open them as http://localhost:PORT/ so they are another site."""
    import uvicorn

    uvicorn.run(create_demo_sites_app(platform_origin), host=host, port=port, log_level="warning")
