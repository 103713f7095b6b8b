"""Diagnostics: what the compiler says about a policy, and how it is shown.

Every message carries a Span (file, line, col, end) so it can be printed as
`file:line:col: error[CODE]: message`, the source line and a caret under the span,
with an optional note pointing at a second place and a hint.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from .runtime.frozen import Frozen


# Every code the compiler (syntax and check) emits, one case each: PD errors stop a
# policy, PW warnings do not. A new kind of diagnostic takes the next free number;
# tests/test_check_codes.py keeps this list, the codes written in the source, the
# golden tests (one at least per code) and the table in docs/language.md in step.
CODES = {
    "PD001": "syntax error",
    "PD002": "unknown name, function, field or flag",
    "PD003": "type mismatch: a value of the wrong type where it is used",
    "PD004": "defined or listed twice",
    "PD005": "cyclic definition",
    "PD011": "`max N` indicator can leave 0..N",
    "PD012": "weights do not sum to 100%",
    "PD013": "tier thresholds",
    "PD014": "table does not cover a call's range",
    "PD015": "unknown or misplaced tier",
    "PD016": "quota or distribution bounds",
    "PD017": "example",
    "PD018": "file or import",
    "PD019": "nested or expanded too deeply",
    "PD020": "cohort value expected of one subject",
    "PD021": "depends on a later stage",
    "PD022": "no rank order",
    "PD023": "round(x, d) beyond 28 digits",
    "PD024": "division by zero",
    "PD025": "unknown input type",
    "PD026": "a bound the input's type cannot take (`in` on a non-number, `length` outside a list)",
    "PD027": "unknown period",
    "PD028": "unknown rounding mode",
    "PD029": "wrong number of arguments",
    "PD030": "a whole number written out expected",
    "PD031": "construct out of place",
    "PD032": "`weighted` of a value that has no weight",
    "PD033": "`rank(x)` that does not follow the rank order",
    "PD034": "`flagged` without a quoted label",
    "PD035": "error inside a called function, reported at the call",
    "PD036": "indicator with both `= EXPR` and `base` lines",
    "PD037": "empty clamp",
    "PW101": "line can never change its indicator",
    "PW102": "tier can never be reached",
    "PW103": "table row can never match",
    "PW104": "score leaves the scale",
    "PW105": "maxima do not sum to the scale",
    "PW106": "inexact division feeds tier thresholds",
    "PW107": "look-alike names",
    "PW108": "bidirectional control character",
    "PW109": "rule can never fire",
    "PW110": "round(x, d) of an unbounded value can exceed 28 digits",
    "PW111": "a divisor can be 0",
}


class Span(Frozen):
    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class Note(Frozen):
    span: Span
    message: str


class Diagnostic(Frozen):
    code: str
    severity: str  # "error" | "warning"
    span: Span
    message: str
    hint: str | None = None
    notes: tuple[Note, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class PolicyError(Exception):
    """A policy failed to compile; carries every diagnostic (errors and warnings)."""

    def __init__(self, diagnostics: list[Diagnostic], sources: "Sources"):
        self.diagnostics = diagnostics
        self.sources = sources
        super().__init__(render_all(diagnostics, sources))


@dataclass
class Sources:
    """The text of every file read, so diagnostics can quote their lines."""
    texts: dict[str, str] = field(default_factory=dict)

    def line(self, file: str, line: int) -> str | None:
        text = self.texts.get(file)
        if text is None:
            return None
        lines = text.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else None


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _visible(text: str) -> str:
    """Control and bidi characters are shown escaped so a quoted line cannot reorder."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch == "\t":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def _caret_line(source_line: str, col: int, end_col: int | None) -> str:
    prefix = _visible(source_line[: col - 1])
    pad = sum(_width(c) for c in prefix)
    if end_col is None or end_col <= col:
        body = 1
    else:
        body = max(1, sum(_width(c) for c in _visible(source_line[col - 1 : end_col - 1])))
    return " " * pad + "^" * body


QUOTE_WIDTH = 160  # characters of a source line shown around the caret


def _quote(span: Span, sources: Sources) -> list[str]:
    text = sources.line(span.file, span.line)
    if text is None:
        return []
    col = span.col
    end = span.end_col if span.end_line == span.line else len(text) + 1
    if len(text) > QUOTE_WIDTH:
        # A one-line file (minified, or not a policy at all) is quoted only around the caret.
        start = max(0, min(col - 1 - QUOTE_WIDTH // 4, len(text) - QUOTE_WIDTH))
        lead = "…" if start else ""
        window = lead + text[start:start + QUOTE_WIDTH] + ("…" if start + QUOTE_WIDTH < len(text) else "")
        col, end = col - start + len(lead), min(end, start + QUOTE_WIDTH + 1) - start + len(lead)
        text = window
    gutter = f"{span.line:>4} | "
    return [gutter + _visible(text), " " * (len(gutter) - 2) + "| " + _caret_line(text, col, end)]


def render(diag: Diagnostic, sources: Sources) -> str:
    lines = [f"{diag.span}: {diag.severity}[{diag.code}]: {_visible(diag.message)}"]
    lines += _quote(diag.span, sources)
    for note in diag.notes:
        lines.append(f"{note.span}: note: {_visible(note.message)}")
        lines += _quote(note.span, sources)
    if diag.hint:
        lines.append(f"  hint: {_visible(diag.hint)}")
    return "\n".join(lines)


def render_all(diagnostics: list[Diagnostic], sources: Sources) -> str:
    return "\n".join(render(d, sources) for d in diagnostics)


def did_you_mean(name: str, candidates) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None
