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
    fields: dict[type, tuple[str, ...]] = {}
    while stack:
        node, depth, around = stack.pop()
        around = getattr(node, "span", None) or around
        if depth > MAX_DEPTH and around is not None:
            return [Diagnostic("PD019", "error", around, f"expression nested more than {MAX_DEPTH} levels deep",
                               "split it into named `let` values")]
        if isinstance(node, (list, tuple)):
            stack.extend((x, depth, around) for x in node)
            continue
        kind = type(node)
        names = fields.get(kind)
        if names is None:
            names = fields[kind] = tuple(f.name for f in dataclasses.fields(kind)) \
                if dataclasses.is_dataclass(kind) and kind is not Span else ()
        for name in names:
            child = getattr(node, name)
            if isinstance(child, (list, tuple)) or type(child) in fields or (
                    dataclasses.is_dataclass(child) and not isinstance(child, Span)):
                stack.append((child, depth + 1, around))
    return []
