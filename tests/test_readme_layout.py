"""The README's layout table names every module of each package it describes, so the map stays the tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# table row (its first cell) → the folders whose modules that row must name
ROWS = {
    "analysis/": ("analysis",),
    "tuning/engine/": ("tuning/engine",),
    "tuning/": ("tuning", "tuning/runners"),
    "emulator/": ("emulator",),
    "api/": ("api",),
    "settings/": ("settings",),
}


def _row(first_cell: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [row] = [line for line in readme.splitlines() if line.startswith(f"| `{first_cell}` |")]
    return row


@pytest.mark.parametrize(("first_cell", "folders"), ROWS.items())
def test_the_layout_table_names_every_module(first_cell: str, folders: tuple[str, ...]) -> None:
    named = set(re.findall(r"`(?:[a-z_]+/)*([a-z_]+)(?:\.py)?`", _row(first_cell)))
    modules = {
        path.stem
        for folder in folders
        for path in (ROOT / folder).glob("*.py")
        if path.stem not in ("__init__", "__main__")
    }
    assert modules - named == set(), f"README layout row {first_cell} does not name these modules"
