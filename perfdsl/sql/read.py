"""`perfdsl run --backend duckdb|spark`: a CSV or Parquet file read and validated in the engine.

Reading every row into Python, validating it there and loading it back is where a
million-subject run spent its minute, and it holds the whole file in Python lists. So
the engine reads the file in place (DuckDB's read_csv/read_parquet, Spark's spark.read;
CSV: every cell as text), and one query tests every input cell for being surely valid in
the plainest forms the column checks of perfdsl.frame_io take (`12`, `-3.25`, `true`, a
choice, `良好;欠佳`; the same spellings, patterns and bounds): types, ranges, choices,
list lengths, and repeated keys by a count. Only the rows it doubts are fetched and
given to perfdsl.validate.Validator, which reads them by the rules of perfdsl.numbers
and words their errors exactly as the python backend does (row numbers, fields, every
bad row listed, nothing written); the rows it accepts are put back. The good rows
become the table of scaled integers the query reads without leaving the engine, and
`describe` (each number's scale and the bounds of its integers, each list's most items)
is a few aggregates over that table.

The rules are written once, as SQL text; the few functions the two engines spell
differently (regular expressions, list functions, a cast that may fail) are `Words`.
The engine itself gives what only it can: the file as a relation in file order, the
types of its columns, tables and views (Engine.file_rows and the methods beside it).

A file this path cannot read exactly as perfdsl.io reads it (blank lines, a bare CR,
another encoding, title rows above the header, a header with blank, padded, guarded or
repeated names, ragged rows, no rows; on Spark also quotes not around a whole cell or
around a line break) gives None: the caller then reads it the row way.
"""
from __future__ import annotations

import codecs
import csv
import io as stdio
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from sqlglot import exp

from .. import io
from ..columns import key_names, match_columns, name_columns
from ..frame_io import DEC_TEXT, INT_TEXT
from ..lower import scaled as sc
from ..runtime.checks import bool_spellings, fields
from .dialect import DIALECTS
from .query import ROW, Input

NUMBER = "#number"  # the row's number as the user sees it (a CSV file's header is row 1)
AT = "#at"  # a record's 0-based position in the file, as Engine.file_rows gives it
OK = "#ok"
SOURCE, CHECKED, FIXED = "perfdsl_source", "perfdsl_checked", "perfdsl_fixed"
FRACTION = r"\.([0-9]+)$"  # a written number's decimals
JSON_LIST = r"^ *\["  # a list cell the validator reads as JSON
# the characters str.strip() removes besides the space: a list cell holding one is doubtful
OTHER_SPACE = r"[\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"


