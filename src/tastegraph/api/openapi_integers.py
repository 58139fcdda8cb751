"""Whole-number bounds of integer schemas, as integers again in /openapi.json.

FastAPI passes the document through its OpenAPI models, which hold `minimum`/`maximum` as floats: the
largest id, 2**63 - 1, comes out as 9.223372036854776e18, which is 2**63 (one past what the service
takes) and reads as a fraction. Integer schemas get integer bounds back; the largest id is the only
bound here beyond a float's exact integers (2**53).
"""

from __future__ import annotations

from typing import Any

from tastegraph.api.schemas import MAX_ID


def _as_int(bound: float) -> int:
    return MAX_ID if bound >= float(MAX_ID) else int(bound)


def restore_integer_bounds(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "integer" or "integer" in (node.get("type") or ()):
            for key in ("minimum", "maximum"):
                if isinstance(node.get(key), float) and node[key].is_integer():
                    node[key] = _as_int(node[key])
        for value in node.values():
            restore_integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            restore_integer_bounds(value)
