"""What differs between the SQL engines perfdsl prints for: integer types, list functions
and lambdas. Everything else is one sqlglot tree printed by `sqlglot`'s own generators.

Floor division is only ever asked of non-negative operands (the integer plan keeps signs
apart), where DuckDB's `//` and Spark's `DIV` agree; a divisor of zero is guarded before.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlglot import exp


def lam(params: list[str], body: exp.Expression) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(p) for p in params])


def fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


@dataclass(frozen=True)
class Dialect:
    """One engine: its sqlglot dialect name and the few functions written differently."""
    name: str  # sqlglot's: duckdb, spark
    wide_int: str  # the 128-bit (or 38-digit) integer type

    def int_type(self, wide: bool) -> exp.DataType:
        return exp.DataType.build(self.wide_int if wide else "BIGINT")

    def cast_int(self, e: exp.Expression, wide: bool = True) -> exp.Expression:
        return exp.Cast(this=e, to=self.int_type(wide))

    def floor_div(self, a: exp.Expression, b: exp.Expression, wide: bool) -> exp.Expression:
        """a // b for a ≥ 0, b > 0. Spark's DIV gives a BIGINT, so a wide quotient is the
        exact division of a − a mod b (a whole number; an engine error if it needs more
        than the 32 whole digits Spark keeps of a DECIMAL(38) quotient, never a wrong one)."""
        if self.name == "duckdb" or not wide:
            return exp.IntDiv(this=a, expression=b)
        whole = exp.Paren(this=exp.Sub(this=a, expression=exp.Mod(this=a, expression=b)))
        return self.cast_int(exp.Div(this=whole, expression=b))

    def exact_decimal(self, e: exp.Expression, scale: int, magnitude: int) -> exp.Expression:
        """The scaled integer e (value × 10^scale, |e| ≤ magnitude) as an exact DECIMAL: the
        integer times 10^-scale, never a division. DuckDB: a DECIMAL(18, s) where it fits 18
        digits (64 bits, not 128: three times faster to compute and write to Parquet).
        Spark: its product would drop decimals past 6, so the integer's digits are read
        with their exponent."""
        if self.name == "spark" and scale:
            text = fn("concat", exp.Cast(this=exp.Cast(this=e, to=exp.DataType.build("DECIMAL(38,0)")),
                                         to=exp.DataType.build("STRING")), exp.Literal.string(f"E-{scale}"))
            return exp.Cast(this=text, to=exp.DataType.build(f"DECIMAL(38,{scale})"))
        narrow = self.name == "duckdb" and magnitude < 10 ** 18 and scale <= 18
        whole = exp.DataType.build("DECIMAL(18,0)" if narrow else "DECIMAL(38,0)")
        return exp.Mul(this=exp.Cast(this=e, to=whole), expression=exp.Literal.number(f"{Decimal(1).scaleb(-scale):f}"))

    def finer_than(self, x: exp.Expression, scale: int) -> exp.Expression:
        """The DECIMAL x has more decimals than `scale`. DuckDB: a cast to that scale changes
        it; Spark: its remainder by 10^-scale is not 0 (Spark compares two DECIMALs at the
        scale of the narrower one when their common type would pass 38 digits, so a cast
        would compare equal)."""
        if self.name == "spark":
            return exp.NEQ(this=exp.Mod(this=x, expression=exp.Literal.number(f"{Decimal(1).scaleb(-scale):f}")),
                           expression=exp.Literal.number(0))
        return exp.NEQ(this=x, expression=exp.Cast(this=x, to=exp.DataType.build(f"DECIMAL(38,{scale})")))

    def length(self, xs: exp.Expression) -> exp.Expression:
        """A list's length as BIGINT: Spark's size() is an INT, and an INT times an INT
        literal (a count times 10^9 in a quotient's arm) overflows under ANSI."""
        if self.name == "duckdb":
            return fn("len", xs)
        return exp.Cast(this=fn("size", xs), to=exp.DataType.build("BIGINT"))

    def filter(self, xs: exp.Expression, var: str, test: exp.Expression) -> exp.Expression:
        return fn("list_filter" if self.name == "duckdb" else "filter", xs, lam([var], test))

    def transform(self, xs: exp.Expression, var: str, body: exp.Expression) -> exp.Expression:
        return fn("list_transform" if self.name == "duckdb" else "transform", xs, lam([var], body))

    def fold(self, xs: exp.Expression, start: exp.Expression, acc: str, var: str, body: exp.Expression) -> exp.Expression:
        """start combined with each element, left to right. Spark requires the lambda's type
        to be exactly the start's (a BIGINT start and DECIMAL(38,0) list elements, the
        way Spark loads number lists, would not resolve), so there the body is cast to it."""
        if self.name == "duckdb":
            return fn("list_reduce", fn("list_prepend", start, xs), lam([acc, var], body))
        if isinstance(start, exp.Cast):
            body = exp.Cast(this=body, to=start.to.copy())
        return fn("aggregate", xs, start, lam([acc, var], body))

    def concat(self, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        return fn("list_concat" if self.name == "duckdb" else "concat", a, b)

    def sort(self, xs: exp.Expression) -> exp.Expression:
        return fn("list_sort" if self.name == "duckdb" else "array_sort", xs)

    def slice(self, xs: exp.Expression, start: exp.Expression, count: exp.Expression) -> exp.Expression:
        """`count` elements from 1-based `start`."""
        if self.name == "duckdb":
            return fn("list_slice", xs, start, exp.Sub(this=exp.Add(this=start, expression=count),
                                                       expression=exp.Literal.number(1)))
        return fn("slice", xs, start, count)

    def element(self, xs: exp.Expression, position: exp.Expression) -> exp.Expression:
        """The element at a 1-based position (negative: from the end), known to exist."""
        return fn("list_extract" if self.name == "duckdb" else "element_at", xs, position)

    def extreme(self, xs: exp.Expression, largest: bool) -> exp.Expression:
        if self.name == "duckdb":
            return fn("list_max" if largest else "list_min", xs)
        return fn("array_max" if largest else "array_min", xs)

    def array(self, items: list[exp.Expression]) -> exp.Expression:
        return exp.Array(expressions=items)


DUCKDB = Dialect("duckdb", "HUGEINT")
SPARK = Dialect("spark", "DECIMAL(38,0)")
DIALECTS = {"duckdb": DUCKDB, "spark": SPARK}
