"""perfdsl columns (1-based code points) ↔ LSP positions (0-based code units).

perfdsl's spans count code points from 1, after the parser dropped a leading BOM and
turned CRLF and CR into LF. LSP counts 0-based lines and, in each line, code units of
the negotiated encoding: UTF-16 unless the client offered another, so a character
outside the basic plane (an emoji, 𠀀) is two units before the error, not one.
Everything that crosses the protocol boundary goes through `Text`.
"""
from __future__ import annotations

import re

from lsprotocol import types as T

from ..diagnostics import Span

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
BOM = "\ufeff"


def _units(text: str, encoding: str) -> int:
    if encoding == T.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == T.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class Text:
    """One document's lines, for converting positions in both directions."""

    def __init__(self, text: str, encoding: str = T.PositionEncodingKind.Utf16):
        self.lines = _LINE_BREAK.split(text)
        self.encoding = encoding
        # The parser does not see a leading BOM: perfdsl's column 1 on line 1 is after it.
        self.bom = 1 if text.startswith(BOM) else 0

    def _line(self, line0: int) -> str:
        return self.lines[line0] if 0 <= line0 < len(self.lines) else ""

    def position(self, line: int, col: int) -> T.Position:
        """A perfdsl (line, col), both 1-based, col in code points → an LSP position."""
        line0 = max(line - 1, 0)
        text = self._line(line0)
        cp = max(col - 1, 0) + (self.bom if line0 == 0 else 0)
        return T.Position(line=line0, character=_units(text[:cp], self.encoding))

    def range(self, span: Span) -> T.Range:
        start = self.position(span.line, span.col)
        end = self.position(span.end_line, span.end_col)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return T.Range(start=start, end=end)

    def point(self, pos: T.Position) -> tuple[int, int]:
        """An LSP position → perfdsl (line, col), 1-based, col in code points. A position
        inside a surrogate pair or past the line's end is clamped to a character edge."""
        text = self._line(pos.line)
        units, cp = 0, 0
        while cp < len(text):
            step = _units(text[cp], self.encoding)
            if units + step > pos.character:
                break
            units += step
            cp += 1
        if pos.line == 0:
            cp = max(cp - self.bom, 0)
        return pos.line + 1, cp + 1

    def end(self) -> T.Position:
        last = len(self.lines) - 1
        return T.Position(line=last, character=_units(self.lines[last], self.encoding))


def contains(span: Span, line: int, col: int) -> bool:
    """Whether perfdsl point (line, col) lies in span; the end column counts, so a cursor
    just after a name still finds it."""
    return (span.line, span.col) <= (line, col) <= (span.end_line, span.end_col)
