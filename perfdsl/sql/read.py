"""`perfdsl run --backend duckdb`: a CSV or Parquet file read and validated in the engine.

Reading every row into Python, validating it there and loading it back is where a
million-subject run spent its minute, and it holds the whole file in Python lists. So
DuckDB reads the file in place (CSV: every cell as text), and one query tests every
input cell for being surely valid in the plainest forms the column checks of
perfdsl.frame_io take (`12`, `-3.25`, `true`, a choice, `良好;欠佳`; the same spellings,
patterns and bounds): types, ranges, choices, list lengths, and repeated keys by a
count. Only the rows it doubts are fetched and given to perfdsl.validate.Validator,
which reads them by the rules of perfdsl.numbers and words their errors exactly as the
python backend does (row numbers, fields, every bad row listed, nothing written); the
rows it accepts are put back. The good rows become the table of scaled integers the
query reads without leaving the engine, and `describe` (each number's scale and the
bounds of its integers, each list's most items) is a few aggregates over that table.

A file this path cannot read exactly as perfdsl.io reads it (blank lines, a bare CR,
another encoding, title rows above the header, a header with blank, padded, guarded or
repeated names, ragged rows, no rows) gives None: the caller then reads it the row way.
"""
from __future__ import annotations

import codecs
import csv
import io as stdio
import math
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
from .query import ROW, Input

NUMBER = "#number"  # the row's number as the user sees it (a CSV file's header is row 1)
OK = "#ok"
SOURCE, CHECKED, FIXED = "perfdsl_source", "perfdsl_checked", "perfdsl_fixed"
# the characters str.strip() removes besides the space: a list cell holding one is doubtful
OTHER_SPACE = r"[\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def lit(text: str) -> str:
    return exp.Literal.string(text).sql("duckdb")


def _strings(values) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]::VARCHAR[]"


@dataclass
class Loaded:
    """A file in the engine's table `subjects` (ROW, NUMBER and one column per input):
    the inputs as described, how many subjects, and what reading matched and warned."""
    inputs: list[Input]
    count: int
    column_of: dict[str, str]
    columns: list[str]
    warnings: list[str]
    kept: list  # the --keep columns' cells, one io.RawRow a subject (by the file's column names)


def load_file(ir, path: str, con, keep: tuple[str, ...] = ()) -> Loaded | None:
    """The file checked into `subjects` on the DuckDB connection `con`; None when the row
    reader must read it; DataError naming every bad row and field as the python backend."""
    import duckdb
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        first = _csv_header(p, key_names(ir))
        if first is None:
            return None
        reader = (f"read_csv({lit(str(p))}, all_varchar = true, header = true, delim = ',', quote = '\"', "
                  "escape = '\"', strict_mode = true, null_padding = false, auto_detect = false, "
                  f"max_line_size = {csv.field_size_limit()}, "
                  "columns = {" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in first) + "})")
    elif suffix == ".parquet":
        reader = f"read_parquet({lit(str(p))}, file_row_number = true)"
    else:
        return None
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        types = {name: kind for name, kind, *_ in described}
        columns = [c for c in types if c != "file_row_number" or suffix == ".csv"]
        if suffix == ".csv" and columns != first:
            return None
        try:
            column_of, warnings = match_columns(ir, columns, keep)
        except io.DataError:
            if con.execute(f"SELECT count(*) FROM {reader}").fetchone()[0] == 0:
                return None  # no subjects, which the row reader says first
            raise
        _source(con, ir, reader, suffix, column_of, keep, types)
    except duckdb.Error:
        return None  # ragged rows, stray quotes, a file DuckDB cannot read: the row reader words it
    try:
        return _checked(ir, con, column_of, columns, warnings, keep, {i.name: types[column_of[i.name]] for i in ir.inputs},
                        text=suffix == ".csv")
    except io.DataError as err:
        raise name_columns(err, column_of) from None
    except duckdb.Error:
        return None  # a cell DuckDB would not convert as the checks expect: the row reader reads it


