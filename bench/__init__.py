"""Benchmarks against a real `tastegraph serve`; see docs/benchmarks.md."""
