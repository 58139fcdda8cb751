"""The demo: a seeded world of people, Pins and boards, and the IKEA catalogue from the shared data."""

from tastegraph.demo.advertiser import DEMO_SHOP_TAG_ID, ensure_demo_advertiser
from tastegraph.demo.generate import DEMO_PASSWORD, WorldSize, demo_password_hash
from tastegraph.demo.ikea import load_ikea
from tastegraph.demo.promoted import ensure_demo_ads
from tastegraph.demo.vocabulary import TOPIC_DOMAINS, TOPICS
from tastegraph.demo.world import catalogue_size, load_world

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_SHOP_TAG_ID",
    "TOPICS",
    "TOPIC_DOMAINS",
    "WorldSize",
    "catalogue_size",
    "demo_password_hash",
    "ensure_demo_ads",
    "ensure_demo_advertiser",
    "load_ikea",
    "load_world",
]
