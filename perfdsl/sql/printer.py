"""The integer plan (perfdsl.lower.scaled) printed as sqlglot expressions, and the chain of
named steps (CTEs) a query is built from.

Every number is a scaled integer whose scale and bounds the plan decided; the plan's
only division is `Quotient` of non-negative integers, printed as each engine's integer
division, and its rounding is integer arithmetic already: no engine DECIMAL division,
ROUND or POWER is ever printed (issue 11 item 2). Names and strings of a policy only
ever appear as quoted identifiers and string literals built by sqlglot.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlglot import exp

from ..lower import core as c
from ..lower import scaled as s
from .dialect import Dialect, fn
from .values import case, col, lit_int, lit_str

_CMP = {"==": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}
_ARITH = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}
_REPEATED = 8  # nodes a part read more than once would repeat before it gets a column (Query.shared)


@dataclass
class Step:
    name: str
    columns: list[tuple[str, exp.Expression]]
    source: str | None = None  # the table it selects from (None: the previous step)


@dataclass
class Query:
    """The steps so far and where each value is: logical name → its plan Value."""
    dialect: Dialect
    cohort_size: int = 1  # the most subjects (bounds of ranks, counts and group sums)
    steps: list[Step] = field(default_factory=list)
    columns: dict[str, s.Value] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    fails: list = field(default_factory=list)  # (definition, plan test): where the test holds, the row fails
    failing: dict[str, list] = field(default_factory=dict)  # a #fails column → the (definition, test)s it joins
    group_fails: list = field(default_factory=list)  # (tier set, cohort step, SQL test): the group fails there
    tier_index: dict[str, str] = field(default_factory=dict)  # tier set → the name of its position
    snapshots: dict[int, object] = field(default_factory=dict)  # cohort step → what it reads, before it (cohort.Snapshot)
    before: dict[str, s.Value] = field(default_factory=dict)  # tier set → its position before the cohort stage
    says: dict[int, str] = field(default_factory=dict)  # cohort step → its column: the row's group says something

    def fresh(self, name: str) -> str:
        """A column name not used yet: `name`, else `name@2`, `name@3` …"""
        out, i = name, 1
        while out in self.used:
            i += 1
            out = f"{name}@{i}"
        self.used.add(out)
        return out

    def sql(self, node) -> exp.Expression:
        return Printer(self).visit(node)

    def add(self, step: str, values: list[tuple[str, s.Value]]) -> None:
        """A step giving each value a column of its own (what is one already, or a tier's
        name picked from a column, is only recorded); a part the values read more than once
        is named in a step before (`shared`), so each is printed once."""
        values = self.shared(step, values)
        cols = []
        for name, v in values:
            if _cheap(v.node):
                self.columns[name] = v
                continue
            column = self.fresh(name)
            cols.append((column, self.sql(v.node)))
            wide = bool(v.num and v.num.wide)
            self.columns[name] = replace(v, node=s.Column(column, wide), fails=None)
        self.push(step, cols)

    def shared(self, step: str, values: list[tuple[str, s.Value]]) -> list[tuple[str, s.Value]]:
        """The values with each plan node they read more than once (the plan is a DAG: a
        rounding reads its operand in its quotient, its remainder and its test) read from a
        column instead, computed in steps before: innermost first, one step per level.
        A node reading a list by position is left in place: outside its guard it could
        read a position that does not exist; so is Spark's wide quotient, whose DECIMAL
        division fails (ANSI) on values its guard keeps from it."""
        uses: dict[int, int] = {}
        nodes: dict[int, object] = {}
        unsafe: set[int] = set()

        def walk(node) -> bool:  # whether node reads a list by position
            if isinstance(node, tuple):
                return any([walk(x) for x in node])
            if not hasattr(node, "__dataclass_fields__") or isinstance(node, c.Ranking):
                return False
            uses[id(node)] = uses.get(id(node), 0) + 1
            if uses[id(node)] > 1:
                return id(node) in unsafe
            nodes[id(node)] = node
            risky = any([walk(getattr(node, f)) for f in node.__dataclass_fields__])
            if risky or (isinstance(node, s.ListFn) and node.fn == "get") or (
                    isinstance(node, s.Quotient) and node.wide and self.dialect.name == "spark"):
                unsafe.add(id(node))
                return True
            return False
        for _, v in values:
            walk(v.node)
        sizes: dict[int, int] = {}

        def size(node) -> int:  # nodes as printed (a node read twice counts twice)
            if isinstance(node, tuple):
                return sum(size(x) for x in node)
            if not hasattr(node, "__dataclass_fields__") or isinstance(node, c.Ranking):
                return 0
            if id(node) not in sizes:
                sizes[id(node)] = 1 + sum(size(getattr(node, f)) for f in node.__dataclass_fields__)
            return sizes[id(node)]
        hoist = {i for i, n in uses.items() if n > 1 and i not in unsafe and size(nodes[i]) * (n - 1) > _REPEATED
                 and not isinstance(nodes[i], (s.Column, s.Const, s.Pick, s.ListOf))}
        if not hoist:
            return values
        named: dict[int, s.Column] = {}
        done: dict[int, object] = {}
        level: dict[int, int] = {}

        def depth(node) -> int:  # 1 + the deepest hoisted node below (0: none)
            if isinstance(node, tuple):
                return max([depth(x) for x in node], default=0)
            if not hasattr(node, "__dataclass_fields__") or isinstance(node, c.Ranking):
                return 0
            if id(node) not in level:
                below = max([depth(getattr(node, f)) for f in node.__dataclass_fields__], default=0)
                level[id(node)] = below + 1 if id(node) in hoist else below
            return level[id(node)]

        def swap(node):
            if isinstance(node, tuple):
                return tuple(swap(x) for x in node)
            if not hasattr(node, "__dataclass_fields__") or isinstance(node, c.Ranking):
                return node
            if id(node) in named:
                return named[id(node)]
            if id(node) not in done:
                changed = {f: swap(getattr(node, f)) for f in node.__dataclass_fields__}
                done[id(node)] = replace(node, **{f: x for f, x in changed.items() if x is not getattr(node, f)})
            return done[id(node)]
        for _, v in values:
            depth(v.node)
        for k in range(1, max(level[i] for i in hoist) + 1):
            cols = []
            for i in sorted((i for i in hoist if level[i] == k), key=lambda i: list(nodes).index(i)):
                name = self.fresh(f"{step}#shared")
                cols.append((name, self.sql(swap(nodes[i]))))
                named[i] = s.Column(name, bool(getattr(nodes[i], "wide", False)))
            self.push(f"{step}: shared", cols)
        done.clear()
        return [(n, replace(v, node=swap(v.node))) for n, v in values]

    def push(self, step: str, cols: list[tuple[str, exp.Expression]]) -> None:
        if not cols:
            return
        taken = {x.name for x in self.steps}
        name, i = step, 1
        while name in taken:
            i += 1
            name = f"{step} ({i})"
        self.steps.append(Step(name, cols))


def _cheap(node) -> bool:
    return isinstance(node, (s.Column, s.Const)) or (isinstance(node, s.Pick) and isinstance(node.index, s.Column))


class Printer(c.Visitor):
    """Plan nodes → sqlglot, reading the query's columns (ranks need the key columns)."""

    def __init__(self, q: Query):
        self.q, self.d = q, q.dialect

    def wide(self, e: exp.Expression, wide: bool) -> exp.Expression:
        return self.d.cast_int(e) if wide else e

    def visit_Const(self, n: s.Const):
        v = n.value
        if isinstance(v, bool):
            return exp.Boolean(this=v)
        if isinstance(v, int):
            return self.wide(lit_int(v), n.wide)
        if isinstance(v, str):
            return lit_str(v)
        if v is None:
            return exp.Null()
        raise s.Unsupported(f"the constant {v!r} in SQL")

    def visit_Column(self, n: s.Column):
        return col(n.name)

    def visit_Arith(self, n: s.Arith):
        a, b = self.visit(n.a), self.visit(n.b)
        if n.op == "-" and isinstance(n.a, s.Const) and n.a.value == 0:
            return exp.Neg(this=exp.Paren(this=self.wide(b, n.wide)))
        return exp.Paren(this=_ARITH[n.op](this=self.wide(a, n.wide), expression=b))

    def visit_Quotient(self, n: s.Quotient):
        return self.d.floor_div(self.wide(self.visit(n.a), n.wide), self.visit(n.b), n.wide)

    def visit_Compare(self, n: s.Compare):
        return _CMP[n.op](this=self.visit(n.a), expression=self.visit(n.b))

    def visit_Logic(self, n: s.Logic):
        args = [self.visit(a) for a in n.args]
        if n.op == "not":
            return exp.Not(this=exp.Paren(this=args[0]))
        node = exp.And if n.op == "and" else exp.Or
        out = args[0]
        for a in args[1:]:
            out = node(this=out, expression=a)
        return exp.Paren(this=out)

    def visit_Why(self, n: s.Why):
        return self.visit(n.test)

    def visit_Case(self, n: s.Case):
        arms = [exp.If(this=self.visit(t), true=self.wide(self.visit(v), n.wide)) for t, v in n.arms]
        default = self.wide(self.visit(n.else_), n.wide)
        return exp.Case(ifs=arms, default=default) if arms else default

    def visit_Extreme(self, n: s.Extreme):
        return fn("least" if n.op == "min" else "greatest", *[self.wide(self.visit(a), n.wide) for a in n.args])

    def visit_Pick(self, n: s.Pick):
        at = self.visit(n.index)
        return exp.Case(ifs=[exp.If(this=exp.EQ(this=at, expression=lit_int(i)), true=self.visit(s.Const(x)))
                             for i, x in enumerate(n.names)])

    def visit_Rank(self, n: s.Rank):
        r = n.ranking
        rank = window(self.q, fn("rank"), r.partition.fields, order_by(self.q, r))
        if not n.from_bottom:
            return rank
        size = window(self.q, exp.Count(this=exp.Star()), r.partition.fields)
        return exp.Paren(this=exp.Sub(this=exp.Add(this=size, expression=exp.Literal.number(1)), expression=rank))

    def visit_Window(self, n: s.Window):
        if n.fn == "len":
            agg = exp.Count(this=exp.Star())
        elif n.fn == "count":
            agg = exp.Sum(this=case(self.visit(n.arg), exp.Literal.number(1), exp.Literal.number(0)))
        else:
            agg = {"sum": exp.Sum, "min": exp.Min, "max": exp.Max}[n.fn](this=self.wide(self.visit(n.arg), n.wide))
        return window(self.q, agg, n.fields)

    # ---- lists -------------------------------------------------------------------
    def visit_ListOf(self, n: s.ListOf):
        return self.d.array([self.visit(x) for x in n.items])

    def visit_Concat(self, n: s.Concat):
        if isinstance(n.b, s.ListOf) and not n.b.items:
            return self.visit(n.a)
        if isinstance(n.a, s.ListOf) and not n.a.items:
            return self.visit(n.b)
        return self.d.concat(self.visit(n.a), self.visit(n.b))

    def visit_ListFn(self, n: s.ListFn):
        xs, d, x = self.visit(n.list), self.d, exp.column("x")
        zero, one = exp.Literal.number(0), exp.Literal.number(1)
        if n.fn == "len":
            return d.length(xs)
        if n.fn == "sum":
            return d.fold(xs, d.cast_int(zero, n.wide), "acc", "x", exp.Add(this=exp.column("acc"), expression=x))
        if n.fn == "trimmed_sum":
            k = self.visit(n.arg)
            kept = d.slice(d.sort(xs), exp.Add(this=k, expression=one),
                           exp.Sub(this=d.length(xs), expression=exp.Mul(this=lit_int(2), expression=k)))
            return d.fold(kept, d.cast_int(zero, n.wide), "acc", "x", exp.Add(this=exp.column("acc"), expression=x))
        if n.fn in ("min", "max"):
            return d.extreme(xs, n.fn == "max")
        v = self.visit(n.arg)
        if n.fn == "count":
            return d.length(d.filter(xs, "x", exp.EQ(this=x, expression=v)))
        if n.fn == "streak":
            hit = d.transform(xs, "x", case(exp.EQ(this=x, expression=v), one, zero))
            again = case(exp.EQ(this=x, expression=one), exp.Add(this=exp.column("acc"), expression=one), zero)
            return d.fold(hit, d.cast_int(zero, False), "acc", "x", again)
        if n.fn == "get":  # a whole position that exists (else the row fails): 1-based, negative from the end
            at = case(exp.GTE(this=v, expression=zero), exp.Add(this=v, expression=one), v)
            return d.element(xs, d.cast_int(at, False))
        raise s.Unsupported(f"the list function {n.fn} in SQL")


