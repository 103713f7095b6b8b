"""Reading employee data and writing results, exactly and safely.

Appraisal scores and bonus amounts are money-like numbers, so this module
never lets a value pass through ``float`` unless the source format itself
only stores floats (numeric XLSX cells, converted with ``Decimal(repr(x))``).
JSON numbers are parsed as ``Decimal`` and written back as number literals
with their exact digits.

Input comes from people and spreadsheets, so reading never lets a raw Python
exception escape for bad data: every problem found in a file is collected
into one ``DataError`` with the row number the user sees in the file
(CSV/XLSX: the sheet row, header = row 1; JSON: the 1-based position in the
list; JSONL: the line number).

Numbers are not read here: a cell stays the text (or JSON / XLSX value) it was, and
perfdsl.validate reads it by the rules of perfdsl.numbers, so every format and the
Python API accept exactly the same forms. Workbooks are checked against size limits
before fastexcel (calamine) parses them (perfdsl.xlsxcheck); openpyxl writes them.

Output is opened in spreadsheets, so CSV text that would run as a formula gets a
leading ' (dropped again on reading) and every cell with a line break is quoted.
Output replaces files other tools read, so writing is atomic: the new content
goes to a temporary file in the same directory, is flushed to disk and then
renamed over the target; on failure the previous file is left untouched.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from pathlib import Path

from .numbers import decimal_text, json_int


__all__ = [
    "DataError",
    "DataProblem",
    "Flags",
    "Layout",
    "RawRow",
    "format_decimal",
    "format_value",
    "read_rows",
    "write_rows",
]

SUFFIXES = (".csv", ".xlsx", ".json", ".jsonl", ".parquet")
XLSX_SHEET_TITLE = "results"
XLSX_MAX_TEXT = 32767  # characters an Excel cell can hold


@dataclass(frozen=True)
class DataProblem:
    """One problem in a data file; ``row`` is None for whole-file problems."""

    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = [f"row {self.row}"] if self.row is not None else []
        if self.field is not None:
            where.append(f"field {self.field}")
        return terminal_text((", ".join(where) + ": " if where else "") + self.message)


class DataError(Exception):
    """One exception for all bad data: carries every problem found.

    ``rows``, when a reader sets it, holds the rows it could read despite the problems
    (those were in single rows), so a caller can list those rows' field errors too."""

    def __init__(self, problems: Iterable[DataProblem], rows: list[RawRow] | None = None):
        self.problems = list(problems)
        self.rows = rows
        super().__init__("\n".join(map(str, self.problems)))


# Control characters (ESC starts sequences that recolour, retitle or rewrite a terminal),
# C1 controls, line separators, bidi controls (they reorder what is shown) and lone
# surrogates (they cannot even be encoded for output).
_UNSAFE = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_RE = re.compile("[\x00-\x1f" + _UNSAFE + "]")
_UNSAFE_BUT_LF_RE = re.compile("[\x00-\x08\x0b-\x1f" + _UNSAFE + "]")


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def terminal_text(text: str, *, lines: bool = False) -> str:
    """Text from data made safe to print: each unsafe character (see _UNSAFE) shown as
    an escape such as \\x1b or \\u202e. With ``lines``, line feeds and tabs stay."""
    return (_UNSAFE_BUT_LF_RE if lines else _UNSAFE_RE).sub(_escaped, text)


@dataclass(frozen=True)
class RawRow:
    """One record of input data with its cell values as read, unconverted."""

    number: int
    values: dict[str, object]


def _file_problem(message: str) -> DataError:
    return DataError([DataProblem(None, None, message)])


