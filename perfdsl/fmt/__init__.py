"""`perfdsl fmt`: one canonical layout for policy files (LANGUAGE.md §12.4).

    format_text(text, file) -> str

returns the formatted text, or raises FormatError whose `.diagnostics` are the
compiler's own (PD001 ... with file, line and column) when the text does not parse.
It never returns text that means something else: the result is parsed again and must
give the same syntax tree (spans aside) and the same comments, in the same order;
otherwise FormatError is raised (code FMT01: a formatter bug, reported instead of
rewriting the file). The layout rules are in layout.py, the lossless parse in cst.py.
"""
from __future__ import annotations

import dataclasses

from ..diagnostics import Diagnostic, Span
from ..syntax.parse import parse_text
from . import cst
from .layout import layout

__all__ = ["format_text", "FormatError", "same_syntax"]


class FormatError(ValueError):
    """The text cannot be formatted; `diagnostics` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(f"{first.span}: {first.message}" if first else "cannot format")


def format_text(text: str, file: str) -> str:
    """The canonical layout of `text` (the contents of `file`, named in diagnostics)."""
    module, diags = parse_text(text, file)
    if module is None:
        raise FormatError([d for d in diags if d.is_error])
    try:
        source = cst.parse(cst.normalize(text))
        out = layout(source)
        again, _ = parse_text(out, file)
        kept = again is not None and same_syntax(module, again) and \
            [c.text for c in cst.parse(cst.normalize(out)).comments] == [c.text for c in source.comments]
    except Exception:  # syntax the formatter does not know yet: never a traceback, never a rewrite
        kept = False
    if not kept:
        raise FormatError([Diagnostic("FMT01", "error", Span(file, 1, 1, 1, 2),
                                      "the formatter would change this file's meaning or comments; "
                                      "it was left as it is (please report this as a bug)")])
    return out


def same_syntax(a, b) -> bool:
    """Whether two parsed modules are the same apart from positions."""
    return _plain(a) == _plain(b)


def _plain(node):
    """A module as nested tuples without spans or the file's path (iterative)."""
    if isinstance(node, Span):
        return None
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple(
            _plain(getattr(node, f.name)) for f in dataclasses.fields(node) if f.name != "path")
    if isinstance(node, (list, tuple)):
        return tuple(_plain(x) for x in node)
    return node