def window(q: Query, agg: exp.Expression, fields: tuple[str, ...], order: list | None = None,
           running: bool = False) -> exp.Window:
    """`agg` OVER (PARTITION BY the fields ORDER BY …); `running`: up to the current row."""
    spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW") if running else None
    return exp.Window(this=agg, partition_by=[q.sql(q.columns[f].node) for f in fields] or None,
                      order=exp.Order(expressions=order) if order else None, spec=spec)


def order_by(q: Query, ranking: c.Ranking) -> list[exp.Ordered]:
    """The ranking's keys as ORDER BY terms (a tier set by its position, 0 = best)."""
    out = []
    for k in ranking.keys:
        key = q.columns[q.tier_index[k.name]] if k.by_tier else q.columns[k.name]
        out.append(exp.Ordered(this=q.sql(key.node), desc=k.descending, nulls_first=not k.descending))
    return out


class Scaler(s.Scaler):
    """The plan's Scaler with the cohort: ranks and group values as windows. `keep` is
    given every value decided and may give it a column (a large one: a division's plan
    read twice by `ratio` would otherwise be printed twice, and so on up the tree)."""

    def __init__(self, env: dict, size: s.Value, n: int, keep=None):
        super().__init__(env, size)
        self.n, self.keep = n, keep

    def visit(self, node, *args):
        v = super().visit(node, *args)
        return self.keep(v) if self.keep is not None and isinstance(node, (c.Call, c.Div, c.Round, c.Cond)) else v

    def visit_RankOf(self, e: c.RankOf) -> s.Value:
        return s.rank(e, self.n)

    def visit_GroupValue(self, e: c.GroupValue) -> s.Value:
        return s.group_value(e.aggregate, self.visit(e.aggregate.arg), self.n)
