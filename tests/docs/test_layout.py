"""The README's Layout section names exactly what is in the tree (top-level modules and capabilities)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "videolens"


def _layout_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```\n", 2)[1].splitlines()


def test_layout_lists_every_top_level_module_of_the_package() -> None:
    lines = _layout_block()
    assert lines[0] == "src/videolens/"
    listed = {m.group(1) for line in lines[1:] if (m := re.match(r"^  (\S+)\s", line))}
    actual = {p.name + "/" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    actual |= {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    assert listed == actual


def test_layout_names_every_capability() -> None:
    line = next(line for line in _layout_block() if line.startswith("  services/"))
    named = set(line.split(":", 1)[1].replace(",", " ").split())
    actual = {p.name for p in (PACKAGE / "services").iterdir() if (p / "__init__.py").exists()}
    assert named == actual


def test_layout_top_level_folders_exist() -> None:
    for line in _layout_block()[1:]:
        if m := re.match(r"^(\S+/)\s", line):
            assert (ROOT / m.group(1)).is_dir(), m.group(1)