def _csv_header(path: Path, keys: tuple[str, ...]) -> list[str] | None:
    """The header of a UTF-8 CSV file DuckDB reads as perfdsl.io does, or None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    data = data.removeprefix(codecs.BOM_UTF8)
    if (not data.strip() or data.count(b"\r") != data.count(b"\r\n") or b"\n\n" in data or b"\n\r\n" in data
            or data.startswith((b"\n", b"\r"))):
        return None  # blank lines (DuckDB skips them, which would renumber the rows), a bare CR, no rows
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
    return header


def _source(con, ir, reader: str, suffix: str, column_of: dict, keep: tuple[str, ...], types: dict) -> None:
    """SOURCE: ROW (0-based, in file order), NUMBER, each input's cell as read (a CSV cell
    as perfdsl.io reads it: "" for empty, a formula guard taken off), each kept column."""
    wanted = [(i.name, column_of[i.name]) for i in ir.inputs] + [
        ("#keep " + k, k) for k in keep if k in types and k not in column_of]
    if suffix == ".csv":
        cells = [f"{_unguarded(f'coalesce({ident(c)}, {lit(str())})')} AS {ident(n)}" for n, c in wanted]
        blank = " AND ".join(f"coalesce({ident(c)}, '') = ''" for c in dict.fromkeys(types))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {SOURCE} AS SELECT (row_number() OVER () - 1)::BIGINT AS {ident(ROW)}, "
                    f"{ident(NUMBER)}, {', '.join(cells)} FROM (SELECT (row_number() OVER () + 1)::BIGINT AS "
                    f"{ident(NUMBER)}, * FROM {reader}) WHERE NOT ({blank})")
    else:
        cells = [f"{ident(c)} AS {ident(n)}" for n, c in wanted]
        con.execute(f"CREATE OR REPLACE TEMP VIEW {SOURCE} AS SELECT file_row_number::BIGINT AS {ident(ROW)}, "
                    f"(file_row_number + 1)::BIGINT AS {ident(NUMBER)}, {', '.join(cells)} FROM {reader}")


def _unguarded(cell: str) -> str:
    """perfdsl.io's _csv_unescape in SQL: `'=1` is read as `=1`."""
    starts = ", ".join(lit(s) for s in sorted(io.FORMULA_START))
    return (f"CASE WHEN starts_with({cell}, '''') AND list_contains([{starts}], "
            f"substr(ltrim({cell}, ''''), 1, 1)) THEN substr({cell}, 2) ELSE {cell} END")


@dataclass
class _Test:
    """One input's test: `ok`, SQL saying the cell is surely valid; `value(scale)` its value
    as the table holds it (numbers as integers at `scale`); `places`, for numbers, the
    decimals the cell needs."""
    ok: object  # SQL text, or for numbers a function of the scale giving it
    value: object
    places: str | None = None
    form: str | None = None  # for numbers: the written form alone (the cells the scale is taken from)


def _test(spec: tuple, dtype: str, text: bool) -> _Test:
    """The SQL test of one input column (runtime.checks.fields' spec, the column's type)."""
    name, kind, lo, hi, choices, elem, min_len, max_len = spec
    c = ident(name)
    if kind in ("num", "whole"):
        if dtype == "VARCHAR":
            digits = f"regexp_extract({c}, '^([+-]?[0-9]+)', 1)"
            if kind == "whole":
                ok = f"regexp_full_match({c}, {lit(INT_TEXT)})"
                return _ranged(ok, lambda s: f"(CAST({digits} AS HUGEINT) * {10 ** s})", lo, hi)
            frac = f"rtrim(regexp_extract({c}, '\\.([0-9]+)$', 1), '0')"
            ok = f"regexp_full_match({c}, {lit(DEC_TEXT)})"
            return _ranged(ok, lambda s: f"CAST({digits} || rpad({frac}, {s}, '0') AS HUGEINT)", lo, hi,
                           f"length({frac})")
        if dtype in _INTEGERS:
            return _ranged(f"{c} IS NOT NULL", lambda s: f"(CAST({c} AS HUGEINT) * {10 ** s})", lo, hi, "0")
        if dtype.startswith("DECIMAL("):  # exact; its places by arithmetic, not through its text
            scale = int(dtype.rstrip(")").split(",")[1])
            if scale <= 18:  # a 64-bit decimal where the value fits one (7× faster than 128 bits; else doubtful)
                c = f"TRY_CAST({c} AS DECIMAL(18, {scale}))"
            if kind == "whole":
                return _ranged(f"{c} IS NOT NULL AND {c} % 1 = 0", lambda s: f"(CAST({c} AS HUGEINT) * {10 ** s})",
                               lo, hi)
            places = "CASE " + " ".join(f"WHEN ({c} * {10 ** k}) % 1 = 0 THEN {k}" for k in range(scale)) + f" ELSE {scale} END"
            return _ranged(f"{c} IS NOT NULL", lambda s: f"CAST({c} * {10 ** s} AS HUGEINT)", lo, hi, places)
        return _Test("false", lambda s: "NULL::HUGEINT")
    if kind == "bool":
        if dtype == "VARCHAR":
            return _Test(f"list_contains({_strings(bool_spellings(True) + bool_spellings(False))}, {c})",
                         lambda s: f"list_contains({_strings(bool_spellings(True))}, {c})")
        return _Test(f"{c} IS NOT NULL" if dtype == "BOOLEAN" else "false", lambda s: c)
    if kind in ("text", "choice"):
        if dtype != "VARCHAR":
            return _Test("false", lambda s: c)
        return _Test(f"{c} IS NOT NULL" if choices is None else f"list_contains({_strings(choices)}, {c})",
                     lambda s: c)
    if kind == "list" and elem in ("text", "choice"):
        if dtype == "VARCHAR":  # `a;b` (or `a；b`), spaces around items dropped; JSON lists are the validator's
            items = (f"list_filter(list_transform(string_split(replace({c}, '；', ';'), ';'), x -> trim(x, ' ')), "
                     "x -> x <> '')")
            ok = f"NOT starts_with(ltrim({c}, ' '), '[') AND NOT regexp_matches({c}, {lit(OTHER_SPACE)})"
        elif dtype == "VARCHAR[]":
            items, ok = c, f"{c} IS NOT NULL AND list_count({c}) = len({c})"
        else:
            return _Test("false", lambda s: "NULL::VARCHAR[]")
        if choices is not None:
            ok += f" AND list_has_all({_strings(choices)}, {items})"
        if min_len:
            ok += f" AND len({items}) >= {int(min_len)}"
        if max_len is not None:
            ok += f" AND len({items}) <= {int(max_len)}"
        return _Test(f"({ok})", lambda s: items)
    return _Test("false", lambda s: "NULL")


def _ranged(ok: str, value, lo: Decimal | None, hi: Decimal | None, places: str | None = None) -> _Test:
    """A number's test with its declared range, compared as integers at the column's scale
    (exact: no rounding of the bounds' digits)."""
    def within(s: int) -> str:
        out = ok
        if lo is not None:
            out += f" AND {value(s)} >= CAST({lit(str(math.ceil(Fraction(lo) * 10 ** s)))} AS HUGEINT)"
        if hi is not None:
            out += f" AND {value(s)} <= CAST({lit(str(math.floor(Fraction(hi) * 10 ** s)))} AS HUGEINT)"
        return out
    return _Test(within, value, places, ok)


def _checked(ir, con, column_of: dict, columns: list[str], warnings: list[str], keep: tuple[str, ...],
             types: dict[str, str], text: bool) -> Loaded | None:
    specs = fields(ir)
    tests = {spec[0]: _test(spec, types[spec[0]], text) for spec in specs}
    count = con.execute(f"SELECT count(*) FROM {SOURCE}").fetchone()[0]
    if count == 0:
        return None  # no subjects: the row reader says so
    placed = [n for n, t in tests.items() if t.places is not None]
    scale = dict.fromkeys(tests, 0)
    if placed:
        first = {n: tests[n].form for n in placed}
        row = con.execute("SELECT " + ", ".join(
            f"coalesce(max({tests[n].places}) FILTER (WHERE {first[n]}), 0)" for n in placed) + f" FROM {SOURCE}").fetchone()
        scale.update(zip(placed, row))
    oks = {n: (t.ok(scale[n]) if callable(t.ok) else t.ok) for n, t in tests.items()}
    values = [f"CASE WHEN {oks[n]} THEN {t.value(scale[n])} END AS {ident(n)}" for n, t in tests.items()]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS SELECT {ident(ROW)}, {ident(NUMBER)}, {', '.join(values)}, "
                f"coalesce({' AND '.join(f'({o})' for o in oks.values())}, false) AS {ident(OK)} FROM {SOURCE}")
    doubt = f"NOT {ident(OK)}"
    key = ir.key
    if key is not None:
        k = ident(key)
        total, distinct = con.execute(f"SELECT count(*), count(DISTINCT {k}) FROM {CHECKED} WHERE {ident(OK)}").fetchone()
        if distinct < total:  # every row of a repeated key: the validator names the repeats
            doubt += (f" OR {k} IN (SELECT {k} FROM {CHECKED} WHERE {ident(OK)} GROUP BY {k} HAVING count(*) > 1)")
    inputs_sql = ", ".join(ident(i.name) for i in ir.inputs)
    doubtful = con.execute(f"SELECT s.{ident(NUMBER)}, s.{ident(ROW)}, {', '.join('s.' + ident(i.name) for i in ir.inputs)} "
                           f"FROM {SOURCE} s JOIN (SELECT {ident(ROW)} FROM {CHECKED} WHERE {doubt}) d USING ({ident(ROW)}) "
                           f"ORDER BY s.{ident(ROW)}").fetchall()
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
    for spec in specs:
        if spec[1] == "list" and spec[5] in ("num", "whole"):
            scale[spec[0]] = max([0] + [sc.places(v) for _, _, rec in fixed for v in rec[spec[0]]])
    inputs = [_input(spec, scale[spec[0]]) for spec in specs]
    if fixed:
        _load_fixed(con, inputs, fixed)
        if key is not None and con.execute(
                f"SELECT count(*) FROM {FIXED} f JOIN {CHECKED} c ON c.{ident(OK)} AND c.{ident(key)} = f.{ident(key)}"
        ).fetchone()[0]:  # keys that only repeat once read (`1,000` and `1000`): every row, as the python backend
            everything = con.execute(f"SELECT {ident(NUMBER)}, {inputs_sql} FROM {SOURCE} ORDER BY {ident(ROW)}").fetchall()
            _, problems, _ = Validator(ir).many([(r[0], _present(dict(zip(names, r[1:])), text)) for r in everything])
            raise io.DataError(problems)
    good = [f"{ident(i.name)} * {10 ** (i.num.scale - sure[i.name])}" if i.kind == "num" and i.num.scale != sure[i.name]
            else ident(i.name) for i in inputs]
    rows = f"SELECT {ident(ROW)}, {ident(NUMBER)}, " + ", ".join(
        f"{g} AS {ident(i.name)}" for g, i in zip(good, inputs)) + f" FROM {CHECKED} WHERE {ident(OK)}"
    con.execute("DROP TABLE IF EXISTS subjects")
    if not doubtful:  # every row surely fine: the checked table is the table of subjects, not copied
        con.execute(f"ALTER TABLE {CHECKED} RENAME TO subjects")
    else:
        if fixed:
            rows += f" UNION ALL SELECT {ident(ROW)}, {ident(NUMBER)}, {inputs_sql} FROM {FIXED} ORDER BY {ident(ROW)}"
        con.execute(f"CREATE TEMP TABLE subjects AS {rows}")
        con.execute(f"DROP TABLE {CHECKED}")
    loaded = Loaded(describe(con, inputs), count, column_of, columns, warnings, _kept(con, keep, column_of, columns))
    con.execute(f"DROP TABLE IF EXISTS {FIXED}")
    if text:
        con.execute(f"DROP TABLE {SOURCE}")  # the file's text, read: only the checked table is needed now
    return loaded


def _kept(con, keep: tuple[str, ...], column_of: dict, columns: list[str]) -> list:
    """Each subject's --keep cells as read, by the file's column names (perfdsl.kept.copy_kept's rows)."""
    found = [(ident(k), column_of[k]) if k in column_of else (ident("#keep " + k), k) for k in keep
             if k in column_of or k in columns]
    if not found:
        return []
    got = con.execute(f"SELECT s.{ident(NUMBER)}, " + ", ".join(f"s.{c}" for c, _ in found) + f" FROM {SOURCE} s "
                      f"JOIN subjects USING ({ident(ROW)}) ORDER BY {ident(ROW)}").fetchall()
    return [io.RawRow(r[0], {name: v for (_, name), v in zip(found, r[1:]) if v is not None}) for r in got]


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


def _load_fixed(con, inputs: list[Input], fixed: list[tuple]) -> None:
    """FIXED: the doubtful rows the validator accepted, as the table of subjects holds them."""
    from .engine import DuckDB
    DuckDB(con).load(inputs, [rec for _, _, rec in fixed], FIXED, [r for r, _, _ in fixed], [n for _, n, _ in fixed])


def describe(con, inputs: list[Input]) -> list[Input]:
    """Each input as the table `subjects` holds it: numbers with the bounds of their
    integers, lists with their most items (engine.describe's answer, by SQL aggregates)."""
    parts = []
    for i in inputs:
        c = ident(i.name)
        if i.kind == "num":
            parts += [f"coalesce(min({c}), 0)", f"coalesce(max({c}), 0)"]
        elif i.kind == "list":
            parts += [f"coalesce(max(len({c})), 0)"]
            if i.item == "num":
                parts += [f"coalesce(min(list_min({c})), 0)", f"coalesce(max(list_max({c})), 0)"]
    got = iter(con.execute("SELECT " + ", ".join(parts) + " FROM subjects").fetchone() if parts else ())
    out = []
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


class Stored:
    """The records of the subjects in the engine's table, fetched only where the reference
    must word something (engine.evaluate's marked rows), as the validator gives them."""

    def __init__(self, con, inputs: list[Input]):
        self.con, self.inputs = con, inputs

    def rows(self, positions: list[int] | None, names: set[str] | None = None) -> list[tuple[int, dict]]:
        """(number, record) of the subjects at these positions (ROW; None: all), in their
        order; with `names`, records of those inputs only."""
        from .engine import POSITIONS, register_positions, value
        inputs = [i for i in self.inputs if names is None or i.name in names]
        kinds = [i.value() for i in inputs]
        where = ""
        if positions is not None:
            register_positions(self.con, positions)
            where = f" WHERE {ident(ROW)} IN (SELECT pos FROM {ident(POSITIONS)})"
        got = self.con.execute(f"SELECT {', '.join([ident(NUMBER)] + [ident(i.name) for i in inputs])}"
                               f" FROM subjects{where} ORDER BY {ident(ROW)}").fetchall()
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
