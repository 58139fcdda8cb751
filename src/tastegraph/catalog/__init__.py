"""The catalogue: people, Pins, topics, boards, saves, follows and hides."""

from tastegraph.catalog import accounts as accounts
from tastegraph.catalog import bulk as bulk
from tastegraph.catalog import content as content
from tastegraph.catalog import tables as tables

__all__ = ["accounts", "bulk", "content", "tables"]
