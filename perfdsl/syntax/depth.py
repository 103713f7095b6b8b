"""Bound the nesting depth of a parsed file before any recursive pass sees it.

The checker, the interpreter and code generation walk expressions recursively; a
10,000-deep parenthesised expression must end in a diagnostic, not a RecursionError.
This walk is iterative.
"""
from __future__ import annotations

import dataclasses

from ..diagnostics import Diagnostic, Span

MAX_DEPTH = 120


def check_depth(roots) -> list[Diagnostic]:
    """The first node nested too deeply, reported at its own span or, for a tuple of
    arguments, at the span of the nearest node around it."""
    stack: list[tuple[object, int, Span | None]] = [(r, 1, None) for r in roots]
    kinds: dict[type, tuple[str, ...] | str | None] = {}
    while stack:
        node, depth, around = stack.pop()
        around = getattr(node, "span", None) or around
        if depth > MAX_DEPTH and around is not None:
            return [Diagnostic("PD019", "error", around, f"expression nested more than {MAX_DEPTH} levels deep",
                               "split it into named `let` values")]
        kind = kinds.get(type(node), _UNSEEN)
        if kind is _UNSEEN:
            kind = kinds[type(node)] = _kind(type(node))
        if kind is _SEQUENCE:
            children, deeper = node, depth
        else:
            children, deeper = [getattr(node, name) for name in kind or ()], depth + 1
        for child in children:
            kind = kinds.get(type(child), _UNSEEN)
            if kind is _UNSEEN:
                kind = kinds[type(child)] = _kind(type(child))
            if kind is not None:
                stack.append((child, deeper, around))
    return []


_SEQUENCE = "sequence"
_UNSEEN = object()


def _kind(cls: type) -> tuple[str, ...] | str | None:
    """What to walk in a value of class `cls`: its items (_SEQUENCE), a syntax node's
    fields, or nothing (None: text, a number, a span)."""
    if issubclass(cls, (list, tuple)):
        return _SEQUENCE
    if dataclasses.is_dataclass(cls) and cls is not Span:
        return tuple(f.name for f in dataclasses.fields(cls))
    return None
