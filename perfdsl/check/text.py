"""Text that does not read as it looks: bidi controls and look-alike names.

A policy is reviewed by reading it, so two things that make the screen lie are
warned about: bidirectional control characters (they reorder what a viewer shows, the
"Trojan Source" trick) and two names that look the same but are different strings
(Latin `a` beside Cyrillic `а`), where a reviewer sees one name and the checker two.
"""
from __future__ import annotations

import unicodedata

from ..diagnostics import Note, Span
from ..syntax import ast as A

BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")

# Cyrillic and Greek letters drawn like a Latin letter, after NFKC (which already folds
# full-width and compatibility forms). Enough for names; not all of Unicode TR 39.
_LOOKALIKE = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y", "һ": "h",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ү": "Y",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "υ": "u", "χ": "x", "γ": "y",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})


def skeleton(name: str) -> str:
    """What a name looks like: two names with one skeleton are easily mistaken."""
    return unicodedata.normalize("NFKC", name).translate(_LOOKALIKE)


def _char(c: str) -> str:
    return f"`{c}` (U+{ord(c):04X} {unicodedata.name(c, '?')})"


def difference(name: str, other: str) -> str:
    """How two look-alike names differ, letter by letter."""
    if len(name) == len(other):
        return "; ".join(f"{_char(a)} where the other has {_char(b)}" for a, b in zip(name, other) if a != b)
    return "; ".join(_char(c) for c in name + other if not c.isascii() and skeleton(c) != c)


def bidi_warnings(program) -> None:
    """Warn once per line of any file read that holds a bidi control character. A file
    that does not parse has its syntax error first (outside strings and comments such a
    character is that error)."""
    broken = {d.span.file for d in program.diagnostics if d.code == "PD001"}
    for file, text in program.sources.texts.items():
        if file in broken:
            continue
        for number, line in enumerate(text.split("\n"), 1):
            col = next((i for i, ch in enumerate(line) if ch in BIDI), None)
            if col is None:
                continue
            ch = line[col]
            program.warn("PW108", Span(file, number, col + 1, number, col + 2),
                         f"bidirectional control character U+{ord(ch):04X} ({unicodedata.name(ch)}): "
                         "the line may display in a different order than it is read",
                         "delete it; write right-to-left text without control characters")


def _declared(items) -> list[tuple[str, Span]]:
    """Every name a policy declares: values, functions, tables and tier names."""
    out = []
    for item in items:
        name = getattr(item, "name", None)
        if isinstance(item, (A.Input, A.Let, A.Score, A.Outcome, A.Indicator, A.Tiers, A.Def, A.Table)) and name:
            out.append((name, item.span))
        if isinstance(item, A.Tiers):
            out += [(line.tier, line.span) for line in item.lines]
    return out


def lookalike_warnings(program) -> None:
    """Warn where two different declared names look alike, at the later one."""
    first: dict[str, tuple[str, Span]] = {}
    for name, span in _declared(program.items):
        key = skeleton(name)
        seen = first.setdefault(key, (name, span))
        if seen[0] != name:
            program.warn("PW107", span, f"`{name}` looks like `{seen[0]}` but is a different name: {difference(name, seen[0])}",
                         "write both with the same letters, or rename one so they look different",
                         [Note(seen[1], f"`{seen[0]}` is declared here")])
