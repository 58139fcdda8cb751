"""Publish in /openapi.json that no text field takes NUL: every request's text is checked for it
(api.input_guard), so a schema that allowed it would promise what the service refuses."""

from __future__ import annotations

from typing import Any

NO_NUL = "^[^\\x00]*$"


def forbid_nul(node: Any) -> None:
    """Give every plain string schema (no pattern, format, enum or const of its own) the NUL-free
    pattern; strings with a pattern of their own already exclude NUL or are refused anyway."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not ({"pattern", "format", "enum", "const"} & set(node)):
            node["pattern"] = NO_NUL
        for value in node.values():
            forbid_nul(value)
    elif isinstance(node, list):
        for value in node:
            forbid_nul(value)
