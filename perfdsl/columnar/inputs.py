"""A polars DataFrame of input records → the internal columns a table run computes on.

Fast path: columns already of their natural dtype (integers or Decimal for numbers,
Boolean, String) are converted without Python loops and validated with vectorized
checks; only rows found bad go through perfdsl.validate.Validator, so the messages are
the ones `evaluate_cohort` gives. Any other column (numbers as text, lists, objects)
takes the records path: every row through the Validator, as `evaluate_cohort` does.
Binary floats are refused, as the Validator refuses them. Numbers become scaled
integers (perfdsl.lower.scaled) with the bounds the data has; lists, polars list columns.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import polars as pl

from ..io import DataError, DataProblem
from ..ir import InputDef, Policy
from ..lower.scaled import INT64_MAX, WIDE_LIMIT, Column, Num, Pick, Unsupported, Value, places, unscaled
from ..validate import Validator

ROW = "__row"  # the input position of a row, 0-based
TIER_DTYPE = pl.Int32
DEC_PRECISION = 38


@dataclass
class Inputs:
    frame: pl.DataFrame                      # ROW and one internal column per input
    values: dict[str, Value]                 # input name → what its column holds
    records: list[dict] | None = None        # the validated records, when they were read as such
    source: pl.DataFrame | None = None       # else the typed frame they come from
    unsupported: Unsupported | None = None   # why these inputs cannot be columns (then only `records`)


def _dtype(num: Num) -> pl.DataType:
    return pl.Int128 if num.wide else pl.Int64


def _scaled(values: list[Decimal], what: str) -> tuple[list[int], Num]:
    """Exact values as integers at their common scale; Unsupported beyond 38 digits."""
    values = [v if isinstance(v, Decimal) else Decimal(v) for v in values]  # an Int64 column read back
    scale = max((places(v) for v in values), default=0)
    if scale > 38 or any(v and v.adjusted() >= 38 for v in values):
        raise Unsupported(f"{what}: its numbers need more than 38 digits at one scale")
    ints = [unscaled(v, scale) for v in values]
    num = Num(scale, min(ints, default=0), max(ints, default=0))
    if num.magnitude >= WIDE_LIMIT:
        raise Unsupported(f"{what}: its numbers need more than 38 digits at one scale")
    return ints, num


def number_column(name: str, values: list[Decimal], what: str = "") -> tuple[pl.Series, Value]:
    """A number column of exact values as scaled integers (Int64, or Int128 when wide)."""
    ints, num = _scaled(values, what or f"`{name}`")
    return pl.Series(name, ints, dtype=_dtype(num)), Value(Column(name, num.wide), "num", num)


def list_column(name: str, inp: InputDef, values: list, tiers: dict) -> tuple[pl.Series, Value]:
    """A list input as a polars list column: numbers scaled to one scale, tier names and
    text as text; its Value knows the most items a row has."""
    kind = inp.type.elem.kind if inp.type.elem is not None else "text"
    length = max((len(v) for v in values), default=0)
    if kind == "num":
        ints, num = _scaled([x for v in values for x in v], f"the list `{inp.name}`")
        it = iter(ints)
        rows = [[next(it) for _ in v] for v in values]
        return pl.Series(name, rows, dtype=pl.List(_dtype(num))), Value(Column(name), "list", num, None, "num", length)
    dtype = pl.Boolean if kind == "bool" else pl.String
    return pl.Series(name, [list(v) for v in values], dtype=pl.List(dtype)), \
        Value(Column(name), "list", None, None, "bool" if kind == "bool" else "text", length)


def internal_name(i: int) -> str:
    return f"i{i}"


def tier_names(ir: Policy) -> dict[str, tuple[str, ...]]:
    return {d.name: d.tiers.names() for d in ir.definitions if d.tiers is not None}


def _native(inp: InputDef, dtype: pl.DataType) -> bool:
    kind = inp.type.kind
    if kind == "num":
        return dtype.is_integer() or isinstance(dtype, pl.Decimal)
    if kind == "bool":
        return dtype == pl.Boolean
    if kind in ("text", "tier"):
        return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    return False


def prepare(ir: Policy, df: pl.DataFrame, validate: bool, row_numbers: list[int] | None) -> Inputs:
    """The internal input columns of `df`; DataError names every bad row and field."""
    missing = [inp.name for inp in ir.inputs if inp.name not in df.columns]
    if missing:
        raise DataError([DataProblem(None, name, "missing column") for name in missing])
    for inp in ir.inputs:
        if df.schema[inp.name].is_float():
            raise DataError([DataProblem(None, inp.name, "binary floats are not accepted; "
                                      "give the column as polars Decimal, an integer type or text")])
    if all(_native(inp, df.schema[inp.name]) for inp in ir.inputs):
        if validate:
            _validate_native(ir, df, row_numbers)
        out = _from_native(ir, df)
    else:
        records = df.select([inp.name for inp in ir.inputs]).to_dicts()
        # a null is a missing field; lists reach pydantic as lists
        records = [{k: (list(v) if isinstance(v, (tuple, pl.Series)) else v) for k, v in r.items() if v is not None}
                   for r in records]
        if validate:
            numbers = row_numbers or list(range(1, len(records) + 1))
            good, problems, _ = Validator(ir).many(list(zip(numbers, records)))
            if problems:
                raise DataError(problems)
            records = good
        try:
            out = from_records(ir, records)
        except Unsupported as u:
            out = Inputs(pl.DataFrame(), {}, records, None, u)
    return out


# ---- the fast path -------------------------------------------------------------------------
def _from_native(ir: Policy, df: pl.DataFrame) -> Inputs:
    names = tier_names(ir)
    nums = [(i, inp) for i, inp in enumerate(ir.inputs) if inp.type.kind == "num"]

    def physical(inp: InputDef) -> pl.Expr:  # the unscaled integers of a number column
        c = pl.col(inp.name)
        return c.to_physical() if isinstance(df.schema[inp.name], pl.Decimal) else c
    stats = df.select([physical(inp).min().alias(f"lo{i}") for i, inp in nums]
                      + [physical(inp).max().alias(f"hi{i}") for i, inp in nums]).row(0, named=True) if nums else {}
    exprs, cols = [pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW)], {}
    for i, inp in enumerate(ir.inputs):
        name, c, dtype, kind = internal_name(i), pl.col(inp.name), df.schema[inp.name], inp.type.kind
        if kind == "num":
            scale = (dtype.scale or 0) if isinstance(dtype, pl.Decimal) else 0
            num = Num(scale, stats[f"lo{i}"] or 0, stats[f"hi{i}"] or 0)
            e = physical(inp)
            exprs.append((e if dtype == _dtype(num) else e.cast(_dtype(num))).alias(name))
            cols[inp.name] = Value(Column(name, num.wide), "num", num)
        elif kind == "tier":
            tiers = names[inp.type.tierset]
            exprs.append(c.cast(pl.String).replace_strict(tiers, range(len(tiers)), return_dtype=TIER_DTYPE).alias(name))
            cols[inp.name] = Value(Pick(tiers, Column(name)), "text")
        else:
            exprs.append(c.cast(pl.String).alias(name) if kind == "text" and dtype != pl.String else c.alias(name))
            cols[inp.name] = Value(Column(name), kind)
    return Inputs(df.select(exprs), cols, None, df.select([inp.name for inp in ir.inputs]))


def _scaled_bound(value: Decimal, scale: int, up: bool) -> int:
    x = Fraction(value) * 10 ** scale
    return math.ceil(x) if up else math.floor(x)


def _validate_native(ir: Policy, df: pl.DataFrame, row_numbers: list[int] | None) -> None:
    """Vectorized checks; the rows they catch are re-validated in Python for the messages."""
    names = tier_names(ir)
    bad = []
    for inp in ir.inputs:
        c, dtype = pl.col(inp.name), df.schema[inp.name]
        bad.append(c.is_null())
        if inp.type.kind == "num":
            decimal = isinstance(dtype, pl.Decimal)
            scale = (dtype.scale or 0) if decimal else 0
            u = c.to_physical() if decimal else c  # unscaled integers, compared in their own dtype

            def bound(v: int) -> pl.Expr:
                return pl.lit(v, dtype=pl.Int128) if decimal or abs(v) > INT64_MAX else pl.lit(v)
            rng = inp.range
            if rng is not None and rng.lo is not None:
                bad.append(u < bound(_scaled_bound(rng.lo, scale, True)))
            if rng is not None and rng.hi is not None:
                bad.append(u > bound(_scaled_bound(rng.hi, scale, False)))
            if inp.is_int and scale:
                bad.append(u % pl.lit(10 ** scale, dtype=pl.Int128) != 0)
        elif inp.type.kind == "tier":
            bad.append(~c.cast(pl.String).is_in(list(names[inp.type.tierset])))
        elif inp.choices is not None:
            bad.append(~c.cast(pl.String).is_in(list(inp.choices)))
    # duplicate keys: counting distinct keys is ~4× cheaper than marking duplicates
    if ir.key is not None and df.select(pl.col(ir.key).n_unique()).item() < df.height:
        bad.append(pl.col(ir.key).is_duplicated())
    rows = df.select(pl.any_horizontal(bad).arg_true()).to_series().to_list() if bad else []
    if not rows:
        return
    numbers = row_numbers or list(range(1, df.height + 1))
    sub = df[rows].select([inp.name for inp in ir.inputs]).to_dicts()
    _, problems, _ = Validator(ir).many([(numbers[r], rec) for r, rec in zip(rows, sub)])
    raise DataError(problems or [DataProblem(numbers[r], None, "invalid record") for r in rows])


# ---- the records path ----------------------------------------------------------------------
def from_records(ir: Policy, records: list[dict]) -> Inputs:
    """Internal columns from validated records (Decimals, bools, strings, tuples)."""
    names = tier_names(ir)
    n = len(records)
    columns: dict[str, pl.Series] = {ROW: pl.Series(ROW, range(n), dtype=pl.Int64)}
    cols: dict[str, Value] = {}
    for i, inp in enumerate(ir.inputs):
        name, kind = internal_name(i), inp.type.kind
        values = [r[inp.name] for r in records]
        if kind == "num":
            columns[name], cols[inp.name] = number_column(name, values, f"`{inp.name}`")
        elif kind == "tier":
            tiers = names[inp.type.tierset]
            index = {t: k for k, t in enumerate(tiers)}
            columns[name] = pl.Series(name, [index[v] for v in values], dtype=TIER_DTYPE)
            cols[inp.name] = Value(Pick(tiers, Column(name)), "text")
        elif kind == "list":
            columns[name], cols[inp.name] = list_column(name, inp, values, names)
        else:
            columns[name] = pl.Series(name, values, dtype=pl.Boolean if kind == "bool" else pl.String)
            cols[inp.name] = Value(Column(name), kind)
    return Inputs(pl.DataFrame(list(columns.values())), cols, records)


def frame_from_records(ir: Policy, records: list[dict]) -> pl.DataFrame:
    """A polars DataFrame of typed records in the natural dtypes (Decimal for decimals,
    Int64 for whole-number inputs); list inputs, and numbers wider than a polars Decimal,
    become Object columns."""
    columns = []
    for inp in ir.inputs:
        values = [r[inp.name] for r in records]
        kind = inp.type.kind
        if kind == "num":
            try:
                _, num = _scaled(values, inp.name)
            except Unsupported:
                num = None
            if num is not None and inp.is_int and num.scale == 0 and not num.wide:
                columns.append(pl.Series(inp.name, [int(v) for v in values], dtype=pl.Int64))
            elif num is not None:
                columns.append(pl.Series(inp.name, values, dtype=pl.Decimal(DEC_PRECISION, num.scale)))
            else:  # wider than a polars Decimal: as objects, read back through the records path
                columns.append(pl.Series(inp.name, values, dtype=pl.Object))
        elif kind == "bool":
            columns.append(pl.Series(inp.name, values, dtype=pl.Boolean))
        elif kind == "list":
            columns.append(pl.Series(inp.name, [tuple(v) for v in values], dtype=pl.Object))
        else:
            columns.append(pl.Series(inp.name, values, dtype=pl.String))
    return pl.DataFrame(columns)


def frame_from_raw(ir: Policy, records: list[dict]) -> pl.DataFrame:
    """Raw records as read from a file (text, JSON values) as Object columns: `run_table`
    validates them row by row, as `evaluate_cohort` does; a missing field is a null."""
    return pl.DataFrame([pl.Series(inp.name, [r.get(inp.name) for r in records], dtype=pl.Object)
                         for inp in ir.inputs], height=len(records))
