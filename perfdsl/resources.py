"""Where the grammar and the standard library live, installed or in a source checkout.

A wheel carries them inside the package (`perfdsl/grammar`, `perfdsl/stdlib`); an
editable install or a checkout finds them at the repository root.
"""
from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    inside = _PKG / name
    return inside if inside.exists() else _PKG.parent / name


def grammar_path() -> Path:
    return _find("grammar") / "perf.lark"


def stdlib_dir() -> Path:
    return _find("stdlib")


def cache_dir() -> Path | None:
    """Where generated modules are kept between processes (read and written only through
    `private_cache`, which refuses a directory others can write): `$PERFDSL_CACHE`
    (the empty string turns caching off), else `$XDG_CACHE_HOME/perfdsl` or `~/.cache/perfdsl`."""
    env = os.environ.get("PERFDSL_CACHE")
    if env is not None:
        return Path(env).expanduser() if env.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "perfdsl"
