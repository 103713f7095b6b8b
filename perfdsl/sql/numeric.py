"""Numbers in SQL as scaled integers: + − × min max, comparisons and sums on integers of
one scale. An integer of scale s holding v is v · 10^s exactly, so these operations give
the reference's values while no result needs more than 28 significant digits (issue 11
item 2: no engine DECIMAL arithmetic, ROUND or POWER is ever printed).

Division and rounding (`Div`, `Round`, means) are the integer plan's (perfdsl.lower,
shared with the polars printer) and are printed from it in printer.py.
"""
from __future__ import annotations

from sqlglot import exp

from .values import V, lit_int


def const(d) -> V:
    """A Decimal constant at the fewest decimals that hold it."""
    sign, digits, e = d.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    scale = max(0, -e)
    n *= 10 ** max(0, e)
    return V(lit_int(-n if sign else n), "num", scale)


def rescale(v: V, scale: int, wide) -> exp.Expression:
    """v's integer at a scale ≥ v.scale."""
    if scale == v.scale:
        return v.sql
    return exp.Mul(this=wide(v.sql), expression=lit_int(10 ** (scale - v.scale)))


def align(vs: list[V], wide) -> tuple[list[exp.Expression], int]:
    s = max(v.scale for v in vs)
    return [exp.Paren(this=rescale(v, s, wide)) if v.scale != s else v.sql for v in vs], s


def arith(op: str, a: V, b: V, wide) -> V:
    if op == "*":
        return V(exp.Mul(this=wide(a.sql), expression=b.sql), "num", a.scale + b.scale)
    (x, y), s = align([a, b], wide)
    node = exp.Add if op == "+" else exp.Sub
    return V(node(this=wide(x), expression=y), "num", s)
