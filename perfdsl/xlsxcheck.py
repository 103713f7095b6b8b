"""Limits on an .xlsx workbook, checked before openpyxl parses it.

An .xlsx file is a zip of XML parts, and both layers amplify: 205 KB of zip can inflate
to one 200 MB cell (openpyxl then holds it several times over: 2 GB), a DOCTYPE can
declare entities that expand a billion times, and a cell stored at row 1,000,000,000 or
at column XFD on every row makes openpyxl fill in empty cells without end. So
`check_workbook` reads every part once through a streaming XML parser, counting what
it inflates to (the sizes the zip declares may lie) and what each cell would hold,
and raises `WorkbookRefused` naming the part, sheet and cell, before openpyxl sees
the file. Memory stays bounded by the parser's buffer, whatever the input.

The same pass notes, per sheet, what the fast reader (fastexcel/calamine) would read
wrongly: error cells (`#N/A`, `#DIV/0!`; it reads them as empty, and each must be a
row/field error) and whole numbers stored with more than 15 digits (it reads every
number as a double; openpyxl kept such a stored integer exact, and so do we). Both are
rare, so the notes stay small.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from xml.parsers import expat

from .numbers import NumberError, parse_number

MAX_FILE = 100 * 2**20        # bytes of .xlsx read from disk
MAX_INFLATED = 512 * 2**20    # bytes all parts inflate to together
MAX_PARTS = 10_000
MAX_TEXT = 32_767             # characters in a cell, as in Excel
MAX_NUMBER = 400              # characters of a stored number (data allows 40 digits)
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384  # Excel's own sheet limits
MAX_CELLS = 10_000_000        # cells openpyxl would create (rows × their last column)
CHUNK = 1 << 16

_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
# A number as a workbook stores it. openpyxl converts with int() or float(), which also
# take "9_5", " 12" and other scripts' digits (silently 95, 12); and float() turns
# 1e-400 into 0. So the stored text must have this form, within the limits of data.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # what Excel writes for most numbers
_STORED_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _column_letters(n: int) -> str:
    """A column's letters: 1 -> "A", 27 -> "AA", 16384 -> "XFD"."""
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


_COLUMNS = {_column_letters(n): n for n in range(1, MAX_COLUMNS + 1)}  # "A" -> 1 ... "XFD" -> 16384


class WorkbookRefused(Exception):
    """A workbook past one of the limits, or with a stored number that is none; the
    message says which part, sheet or cell."""


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


