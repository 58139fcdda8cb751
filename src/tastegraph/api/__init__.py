"""HTTP routes: parse, call a domain service, map errors. Nothing else."""

from tastegraph.api.app import create_app

__all__ = ["create_app"]