@dataclass(frozen=True)
class Words:
    """SQL text for one engine (sqlglot's dialect name): quoting, and the few functions
    DuckDB and Spark spell differently (the list functions the query uses too are
    perfdsl.sql.dialect's, printed around this module's SQL text)."""
    name: str

    @property
    def wide(self) -> str:
        return DIALECTS[self.name].wide_int

    def ident(self, name: str) -> str:
        return exp.to_identifier(name, quoted=True).sql(self.name)

    def lit(self, text: str) -> str:
        return exp.Literal.string(text).sql(self.name)

    def one_of(self, cell: str, values) -> str:
        return f"{cell} IN ({', '.join(self.lit(v) for v in values)})"

    def to_wide(self, text: str) -> str:
        """Digits as the wide integer; NULL (doubtful), never an error, for no digits or too
        many: neither engine stops at a false `ok AND …` before the cast."""
        return f"TRY_CAST({text} AS {self.wide})"

    def null(self, kind: str) -> str:
        kind = {"int": self.wide, "text[]": "VARCHAR[]" if self.name == "duckdb" else "ARRAY<STRING>"}[kind]
        return f"CAST(NULL AS {kind})"

    def _regex(self, pattern: str) -> str:
        """RE2's `$` (the end of the text) is Java's `\\z` (Java's `$` also matches before a last line break)."""
        return self.lit(pattern if self.name == "duckdb" else re.sub(r"\$$", r"\\z", pattern))

    def full_match(self, cell: str, pattern: str) -> str:
        """The whole cell matches `pattern` (anchored by ^ and $)."""
        return f"regexp_full_match({cell}, {self._regex(pattern)})" if self.name == "duckdb" \
            else f"({cell} RLIKE {self._regex(pattern)})"

    def contains(self, cell: str, pattern: str) -> str:
        return f"regexp_matches({cell}, {self._regex(pattern)})" if self.name == "duckdb" \
            else f"({cell} RLIKE {self._regex(pattern)})"

    def extract(self, cell: str, pattern: str) -> str:
        return f"regexp_extract({cell}, {self._regex(pattern)}, 1)"

    def split(self, cell: str, sep: str) -> str:
        """The cell cut at `sep` (a character no regular expression reads specially)."""
        return f"{'string_split' if self.name == 'duckdb' else 'split'}({cell}, {self.lit(sep)})"

    def _listed(self, tree: exp.Expression) -> str:
        return tree.sql(self.name)  # exp.Var: SQL text printed as it is

    def transform(self, items: str, body: str) -> str:
        """Each item (`x` in body) mapped (the list functions are the query's, perfdsl.sql.dialect)."""
        return self._listed(DIALECTS[self.name].transform(exp.Var(this=items), "x", exp.Var(this=body)))

    def filter(self, items: str, test: str) -> str:
        return self._listed(DIALECTS[self.name].filter(exp.Var(this=items), "x", exp.Var(this=test)))

    def length(self, items: str) -> str:
        return self._listed(DIALECTS[self.name].length(exp.Var(this=items)))

    def every(self, items: str, test: str) -> str:
        """The test (of `x`) holds for every item."""
        return f"{self.length(self.filter(items, f'NOT ({test})'))} = 0"

    def has_all(self, values, items: str) -> str:
        """Every item (none NULL: no_nulls says so) is one of the values. DuckDB counts
        the others twice as fast as its list_has_all decides."""
        if self.name == "duckdb":
            return self.every(items, self.one_of("x", values))
        return f"forall({items}, x -> {self.one_of('x', values)})"

    def no_nulls(self, items: str) -> str:
        return f"list_count({items}) = len({items})" if self.name == "duckdb" \
            else f"NOT exists({items}, x -> x IS NULL)"

    def extreme(self, items: str, largest: bool) -> str:
        return self._listed(DIALECTS[self.name].extreme(exp.Var(this=items), largest))

    def in_order(self, column: str) -> str:
        """A window in the order of `column`, which the rows are already in on DuckDB."""
        return "()" if self.name == "duckdb" else f"(ORDER BY {column})"


@dataclass
class Loaded:
    """A file in the engine's table `subjects` (ROW, NUMBER, one column per input and one
    per --keep column the file has, its cells as read): the inputs as described, how many
    subjects, what reading matched and warned, and the kept columns."""
    inputs: list[Input]
    count: int
    column_of: dict[str, str]
    columns: list[str]
    warnings: list[str]
    kept: dict[str, str]  # each --keep column the file has -> its column of `subjects`, the cells as read
    kept_text: bool  # every kept column is text the streamed writers write as the row path does (_kept_text)

    def kept_rows(self, engine) -> list:
        """Each subject's --keep cells as read, by the file's column names (perfdsl.kept.copy_kept's
        rows), fetched from `subjects`: only the row path (perfdsl.run_sql._write_rows) needs them."""
        if not self.kept:
            return []
        w = Words(engine.dialect)
        got = engine.rows(f"SELECT {w.ident(NUMBER)}, " + ", ".join(w.ident(c) for c in self.kept.values())
                          + f" FROM subjects ORDER BY {w.ident(ROW)}")
        names = [self.column_of.get(k, k) for k in self.kept]
        return [io.RawRow(r[0], {name: v for name, v in zip(names, r[1:]) if v is not None}) for r in got]


