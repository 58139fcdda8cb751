"""Tastegraph: a consent-first personalization and ads engine."""

__version__ = "0.1.0"
