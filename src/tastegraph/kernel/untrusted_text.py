"""Checks for text and JSON that came from outside: no NUL, no lone surrogates, bounded nesting.

PostgreSQL refuses NUL in text and SQLite stores it, and a lone surrogate (JSON "\\ud800") cannot be
encoded as UTF-8 at all, so neither may reach a store or a response; every entry point refuses them
the same way, whatever the database. Deep nesting is refused before anything walks it recursively.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# Deeper JSON than this is refused (no request of ours nests more than 6 levels).
MAX_JSON_DEPTH = 32

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")

TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted"


def text_problem(value: str) -> str | None:
    """Why `value` is not acceptable text, or None when it is."""
    found = _BAD_CHARACTER.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters are not allowed"
    return "invalid Unicode (a lone surrogate) is not allowed"


@dataclass(frozen=True)
class Problem:
    """Where in a JSON value the first bad part is (keys and list indexes), and what is wrong."""

    loc: tuple[str | int, ...]
    message: str


def json_problem(value: object, max_depth: int = MAX_JSON_DEPTH) -> Problem | None:
    """The first bad string (key or value) in document order, or the first container nested deeper than
    `max_depth` (the outermost is level 1). Iterative, so any depth the parser produced is safe to walk."""
    stack: list[tuple[object, tuple[str | int, ...], int]] = [(value, (), 1)]
    while stack:
        node, loc, depth = stack.pop()
        if isinstance(node, str):
            message = text_problem(node)
            if message is not None:
                return Problem(loc, message)
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            return Problem(_named_part(loc), TOO_DEEP)
        children: list[tuple[object, tuple[str | int, ...], int]] = []
        if isinstance(node, dict):
            for key, child in node.items():
                message = text_problem(key) if isinstance(key, str) else None
                if message is not None:
                    # The bad key cannot be part of the path: the answer must be valid text itself.
                    return Problem(loc, f"a field name is not acceptable: {message}")
                children.append((child, (*loc, key), depth + 1))
        else:
            children = [(child, (*loc, i), depth + 1) for i, child in enumerate(node)]
        stack.extend(reversed(children))
    return None


def _named_part(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The field names leading to a too-deep value (`line_items`, not `line_items[0][0][0]...`)."""
    return tuple(itertools.takewhile(lambda part: isinstance(part, str), loc))[:8]
