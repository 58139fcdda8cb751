"""The catalogue: people, Pins, topics, boards, saves, follows and hides."""

from tastegraph.catalog import accounts as accounts
from tastegraph.catalog import content as content
from tastegraph.catalog import graph_reads as graph_reads
from tastegraph.catalog import lookups as lookups
from tastegraph.catalog import tables as tables

__all__ = ["accounts", "content", "graph_reads", "lookups", "tables"]
