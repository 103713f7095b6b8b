"""A polars DataFrame of input records → the internal columns a table run computes on.

Fast path: columns already of their natural dtype (integers or Decimal for numbers,
Boolean, String) are converted without Python loops and validated with vectorized
checks; only rows found bad go through perfdsl.validate.Validator, so the messages are
the ones `evaluate_cohort` gives. Any other column (numbers as text, lists, objects)
takes the records path: every row through the Validator, as `evaluate_cohort` does.
Binary floats are refused, as the Validator refuses them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import polars as pl

from ..ir import InputDef, Policy
from ..validate import InputError, Problem, Validator
from .compile import TIER_DTYPE, Col
from .scaled import INT64_MAX, Num, places, unscaled

ROW = "__row"  # the input position of a row, 0-based


@dataclass
class Inputs:
    frame: pl.DataFrame                      # ROW and one internal column per input
    cols: dict[str, Col]                     # input name → its column
    python: dict[str, list] = field(default_factory=dict)  # list inputs, per row (tuples)
    original: pl.DataFrame | None = None     # the caller's frame (for the key column)


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
    """The internal input columns of `df`; InputError names every bad row and field."""
    missing = [inp.name for inp in ir.inputs if inp.name not in df.columns]
    if missing:
        raise InputError([Problem(None, name, "missing column") for name in missing])
    for inp in ir.inputs:
        if df.schema[inp.name].is_float():
            raise InputError([Problem(None, inp.name, "binary floats are not accepted; "
                                      "give the column as polars Decimal, an integer type or text")])
    if all(_native(inp, df.schema[inp.name]) for inp in ir.inputs):
        if validate:
            _validate_native(ir, df, row_numbers)
        out = _from_native(ir, df)
    else:
        records = df.select([inp.name for inp in ir.inputs]).to_dicts()
        records = [{k: (list(v) if isinstance(v, (tuple, pl.Series)) else v) for k, v in r.items()} for r in records]
        if validate:
            numbers = row_numbers or list(range(1, len(records) + 1))
            good, problems, _ = Validator(ir).many(list(zip(numbers, records)))
            if problems:
                raise InputError(problems)
            records = good
        out = from_records(ir, records)
    out.original = df
    return out


# ---- the fast path -------------------------------------------------------------------------
def _from_native(ir: Policy, df: pl.DataFrame) -> Inputs:
    names = tier_names(ir)
    exprs, cols, nums = [pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW)], {}, []
    for i, inp in enumerate(ir.inputs):
        name, c, dtype = internal_name(i), pl.col(inp.name), df.schema[inp.name]
        kind = inp.type.kind
        if kind == "num":
            if isinstance(dtype, pl.Decimal):
                nums.append((inp.name, name, dtype.scale or 0))
                exprs.append(c.to_physical().alias(name))
            else:
                nums.append((inp.name, name, 0))
                exprs.append(c.cast(pl.Int128).alias(name))
        elif kind == "tier":
            exprs.append(c.cast(pl.String).replace_strict(names[inp.type.tierset], range(len(names[inp.type.tierset])),
                                                          return_dtype=TIER_DTYPE).alias(name))
            cols[inp.name] = Col(pl.col(name), "tier", tierset=inp.type.tierset)
        else:
            exprs.append(c.cast(pl.String).alias(name) if kind == "text" else c.alias(name))
            cols[inp.name] = Col(pl.col(name), kind)
    frame = df.select(exprs)
    if nums:
        stats = frame.select([pl.col(n).min().alias(f"{n}lo") for _, n, _ in nums]
                             + [pl.col(n).max().alias(f"{n}hi") for _, n, _ in nums]).row(0, named=True)
        narrow = []
        for inp_name, n, scale in nums:
            num = Num(scale, stats[f"{n}lo"] or 0, stats[f"{n}hi"] or 0)
            cols[inp_name] = Col(pl.col(n), "num", num)
            if not num.wide:
                narrow.append(pl.col(n).cast(pl.Int64))
        if narrow:
            frame = frame.with_columns(narrow)
    return Inputs(frame, cols)


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
            scale = (dtype.scale or 0) if isinstance(dtype, pl.Decimal) else 0
            u = c.to_physical() if isinstance(dtype, pl.Decimal) else c.cast(pl.Int128)
            rng = inp.range
            if rng is not None and rng.lo is not None:
                bad.append(u < pl.lit(_scaled_bound(rng.lo, scale, True), dtype=pl.Int128))
            if rng is not None and rng.hi is not None:
                bad.append(u > pl.lit(_scaled_bound(rng.hi, scale, False), dtype=pl.Int128))
            if inp.is_int and scale:
                bad.append(u % pl.lit(10 ** scale, dtype=pl.Int128) != 0)
        elif inp.type.kind == "tier":
            bad.append(~c.cast(pl.String).is_in(list(names[inp.type.tierset])))
        elif inp.choices is not None:
            bad.append(~c.cast(pl.String).is_in(list(inp.choices)))
    if ir.key is not None:
        bad.append(pl.col(ir.key).is_duplicated())
    rows = df.select(pl.any_horizontal(bad).arg_true()).to_series().to_list() if bad else []
    if not rows:
        return
    numbers = row_numbers or list(range(1, df.height + 1))
    sub = df[rows].select([inp.name for inp in ir.inputs]).to_dicts()
    _, problems, _ = Validator(ir).many([(numbers[r], rec) for r, rec in zip(rows, sub)])
    raise InputError(problems or [Problem(numbers[r], None, "invalid record") for r in rows])


# ---- the records path ----------------------------------------------------------------------
def from_records(ir: Policy, records: list[dict]) -> Inputs:
    """Internal columns from validated records (Decimals, bools, strings, tuples)."""
    names = tier_names(ir)
    n = len(records)
    columns: dict[str, pl.Series] = {ROW: pl.Series(ROW, range(n), dtype=pl.Int64)}
    cols: dict[str, Col] = {}
    python: dict[str, list] = {}
    for i, inp in enumerate(ir.inputs):
        name, kind = internal_name(i), inp.type.kind
        values = [r[inp.name] for r in records]
        if kind == "num":
            scale = max((places(v) for v in values), default=0)
            ints = [unscaled(v, scale) for v in values]
            num = Num(scale, min(ints, default=0), max(ints, default=0))
            columns[name] = pl.Series(name, ints, dtype=pl.Int128 if num.wide else pl.Int64)
            cols[inp.name] = Col(pl.col(name), "num", num)
        elif kind == "tier":
            index = {t: k for k, t in enumerate(names[inp.type.tierset])}
            columns[name] = pl.Series(name, [index[v] for v in values], dtype=TIER_DTYPE)
            cols[inp.name] = Col(pl.col(name), "tier", tierset=inp.type.tierset)
        elif kind == "list":
            python[inp.name] = [tuple(v) for v in values]
            cols[inp.name] = Col(pl.lit(None), "list")
        else:
            columns[name] = pl.Series(name, values, dtype=pl.Boolean if kind == "bool" else pl.String)
            cols[inp.name] = Col(pl.col(name), kind)
    return Inputs(pl.DataFrame(list(columns.values())), cols, python)


def frame_from_records(ir: Policy, records: list[dict]) -> pl.DataFrame:
    """A polars DataFrame of typed records in the natural dtypes (Decimal for decimals,
    Int64 for whole-number inputs); list inputs become Object columns of tuples."""
    columns = []
    for inp in ir.inputs:
        values = [r[inp.name] for r in records]
        kind = inp.type.kind
        if kind == "num":
            scale = max((places(v) for v in values), default=0)
            if inp.is_int and scale == 0 and all(abs(int(v)) <= INT64_MAX for v in values):
                columns.append(pl.Series(inp.name, [int(v) for v in values], dtype=pl.Int64))
            else:
                columns.append(pl.Series(inp.name, values, dtype=pl.Decimal(38, scale)))
        elif kind == "bool":
            columns.append(pl.Series(inp.name, values, dtype=pl.Boolean))
        elif kind == "list":
            columns.append(pl.Series(inp.name, [tuple(v) for v in values], dtype=pl.Object))
        else:
            columns.append(pl.Series(inp.name, values, dtype=pl.String))
    return pl.DataFrame(columns)
