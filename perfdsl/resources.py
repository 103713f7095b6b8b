"""Where the grammar and the standard library live, installed or in a source checkout.

A wheel carries them inside the package (`perfdsl/grammar`, `perfdsl/stdlib`); an
editable install or a checkout finds them at the repository root.
"""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    inside = _PKG / name
    return inside if inside.exists() else _PKG.parent / name


def grammar_path() -> Path:
    return _find("grammar") / "perf.lark"


def stdlib_dir() -> Path:
    return _find("stdlib")
