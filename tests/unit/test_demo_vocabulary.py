"""The demo's vocabulary ships with the package and loads; the loaders use the domains' bulk functions."""

from __future__ import annotations

import ast
import fnmatch
import string
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from tastegraph.demo import TOPIC_DOMAINS, TOPICS
from tastegraph.demo.vocabulary import (
    RELATED,
    VOCABULARY,
    VOCABULARY_FILE,
    parse_vocabulary,
    read_vocabulary_text,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_vocabulary_file_is_package_data() -> None:
    assert resources.files("tastegraph.demo").joinpath(VOCABULARY_FILE).is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["tastegraph"]
    assert any(fnmatch.fnmatch(f"demo/{VOCABULARY_FILE}", p) for p in patterns), patterns


def test_the_vocabulary_loads_every_topic_with_its_words() -> None:
    slugs = [slug for slug, _ in TOPICS]
    assert len(slugs) == 12 and slugs[0] == "home-decor" and ("outdoors", "Outdoors") in TOPICS
    assert set(TOPIC_DOMAINS) == set(RELATED) == set(VOCABULARY.words) == set(slugs)
    assert all(isinstance(pair, tuple) for pair in TOPICS)
    for slug, words in VOCABULARY.words.items():
        assert words.titles and words.descriptions and len(set(words.boards)) >= 5, slug
        for template in (*words.titles, *words.descriptions):
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
            assert fields <= {*words.slots, "n"}, template
    assert len(VOCABULARY.first_names) == len(VOCABULARY.last_names) == 50
    assert "" in VOCABULARY.board_descriptions and VOCABULARY.counts[0] == "5"


def test_a_broken_vocabulary_is_refused_with_the_entry_named() -> None:
    text = read_vocabulary_text()
    assert parse_vocabulary(text) == VOCABULARY
    no_slot = text.replace('"{adj} {gear} for {trip}"', '"{adj} {gears} for {trip}"')
    with pytest.raises(ValueError, match=r"vocab\.outdoors.*\{gears\}"):
        parse_vocabulary(no_slot)
    unknown_neighbour = text.replace('outdoors = ["travel",', 'outdoors = ["sailing",', 1)
    with pytest.raises(ValueError, match=r"related\.outdoors"):
        parse_vocabulary(unknown_neighbour)
    with pytest.raises(ValueError, match="first_names"):
        parse_vocabulary(text.replace('"Maya",', "7,"))


def _foreign_tables(path: Path) -> list[str]:
    """Imports of another package's `tables` module (or of names from it) in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "tastegraph" and parts[-1] == "tables" and parts[1] != "kernel":
                found.append(f"{path.relative_to(ROOT)}: {module}")
    return found


def test_the_demo_the_cli_and_the_benchmarks_write_through_bulk_loaders_not_tables() -> None:
    files = [
        *(ROOT / "src" / "tastegraph" / "demo").glob("*.py"),
        ROOT / "src" / "tastegraph" / "cli.py",
        *(ROOT / "bench").glob("*.py"),
    ]
    assert [hit for path in files for hit in _foreign_tables(path)] == []
