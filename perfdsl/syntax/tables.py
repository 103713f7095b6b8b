"""The LALR tables of grammar/perf.lark, shipped in the package as JSON.

Building the tables costs about 0.14 s, far more than parsing a policy, so they are made
once, when the grammar changes (`python -m perfdsl.syntax.tables`), and kept beside this
module as `lalr_tables.json`. Nothing is cached in a user's directory and nothing is
unpickled: JSON is data, so even a tampered file cannot run code (it could only make the
parser fail, and it lives with the package's own code anyway).

The file records the SHA-256 of the grammar it was built from; when that differs from the
grammar in use, `load` builds the tables in the process instead, so a stale file is never
used (tests/test_cache_security.py keeps the shipped file current).

JSON has no tuples and only string keys, while Lark's serialised tables use both, so
values are written with two tags: `{"~t": [...]}` for a tuple and `{"~d": [[k, v], ...]}`
for a dict whose keys are not all strings.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lark import Lark
from lark.grammar import Rule
from lark.lexer import TerminalDef

from ..resources import grammar_path

TABLES = Path(__file__).with_name("lalr_tables.json")
OPTIONS = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": True}


def grammar_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load(transformer) -> Lark:
    """A parser for the current grammar with `transformer` inlined: from the shipped tables
    when they were built from this grammar, else built here."""
    text = grammar_path().read_text(encoding="utf-8")
    shipped = _read_shipped()
    if shipped is not None and shipped.get("grammar_sha256") == grammar_digest(text):
        try:
            return Lark._load_from_dict(shipped["data"], shipped["memo"], transformer=transformer)
        except Exception:  # a damaged file: fall back to building, never fail to parse
            pass
    return Lark(text, transformer=transformer, **OPTIONS)


def write() -> Path:
    """Rebuild `lalr_tables.json` from the grammar (run after editing grammar/perf.lark)."""
    text = grammar_path().read_text(encoding="utf-8")
    data, memo = Lark(text, **OPTIONS).memo_serialize([TerminalDef, Rule])
    doc = {"grammar_sha256": grammar_digest(text), "data": _encode(data), "memo": _encode(memo)}
    TABLES.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return TABLES


def _read_shipped() -> dict | None:
    try:
        doc = json.loads(TABLES.read_text(encoding="utf-8"), object_hook=_decode)
    except (OSError, ValueError, TypeError):
        return None
    return doc if isinstance(doc, dict) else None


def _encode(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"~t": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("~") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"~d": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in the parser tables")


def _decode(obj: dict) -> Any:
    """json's object_hook: called innermost first, so tagged keys are tuples already."""
    if len(obj) == 1:
        if "~t" in obj:
            return tuple(obj["~t"])
        if "~d" in obj:
            return {k: v for k, v in obj["~d"]}
    return obj


if __name__ == "__main__":
    print(f"wrote {write()}")
