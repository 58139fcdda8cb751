"""recommend reads other packages' data only through the functions they export (catalog.graph_reads,
catalog.content, collect.engagement_reads, collect.visits), never through their tables."""

from __future__ import annotations

import ast
from pathlib import Path

RECOMMEND = Path(__file__).resolve().parents[2] / "src" / "tastegraph" / "recommend"


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_recommend_never_imports_another_packages_tables() -> None:
    offenders = {
        str(path.relative_to(RECOMMEND)): sorted(n for n in _imported(path) if n.endswith(".tables"))
        for path in RECOMMEND.rglob("*.py")
    }
    assert not {p: n for p, n in offenders.items() if n}
