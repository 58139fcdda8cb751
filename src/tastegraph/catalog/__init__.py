"""The catalogue: people, Pins, topics, boards, saves, follows and hides, and text search over them.
(Its tables are private: other packages use these modules' functions.)"""

from tastegraph.catalog import accounts as accounts
from tastegraph.catalog import bulk as bulk
from tastegraph.catalog import content as content
from tastegraph.catalog import graph_reads as graph_reads
from tastegraph.catalog import lookups as lookups
from tastegraph.catalog import search as search

__all__ = ["accounts", "bulk", "content", "graph_reads", "lookups", "search"]
