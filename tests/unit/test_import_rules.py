"""The dependency rules of DESIGN.md, checked over the real import graph of src/tastegraph:
which part may import which, that a domain's tables and unexported names stay private, and no cycles
(between parts, and between the modules of one part)."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "tastegraph"

DOMAINS = {"consent", "identity", "catalog", "collect", "recommend", "ads", "measure", "privacy"}
ADAPTERS = {"api", "web", "cli"}

# Which of our top-level parts each part may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "kernel": set(),
    "config": {"kernel"},
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
    # measure reads the ads logs and advertisers' events (through their packages), never the reverse.
    "measure": {"kernel", "consent", "identity", "catalog", "collect", "ads"},
    "db": {"kernel", *DOMAINS},  # the schema registers every domain's tables (through the packages)
    "bootstrap": {"kernel", "config", "db", *DOMAINS},
    "usecases": {"kernel", "bootstrap", *DOMAINS},
    # The demo world and its loaders write through the domains' public bulk loaders.
    "demo": {"kernel", "bootstrap", *DOMAINS},
    # What both HTTP adapters share (cookies, dependencies, the pages' CSP).
    "edge": {"kernel", "bootstrap", "usecases"},
    # The adapters: parse, call one use case, render. web never imports api (they are siblings).
    "api": {"kernel", "bootstrap", "config", "usecases", "edge"},
    # (demo: the invented third-party sites in web.demo_sites show the demo world's shops.)
    "web": {"kernel", "bootstrap", "usecases", "edge", "demo"},
    "cli": {"kernel", "bootstrap", "config", "usecases", "db", "demo", "server", "web"},
    # The composition root: joins the API and the pages into one app.
    "server": {"kernel", "bootstrap", "config", "api", "web"},
}


@dataclass(frozen=True)
class Import:
    source: Path
    line: int
    importer: str  # dotted module doing the import
    target: str  # dotted module imported
    names: tuple[str, ...]  # for `from target import names`


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> Iterator[Import]:
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = _module_of(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(path, node.lineno, module, alias.name, ())
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = str(node.module)
                yield Import(path, node.lineno, module, target, tuple(a.name for a in node.names))


def _part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "tastegraph" or len(parts) < 2:
        return None
    return parts[1]


def _where(imp: Import) -> str:
    return f"{imp.source.relative_to(SRC.parent)}:{imp.line}"


def test_parts_use_only_what_they_may() -> None:
    wrong = []
    for imp in _imports():
        owner, target = _part(imp.importer), _part(imp.target)
        if owner is None or target is None or owner == target:
            continue
        assert owner in ALLOWED, f"a new part {owner!r}: add it to ALLOWED (and to docs/architecture.md)"
        if target not in ALLOWED[owner]:
            wrong.append(f"{_where(imp)}: {owner} imports {imp.target}")
    assert not wrong, "imports across the allowed edges:\n" + "\n".join(wrong)


def test_domains_keep_their_tables_and_unexported_names_private() -> None:
    """Outside a domain, only what its __init__ names in __all__ may be imported (its modules included
    when listed), and never its tables."""
    wrong = []
    for imp in _imports():
        owner, target = _part(imp.importer), _part(imp.target)
        if target not in DOMAINS or owner == target:
            continue
        public = set(importlib.import_module(f"tastegraph.{target}").__all__) - {"tables"}
        parts = imp.target.split(".")
        if len(parts) > 2:
            if parts[2] not in public:
                wrong.append(f"{_where(imp)}: {imp.target} is not exported by tastegraph.{target}")
        else:
            hidden = [n for n in imp.names if n not in public]
            if hidden:
                wrong.append(f"{_where(imp)}: {hidden or imp.target} not exported by tastegraph.{target}")
    assert not wrong, "imports of private names:\n" + "\n".join(wrong)


def test_no_package_exports_its_tables() -> None:
    for domain in sorted(DOMAINS):
        assert "tables" not in importlib.import_module(f"tastegraph.{domain}").__all__, domain


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, set())):
            if state.get(nxt) == 1:
                return [*stack, node, nxt]
            if nxt not in state and (found := visit(nxt, [*stack, node])):
                return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_no_cycles_between_parts() -> None:
    graph: dict[str, set[str]] = {}
    for imp in _imports():
        owner, target = _part(imp.importer), _part(imp.target)
        if owner and target and owner != target:
            graph.setdefault(owner, set()).add(target)
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_no_cycles_between_modules_of_a_part() -> None:
    """e.g. the pages and the advertiser pages: each page group imports the shared rendering, never
    another group. Imports made only for type checking count too."""
    modules = {_module_of(p) for p in SRC.rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for imp in _imports():
        candidates = [imp.target, *(f"{imp.target}.{n}" for n in imp.names)]
        for target in candidates:
            package_init = imp.importer == target.rpartition(".")[0]
            if target in modules and target != imp.importer and not package_init:
                graph.setdefault(imp.importer, set()).add(target)
    # A package's __init__ re-exporting its own modules is not a cycle of the modules themselves.
    for module in list(graph):
        graph[module] = {t for t in graph[module] if not t.startswith(module + ".")}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"