def file_format(path: str | Path) -> str:
    """The format a data file's name asks for (`.csv`, ...); a DataError for any other."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise _file_problem(
            f"unsupported file type {path.suffix or '(no extension)'!r}: "
            f"expected one of {', '.join(SUFFIXES)}"
        )
    return suffix


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


HEADER_SEARCH = 20  # rows in which the header row (the one naming the key column) is looked for


class Rows(list):
    """The records read from a file, with the file's column names (a table's header, or
    the keys of JSON objects in order of first appearance) and notes on how it was read
    (such as the encoding a CSV file turned out to have)."""

    def __init__(self, rows: Iterable[RawRow] = (), columns: list[str] | None = None, notes: list[str] | None = None,
                 table: bool = False):
        super().__init__(rows)
        self.columns = columns if columns is not None else _keys_of(self)
        self.notes = notes or []
        self.table = table  # every row has every column (CSV, XLSX)


def _keys_of(rows: list[RawRow]) -> list[str]:
    return list(dict.fromkeys(k for r in rows for k in r.values))


def read_rows(path: str | Path, *, key: str | Iterable[str] | None = None, sheet: str | None = None,
              encoding: str | None = None) -> Rows:
    """Read the records of a .csv, .xlsx, .json or .jsonl file.

    ``key`` names the key column, or its names (the input's name and label; LANGUAGE.md
    §12.2): in a table the header is the first row, among the first 20, that names it
    (title rows above it are skipped; without one, row 1), and a workbook is read from
    its first visible sheet that has such a row (a cover sheet is passed over). ``sheet``
    picks a workbook's sheet by name. Text files are UTF-8 (with or without a BOM); a
    CSV file that is not is read as GB18030 (Excel's "CSV" on Chinese Windows) with a
    note; ``encoding`` names the encoding instead.

    Raises DataError listing every problem found in the file; when the problems are
    confined to single rows, its ``rows`` holds the other rows.
    """
    path = Path(path)
    suffix = file_format(path)
    keys = frozenset([key] if isinstance(key, str) else key or ())
    if suffix == ".xlsx":
        return _read_xlsx(path, keys, sheet)
    if sheet is not None:
        raise _file_problem(f"only an .xlsx workbook has sheets; {path.name} is a {suffix} file")
    if suffix == ".parquet":
        return _read_parquet(path)
    notes: list[str] = []
    text = _read_text(path, encoding, notes, fallback=suffix == ".csv")
    rows = _READERS[suffix](text, keys)
    rows.notes += notes
    return rows


FALLBACK_ENCODING = "gb18030"  # a superset of GBK and GB2312: what Chinese Windows saves


def _read_text(path: Path, encoding: str | None = None, notes: list[str] | None = None,
               fallback: bool = False) -> str:
    """The file's text: in ``encoding`` if given, else UTF-8 (a leading byte order mark
    is dropped), else with ``fallback`` GB18030, noting so in ``notes``."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise _file_problem(f"cannot read the file: {err.strerror or err}") from err
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise _file_problem(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            raise _file_problem(f"not {encoding} text: byte 0x{data[err.start]:02x} on line {line} "
                                "cannot be decoded") from err
        return text.removeprefix("\ufeff")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        if fallback:
            try:
                text = data.decode(FALLBACK_ENCODING)
            except UnicodeDecodeError:
                pass
            else:
                if notes is not None:
                    notes.append(f"{path.name} is not UTF-8 (byte 0x{data[err.start]:02x} on line {line}); "
                                 f"read as GB18030 (GBK), as Excel on Chinese Windows saves CSV; "
                                 "give --encoding NAME if it is another encoding")
                return text
        raise _file_problem(
            f"not UTF-8 text: byte 0x{data[err.start]:02x} on line {line} "
            "cannot be decoded; save the file with UTF-8 encoding"
            + (" or give --encoding NAME" if fallback else "")
        ) from err


# ---- CSV and XLSX: a header row, then one record per row ----------------


def _read_csv(text: str, keys: frozenset[str]) -> Rows:
    return _rows_from_table(_csv_records(text), fill="", key=keys)


def _csv_records(text: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return [[_csv_unescape(cell) for cell in record] for record in reader]
    except csv.Error as err:
        raise _file_problem(f"malformed CSV on line {reader.line_num}: {err}") from err


def _read_xlsx(path: Path, key: frozenset[str], sheet: str | None) -> Rows:
    return _rows_from_table(_xlsx_records(path, key, sheet), fill=None, key=key)


def _xlsx_records(path: Path, key: frozenset[str], sheet: str | None) -> list[list[object]]:
    """The cell values of the chosen worksheet (see read_rows), row 1 first.

    The file is read once, into memory, and checked against the limits of
    perfdsl.xlsxcheck before fastexcel (calamine, in Rust: about 20 times faster than
    openpyxl on 200k rows) parses that same copy.
    """
    from . import xlsxcheck
    try:
        with open(path, "rb") as fh:
            data = fh.read(xlsxcheck.MAX_FILE + 1)
    except OSError as err:
        raise _file_problem(f"cannot read the file: {err.strerror or err}") from err
    try:
        notes = xlsxcheck.check_workbook(data)
        import fastexcel  # only when a workbook is read
        return _sheet_records(fastexcel.read_excel(data), key, sheet, notes)
    except xlsxcheck.WorkbookRefused as err:
        raise _file_problem(str(err)) from None
    except DataError:
        raise
    except Exception as err:
        # the zip layer and calamine report a damaged or foreign file with their own
        # errors (BadZipFile, CalamineError, ...).
        raise _file_problem(
            f"not a valid .xlsx workbook ({type(err).__name__}: {err}); "
            "an old .xls file must be saved as .xlsx first"
        ) from err


def _sheet_records(reader, key: frozenset[str], name: str | None, notes: dict) -> list[list[object]]:
    from .xlsxcheck import SheetNotes
    titles = reader.sheet_names
    if name is not None:
        if name not in titles:
            raise _file_problem(f"no sheet named {name!r}; the workbook has {', '.join(map(repr, titles))}")
        return _cells(reader, name, key, notes.get(name, SheetNotes()), _head(reader, name)[0])
    heads = {t: _head(reader, t) for t in titles}
    sheets = [t for t in titles if heads[t][1] == "visible"] or titles
    chosen = next((t for t in sheets if key and _header_index(heads[t][0], key) is not None), None)
    chosen = chosen or (sheets[0] if sheets else None)
    return _cells(reader, chosen, key, notes.get(chosen, SheetNotes()), heads[chosen][0]) if chosen else []


def _head(reader, title: str) -> tuple[list[list[object]], str]:
    """The first rows of a sheet as text (the header is looked for there), and whether
    the sheet is visible."""
    sheet = reader.load_sheet(title, header_row=None, skip_rows=0, n_rows=HEADER_SEARCH, dtypes="string")
    return _grid(sheet), sheet.visible


def _cells(reader, title: str, key: frozenset[str], notes, head: list[list[object]]) -> list[list[object]]:
    """Every row of a sheet from row 1 (cells before the data's first row and column are
    empty): the rows up to the header row as text, the rows after it with a type per
    column (calamine's numbers, booleans and dates; see _mixed for a column of mixed
    cells). Error cells and long integers are put back as xlsxcheck noted them."""
    start = _header_index(head, key) or 0
    body = reader.load_sheet(title, header_row=None, skip_rows=start + 1, schema_sample_rows=None)
    records = head[:start + 1] + _grid(body, reader, title, start + 1)
    for (row, column), value in [*((k, _SheetError(v)) for k, v in notes.errors.items()), *notes.exact.items()]:
        if row <= len(records):
            cells = records[row - 1]
            cells.extend([None] * (column - len(cells)))
            cells[column - 1] = value
    return records


def _grid(sheet, reader=None, title: str | None = None, skip: int = 0) -> list[list[object]]:
    """A loaded sheet's rows as lists of cell values, padded on the left to column A
    (calamine starts at the first column that holds a value; rows are counted from
    row 1, as `skip_rows` says). Text columns holding numbers are read again (_mixed)."""
    frame = sheet.to_polars()
    columns = sheet.available_columns()
    pad = [None] * (columns[0].absolute_index if columns else 0)
    text = [i for i, c in enumerate(frame.columns) if frame.schema[c] == _polars_string()]
    numbers = {}
    if reader is not None and text:
        again = reader.load_sheet(title, header_row=None, skip_rows=skip, schema_sample_rows=None,
                                  dtypes={frame.columns[i]: "float" for i in text}).to_polars()
        numbers = {i: again.get_column(again.columns[i]).to_list() for i in text}
    values = []
    for i, c in enumerate(frame.columns):
        column = frame.get_column(c).to_list()
        values.append(_mixed(column, numbers[i]) if i in numbers else [_calamine_value(v) for v in column])
    return [pad + list(cells) for cells in zip(*values)] if values else []


def _polars_string():
    import polars
    return polars.String


def _mixed(texts: list, floats: list) -> list:
    """A column of mixed cells, which calamine gives as text, numbers written with at
    most 9 decimals (1/3 as 0.333333333). Read again as numbers, a cell is a number when
    its text is exactly calamine's writing of that number; it is then the double it
    holds (its shortest digits). Text such as `007` stays text."""
    out = []
    for text, number in zip(texts, floats):
        if number is not None and text is not None and text == _calamine_text(number):
            out.append(_calamine_value(number))
        else:
            out.append(text)
    return out


def _calamine_text(number: float) -> str:
    text = format(number, ".9f").rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _calamine_value(value: object) -> object:
    """A numeric cell exactly as the double it is (repr: its shortest digits), whole
    numbers as ints; text, booleans, dates and None as they are."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return Decimal(repr(value))
    return value


class _SheetError(str):
    """The text of a spreadsheet error cell such as #N/A or #DIV/0!."""


def _is_empty(value: object) -> bool:
    return value is None or value == ""


def _header_index(records: list[list[object]], key: frozenset[str]) -> int | None:
    """The index of the first of the first 20 records that names the key column."""
    for index, cells in enumerate(records[:HEADER_SEARCH]):
        if key and any(_header_name(cell) in key for cell in cells):
            return index
    return None


def _rows_from_table(records: list[list[object]], fill: object, key: frozenset[str] = frozenset()) -> Rows:
    """Records after the header row as RawRows; entirely empty rows are skipped.

    Short rows are padded with ``fill``; cells beyond the header are an error
    unless empty. A row with such a problem is left out of the DataError's rows.
    """
    start = _header_index(records, key) or 0
    if len(records) <= start or all(map(_is_empty, records[start])):
        raise _file_problem("no header: the first row is empty")
    header, problems = _header(records[start], start + 1)
    header_ok = not problems
    rows = []
    for number, cells in enumerate(records[start + 1:], start=start + 2):
        if all(map(_is_empty, cells)):
            continue
        row_problems = _row_problems(number, header, cells)
        problems += row_problems
        if not row_problems:
            padded = list(cells) + [fill] * (len(header) - len(cells))
            rows.append(RawRow(number, dict(zip(header, padded))))
    if problems:
        raise DataError(problems, Rows(rows, header) if header_ok else None)
    return Rows(rows, header, table=True)


def _header(cells: list[object], number: int = 1) -> tuple[list[str], list[DataProblem]]:
    """Column names (surrounding spaces removed, trailing blank cells dropped)."""
    names = [_header_name(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()
    problems = [
        DataProblem(number, None, f"column {position} has no name")
        for position, name in enumerate(names, start=1)
        if not name
    ]
    for name, count in Counter(names).items():
        if name and count > 1:
            positions = [str(i) for i, n in enumerate(names, start=1) if n == name]
            problems.append(
                DataProblem(number, name, f"column name used more than once (columns {', '.join(positions)})")
            )
    return names, problems


def _header_name(cell: object) -> str:
    if cell is None:
        return ""
    return (format_decimal(cell) if isinstance(cell, Decimal) else str(cell)).strip()


def _row_problems(number: int, header: list[str], cells: list[object]) -> list[DataProblem]:
    problems = [
        DataProblem(number, name, f"the cell holds the spreadsheet error {value}")
        for name, value in zip(header, cells)
        if isinstance(value, _SheetError)
    ]
    used = max((i + 1 for i, value in enumerate(cells) if not _is_empty(value)), default=0)
    if used > len(header):
        problems.append(
            DataProblem(number, None, f"the row has {used} cells but the header has {len(header)} columns")
        )
    return problems


# ---- Parquet: typed columns ---------------------------------------------


def read_parquet_frame(path: Path):
    """A Parquet file as a polars DataFrame, or DataError naming what is wrong with the file."""
    import polars as pl
    try:
        return pl.read_parquet(path)
    except FileNotFoundError as err:
        raise _file_problem(f"cannot read the file: {err.strerror or err}") from err
    except OSError as err:
        raise _file_problem(f"cannot read the file: {err.strerror or err}") from err
    except Exception as err:  # polars reports a damaged or foreign file with its own errors
        raise _file_problem(f"not a valid Parquet file ({type(err).__name__}: {terminal_text(str(err))[:200]})") from err


def _read_parquet(path: Path) -> Rows:
    """Every row of a Parquet file with its typed values (Decimal columns as exact
    Decimals, lists as lists; a null is a missing field), numbered from 1 like JSON
    objects; every column is known, as in a table."""
    frame = read_parquet_frame(path)
    rows = [RawRow(number, {k: v for k, v in values.items() if v is not None})
            for number, values in enumerate(frame.iter_rows(named=True), start=1)]
    return Rows(rows, list(frame.columns), table=True)


# ---- JSON and JSON Lines: objects ---------------------------------------


class _ObjectWithDuplicates(dict):
    """A parsed JSON object in which some keys occurred more than once."""

    def __init__(self, pairs: list[tuple[str, object]], duplicates: list[str]):
        super().__init__(pairs)
        self.duplicates = duplicates


def _json_object(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    counts = Counter(key for key, _ in pairs)
    return _ObjectWithDuplicates(pairs, [key for key in obj if counts[key] > 1])


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number (NaN and Infinity are not allowed)")


def _parse_json(text: str) -> object:
    """Parse JSON with exact Decimal fractions; raises ValueError when malformed.

    Integers past 40 digits become Decimals (numbers.json_int), left for the field
    reading them to reject by row, not a whole-file error."""
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_int=json_int,
            parse_constant=_reject_constant,
            object_pairs_hook=_json_object,
        )
    except RecursionError as err:
        raise ValueError("JSON nested too deeply") from err


def _json_error(err: ValueError, *, with_line: bool) -> str:
    if not isinstance(err, json.JSONDecodeError):
        return f"malformed JSON: {err}"
    where = f"line {err.lineno}, column {err.colno}" if with_line else f"column {err.colno}"
    return f"malformed JSON at {where}: {err.msg}"


def _read_json(text: str, key: frozenset[str] = frozenset()) -> Rows:
    try:
        data = _parse_json(text)
    except ValueError as err:
        raise _file_problem(_json_error(err, with_line=True)) from err
    if not isinstance(data, list):
        raise _file_problem(f"expected a JSON list of objects, found {_json_kind(data)}")
    return _rows_from_objects(enumerate(data, start=1))


def _read_jsonl(text: str, key: frozenset[str] = frozenset()) -> Rows:
    parsed, problems, rows = [], [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            parsed.append((number, _parse_json(line)))
        except ValueError as err:
            problems.append(DataProblem(number, None, _json_error(err, with_line=False)))
    try:
        rows = _rows_from_objects(parsed)
    except DataError as err:
        problems += err.problems
        rows = err.rows
    if problems:
        raise DataError(sorted(problems, key=lambda p: p.row), rows)
    return rows


def _rows_from_objects(numbered: Iterable[tuple[int, object]]) -> Rows:
    rows, problems = [], []
    for number, value in numbered:
        if not isinstance(value, dict):
            problems.append(DataProblem(number, None, f"expected a JSON object, found {_json_kind(value)}"))
            continue
        duplicates = [
            DataProblem(number, None, f"the key {key!r} occurs more than once")
            for key in _duplicate_keys(value)
        ]
        problems += duplicates
        if not duplicates:
            rows.append(RawRow(number, value))
    if problems:
        raise DataError(problems, Rows(rows))
    return Rows(rows)


def _duplicate_keys(value: object) -> list[str]:
    """Keys repeated within any object nested in ``value``."""
    if isinstance(value, dict):
        found = list(getattr(value, "duplicates", []))
        return found + [key for item in value.values() for key in _duplicate_keys(item)]
    if isinstance(value, list):
        return [key for item in value for key in _duplicate_keys(item)]
    return []


def _json_kind(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    kinds = {dict: "an object", list: "a list", str: "a string"}
    return kinds.get(type(value), "a number")


_READERS: dict[str, Callable[[str, frozenset[str]], Rows]] = {
    ".csv": _read_csv,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
}


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


class Flags(tuple):
    """The flags that hold for one subject: a JSON array, joined by `;` in CSV and XLSX."""


@dataclass
class Layout:
    """How a table is written beyond its values (LANGUAGE.md §12.2; see perfdsl.outputs).

    ``titles``: the header text of each column (default: the column names). ``places``:
    columns whose numbers show exactly that many decimals (values of ``round(x, d)``).
    ``encoding``: CSV only; None is UTF-8 with a byte order mark, which Excel on Chinese
    Windows needs to read UTF-8; a name (``utf-8``, ``gb18030``) writes no mark.
    ``wrap``: XLSX columns of long text, wrapped. ``summary``: XLSX only, the rows of
    a second sheet (perfdsl.summary). The writer appends what a reader should know
    (values Excel cannot hold as numbers) to ``notes``."""

    titles: list[str] | None = None
    places: dict[str, int] = field(default_factory=dict)
    encoding: str | None = None
    wrap: frozenset[str] = frozenset({"explanation"})
    summary: tuple[str, list[list[object]]] | None = None
    notes: list[str] = field(default_factory=list)


def format_decimal(d: Decimal, places: int = 0) -> str:
    """Exact decimal text without exponent or trailing fractional zeros (numbers.decimal_text);
    with ``places``, padded to that many decimals."""
    return decimal_text(d, places)


def format_value(value: object, places: int = 0) -> str:
    """A value as CSV/XLSX cell text.

    None -> "", bool -> "true"/"false", Decimal -> format_decimal (with ``places``),
    dates -> ISO 8601, Flags -> joined by `;`, lists and dicts -> JSON text; strings
    are unchanged. Raises TypeError for other types (floats included: not exact).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Flags):
        return ";".join(value)
    if places and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return format_decimal(Decimal(value), places)
    return _json_text(value)


def _json_text(value: object, places: int = 0) -> str:
    """JSON text for a value; Decimals become number literals with exact digits."""
    if isinstance(value, Decimal) or (places and isinstance(value, int) and not isinstance(value, bool)):
        return format_decimal(Decimal(value), places)
    if isinstance(value, (list, Flags)):
        return "[" + ", ".join(map(_json_text, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json_key(k)}: {_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (date, time)):
        return json.dumps(value.isoformat())
    if value is None or isinstance(value, (str, int)):  # bool is an int
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write a value of type {type(value).__name__}")


def _json_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"cannot write a JSON object key of type {type(key).__name__}")
    return json.dumps(key, ensure_ascii=False)


def write_rows(path: str | Path, columns: list[str], rows: list[dict[str, object]],
               layout: Layout | None = None) -> list[str]:
    """Write ``rows`` (values taken by ``columns``) to a .csv, .xlsx, .json or .jsonl file.

    Every value is checked before the file is touched; problems raise
    DataError. The file is replaced atomically. Returns the writer's notes.
    """
    path = Path(path)
    layout = layout or Layout()
    render = _RENDERERS[file_format(path)]
    check_columns(layout.titles or columns)
    write_atomically(path, render(columns, rows, layout))
    return layout.notes


def check_columns(columns: list[str]) -> None:
    problems = []
    for position, name in enumerate(columns, start=1):
        if not isinstance(name, str) or not name.strip():
            problems.append(DataProblem(None, None, f"column {position} has no name"))
        elif any(ord(char) < 32 or ord(char) == 127 for char in name):
            problems.append(DataProblem(None, name, "the column name contains a control character"))
        elif not _is_utf8(name):
            problems.append(DataProblem(None, name, "the column name is not valid Unicode"))
    for name, count in Counter(columns).items():
        if count > 1:
            problems.append(DataProblem(None, name, "column name used more than once"))
    if problems:
        raise DataError(problems)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _utf8(text: str) -> str:
    if not _is_utf8(text):
        raise ValueError("the text contains an unpaired surrogate (invalid Unicode)")
    return text


def _convert_rows(
    columns: list[str],
    rows: Iterable[dict[str, object]],
    convert: Callable[[object, int], object],
    first_number: int,
    places: dict[str, int] | None = None,
) -> list[list[object]]:
    """Each row's values in column order, converted (with the column's places); every
    problem is collected."""
    table, problems = [], []
    digits = [(places or {}).get(c, 0) for c in columns]
    for number, row in enumerate(rows, start=first_number):
        cells = []
        for column, d in zip(columns, digits):
            if column not in row:
                problems.append(DataProblem(number, column, "no value given for this column"))
                continue
            try:
                cells.append(convert(row[column], d))
            except (TypeError, ValueError) as err:
                problems.append(DataProblem(number, column, str(err)))
        table.append(cells)
    if problems:
        raise DataError(problems)
    return table


# A spreadsheet runs a cell starting with one of these as a formula (tab and CR too:
# some programs strip them first). Such text gets a leading ' in CSV, as Excel itself
# marks text; reading drops it again (see _csv_unescape).
FORMULA_START = frozenset("=+-@\t\r")


def csv_escape(text: str) -> str:
    """Text as a CSV cell that no spreadsheet runs as a formula, and that reads back as itself.

    Text whose first character after any leading apostrophes starts a formula gets one
    more apostrophe, so `'=x` (written as `''=x`) also survives the round trip.
    """
    return "'" + text if text.lstrip("'")[:1] in FORMULA_START else text


def _csv_unescape(cell: str) -> str:
    """The text csv_escape was given."""
    return cell[1:] if cell[:1] == "'" and cell.lstrip("'")[:1] in FORMULA_START else cell


def _csv_cell(value: object, places: int = 0) -> str:
    """A value as CSV cell text: numbers as written; text escaped (csv_escape)."""
    text = _utf8(format_value(value, places))
    return csv_escape(text) if isinstance(value, (str, Flags)) else text


def csv_line(cells: list[str]) -> str:
    """One CSV record. Every cell holding a comma, quote, CR or LF is quoted: Python's
    csv writer leaves a bare CR unquoted when lines end in LF, and a reader then starts
    a new row there, so a key "d02\\rd03" would forge a row."""
    if cells == [""]:
        return '""\n'  # a lone empty cell, not a blank line (blank lines are skipped)
    return ",".join(
        '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n') else cell for cell in cells
    ) + "\n"


def _render_csv(columns: list[str], rows: Iterable[dict[str, object]], layout: Layout) -> bytes:
    table = _convert_rows(columns, rows, _csv_cell, 2, layout.places)
    lines = [csv_line([csv_escape(name) for name in layout.titles or columns])]
    lines += [csv_line(cells) for cells in table]
    if layout.encoding is None:
        return codecs.BOM_UTF8 + "".join(lines).encode("utf-8")
    return _encoded(lines, layout.encoding, columns)


def _encoded(lines: list[str], encoding: str, columns: list[str]) -> bytes:
    """CSV lines in a named encoding; a character it cannot hold is an error of its row."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise _file_problem(f"unknown encoding {encoding!r}") from None
    problems = []
    for number, line in enumerate(lines, start=1):
        try:
            line.encode(encoding)
        except UnicodeEncodeError as err:
            problems.append(DataProblem(number, None, f"{line[err.start]!r} cannot be written in {encoding}; "
                                                      "write UTF-8 (leave out --encoding)"))
    if problems:
        raise DataError(problems)
    return "".join(lines).encode(encoding)


def _json_lines(columns: list[str], rows: Iterable[dict[str, object]], layout: Layout) -> list[str]:
    """One JSON object text per row; rows are numbered from 1."""
    table = _convert_rows(columns, rows, lambda value, d: _utf8(_json_text(value, d)), 1, layout.places)
    keys = [_json_key(column) for column in layout.titles or columns]
    return ["{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, cells)) + "}" for cells in table]


def _render_json(columns: list[str], rows: Iterable[dict[str, object]], layout: Layout) -> bytes:
    lines = _json_lines(columns, rows, layout)
    if not lines:
        return b"[]\n"
    return ("[\n" + ",\n".join("  " + line for line in lines) + "\n]\n").encode("utf-8")


def _render_jsonl(columns: list[str], rows: Iterable[dict[str, object]], layout: Layout) -> bytes:
    return "".join(line + "\n" for line in _json_lines(columns, rows, layout)).encode("utf-8")


class XlsxNumber(Decimal):
    """A number for an XLSX numeric cell, with the decimals its format shows."""

    places: int = 0


EXCEL_DIGITS = 15  # significant digits an Excel number (a double) shows and keeps


def _xlsx_cell(value: object, places: int = 0) -> object:
    """A bool, an exact number Excel can hold (an XlsxNumber), text, or None for an
    empty cell. A number with more than 15 significant digits becomes its exact text
    (the writer notes it): Excel would keep a nearby double instead.

    Every line break becomes LF: XML parsing turns a stored CR into LF anyway,
    and LF is the line break Excel itself puts in cells.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
        if number.is_finite() and _fits_double(number):
            cell = XlsxNumber(number)
            cell.places = max(places, -number.normalize().as_tuple().exponent, 0) if number else places
            return cell
    text = _utf8(format_value(value, places)).replace("\r\n", "\n").replace("\r", "\n")
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # imported with the workbook anyway

    if ILLEGAL_CHARACTERS_RE.search(text):
        raise ValueError("the text contains a control character that XLSX cannot store")
    if len(text) > XLSX_MAX_TEXT:
        raise ValueError(f"the text is longer than the {XLSX_MAX_TEXT} characters an XLSX cell holds")
    if not text and isinstance(value, Flags):
        return None  # no flag holds: an empty cell
    return text if isinstance(value, (str, Flags, date, time, list, tuple, dict)) else _LongNumber(text)


class _LongNumber(str):
    """The exact text of a number Excel cannot hold as a number."""


def _fits_double(number: Decimal) -> bool:
    """The number reads back from a double shown at 15 significant digits (what Excel keeps)."""
    if number.is_zero():
        return True
    digits = number.normalize().as_tuple()
    return len(digits.digits) <= EXCEL_DIGITS and -300 < number.adjusted() < 300


def _render_xlsx(columns: list[str], rows: Iterable[dict[str, object]], layout: Layout) -> bytes:
    from .xlsx_out import render
    table = _convert_rows(columns, rows, _xlsx_cell, 2, layout.places)
    long = Counter(title for cells in table for title, cell in zip(layout.titles or columns, cells)
                   if isinstance(cell, _LongNumber))
    for title, count in long.items():
        layout.notes.append(f"{count} value(s) of column {title} have more than {EXCEL_DIGITS} significant digits, "
                            "more than an Excel number holds: written as text with every digit")
    return render(layout.titles or columns, [c in layout.wrap for c in columns], table, layout.summary)


DECIMAL_DIGITS = 38  # the precision of a Parquet (and polars) Decimal column


def parquet_column(title: str, values: list[object], places: int = 0):
    """One Parquet column of Python values, exactly: numbers as a Decimal column at the
    scale that holds every value (at least `places`), or as their exact text where that
    would pass 38 digits; flags and lists as lists of text (JSON text for anything else
    in a list); booleans, text, dates as themselves; None as null."""
    import polars as pl
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in present):
        numbers = [Decimal(v) for v in present]
        if not all(d.is_finite() for d in numbers):
            raise DataError([DataProblem(None, title, "a number that is not finite cannot be written")])
        scale = max([places] + [max(0, -d.as_tuple().exponent) for d in numbers])
        whole = max(max(0, d.adjusted() + 1) for d in numbers)
        if scale + whole <= DECIMAL_DIGITS:
            return pl.Series(title, [None if v is None else Decimal(v) for v in values],
                             dtype=pl.Decimal(DECIMAL_DIGITS, scale))
        return pl.Series(title, [None if v is None else format_decimal(Decimal(v), places) for v in values],
                         dtype=pl.String)
    if present and all(isinstance(v, (Flags, list, tuple)) for v in present):
        return pl.Series(title, [None if v is None else [x if isinstance(x, str) else _json_text(x) for x in v]
                                 for v in values], dtype=pl.List(pl.String))
    if all(isinstance(v, bool) for v in present):
        return pl.Series(title, values, dtype=pl.Boolean)
    if all(isinstance(v, str) for v in present):
        return pl.Series(title, [None if v is None else _utf8(v) for v in values], dtype=pl.String)
    return pl.Series(title, [None if v is None else _utf8(format_value(v, places)) for v in values], dtype=pl.String)


def parquet_bytes(frame) -> bytes:
    """A polars DataFrame as the bytes of a Parquet file."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _render_parquet(columns: list[str], rows: Iterable[dict[str, object]], layout: Layout) -> bytes:
    import polars as pl
    rows = list(rows)
    missing = [DataProblem(number, column, "no value given for this column")
               for number, row in enumerate(rows, start=1) for column in columns if column not in row]
    if missing:
        raise DataError(missing)
    series = []
    for column, title in zip(columns, layout.titles or columns):
        try:
            series.append(parquet_column(title, [row[column] for row in rows], layout.places.get(column, 0)))
        except ValueError as err:
            raise DataError([DataProblem(None, title, str(err))]) from None
    return parquet_bytes(pl.DataFrame(series, height=len(rows)))


_RENDERERS: dict[str, Callable[[list[str], Iterable[dict[str, object]]], bytes]] = {
    ".csv": _render_csv,
    ".xlsx": _render_xlsx,
    ".json": _render_json,
    ".jsonl": _render_jsonl,
    ".parquet": _render_parquet,
}


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix.

    A replaced file keeps its permissions; a new file is readable by its owner
    only (the temporary file's mode), which suits personal data.
    """
    tmp = tempfile.NamedTemporaryFile(delete=False, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        if path.exists():
            shutil.copymode(path, tmp.name)
        os.replace(tmp.name, path)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file (e.g. a generated module) atomically, as UTF-8."""
    write_atomically(Path(path), text.encode("utf-8"))
