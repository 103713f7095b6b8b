"""The scaled-integer plan (perfdsl.lower.scaled) printed as polars expressions.

Each plan node becomes one polars expression; integers are Int64, or Int128 where the
plan says a node is wide (both operands are cast first, so nothing wraps). Columns are
the frame's own names; a group window is printed over the columns `fields` map to.
"""
from __future__ import annotations

import polars as pl

from ..lower import scaled as s


def _int(e: pl.Expr, wide: bool) -> pl.Expr:
    return e.cast(pl.Int128) if wide else e


class PolarsPlan:
    """Prints plan nodes; `columns` maps a core name read by a window's partition to its column."""

    def __init__(self, columns):
        self.columns = columns
        self._memo: dict[int, tuple] = {}

    def expr(self, node) -> pl.Expr:
        """A node printed once per object: a plan is a DAG (one node read by several arms)."""
        hit = self._memo.get(id(node))
        if hit is None or hit[0] is not node:
            hit = self._memo[id(node)] = (node, getattr(self, "_" + type(node).__name__)(node))
        return hit[1]

    def _Const(self, n: s.Const) -> pl.Expr:
        v = n.value
        if isinstance(v, bool) or v is None:
            return pl.lit(v)
        if isinstance(v, int):
            return pl.lit(v, dtype=pl.Int128 if n.wide else pl.Int64)
        if isinstance(v, str):
            return pl.lit(v, dtype=pl.String)
        raise s.Unsupported(f"the constant {v!r} in a column")

    def _Column(self, n: s.Column) -> pl.Expr:
        return pl.col(n.name)

    def _Arith(self, n: s.Arith) -> pl.Expr:
        a, b = _int(self.expr(n.a), n.wide), _int(self.expr(n.b), n.wide)
        return a + b if n.op == "+" else a - b if n.op == "-" else a * b

    def _Quotient(self, n: s.Quotient) -> pl.Expr:
        return _int(self.expr(n.a), n.wide) // _int(self.expr(n.b), n.wide)

    def _Compare(self, n: s.Compare) -> pl.Expr:
        wide = getattr(n.a, "wide", False) or getattr(n.b, "wide", False)
        a, b = _int(self.expr(n.a), wide), _int(self.expr(n.b), wide)
        return {"==": a.eq, "!=": a.ne, "<": a.lt, "<=": a.le, ">": a.gt, ">=": a.ge}[n.op](b)

    def _Logic(self, n: s.Logic) -> pl.Expr:
        args = [self.expr(a) for a in n.args]
        if n.op == "not":
            return ~args[0]
        out = args[0]
        for a in args[1:]:
            out = (out & a) if n.op == "and" else (out | a)
        return out

    def _Why(self, n: s.Why) -> pl.Expr:
        return self.expr(n.test)

    def _Case(self, n: s.Case) -> pl.Expr:
        chain = None
        for test, value in n.arms:
            v = _int(self.expr(value), n.wide)
            chain = (pl.when(self.expr(test)) if chain is None else chain.when(self.expr(test))).then(v)
        e = _int(self.expr(n.else_), n.wide)
        return e if chain is None else chain.otherwise(e)

    def _Extreme(self, n: s.Extreme) -> pl.Expr:
        args = [_int(self.expr(a), n.wide) for a in n.args]
        out = args[0]
        for a in args[1:]:  # when/then, not min_horizontal: all-literal inputs would give one row
            out = pl.when(a < out).then(a).otherwise(out) if n.op == "min" else pl.when(a > out).then(a).otherwise(out)
        return out

    def _Pick(self, n: s.Pick) -> pl.Expr:
        if isinstance(n.index, s.Const):
            return pl.lit(n.names[n.index.value], dtype=pl.String)
        return self.expr(n.index).replace_strict(list(range(len(n.names))), list(n.names), return_dtype=pl.String)

    def _Window(self, n: s.Window) -> pl.Expr:
        arg = self.expr(n.arg)
        if n.fn == "len":
            e = pl.len().cast(pl.Int64)
        elif n.fn == "count":
            e = arg.cast(pl.Int64).sum()
        elif n.fn == "sum":
            e = _int(arg, n.wide).sum()
        elif n.fn == "reach":
            run = _int(arg, True).cum_sum()
            run = run.over([self.columns(f) for f in n.fields]) if n.fields else run
            e = pl.max_horizontal(run, pl.lit(0, dtype=pl.Int128) - run).max()
        else:
            e = arg.min() if n.fn == "min" else arg.max()
        return e.over([self.columns(f) for f in n.fields]) if n.fields else e

    def _ListOf(self, n: s.ListOf) -> pl.Expr:
        if not n.items:
            raise s.Unsupported("a function of the empty list")
        return pl.concat_list([self.expr(x) for x in n.items])

    def _Concat(self, n: s.Concat) -> pl.Expr:
        return pl.concat_list([self.expr(n.a), self.expr(n.b)])

    def _ListFn(self, n: s.ListFn) -> pl.Expr:
        xs = self.expr(n.list)
        if n.fn == "len":
            return xs.list.len().cast(pl.Int64)
        if n.fn in ("count", "streak"):
            if not isinstance(n.arg, (s.Const, s.Pick)) or isinstance(n.arg, s.Pick) and not isinstance(n.arg.index, s.Const):
                raise s.Unsupported(f"`{n.fn}` of a value that is not a constant")
            v = self.expr(n.arg)
            if n.fn == "count":
                return xs.list.eval(pl.element() == v).list.sum().cast(pl.Int64)
            return xs.list.reverse().list.eval((pl.element() != v).cum_sum() == 0).list.sum().cast(pl.Int64)
        if n.wide:
            xs = xs.cast(pl.List(pl.Int128))
        if n.fn == "times":
            return xs.list.eval(pl.element() * self.expr(n.arg))
        if n.fn == "sum":
            return xs.list.sum()
        if n.fn == "min":
            return xs.list.min()
        if n.fn == "max":
            return xs.list.max()
        if n.fn == "get":
            return xs.list.get(self.expr(n.arg), null_on_oob=True)
        if n.fn == "trimmed_sum":
            k = n.arg.value
            return xs.list.sort().list.slice(k, xs.list.len() - 2 * k).list.sum()
        raise s.Unsupported(f"`{n.fn}` of a list")

    def _Rank(self, n: s.Rank) -> pl.Expr:
        raise s.Unsupported("a rank outside the cohort stage")
