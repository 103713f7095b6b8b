"""perfdsl columns (code points, 1-based) ↔ LSP positions (code units, 0-based), without a
server: characters outside the basic plane, a BOM, CR and CRLF line ends, every encoding."""
from __future__ import annotations

from lsprotocol.types import Position, PositionEncodingKind, Range

from perfdsl.diagnostics import Span
from perfdsl.lsp.positions import Text

LINE = '  flag "😀𠀀 提醒" if lat >= 5'  # `lat` is perfdsl column 19


def test_astral_characters_count_two_utf16_units():
    t = Text("policy p {\n" + LINE + "\n}")
    assert LINE.index("lat") + 1 == 19
    assert t.position(2, 19) == Position(line=1, character=20)
    assert t.range(Span("f", 2, 19, 2, 22)) == Range(start=Position(line=1, character=20), end=Position(line=1, character=23))
    assert t.point(Position(line=1, character=20)) == (2, 19)
    assert t.point(Position(line=1, character=9)) == (2, 9)  # between 😀's two halves: its start
    assert t.point(Position(line=1, character=10)) == (2, 10)  # 𠀀
    assert t.position(2, 10) == Position(line=1, character=10)


def test_other_encodings():
    assert Text(LINE, PositionEncodingKind.Utf32).position(1, 19) == Position(line=0, character=18)
    utf8 = Text(LINE, PositionEncodingKind.Utf8)
    assert utf8.position(1, 19) == Position(line=0, character=len(LINE[:18].encode("utf-8")))
    assert utf8.point(Position(line=0, character=len(LINE[:18].encode("utf-8")))) == (1, 19)


def test_bom_and_line_ends_as_the_parser_counts_them():
    t = Text("\ufeffpolicy p {\r\n  key k\r  input k: text\n}")
    assert t.position(1, 1) == Position(line=0, character=1)  # the parser does not see the BOM
    assert t.point(Position(line=0, character=1)) == (1, 1)
    assert t.position(2, 3) == Position(line=1, character=2)
    assert t.position(3, 3) == Position(line=2, character=2)  # a lone CR ends a line too
    assert t.end() == Position(line=3, character=1)


def test_out_of_range_is_clamped_not_raised():
    t = Text("ab\ncd")
    assert t.position(9, 9) == Position(line=8, character=0)
    assert t.point(Position(line=0, character=99)) == (1, 3)
    assert t.point(Position(line=7, character=3)) == (8, 1)
    assert t.range(Span("f", 2, 3, 1, 1)) == Range(start=Position(line=1, character=2), end=Position(line=1, character=2))
