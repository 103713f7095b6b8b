"""`perfdsl run`'s table path: a CSV or Parquet file read and checked by polars.

Reading a million rows into Python dicts and validating each with the row validator
costs a minute; polars reads and checks the same columns in about a second. So a
file is read as columns (CSV: every cell as text), and each input is cast and checked
in polars in the plainest forms of LANGUAGE.md §12.2 (`12`, `-3.25`, `true`, a tier's
name, `良好;欠佳`): types, ranges, choices, list lengths and duplicate keys. Only the
rows these checks find bad, or cannot be sure of (`1,234`, `95%`, `1e3`, a list written
as JSON), go through perfdsl.validate.Validator, which reads them by the rules of
perfdsl.numbers and words their errors exactly as the row path does: every bad row
listed, nothing written.

A file this path cannot read exactly as perfdsl.io reads it (another encoding, title
rows above the header, a header with blank or repeated names, ragged rows, an empty
file) gives None, and the caller reads it the row way. The result is the typed frame
the columnar backend takes (perfdsl.columnar.evaluate_table), or records for the
python backend.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import polars as pl

from . import io
from .columns import key_names, match_columns, name_columns
from .ir import InputDef, Policy
from .runtime.checks import bool_spellings

INT_TEXT = r"^[+-]?[0-9]{1,18}$"  # fits an Int64 whatever the digits
DEC_TEXT = r"^[+-]?[0-9]{1,20}(\.[0-9]{1,18})?$"  # fits a Decimal(38, s) for any s ≤ 18
DEC_DIGITS = 38
OK = "__perfdsl_ok"  # the column saying a row passed every check


class _RowWay(Exception):
    """The file needs the row reader (see the module docstring)."""


@dataclass
class Table:
    """A data file read for a run: one typed column per input (named by the input), each
    row's number as the user sees it, and what reading said."""
    frame: pl.DataFrame
    numbers: list[int]
    column_of: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    kept: dict[str, pl.Series] = field(default_factory=dict)  # each --keep column found, as read
    all_columns: list[str] = field(default_factory=list)  # the file's


def read_table(ir: Policy, path: str, *, keep: tuple[str, ...] = (), sheet: str | None = None,
               encoding: str | None = None) -> Table | None:
    """The checked table of a CSV or Parquet file; None when the row reader must read it;
    DataError naming every bad row and field."""
    suffix = Path(path).suffix.lower()
    if sheet is not None or encoding is not None or suffix not in (".csv", ".parquet"):
        return None
    try:
        if suffix == ".csv":
            raw, first = _csv_frame(Path(path), key_names(ir)), 2
        else:
            raw, first = io.read_parquet_frame(Path(path)), 1
        if raw.height == 0:
            return None
        return _checked(ir, raw, first, keep)
    except _RowWay:
        return None


# ---- CSV as text ---------------------------------------------------------------------------
def _csv_frame(path: Path, keys: tuple[str, ...]) -> pl.DataFrame:
    """Every cell of a UTF-8 CSV file whose first row is the header, as text (a short row's
    missing cells as "", a formula-guarded cell unescaped as perfdsl.io does)."""
    try:
        data = path.read_bytes()
    except OSError:
        raise _RowWay from None  # the row reader words it
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise _RowWay from None
    if data.count(b"\r") != data.count(b"\r\n") or not data.strip():
        raise _RowWay  # a bare CR (Python's csv ends a record there, polars not), or an empty file
    try:
        frame = pl.read_csv(data, infer_schema=False, has_header=True, empty_string_is_null=False,
                            raise_if_empty=False)
    except Exception:  # noqa: BLE001 — ragged rows, stray quotes, repeated names: the row reader words them
        raise _RowWay from None
    header = frame.columns
    if not header or any(not c or c != c.strip() or c[:1] == "'" or "_duplicated_" in c for c in header):
        raise _RowWay  # blank, padded, guarded or repeated names (polars renames those): the row reader's rules
    if keys and not any(c in keys for c in header):
        raise _RowWay  # title rows above the header
    frame = frame.with_columns(pl.all().fill_null(""))
    marks = frame.select(pl.all().str.starts_with("'").any()).row(0, named=True)
    guarded = [c for c, marked in marks.items() if marked]
    if guarded:
        frame = frame.with_columns([_unescaped(pl.col(c)) for c in guarded])
    return frame


_FORMULA_START = sorted(io.FORMULA_START)


