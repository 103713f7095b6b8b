"""The results workbook as office staff open it (LANGUAGE.md §12.2).

Numbers are numeric cells whose format shows their decimals (`round(x, 2)` → 0.00),
booleans are booleans, text is text (never a formula: openpyxl would run "=..."); the
header row is bold and frozen with the key column, columns are as wide as their
content (a CJK character counts double, as it is drawn), and long text — the
explanation — wraps in a wide column. A second sheet `汇总` holds the run summary
(perfdsl.summary). Written in openpyxl's write-only mode: 200k rows stream through.
"""
from __future__ import annotations

import io
import unicodedata
from decimal import Decimal

SHEET = "results"
MIN_WIDTH, MAX_WIDTH, WRAP_WIDTH = 6, 40, 80
SAMPLE = 2000  # rows measured for column widths


def text_width(text: str) -> int:
    """Columns a text takes on screen: wide (CJK, full-width) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _shown(value) -> str:
    from .io import format_decimal
    if isinstance(value, Decimal):
        return format_decimal(value, getattr(value, "places", 0))
    return "TRUE" if value is True else "FALSE" if value is False else str(value)


def _number_format(places: int) -> str:
    return "0." + "0" * places if places > 0 else "0"


def _widths(titles: list[str], wrap: list[bool], table: list[list]) -> list[float]:
    widths = []
    for i, title in enumerate(titles):
        longest = max([text_width(title)] + [max(map(text_width, _shown(row[i]).split("\n")))
                                             for row in table[:SAMPLE] if row[i] is not None])
        cap = WRAP_WIDTH if wrap[i] else MAX_WIDTH
        widths.append(min(max(longest + 2, MIN_WIDTH), cap))
    return widths


def render(titles: list[str], wrap: list[bool], table: list[list], summary=None) -> bytes:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    widths = _widths(titles, wrap, table)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "B2" if len(titles) > 1 else "A2"
    bold, wrapped, top = Font(bold=True), Alignment(wrap_text=True, vertical="top"), Alignment(vertical="top")

    def cell(value, *, header=False, wraps=False, width=MAX_WIDTH):
        c = WriteOnlyCell(sheet, value=float(value) if isinstance(value, Decimal) and value != int(value)
                          else int(value) if isinstance(value, Decimal) else value)
        if isinstance(value, str):
            c.data_type = "s"  # text, never a formula or an error value
        if header:
            c.font = bold
        if isinstance(value, Decimal):
            c.number_format = _number_format(getattr(value, "places", 0))
        elif isinstance(value, str) and (wraps or "\n" in value or text_width(value) > width):
            c.alignment = wrapped
        elif wraps:
            c.alignment = top
        return c

    sheet.append([cell(t, header=True) for t in titles])
    for row in table:
        sheet.append([None if v is None else cell(v, wraps=wrap[i], width=widths[i]) for i, v in enumerate(row)])
    if summary is not None:
        _summary_sheet(workbook, *summary)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _summary_sheet(workbook, title: str, rows: list[list]) -> None:
    """The summary table: its first row is the header (bold, frozen)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title)
    columns = max(map(len, rows), default=0)
    for i in range(columns):
        longest = max(text_width(_shown(r[i])) for r in rows if i < len(r) and r[i] is not None)
        sheet.column_dimensions[get_column_letter(i + 1)].width = min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)
    sheet.freeze_panes = "A2"
    for n, row in enumerate(rows):
        cells = []
        for value in row:
            c = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                c.data_type = "s"
            if n == 0:
                c.font = Font(bold=True)
            cells.append(c)
        sheet.append(cells)
