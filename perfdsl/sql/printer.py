"""The core program printed as one SQL query: a chain of named steps (CTEs), each adding
columns to the previous one, that an auditor can read top to bottom.

    "input"              the subjects' inputs, numbers as scaled integers
    "total", "grade" …   one step per definition of the individual stage
    "distribute grade …" the cohort steps as window functions (cohort.py)
    "post …", "cohort …" values reading a final tier, ranks and group values
    "flags", "output"    every flag, then the output columns in input order

A definition's body (assignments, guarded assignments) is folded into one expression
per value (CASE for each guard); an intermediate value that grows large gets a step of its
own, so no expression is repeated without bound. Trace events are not printed: the SQL
backends keep no explanation. Names and strings of the policy only ever appear as
quoted identifiers and string literals built by sqlglot.

Each operation that can fail on a row (a division by zero, a list too short, a position
the list does not have) adds its condition to the row's `#fails` column: the runner words
those rows' errors with the reference (engine.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlglot import exp

from ..lower import core as c
from . import numeric
from .dialect import Dialect, fn
from .values import V, case, col, lit_int, lit_str, size

_BIG = 60  # nodes: an intermediate value larger than this gets a column of its own

_CMP = {c.Op.EQ: exp.EQ, c.Op.NE: exp.NEQ, c.Op.LT: exp.LT, c.Op.LE: exp.LTE, c.Op.GT: exp.GT, c.Op.GE: exp.GTE}


class Unprintable(Exception):
    """What the SQL backends cannot compute exactly; the message names it."""


@dataclass
class Step:
    name: str
    columns: list[tuple[str, exp.Expression]]
    source: str | None = None  # the step it selects from (None: the previous one)


@dataclass
class Query:
    """The steps so far and where each value is: logical name → (column, what it is)."""
    dialect: Dialect
    steps: list[Step] = field(default_factory=list)
    columns: dict[str, V] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    fails: list[exp.Expression] = field(default_factory=list)  # this stage's failing conditions
    tier_index: dict[str, str] = field(default_factory=dict)  # tier set → the name of its position
    snapshots: dict[int, dict] = field(default_factory=dict)  # cohort step → what it reads, before it

    def fresh(self, name: str) -> str:
        """A column name not used yet: `name`, else `name@2`, `name@3` …"""
        out, i = name, 1
        while out in self.used:
            i += 1
            out = f"{name}@{i}"
        self.used.add(out)
        return out

    def add(self, step: str, values: list[tuple[str, V]]) -> None:
        """A step adding each value as the new column of its name."""
        cols = []
        for name, v in values:
            if isinstance(v.sql, exp.Column):  # already a column: nothing to compute
                self.columns[name] = v
                continue
            column = self.fresh(name)
            cols.append((column, v.sql))
            self.columns[name] = v.at(col(column))
        if cols:
            taken = {x.name for x in self.steps}
            name, i = step, 1
            while name in taken:
                i += 1
                name = f"{step} ({i})"
            self.steps.append(Step(name, cols))

    def wide(self, e: exp.Expression) -> exp.Expression:
        return self.dialect.cast_int(e)


class Printer(c.Visitor):
    """Core expressions as SQL over the current columns and a local environment (the
    values a definition's body assigned so far)."""

    def __init__(self, q: Query, local: dict[str, V] | None = None, size_of: V | None = None):
        self.q, self.d = q, q.dialect
        self.local = {} if local is None else local
        self.size_of = size_of

    def expr(self, e: c.Expr) -> V:
        return self.visit(e)

    def fail(self, condition: exp.Expression) -> None:
        self.q.fails.append(condition)

    # ---- leaves ------------------------------------------------------------------
    def visit_Lit(self, e: c.Lit) -> V:
        v = e.value
        if isinstance(v, bool):
            return V(exp.Boolean(this=v), "bool")
        if isinstance(v, Decimal):
            return numeric.const(v)
        if isinstance(v, int):
            return V(lit_int(v), "pos")
        if isinstance(v, str):
            return V(lit_str(v), "text")
        if isinstance(v, tuple):
            return V(exp.Null(), "tuple", items=v)
        if v is None:
            return V(exp.Null(), "null")
        raise Unprintable(f"a constant {v!r}")

    def visit_Var(self, e: c.Var) -> V:
        if e.name in self.local:
            return self.local[e.name]
        return self.q.columns[e.name]

    def visit_Size(self, e: c.Size) -> V:
        if self.size_of is not None:
            return self.size_of
        return V(exp.Window(this=exp.Count(this=exp.Star())), "num", 0)

    # ---- operations --------------------------------------------------------------
    def visit_Call(self, e: c.Call) -> V:
        op = e.op
        if op is c.Op.AND or op is c.Op.OR:
            a = self.expr(e.args[0])
            if isinstance(a.sql, exp.Boolean):  # a constant decides, or leaves the other side
                return self.expr(e.args[1]) if a.sql.this == (op is c.Op.AND) else a
            b = self.expr(e.args[1])
            if isinstance(b.sql, exp.Boolean):
                return a if b.sql.this == (op is c.Op.AND) else b
            node = exp.And if op is c.Op.AND else exp.Or
            return V(exp.Paren(this=node(this=a.sql, expression=b.sql)), "bool")
        args = [self.expr(a) for a in e.args]
        return getattr(self, "op_" + op.name.lower())(args, e)

    def nums(self, args: list[V]) -> tuple[list[exp.Expression], int]:
        return numeric.align(args, self.q.wide)

    def op_add(self, a, e):
        return numeric.arith("+", a[0], a[1], self.q.wide)

    def op_sub(self, a, e):
        return numeric.arith("-", a[0], a[1], self.q.wide)

    def op_mul(self, a, e):
        return numeric.arith("*", a[0], a[1], self.q.wide)

    def op_neg(self, a, e):
        return a[0].at(exp.Neg(this=exp.Paren(this=a[0].sql)))

    def op_abs(self, a, e):
        return a[0].at(exp.Abs(this=a[0].sql))

    def op_total(self, a, e):
        out = a[0]
        for x in a[1:]:
            out = numeric.arith("+", out, x, self.q.wide)
        return out

    def op_not(self, a, e):
        if isinstance(a[0].sql, exp.Boolean):
            return V(exp.Boolean(this=not a[0].sql.this), "bool")
        return V(exp.Not(this=exp.Paren(this=a[0].sql)), "bool")

    def _compare(self, a, e):
        x, y = a
        if x.kind == "num":
            (sx, sy), _ = self.nums([x, y])
        else:
            sx, sy = x.sql, y.sql
        return V(_CMP[e.op](this=sx, expression=sy), "bool")

    op_eq = op_ne = op_lt = op_le = op_gt = op_ge = _compare

    def _extreme(self, a, e):
        name = "least" if e.op is c.Op.MIN else "greatest"
        if a[0].kind == "num":
            sqls, s = self.nums(a)
            return V(fn(name, *sqls), "num", s)
        return a[0].at(fn(name, *[x.sql for x in a]))

    op_min = op_max = _extreme

    def op_clamp(self, a, e):
        (x, lo, hi), s = self.nums(a)
        return V(exp.Case(ifs=[exp.If(this=exp.LT(this=x, expression=lo), true=lo),
                               exp.If(this=exp.GT(this=x, expression=hi), true=hi)], default=x), "num", s)

    def op_step(self, a, e):
        return V(exp.Add(this=a[0].sql, expression=a[1].sql), "pos")

    def op_pick(self, a, e):
        items, at = a[0].items, a[1]
        out = [exp.If(this=exp.EQ(this=at.sql, expression=lit_int(i)), true=self.visit_Lit(c.Lit(x)).sql)
               for i, x in enumerate(items)]
        first = self.visit_Lit(c.Lit(items[0]))
        return first.at(exp.Case(ifs=out))

    # ---- lists -------------------------------------------------------------------
    def _elem_type(self, v: V):
        return {"num": self.d.int_type(True), "bool": exp.DataType.build("BOOLEAN"),
                "text": exp.DataType.build("VARCHAR" if self.d.name == "duckdb" else "STRING")}.get(v.kind)

    def op_list(self, a, e):
        if not a:
            return V(self.d.array([], None), "list", elem=V(exp.Null(), "null"))
        if a[0].kind == "num":
            sqls, s = self.nums(a)
            return V(self.d.array([self.q.wide(x) for x in sqls], None), "list", elem=V(exp.Null(), "num", s))
        return V(self.d.array([x.sql for x in a], None), "list", elem=a[0].at(exp.Null()))

    def _list_at(self, v: V, scale: int) -> exp.Expression:
        """A list of numbers with its elements at `scale`."""
        if v.elem.kind != "num" or v.elem.scale == scale:
            return v.sql
        return self.d.transform(v.sql, "x", exp.Mul(this=self.q.wide(col_x()), expression=lit_int(10 ** (scale - v.elem.scale))))

    def op_concat(self, a, e):
        x, y = a
        elem = x.elem if x.elem.kind != "null" else y.elem
        if elem.kind == "num":
            s = max(v.elem.scale for v in a if v.elem.kind == "num")
            elem = elem.at(exp.Null()).__class__(exp.Null(), "num", s)
            return V(self.d.concat(self._typed(x, elem, s), self._typed(y, elem, s)), "list", elem=elem)
        return V(self.d.concat(self._typed(x, elem, 0), self._typed(y, elem, 0)), "list", elem=elem)

    def _typed(self, v: V, elem: V, scale: int) -> exp.Expression:
        if v.elem.kind == "null":  # an empty list literal: typed like the other side
            return self.d.array([], self._elem_type(elem))
        return self._list_at(v, scale)

    def op_len(self, a, e):
        return V(self.d.length(a[0].sql), "num", 0)

    def op_count(self, a, e):
        xs, v = a
        if v.kind == "num":
            test = exp.EQ(this=self.q.wide(col_x()) if v.scale >= xs.elem.scale else col_x(),
                          expression=v.sql)
            s = max(v.scale, xs.elem.scale)
            test = exp.EQ(this=numeric.rescale(xs.elem.at(col_x()), s, self.q.wide), expression=numeric.rescale(v, s, self.q.wide))
        else:
            test = exp.EQ(this=col_x(), expression=v.sql)
        return V(self.d.length(self.d.filter(xs.sql, "x", test)), "num", 0)

    def op_streak(self, a, e):
        xs, v = a
        if v.kind == "num":
            s = max(v.scale, xs.elem.scale)
            hit = exp.EQ(this=numeric.rescale(xs.elem.at(col_x()), s, self.q.wide), expression=numeric.rescale(v, s, self.q.wide))
        else:
            hit = exp.EQ(this=col_x(), expression=v.sql)
        ones = self.d.transform(xs.sql, "x", case(hit, exp.Literal.number(1), exp.Literal.number(0)))
        body = case(exp.EQ(this=col_x(), expression=exp.Literal.number(1)),
                    exp.Add(this=exp.column("acc"), expression=exp.Literal.number(1)), exp.Literal.number(0))
        return V(self.d.fold(ones, self.d.cast_int(exp.Literal.number(0), False), "acc", "x", body), "num", 0)

    def op_sum(self, a, e):
        xs = a[0]
        body = exp.Add(this=exp.column("acc"), expression=col_x())
        return V(self.d.fold(xs.sql, self.q.wide(exp.Literal.number(0)), "acc", "x", body), "num", xs.elem.scale)

    def _extreme_of(self, a, e, largest):
        xs = a[0]
        self.fail(exp.EQ(this=self.d.length(xs.sql), expression=exp.Literal.number(0)))
        return V(self.d.extreme(xs.sql, largest), "num", xs.elem.scale)

    def op_list_min(self, a, e):
        return self._extreme_of(a, e, False)

    def op_list_max(self, a, e):
        return self._extreme_of(a, e, True)

    def op_index(self, a, e):
        xs, i = a
        unit = 10 ** i.scale
        n = self.d.length(xs.sql)
        whole = exp.Paren(this=i.sql) if i.scale == 0 else exp.IntDiv(this=i.sql, expression=lit_int(unit))
        if i.scale:
            self.fail(exp.NEQ(this=exp.Mod(this=i.sql, expression=lit_int(unit)), expression=exp.Literal.number(0)))
        self.fail(exp.Or(this=exp.GTE(this=whole, expression=n),
                         expression=exp.LT(this=whole, expression=exp.Neg(this=n))))
        position = case(exp.GTE(this=whole, expression=exp.Literal.number(0)),
                        exp.Add(this=whole, expression=exp.Literal.number(1)), whole)
        return xs.elem.at(self.d.element(xs.sql, self.d.cast_int(position, False)))

    # ---- conditionals, cohort values -----------------------------------------------
    def visit_Cond(self, e: c.Cond) -> V:
        ifs, at = [], e
        while isinstance(at, c.Cond):
            test = self.expr(at.test)
            if isinstance(test.sql, exp.Boolean):  # decided when printing
                at = at.then if test.sql.this else at.else_
                continue
            ifs.append((test, self.expr(at.then)))
            at = at.else_
        last = self.expr(at)
        vs = [t for _, t in ifs] + [last]
        if vs[0].kind == "num":
            sqls, s = self.nums(vs)
            out = V(exp.Null(), "num", s)
        else:
            sqls, out = [v.sql for v in vs], vs[0] if vs[0].kind != "null" else vs[-1]
        if not ifs:
            return out.at(sqls[-1])
        return out.at(exp.Case(ifs=[exp.If(this=t.sql, true=x) for (t, _), x in zip(ifs, sqls)], default=sqls[-1]))


    def visit_RankOf(self, e: c.RankOf) -> V:
        r = e.ranking
        rank = window(self.q, exp.Anonymous(this="rank", expressions=[]), r.partition,
                      order_by(self.q, r, self.tier_index))
        if e.from_bottom:
            n = window(self.q, exp.Count(this=exp.Star()), r.partition)
            rank = exp.Sub(this=exp.Add(this=n, expression=exp.Literal.number(1)), expression=rank)
        return V(rank, "num", 0)

    def visit_GroupValue(self, e: c.GroupValue) -> V:
        a = e.aggregate
        arg = self.expr(a.arg)
        if a.fn is c.AggFn.COUNT:
            return V(window(self.q, exp.Sum(this=case(arg.sql, exp.Literal.number(1), exp.Literal.number(0))),
                            a.partition), "num", 0)
        if a.fn is c.AggFn.MEAN:
            total = V(window(self.q, exp.Sum(this=self.q.wide(arg.sql)), a.partition), "num", arg.scale)
            n = V(window(self.q, exp.Count(this=exp.Star()), a.partition), "num", 0)
            return self.divide(total, n, c.Exactness.ROUNDED)
        node = {c.AggFn.SUM: exp.Sum, c.AggFn.MIN: exp.Min, c.AggFn.MAX: exp.Max}[a.fn]
        return V(window(self.q, node(this=self.q.wide(arg.sql) if a.fn is c.AggFn.SUM else arg.sql), a.partition),
                 "num", arg.scale)

    @property
    def tier_index(self) -> dict[str, str]:
        return self.q.tier_index


def col_x() -> exp.Column:
    return exp.column("x")


def partition_by(q: Query, p: c.Partition) -> list[exp.Expression]:
    return [q.columns[f].sql for f in p.fields]


def order_by(q: Query, ranking: c.Ranking, slots: dict[str, str]) -> list[exp.Ordered]:
    """The ranking's keys as ORDER BY terms (a tier set by its position, 0 = best)."""
    out = []
    for k in ranking.keys:
        key = q.columns[slots[k.name]] if k.by_tier else q.columns[k.name]
        out.append(exp.Ordered(this=key.sql, desc=k.descending, nulls_first=not k.descending))
    return out


def window(q: Query, fn: exp.Expression, p: c.Partition, order: list | None = None) -> exp.Window:
    return exp.Window(this=fn, partition_by=partition_by(q, p) or None,
                      order=exp.Order(expressions=order) if order else None)