def _unescaped(c: pl.Expr) -> pl.Expr:
    """perfdsl.io's _csv_unescape as a column expression."""
    guarded = c.str.starts_with("'") & c.str.strip_chars_start("'").str.slice(0, 1).is_in(_FORMULA_START)
    return pl.when(guarded).then(c.str.slice(1)).otherwise(c)


# ---- the checks ------------------------------------------------------------------------------
@dataclass
class _Check:
    ok: pl.Expr       # the cell is surely valid, and `value` is its value
    value: pl.Expr
    scale: pl.Expr | None = None  # decimals in text: the fraction digits, for the column's scale


def _check(ir: Policy, inp: InputDef, dtype: pl.DataType) -> _Check:
    c, kind = pl.col(inp.name), inp.type.kind
    text = dtype == pl.String
    if kind == "num":
        if text and inp.is_int:
            return _Check(c.str.contains(INT_TEXT), c.cast(pl.Int64, strict=False))
        if text:
            return _Check(c.str.contains(DEC_TEXT), c, c.str.extract(r"\.([0-9]+)$").str.len_chars().fill_null(0))
        if dtype.is_integer():
            return _Check(c.is_not_null(), c)
        if isinstance(dtype, pl.Decimal):
            ok = c.is_not_null()
            if inp.is_int and dtype.scale:
                ok = ok & (c.to_physical() % pl.lit(10 ** dtype.scale, dtype=pl.Int128) == 0)
            return _Check(ok, c)
        return _Check(pl.lit(False), c)  # floats and the rest: the validator says why
    if kind == "bool":
        if text:
            return _Check(c.is_in(bool_spellings(True) + bool_spellings(False)), c.is_in(bool_spellings(True)))
        return _Check(c.is_not_null() if dtype == pl.Boolean else pl.lit(False), c)
    if kind in ("text", "tier"):
        if dtype != pl.String:
            return _Check(pl.lit(False), c)
        allowed = _allowed(ir, inp.type) if kind == "tier" else inp.choices
        return _Check(c.is_not_null() if allowed is None else c.is_in(list(allowed)), c)
    if kind == "list" and inp.type.elem.kind in ("text", "tier"):
        allowed = _allowed(ir, inp.type.elem)
        if text:  # `a;b` (or `a；b`), spaces around items dropped; JSON lists are the validator's
            items = c.str.replace_all("；", ";", literal=True).str.split(";").list.eval(
                pl.element().str.strip_chars(" ")).list.eval(pl.element().filter(pl.element() != ""))
            ok = ~c.str.strip_chars(" ").str.starts_with("[")
        elif dtype == pl.List(pl.String):
            items, ok = c, c.is_not_null() & c.list.eval(pl.element().is_not_null()).list.all()
        else:
            return _Check(pl.lit(False), c)
        if allowed is not None:
            ok = ok & items.list.eval(pl.element().is_in(list(allowed))).list.all()
        if inp.length is not None:
            n = items.list.len()
            if inp.length.lo is not None:
                ok = ok & (n >= int(inp.length.lo))
            if inp.length.hi is not None:
                ok = ok & (n <= int(inp.length.hi))
        return _Check(ok, items)
    return _Check(pl.lit(False), c)


def _allowed(ir: Policy, t) -> tuple[str, ...] | None:
    if t.kind == "tier":
        return ir.definition(t.tierset).tiers.names()
    return None


def _in_range(inp: InputDef, value: pl.Expr, scale: int) -> pl.Expr:
    """The declared range of a number column (a Decimal at `scale`, or integers), compared
    as unscaled integers: exact, no rounding of the bounds' digits."""
    import math
    from fractions import Fraction
    rng, ok = inp.range, pl.lit(True)
    if inp.type.kind != "num" or rng is None:
        return ok
    u = value.to_physical().cast(pl.Int128)
    if rng.lo is not None:
        ok = ok & (u >= pl.lit(math.ceil(Fraction(rng.lo) * 10 ** scale), dtype=pl.Int128))
    if rng.hi is not None:
        ok = ok & (u <= pl.lit(math.floor(Fraction(rng.hi) * 10 ** scale), dtype=pl.Int128))
    return ok