def load_file(ir, path: str, engine, keep: tuple[str, ...] = ()) -> Loaded | None:
    """The file checked into `subjects` by the engine (perfdsl.sql.engine's DuckDB or
    Spark); None when the row reader must read it; DataError naming every bad row and
    field as the python backend."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        first = _csv_header(p, key_names(ir), clean_quotes=engine.dialect == "spark")
        if first is None:
            return None
    elif suffix == ".parquet":
        first = None
    else:
        return None
    w = Words(engine.dialect)
    try:
        reader = engine.file_rows(str(p), first)
        if reader is None:
            return None
        types = engine.types(reader)
        columns = list(types)
        if suffix == ".csv" and columns != first:
            return None
        try:
            column_of, warnings = match_columns(ir, columns, keep)
        except io.DataError:
            if engine.rows(f"SELECT count(*) FROM {reader}")[0][0] == 0:
                return None  # no subjects, which the row reader says first
            raise
        _source(engine, w, ir, reader, suffix, column_of, keep, types)
    except engine.errors:
        return None  # ragged rows, stray quotes, a file the engine cannot read: the row reader words it
    try:
        return _checked(ir, engine, w, column_of, columns, warnings, keep, types, text=suffix == ".csv")
    except io.DataError as err:
        raise name_columns(err, column_of) from None
    except engine.errors:
        return None  # a cell the engine would not convert as the checks expect: the row reader reads it


# a CSV line whose quotes only enclose whole cells, none holding a line break: what a
# reader that takes the file line by line (Spark's, split across tasks) reads as Python's csv
_CLEAN_LINE = re.compile(rb'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")(?:,(?:[^",\r\n]*|"(?:[^"\r\n]|"")*"))*\r?')


def _csv_header(path: Path, keys: tuple[str, ...], clean_quotes: bool = False) -> list[str] | None:
    """The header of a UTF-8 CSV file the engine reads as perfdsl.io does, or None;
    `clean_quotes`: None too when a quote is not around a whole cell on one line, or the
    header line is repeated below (a line-by-line reader's limits)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    data = data.removeprefix(codecs.BOM_UTF8)
    if (not data.strip() or data.count(b"\r") != data.count(b"\r\n") or b"\n\n" in data or b"\n\r\n" in data
            or data.startswith((b"\n", b"\r"))):
        return None  # blank lines (the engines skip them, which would renumber the rows), a bare CR, no rows
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        header = next(csv.reader(stdio.StringIO(text, newline="")))
    except (csv.Error, StopIteration):
        return None
    if not header or any(not c or c != c.strip() or c[:1] == "'" for c in header) or len(set(header)) < len(header):
        return None
    if keys and not any(c in keys for c in header):
        return None  # title rows above the header
    if clean_quotes:
        if any(not _CLEAN_LINE.fullmatch(m.group()) for m in re.finditer(rb'[^\n]*"[^\n]*', data)):
            return None
        head = data.split(b"\n", 1)[0].rstrip(b"\r")
        if re.search(rb"\n" + re.escape(head) + rb"\r?(?:\n|$)", data):
            return None
        if len(data) > csv.field_size_limit() and max(map(len, data.split(b"\n"))) > csv.field_size_limit():
            return None  # maybe a cell past Python's csv field limit, which perfdsl.io reports
    return header


def _source(engine, w: Words, ir, reader: str, suffix: str, column_of: dict, keep: tuple[str, ...],
            types: dict) -> None:
    """SOURCE: ROW (0-based, in file order), NUMBER, each input's cell as read (a CSV cell
    as perfdsl.io reads it: "" for empty, a formula guard taken off), each kept column."""
    wanted = [(i.name, column_of[i.name]) for i in ir.inputs] + [
        ("#keep " + k, k) for k in keep if k in types and k not in column_of]
    if suffix == ".csv":
        cells = [f"{_unguarded(w, f'coalesce({w.ident(c)}, {w.lit(str())})')} AS {w.ident(n)}" for n, c in wanted]
        blank = " AND ".join(f"coalesce({w.ident(c)}, '') = ''" for c in dict.fromkeys(types))
        engine.table(SOURCE, f"SELECT CAST(row_number() OVER {w.in_order(w.ident(NUMBER))} - 1 AS BIGINT) AS "
                             f"{w.ident(ROW)}, {w.ident(NUMBER)}, {', '.join(cells)} FROM (SELECT CAST({w.ident(AT)} + 2 "
                             f"AS BIGINT) AS {w.ident(NUMBER)}, * FROM {reader}) WHERE NOT ({blank})")
        return
    cells = [f"{w.ident(c)} AS {w.ident(n)}" for n, c in wanted]
    engine.view(SOURCE, f"SELECT CAST({w.ident(AT)} AS BIGINT) AS {w.ident(ROW)}, CAST({w.ident(AT)} + 1 AS BIGINT) "
                        f"AS {w.ident(NUMBER)}, {', '.join(cells)} FROM {reader}")


def _unguarded(w: Words, cell: str) -> str:
    """perfdsl.io's _csv_unescape in SQL: `'=1` is read as `=1`."""
    guarded = "^'+[" + "".join(_GUARD_CHARS.get(s, s) for s in sorted(io.FORMULA_START)) + "]"
    return f"CASE WHEN {w.contains(cell, guarded)} THEN substr({cell}, 2) ELSE {cell} END"


_GUARD_CHARS = {"\t": r"\t", "\r": r"\r", "-": r"\-", "+": r"\+"}  # as a regular expression's class writes them


@dataclass
class _Test:
    """One input's test: `ok`, SQL saying the cell is surely valid; `value(scale)` its value
    as the table holds it (numbers as integers at `scale`); `places`, for numbers, the
    decimals the cell needs."""
    ok: object  # SQL text, or for numbers a function of the scale giving it
    value: object
    places: str | None = None
    form: str | None = None  # for numbers: the written form alone (the cells the scale is taken from)


def _test(w: Words, spec: tuple, dtype: str) -> _Test:
    """The SQL test of one input column (runtime.checks.fields' spec; the column's type as
    Engine.types names it: text, int, decimal(p,s), bool, text[] or another)."""
    name, kind, lo, hi, choices, elem, min_len, max_len = spec
    c = w.ident(name)
    if kind in ("num", "whole"):
        if dtype == "text":
            return _ranged(w, _written(w, c, kind), lambda s: _scaled(w, c, kind, s), lo, hi,
                           None if kind == "whole" else _places(w, c))
        if dtype == "int":
            return _ranged(w, f"{c} IS NOT NULL", lambda s: f"(CAST({c} AS {w.wide}) * {10 ** s})", lo, hi, "0")
        if dtype.startswith("decimal("):  # exact; its places by arithmetic, not through its text
            scale = int(dtype.rstrip(")").split(",")[1])
            if scale <= 18:  # a 64-bit decimal where the value fits one (7× faster than 128 bits; else doubtful)
                c = f"TRY_CAST({c} AS DECIMAL(18, {scale}))"
            if kind == "whole":
                return _ranged(w, f"{c} IS NOT NULL AND {c} % 1 = 0", lambda s: f"(CAST({c} AS {w.wide}) * {10 ** s})",
                               lo, hi)
            places = "CASE " + " ".join(f"WHEN ({c} * {10 ** k}) % 1 = 0 THEN {k}" for k in range(scale)) + f" ELSE {scale} END"
            return _ranged(w, f"{c} IS NOT NULL", lambda s: f"CAST({c} * {10 ** s} AS {w.wide})", lo, hi, places)
        return _Test("false", lambda s: w.null("int"))
    if kind == "bool":
        if dtype == "text":
            return _Test(w.one_of(c, bool_spellings(True) + bool_spellings(False)),
                         lambda s: w.one_of(c, bool_spellings(True)))
        return _Test(f"{c} IS NOT NULL" if dtype == "bool" else "false", lambda s: c)
    if kind in ("text", "choice"):
        if dtype != "text":
            return _Test("false", lambda s: c)
        return _Test(f"{c} IS NOT NULL" if choices is None else w.one_of(c, choices), lambda s: c)
    if kind == "list" and elem in ("num", "whole"):
        if dtype != "text":
            return _Test("false", lambda s: "NULL")
        items = _items(w, c)
        form = f"{_plain_list(w, c)} AND {w.every(items, _written(w, 'x', elem))}{_lengths(w, items, min_len, max_len)}"

        def ranged(s: int) -> str:
            bounds = []
            if lo is not None:
                bounds.append(f"{_scaled(w, 'x', elem, s)} >= CAST({w.lit(str(math.ceil(Fraction(lo) * 10 ** s)))} AS {w.wide})")
            if hi is not None:
                bounds.append(f"{_scaled(w, 'x', elem, s)} <= CAST({w.lit(str(math.floor(Fraction(hi) * 10 ** s)))} AS {w.wide})")
            return f"({form}{''.join(f' AND {w.every(items, b)}' for b in bounds)})"
        places = None if elem == "whole" else f"coalesce({w.extreme(w.transform(items, _places(w, 'x')), True)}, 0)"
        return _Test(ranged, lambda s: w.transform(items, _scaled(w, "x", elem, s)), places, f"({form})")
    if kind == "list" and elem in ("text", "choice"):
        if dtype == "text":
            items, ok = _items(w, c), _plain_list(w, c)
        elif dtype == "text[]":
            items, ok = c, f"{c} IS NOT NULL AND {w.no_nulls(c)}"
        else:
            return _Test("false", lambda s: w.null("text[]"))
        if choices is not None:
            ok += f" AND {w.has_all(choices, items)}"
        return _Test(f"({ok}{_lengths(w, items, min_len, max_len)})", lambda s: items)
    return _Test("false", lambda s: "NULL")


def _written(w: Words, cell: str, kind: str) -> str:
    """The text is a number in the plainest form (frame_io's patterns): a whole number, or
    (kind num) a decimal."""
    return w.full_match(cell, INT_TEXT if kind == "whole" else DEC_TEXT)


def _scaled(w: Words, cell: str, kind: str, s: int) -> str:
    """A number written plainly, as the integer of its value at scale s."""
    digits = w.extract(cell, "^([+-]?[0-9]+)")
    if kind == "whole":
        return f"({w.to_wide(digits)} * {10 ** s})"
    return w.to_wide(f"{digits} || rpad({_fraction(w, cell)}, {s}, '0')")


def _fraction(w: Words, cell: str) -> str:
    return f"trim(TRAILING '0' FROM {w.extract(cell, FRACTION)})"


def _places(w: Words, cell: str) -> str:
    """The decimals a number written plainly needs."""
    return f"length({_fraction(w, cell)})"


def _items(w: Words, cell: str) -> str:
    """A list cell's items as runtime.checks.list_text reads them: `a;b` (or `a；b`), spaces
    around items dropped, empty items none."""
    return w.filter(w.transform(w.split(f"replace({cell}, '；', ';')", ";"), "trim(BOTH ' ' FROM x)"), "x <> ''")


def _plain_list(w: Words, cell: str) -> str:
    """A list cell _items reads as the validator does: no JSON list (the validator's), no
    space but the plain one around an item."""
    return f"NOT {w.contains(cell, JSON_LIST)} AND NOT {w.contains(cell, OTHER_SPACE)}"


def _lengths(w: Words, items: str, min_len, max_len) -> str:
    out = ""
    if min_len:
        out += f" AND {w.length(items)} >= {int(min_len)}"
    if max_len is not None:
        out += f" AND {w.length(items)} <= {int(max_len)}"
    return out


def _ranged(w: Words, ok: str, value, lo: Decimal | None, hi: Decimal | None, places: str | None = None) -> _Test:
    """A number's test with its declared range, compared as integers at the column's scale
    (exact: no rounding of the bounds' digits)."""
    def within(s: int) -> str:
        out = ok
        if lo is not None:
            out += f" AND {value(s)} >= CAST({w.lit(str(math.ceil(Fraction(lo) * 10 ** s)))} AS {w.wide})"
        if hi is not None:
            out += f" AND {value(s)} <= CAST({w.lit(str(math.floor(Fraction(hi) * 10 ** s)))} AS {w.wide})"
        return out
    return _Test(within, value, places, ok)


def _checked(ir, engine, w: Words, column_of: dict, columns: list[str], warnings: list[str], keep: tuple[str, ...],
             file_types: dict[str, str], text: bool) -> Loaded | None:
    """The checked table of subjects (or _sure's view); `file_types`: the file's columns' types (Engine.types)."""
    types = {i.name: file_types[column_of[i.name]] for i in ir.inputs}
    specs = fields(ir)
    tests = {spec[0]: _test(w, spec, types[spec[0]]) for spec in specs}
    count = engine.rows(f"SELECT count(*) FROM {SOURCE}")[0][0]
    if count == 0:
        return None  # no subjects: the row reader says so
    placed = [n for n, t in tests.items() if t.places is not None]
    scale = dict.fromkeys(tests, 0)
    if placed:
        first = {n: tests[n].form for n in placed}
        row = engine.rows("SELECT " + ", ".join(
            f"coalesce(max({tests[n].places}) FILTER (WHERE {first[n]}), 0)" for n in placed) + f" FROM {SOURCE}")[0]
        scale.update(zip(placed, (int(x) for x in row)))
    oks = {n: (t.ok(scale[n]) if callable(t.ok) else t.ok) for n, t in tests.items()}
    kept = _kept(keep, column_of, columns)
    kept_text = _kept_text(engine, w, kept, column_of, file_types, text)
    if not text:
        loaded = _sure(ir, engine, w, tests, oks, scale, count, column_of, columns, warnings, kept, kept_text)
        if loaded is not None:
            return loaded
    values = [f"CASE WHEN {oks[n]} THEN {t.value(scale[n])} END AS {w.ident(n)}" for n, t in tests.items()]
    values += [f"{w.ident(source)} AS {w.ident(name)}" for _, source, name in kept]
    engine.table(CHECKED, f"SELECT {w.ident(ROW)}, {w.ident(NUMBER)}, {', '.join(values)}, "
                          f"coalesce({' AND '.join(f'({o})' for o in oks.values())}, false) AS {w.ident(OK)} FROM {SOURCE}")
    doubt = f"NOT {w.ident(OK)}"
    key = ir.key
    if key is not None:
        k = w.ident(key)
        total, distinct = engine.rows(f"SELECT count(*), count(DISTINCT {k}) FROM {CHECKED} WHERE {w.ident(OK)}")[0]
        if distinct < total:  # every row of a repeated key: the validator names the repeats
            doubt += (f" OR {k} IN (SELECT {k} FROM {CHECKED} WHERE {w.ident(OK)} GROUP BY {k} HAVING count(*) > 1)")
    inputs_sql = ", ".join(w.ident(i.name) for i in ir.inputs)
    doubtful = engine.rows(f"SELECT s.{w.ident(NUMBER)}, s.{w.ident(ROW)}, {', '.join('s.' + w.ident(i.name) for i in ir.inputs)} "
                           f"FROM {SOURCE} s JOIN (SELECT {w.ident(ROW)} FROM {CHECKED} WHERE {doubt}) d "
                           f"USING ({w.ident(ROW)}) ORDER BY s.{w.ident(ROW)}")
    names = [i.name for i in ir.inputs]
    fixed = []
    if doubtful:
        from ..validate import Validator
        validator = Validator(ir)
        raws = [(r[0], _present(dict(zip(names, r[2:])), text)) for r in doubtful]
        records, problems, _ = validator.many(raws)
        if problems:
            raise io.DataError(problems)
        fixed = [(r[1], r[0], rec) for r, rec in zip(doubtful, records)]
    sure = dict(scale)  # the scales the checked table's numbers have
    for n, t in tests.items():
        if t.places is not None:
            scale[n] = max([scale[n]] + [sc.places(v) for _, _, rec in fixed for v in _numbers(rec[n])])
    for spec in specs:  # number lists the engine does not read (Parquet's): the validator's values
        if spec[1] == "list" and spec[5] in ("num", "whole") and tests[spec[0]].places is None:
            scale[spec[0]] = max([0] + [sc.places(v) for _, _, rec in fixed for v in rec[spec[0]]])
    inputs = [_input(spec, scale[spec[0]]) for spec in specs]
    if _past_38_digits(engine, w, inputs, sure, fixed):
        return None  # the row reader's: the plan then refuses it, as on every file
    if fixed:
        engine.load(inputs, [rec for _, _, rec in fixed], FIXED, [r for r, _, _ in fixed], [n for _, n, _ in fixed])
        if key is not None and engine.rows(
                f"SELECT count(*) FROM {FIXED} f JOIN {CHECKED} c ON c.{w.ident(OK)} AND c.{w.ident(key)} = f.{w.ident(key)}"
        )[0][0]:  # keys that only repeat once read (`1,000` and `1000`): every row, as the python backend
            everything = engine.rows(f"SELECT {w.ident(NUMBER)}, {inputs_sql} FROM {SOURCE} ORDER BY {w.ident(ROW)}")
            _, problems, _ = Validator(ir).many([(r[0], _present(dict(zip(names, r[1:])), text)) for r in everything])
            raise io.DataError(problems)
    good = [_rescaled(w, i, sure[i.name]) for i in inputs]
    rows = f"SELECT {w.ident(ROW)}, {w.ident(NUMBER)}, " + ", ".join(
        [f"{g} AS {w.ident(i.name)}" for g, i in zip(good, inputs)] + [w.ident(name) for _, _, name in kept]) \
        + f" FROM {CHECKED} WHERE {w.ident(OK)}"
    engine.drop("subjects")
    if not doubtful:  # every row surely fine: the checked table is the table of subjects, not copied
        engine.rename(CHECKED, "subjects")
    else:
        if fixed:  # the rows put back, with their kept cells as read
            cells = [f"f.{w.ident(i.name)}" for i in ir.inputs] + [f"s.{w.ident(source)}" for _, source, _ in kept]
            joined = f" JOIN {SOURCE} s ON s.{w.ident(ROW)} = f.{w.ident(ROW)}" if kept else ""
            rows += (f" UNION ALL SELECT f.{w.ident(ROW)}, f.{w.ident(NUMBER)}, {', '.join(cells)} "
                     f"FROM {FIXED} f{joined} ORDER BY {w.ident(ROW)}")
        engine.table("subjects", rows)
        engine.drop(CHECKED)
    loaded = Loaded(describe(engine, inputs), count, column_of, columns, warnings,
                    {k: name for k, _, name in kept}, kept_text)
    engine.drop(FIXED)
    if text:
        engine.drop(SOURCE)  # the file's text, read: only the checked table is needed now
    return loaded


def _sure(ir, engine, w: Words, tests: dict, oks: dict, scale: dict, count: int, column_of: dict,
          columns: list[str], warnings: list[str], kept: list[tuple[str, str, str]], kept_text: bool) -> Loaded | None:
    """A Parquet file every row of which is surely valid, its keys unique, found so by one
    pass over the file that also describes its inputs: `subjects` is then a view of the
    file's cells converted as the query reads them, with nothing copied. Measured on
    branch_employees at 100M subjects, a copy (spilled to disk past DuckDB's memory) took
    the run from 213 s to 274 s; a file that fits in memory loses less by the view
    (budget_engineer at 10M: 9.3 s against 7.5 s, DuckDB sorting a table's text keys
    faster, by the lengths its statistics know). On Spark the file's rows are numbered by a
    sort over its splits, so `subjects` is made once, a table (Engine.reads_in_place).
    None, nothing made, otherwise: the doubtful rows are then found in a checked table,
    as for CSV."""
    specs = fields(ir)
    inputs = [_input(spec, scale[spec[0]]) for spec in specs]
    ok = f"coalesce({' AND '.join(f'({o})' for o in oks.values())}, false)"
    sure = [f"count(*) FILTER (WHERE NOT {ok})"] + ([f"count(DISTINCT {w.ident(ir.key)})"] if ir.key else [])
    values = {n: f"CASE WHEN {ok} THEN {t.value(scale[n])} END" for n, t in tests.items()}
    parts, read = _described(w, inputs, values)
    got = engine.rows("SELECT " + ", ".join(sure + parts) + f" FROM {SOURCE}")[0]
    if got[0] or (ir.key and got[1] != count):
        return None
    engine.drop("subjects")
    made = engine.view if engine.reads_in_place else engine.table
    made("subjects", f"SELECT {w.ident(ROW)}, {w.ident(NUMBER)}, " + ", ".join(
        [f"{tests[i.name].value(scale[i.name])} AS {w.ident(i.name)}" for i in inputs]
        + [f"{w.ident(source)} AS {w.ident(name)}" for _, source, name in kept]) + f" FROM {SOURCE}")
    return Loaded(read(got[len(sure):]), count, column_of, columns, warnings, {k: name for k, _, name in kept},
                  kept_text)


WIDEST = 10 ** 38  # the integers both engines' tables hold (Spark's DECIMAL(38,0))


def _past_38_digits(engine, w: Words, inputs: list[Input], sure: dict, fixed: list[tuple]) -> bool:
    """Some value's integer at its input's scale needs more than 38 digits: a doubtful row
    the validator accepted, or a checked value raised to the scale a doubtful row needs
    (an engine error in the table of subjects otherwise)."""
    for i in inputs:
        if i.num is None:
            continue
        if any(abs(sc.unscaled(v, i.num.scale)) >= WIDEST for _, _, rec in fixed for v in _numbers(rec[i.name])):
            return True
    raised = [i for i in inputs if i.num is not None and i.num.scale > sure[i.name]]
    if not raised:
        return False
    parts = []
    for i in raised:
        c = w.ident(i.name)
        parts.append(f"max(abs({c}))" if i.kind == "num" else
                     f"max({w.extreme(w.transform(c, 'abs(x)'), True)})")
    got = engine.rows("SELECT " + ", ".join(parts) + f" FROM {CHECKED} WHERE {w.ident(OK)}")[0]
    return any(m is not None and int(m) * 10 ** (i.num.scale - sure[i.name]) >= WIDEST for i, m in zip(raised, got))


def _rescaled(w: Words, i: Input, sure: int) -> str:
    """A checked column (numbers at scale `sure`) at the input's scale."""
    c = w.ident(i.name)
    if i.num is None or i.num.scale == sure:
        return c
    if i.kind == "list":
        return w.transform(c, f"CAST(x * {10 ** (i.num.scale - sure)} AS {w.wide})")
    return f"CAST({c} * {10 ** (i.num.scale - sure)} AS {w.wide})"


KEPT = "#kept "  # a --keep column in `subjects` (and the query's steps): the cells as read


def _kept(keep: tuple[str, ...], column_of: dict, columns: list[str]) -> list[tuple[str, str, str]]:
    """(the --keep column, its column in SOURCE, its column in `subjects`) of each one the file has."""
    return [(k, k if k in column_of else "#keep " + k, KEPT + k) for k in keep if k in column_of or k in columns]


def _kept_text(engine, w: Words, kept: list, column_of: dict, types: dict, text: bool) -> bool:
    """Every kept column is text, some cell not null: what the streamed writers write
    cell for cell as the row path's (perfdsl.io's Parquet writer types a column by its
    Python values: integers as DECIMAL(38,0), a column of nulls only as booleans; numbers,
    dates and lists are worded by perfdsl.io's rules). A CSV cell is always text ("" if empty)."""
    if text or not kept:
        return True
    if any(types[column_of.get(k, k)] != "text" for k, _, _ in kept):
        return False
    return all(engine.rows("SELECT " + ", ".join(f"count({w.ident(source)}) > 0" for _, source, _ in kept)
                           + f" FROM {SOURCE}")[0])


def _numbers(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _present(raw: dict, text: bool) -> dict:
    """A row's cells as perfdsl.io gives them: a CSV cell is text (an empty one ""), a
    Parquet null is a missing field."""
    return raw if text else {k: v for k, v in raw.items() if v is not None}


def _input(spec: tuple, scale: int) -> Input:
    name, kind, *_ = spec
    elem = spec[5]
    if kind in ("num", "whole"):
        return Input(name, "num", sc.Num(scale, 0, 0))
    if kind == "list":
        item = "num" if elem in ("num", "whole") else "bool" if elem == "bool" else "text"
        return Input(name, "list", sc.Num(scale, 0, 0) if item == "num" else None, item)
    return Input(name, "bool" if kind == "bool" else "text")


def describe(engine, inputs: list[Input]) -> list[Input]:
    """Each input as the table `subjects` holds it: numbers with the bounds of their
    integers, lists with their most items (engine.describe's answer, by SQL aggregates)."""
    w = Words(engine.dialect)
    parts, read = _described(w, inputs, {i.name: w.ident(i.name) for i in inputs})
    return read(engine.rows("SELECT " + ", ".join(parts) + " FROM subjects")[0] if parts else ())


def _described(w: Words, inputs: list[Input], value: dict[str, str]):
    """(the aggregates describing the inputs, each input's value as SQL given; what reads
    their answer into the inputs described)."""
    parts = []
    for i in inputs:
        c = value[i.name]
        if i.kind == "num":
            parts += [f"coalesce(min({c}), 0)", f"coalesce(max({c}), 0)"]
        elif i.kind == "list":
            parts += [f"coalesce(max({w.length(c)}), 0)"]
            if i.item == "num":
                parts += [f"coalesce(min({w.extreme(c, False)}), 0)", f"coalesce(max({w.extreme(c, True)}), 0)"]

    def read(answer) -> list[Input]:
        got, out = iter(answer), []
        for i in inputs:
            if i.kind == "num":
                out.append(Input(i.name, "num", sc.Num(i.num.scale, int(next(got)), int(next(got)))))
            elif i.kind == "list":
                most = int(next(got))
                num = sc.Num(i.num.scale, int(next(got)), int(next(got))) if i.item == "num" else None
                out.append(Input(i.name, "list", num, i.item, 1 << max(0, most - 1).bit_length()))
            else:
                out.append(i)
        return out
    return parts, read


class Stored:
    """The records of the subjects in the engine's table, fetched only where the reference
    must word something (engine.evaluate's marked rows), as the validator gives them."""

    def __init__(self, engine, inputs: list[Input]):
        self.engine, self.inputs = engine, inputs

    def rows(self, positions: list[int] | None, names: set[str] | None = None) -> list[tuple[int, dict]]:
        """(number, record) of the subjects at these positions (ROW; None: all), in their
        order; with `names`, records of those inputs only."""
        from .engine import POSITIONS, value
        w = Words(self.engine.dialect)
        inputs = [i for i in self.inputs if names is None or i.name in names]
        kinds = [i.value() for i in inputs]
        where = ""
        if positions is not None:
            self.engine.register_positions(positions)
            where = f" WHERE {w.ident(ROW)} IN (SELECT pos FROM {w.ident(POSITIONS)})"
        got = self.engine.rows(f"SELECT {', '.join([w.ident(NUMBER)] + [w.ident(i.name) for i in inputs])}"
                               f" FROM subjects{where} ORDER BY {w.ident(ROW)}")
        out = []
        for row in got:
            rec = {}
            for i, kind, x in zip(inputs, kinds, row[1:]):
                v = value(kind, x)
                rec[i.name] = tuple(v) if isinstance(v, list) else v
            out.append((row[0], rec))
        return out

    def everything(self) -> tuple[list[dict], list[int]]:
        got = self.rows(None)
        return [r for _, r in got], [n for n, _ in got]
