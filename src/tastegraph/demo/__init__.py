"""The demo: a seeded world of people, Pins and boards, and the IKEA catalogue from the shared data."""

from tastegraph.demo.ikea import load_ikea
from tastegraph.demo.world import DEMO_PASSWORD, TOPIC_DOMAINS, TOPICS, WorldSize, load_world

__all__ = ["DEMO_PASSWORD", "TOPICS", "TOPIC_DOMAINS", "WorldSize", "load_ikea", "load_world"]