def _checked(ir: Policy, raw: pl.DataFrame, first: int, keep: tuple[str, ...]) -> Table:
    column_of, warnings = match_columns(ir, raw.columns, keep)
    kept = {k: raw.get_column(column_of.get(k) or k) for k in keep if (column_of.get(k) or k) in raw.columns}
    source = raw.select([pl.col(column_of[i.name]).alias(i.name) for i in ir.inputs])
    if raw.schema and all(raw.schema[c] == pl.String for c in raw.columns):  # CSV: blank rows are skipped
        blank = pl.all_horizontal([pl.col(c) == "" for c in raw.columns])
        index = raw.select(pl.int_range(pl.len()).filter(~blank)).to_series()
        if index.len() < raw.height:
            source, kept = source[index], {k: s.gather(index) for k, s in kept.items()}
    else:
        index = pl.Series(range(raw.height))
    if source.height == 0:
        raise _RowWay
    numbers = (index + first).to_list()
    checks = {i.name: _check(ir, i, source.schema[i.name]) for i in ir.inputs}
    scales = source.select([ch.scale.filter(ch.ok).max().alias(n) for n, ch in checks.items()
                            if ch.scale is not None]).row(0, named=True) if any(
        ch.scale is not None for ch in checks.values()) else {}
    values, oks = [], []
    for inp in ir.inputs:
        ch, dtype = checks[inp.name], source.schema[inp.name]
        value, scale = ch.value, (dtype.scale or 0) if isinstance(dtype, pl.Decimal) else 0
        if ch.scale is not None:
            scale = scales[inp.name] or 0
            value = value.cast(pl.Decimal(DEC_DIGITS, scale), strict=False)
        oks.append((ch.ok & _in_range(inp, value, scale)).fill_null(False))
        values.append(value.alias(inp.name))
    typed = source.lazy().select(*values, pl.all_horizontal(oks).alias(OK)).collect()
    ok = typed.get_column(OK)
    typed = typed.drop(OK)
    try:
        typed = _resolve(ir, source, typed, ok, numbers)
    except io.DataError as err:
        raise name_columns(err, column_of) from None
    return Table(typed, numbers, column_of, warnings, kept, list(raw.columns))


def _resolve(ir: Policy, source: pl.DataFrame, typed: pl.DataFrame, ok: pl.Series, numbers: list[int]) -> pl.DataFrame:
    """Send the rows the checks doubt (and every row of a repeated key) through the
    validator: DataError if any is bad, else their values put into the typed frame."""
    from .validate import Validator
    key = ir.key
    doubt = ~ok
    if key is not None:
        k = typed.get_column(key)
        if k.hash().n_unique() < k.len():  # distinct hashes are far cheaper to count than repeats to mark
            doubt = doubt | (k.is_duplicated() & ok)
    rows = doubt.arg_true().to_list()
    if not rows:
        return typed
    validator = Validator(ir)
    raw = source[rows].to_dicts()
    records, problems, _ = validator.many([(numbers[r], _present(rec)) for r, rec in zip(rows, raw)])
    if problems:
        raise io.DataError(problems)
    fixed = {r: rec for r, rec, good in zip(rows, records, ok.gather(rows).to_list()) if not good}
    if not fixed:
        return typed
    columns = []
    for inp in ir.inputs:
        values = typed.get_column(inp.name).to_list()
        for r, rec in fixed.items():
            values[r] = rec[inp.name]
        columns.append(_series(inp, values))
    typed = pl.DataFrame(columns)
    if key is not None and typed.get_column(key).is_duplicated().any():
        raise _RowWay  # keys that only repeat once read (`1,000` and `1000`): the row way words it
    return typed


def _present(record: dict) -> dict:
    """A Parquet row's fields without its nulls (a missing field, as the row reader gives it)."""
    return {k: v for k, v in record.items() if v is not None} if None in record.values() else record


def _series(inp: InputDef, values: list) -> pl.Series:
    kind = inp.type.kind
    if kind == "num":
        if all(isinstance(v, int) for v in values) and all(abs(v) < 2 ** 63 for v in values):
            return pl.Series(inp.name, values, dtype=pl.Int64)
        decs = [Decimal(v) for v in values]
        scale = max(max(0, -d.as_tuple().exponent) for d in decs)
        if scale + max(max(0, d.adjusted() + 1) for d in decs) > DEC_DIGITS:
            raise _RowWay  # wider than a Decimal column
        return pl.Series(inp.name, decs, dtype=pl.Decimal(DEC_DIGITS, scale))
    if kind == "bool":
        return pl.Series(inp.name, values, dtype=pl.Boolean)
    if kind == "list":
        if not all(isinstance(x, str) for v in values for x in v):
            raise _RowWay
        return pl.Series(inp.name, [list(v) for v in values], dtype=pl.List(pl.String))
    return pl.Series(inp.name, values, dtype=pl.String)