class _Part:
    """The streaming checks for one XML part; `where` names it in messages."""

    def __init__(self, where: str, sheet: bool):
        self.where, self.sheet = where, sheet
        self.run = 0            # characters since the last start tag
        self.element = ""
        self.numeric = False    # the current cell holds a number
        self.row = self.column = 0
        self.cells = 0          # cells openpyxl will create for the rows so far
        self.row_width = 0
        self.shared = 0         # index of the current shared string
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.number = ""        # the text of the current numeric cell's <v>
        self.kind = "n"         # the current cell's type (t attribute)
        self.error = ""         # the text of the current error cell's <v>
        self.errors: dict[tuple[int, int], str] = {}  # (row, column) -> #N/A
        self.exact: dict[tuple[int, int], int] = {}   # (row, column) -> a long stored integer
        self.parser.CharacterDataHandler = self.text
        self.parser.StartDoctypeDeclHandler = self.doctype
        self.parser.EntityDeclHandler = self.doctype

    def doctype(self, *_):
        raise WorkbookRefused(f"{self.where}: XML with a document type declaration (DOCTYPE) is not accepted")

    @property
    def ref(self) -> str:
        """The current cell, e.g. B7 (for messages: worked out only when one is made)."""
        return f"{_column_letters(self.column)}{self.row}" if self.column else ""

    # The handlers run once per element of sheets of a million cells: each does the least
    # it can, and builds message text only when it refuses the file.
    def start(self, name: str, attrs: dict) -> None:
        if ":" in name:
            name = name.rpartition(":")[2]
        self.run, self.element, self.number = 0, name, ""
        if name == "si":
            self.shared += 1
        if not self.sheet:
            return
        if name == "c":
            ref = attrs.get("r")
            letters = ref.rstrip("0123456789") if ref else ""
            column = _COLUMNS.get(letters)
            digits = ref[len(letters):] if column else ""
            if column is None or not 1 <= len(digits) <= 7:
                match = _REF.fullmatch(ref or "")
                if match:
                    column, digits = _column_number(match[1]), match[2]
                    if column > MAX_COLUMNS:
                        raise WorkbookRefused(f"{self.where}: cell {match[0]} lies beyond column XFD, "
                                               f"the last of the {MAX_COLUMNS:,} columns a sheet has")
                else:
                    column = self.column + 1
            self.column = column
            if digits:
                self.row = _index(digits, self.row, MAX_ROWS, self.where, "row", "rows")
            if column > self.row_width:
                self.row_width = column
            self.kind = attrs.get("t", "n")
            self.numeric = self.kind == "n"
        elif name == "row":
            self.end_row()
            self.row = _index(attrs.get("r"), self.row + 1, MAX_ROWS, self.where, "row", "rows")
            self.column = 0

    def end_row(self) -> None:
        self.cells += self.row_width
        self.row_width = 0
        if self.cells > MAX_CELLS:
            raise WorkbookRefused(f"{self.where}: the sheet would need more than {MAX_CELLS:,} cells "
                                   f"(row {self.row} and the rows before it)")

    def text(self, data: str) -> None:
        self.run += len(data)
        if self.run > MAX_TEXT:
            what = f"cell {self.ref}" if self.sheet and self.ref else f"shared text {self.shared}" if self.shared else "a text"
            raise WorkbookRefused(f"{self.where}, {what}: the text is longer than {MAX_TEXT:,} characters")
        if self.sheet and self.element == "v":
            if self.numeric:
                if self.run > MAX_NUMBER:
                    raise WorkbookRefused(f"{self.where}, cell {self.ref}: a stored number longer than "
                                          f"{MAX_NUMBER} characters")
                self.number += data
            elif self.kind == "e" and len(self.error) < 64:
                self.error += data

    def end(self, name: str) -> None:
        if not self.sheet or (name != "v" and not name.endswith(":v")):
            return
        if self.kind == "e":
            self.errors[(self.row, self.column)] = self.error.strip() or "#VALUE!"
            self.error = ""
        if not self.numeric:
            return
        text, self.number = self.number, ""
        if len(text) <= 15 and _PLAIN_NUMBER.fullmatch(text):
            return  # at most 15 digits and no exponent: within every limit (the common case)
        problem = None if _STORED_NUMBER.fullmatch(text) else f"expected a number, got {text!r}"
        if problem is None:
            try:
                parse_number(text, percent=False)
            except NumberError as err:
                problem = str(err)
        if problem:
            raise WorkbookRefused(f"{self.where}, cell {self.ref}: the stored number is wrong: {problem}")
        digits = text.lstrip("+-")
        if len(digits) > 15 and digits.isdigit():
            self.exact[(self.row, self.column)] = int(text)

    def feed(self, data: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(data, final)
        except expat.ExpatError as err:
            raise WorkbookRefused(f"{self.where}: malformed XML ({err})") from None
        if final and self.sheet:
            self.end_row()


def _index(text: str | None, default: int, limit: int, where: str, what: str, unit: str) -> int:
    if text is None:
        return default
    if not text.isdigit() or len(text) > 8 or not 1 <= int(text) <= limit:
        raise WorkbookRefused(f"{where}: {what} {text[:20]!r} is outside the {limit:,} {unit} a sheet has")
    return int(text)


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Part name → sheet title, read from the (already checked) workbook part and its rels."""
    names: dict[str, str] = {}
    try:
        from xml.etree import ElementTree
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return names
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    for sheet in book.iter():
        if sheet.tag.rpartition("}")[2] != "sheet":
            continue
        rid = next((v for k, v in sheet.attrib.items() if k.rpartition("}")[2] == "id"), None)
        target = targets.get(rid)
        if target:
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
            names[part] = sheet.get("name", part)
    return names


def _order(info: zipfile.ZipInfo) -> int:
    """The workbook part and its rels first: they name the sheets in later messages."""
    return 0 if info.filename in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels") else 1


class SheetNotes:
    """What a sheet holds that calamine reads wrongly, by (row, column), 1-based."""

    def __init__(self, errors: dict | None = None, exact: dict | None = None):
        self.errors = errors or {}  # error cells: their text (#N/A)
        self.exact = exact or {}    # whole numbers of more than 15 digits, exact


def check_workbook(data: bytes) -> dict[str, SheetNotes]:
    """Raise WorkbookRefused if the workbook `data` passes a limit (see module doc);
    else return each sheet's notes (SheetNotes) by title.

    A damaged zip raises zipfile.BadZipFile (or another error of the zip layer) for the
    caller to report as it reports any file openpyxl cannot read."""
    if len(data) > MAX_FILE:
        raise WorkbookRefused(f"the workbook is larger than {MAX_FILE // 2**20} MB")
    import io
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_PARTS:
            raise WorkbookRefused(f"the workbook has {len(infos):,} parts; at most {MAX_PARTS:,} are read")
        declared = sum(info.file_size for info in infos)
        if declared > MAX_INFLATED:
            biggest = max(infos, key=lambda info: info.file_size)
            raise WorkbookRefused(f"the workbook would inflate to {declared:,} bytes ({biggest.filename}: "
                                   f"{biggest.file_size:,}); at most {MAX_INFLATED:,} are read")
        titles: dict[str, str] = {}
        notes: dict[str, SheetNotes] = {}
        total = 0
        for info in sorted(infos, key=_order):
            if info.filename.endswith("/"):
                continue
            if info.filename.startswith("xl/worksheets/") and not titles:
                titles = _sheet_names(archive)
            name = info.filename
            sheet = name.startswith("xl/worksheets/") and name.endswith(".xml")
            where = f"sheet {titles[name]!r}" if name in titles else name
            xml = name.endswith((".xml", ".rels"))
            part = _Part(where, sheet) if xml else None
            with archive.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    total += len(chunk)
                    if total > MAX_INFLATED:
                        raise WorkbookRefused(f"{name}: the workbook inflates to more than {MAX_INFLATED:,} bytes")
                    if part:
                        part.feed(chunk)
            if part:
                part.feed(b"", final=True)
                if sheet:
                    notes[titles.get(name, name)] = SheetNotes(part.errors, part.exact)
    return notes
