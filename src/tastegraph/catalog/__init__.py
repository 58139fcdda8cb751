"""The catalogue: people, Pins, topics, boards, saves, follows and hides, and text search over them.
(Its tables are private: other packages use these modules' functions.)"""

from tastegraph.catalog import accounts as accounts
from tastegraph.catalog import boards as boards
from tastegraph.catalog import bulk as bulk
from tastegraph.catalog import content as content
from tastegraph.catalog import feed_controls as feed_controls
from tastegraph.catalog import graph_reads as graph_reads
from tastegraph.catalog import links as links
from tastegraph.catalog import lookups as lookups
from tastegraph.catalog import media as media
from tastegraph.catalog import media_fetch as media_fetch
from tastegraph.catalog import search as search

__all__ = [
    "accounts",
    "boards",
    "bulk",
    "content",
    "feed_controls",
    "graph_reads",
    "links",
    "lookups",
    "media",
    "media_fetch",
    "search",
]