def records(ir: Policy, frame: pl.DataFrame) -> list[dict]:
    """The typed frame as the validated records the python backend takes (numbers as
    Decimals, lists as tuples)."""
    nums = [i.name for i in ir.inputs if i.type.kind == "num"]
    lists = [i.name for i in ir.inputs if i.type.kind == "list"]
    out = frame.to_dicts()
    if nums or lists:
        for rec in out:
            for n in nums:
                v = rec[n]
                if type(v) is int:
                    rec[n] = Decimal(v)
            for n in lists:
                rec[n] = tuple(rec[n])
    return out


# ---- writing ---------------------------------------------------------------------------------
def results_frame(ir: Policy, results: list, kept: dict[str, pl.Series], path: str,
                  layout: io.Layout) -> pl.DataFrame | None:
    """The python backend's results as an output frame for write_frame (the key, every output,
    `flags` joined by `;`, the kept columns); None where write_frame would not write it."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet") or (suffix == ".csv" and layout.encoding is not None):
        return None
    names = ([ir.key] if ir.key else []) + [n for n in ir.output_names() if n != ir.key]
    columns = []
    for name in names:
        if name == ir.key:
            values = [r.record[name] for r in results]
        else:
            values = [r.values.get(name) for r in results]
        series = _series_of(name, values)
        if series is None:
            return None
        columns.append(series)
    columns.append(pl.Series("flags", [";".join(r.flags) for r in results], dtype=pl.String))
    return pl.DataFrame(columns, height=len(results)).with_columns(
        [s.alias(k) for k, s in kept.items()])


def _series_of(name: str, values: list) -> pl.Series | None:
    """Python values as a column write_frame writes as perfdsl.io would (None: it cannot)."""
    kinds = {type(v) for v in values} - {type(None)}
    if kinds <= {str}:
        return pl.Series(name, values, dtype=pl.String)
    if kinds == {bool}:
        return pl.Series(name, values, dtype=pl.Boolean)
    if kinds <= {Decimal, int}:
        return _decimal_series(name, values)
    return None


def _decimal_series(name: str, values: list) -> pl.Series | None:
    """Exact numbers as a Decimal(38, s) column, through their text (str() of a Decimal is
    exact and cheap; one with an exponent is written out by numbers.decimal_text first)."""
    from .numbers import decimal_text
    text = pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.String)
    exponent = text.str.contains("[Ee]")
    if exponent.any():
        rows = exponent.arg_true().to_list()
        text = text.scatter(rows, [decimal_text(Decimal(values[r])) for r in rows])
    parts = pl.DataFrame(text).select(pl.col(name).str.extract(r"\.([0-9]*)$").str.len_chars().max().alias("s"),
                                      pl.col(name).str.extract(r"^-?([0-9]*)").str.len_chars().max().alias("w"))
    scale, whole = parts.row(0)
    scale, whole = scale or 0, whole or 0
    if scale + whole > DEC_DIGITS:
        return None
    return text.cast(pl.Decimal(DEC_DIGITS, scale))


def write_frame(path: str, frame: pl.DataFrame, columns: list[str], layout: io.Layout,
                labels: list[str]) -> list[str] | None:
    """Write a run's output frame (a column per output name, `flags` joined by `;`) to CSV
    or Parquet with polars, exactly as perfdsl.io writes the same values (Parquet: flags
    as a list); None, with nothing written, for what polars cannot write so (another
    format or encoding, a column of Python objects, a flag label holding `;`)."""
    return write_frames(path, iter([frame]), columns, layout, labels)


def write_frames(path: str, frames, columns: list[str], layout: io.Layout,
                 labels: list[str]) -> list[str] | None:
    """write_frame for an output handed over in frames of one schema (a SQL engine's
    batches, in order), each written as it comes: CSV the same bytes as the whole frame
    gives; Parquet the same cells (the parts streamed into one file by polars). The file
    is replaced only once all is written; None, with nothing written and no frame read
    past the first, where write_frame would give None."""
    first = next(frames)
    encode = _encoder(Path(path).suffix.lower(), first.schema, columns, layout, labels)
    if encode is None:
        return None
    target = Path(path)
    rest = next(frames, None)
    if rest is None:  # one frame: one write
        io.write_atomically(target, encode(first, True))
        return layout.notes
    import itertools
    import os
    import tempfile
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as tmp:
        out = Path(tmp) / target.name
        if target.suffix.lower() == ".parquet":
            parts = []
            for k, frame in enumerate(itertools.chain([first, rest], frames)):
                parts.append(Path(tmp) / f"part-{k:06d}.parquet")
                parts[-1].write_bytes(encode(frame, k == 0))
            pl.scan_parquet(parts).sink_parquet(out)
        else:
            with open(out, "wb") as f:
                for k, frame in enumerate(itertools.chain([first, rest], frames)):
                    f.write(encode(frame, k == 0))
                f.flush()
                os.fsync(f.fileno())
        if target.exists():
            import shutil
            shutil.copymode(target, out)
        os.replace(out, target)
    return layout.notes


def _encoder(suffix: str, schema, columns: list[str], layout: io.Layout, labels: list[str]):
    """frame, first → the bytes write_frame writes of it (the header only with the first)."""
    if suffix not in (".csv", ".parquet") or (suffix == ".csv" and layout.encoding is not None):
        return None
    if suffix == ".parquet" and "flags" in columns and any(";" in label for label in labels):
        return None
    if not all(_writable(schema[c], suffix) for c in columns if not (suffix == ".parquet" and c == "flags")):
        return None
    titles = layout.titles or columns
    io.check_columns(titles)
    if suffix == ".parquet":
        def parquet(frame: pl.DataFrame, first: bool) -> bytes:
            if "flags" in columns:
                flags = pl.col("flags")
                frame = frame.with_columns(pl.when(flags == "").then(pl.lit([], dtype=pl.List(pl.String)))
                                           .otherwise(flags.str.split(";")).alias("flags"))
            return io.parquet_bytes(frame.select([_parquet_column(c, frame.schema[c], layout.places.get(c, 0)).alias(t)
                                                  for c, t in zip(columns, titles)]))
        return parquet
    header = codecs.BOM_UTF8 + io.csv_line([io.csv_escape(t) for t in titles]).encode("utf-8")

    def csv(frame: pl.DataFrame, first: bool) -> bytes:
        cells = [_csv_cell(pl.col(c), schema[c], layout.places.get(c, 0)) for c in columns]
        body = frame.select(pl.concat_str(cells, separator=",").alias("line")).write_csv(
            include_header=False, quote_style="never")
        return (header if first else b"") + body.encode("utf-8")
    return csv


def _writable(dtype: pl.DataType, suffix: str) -> bool:
    return (dtype in (pl.String, pl.Boolean) or dtype.is_integer() or isinstance(dtype, pl.Decimal)
            or (suffix == ".parquet" and dtype == pl.List(pl.String)))


def _number_text(c: pl.Expr, dtype: pl.DataType, places: int) -> pl.Expr:
    """numbers.decimal_text as a column expression: no exponent, no trailing fractional
    zeros, "0" for negative zero; with `places`, at least that many decimals."""
    text = c.cast(pl.String)
    if isinstance(dtype, pl.Decimal) and dtype.scale:
        text = text.str.strip_chars_end("0").str.strip_chars_end(".")
        text = pl.when(text == "-0").then(pl.lit("0")).otherwise(text)
    if places:
        parts = text.str.split_exact(".", 1)
        frac = parts.struct.field("field_1").fill_null("")
        text = pl.concat_str([parts.struct.field("field_0"), pl.lit("."), frac.str.pad_end(places, "0")])
    return text


def _csv_cell(c: pl.Expr, dtype: pl.DataType, places: int) -> pl.Expr:
    """A column as CSV cells by perfdsl.io's rules: numbers as written, booleans as
    true/false, text guarded against formulas, any cell with , " CR or LF quoted."""
    if dtype == pl.Boolean:
        return pl.when(c).then(pl.lit("true")).otherwise(pl.lit("false")).fill_null("")
    if dtype != pl.String:
        return _number_text(c, dtype, places).fill_null("")
    guard = c.str.strip_chars_start("'").str.slice(0, 1).is_in(_FORMULA_START)
    text = pl.when(guard).then(pl.concat_str([pl.lit("'"), c])).otherwise(c)
    quoted = pl.concat_str([pl.lit('"'), text.str.replace_all('"', '""', literal=True), pl.lit('"')])
    return pl.when(text.str.contains('[,"\r\n]')).then(quoted).otherwise(text).fill_null("")


def _parquet_column(c: str, dtype: pl.DataType, places: int) -> pl.Expr:
    """An output column for Parquet: a number as an exact Decimal showing at least
    `places` decimals; the rest as they are."""
    col = pl.col(c)
    if isinstance(dtype, pl.Decimal) and places > (dtype.scale or 0):
        return col.cast(pl.Decimal(DEC_DIGITS, places))
    if dtype.is_integer():
        return col.cast(pl.Decimal(DEC_DIGITS, places)) if places else col
    return col
