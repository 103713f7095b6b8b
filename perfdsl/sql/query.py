"""A core Program as one SQL query: a chain of named steps (CTEs), each adding columns to
the previous one, that an auditor can read top to bottom.

    "input"               the subjects' inputs, numbers as scaled integers
    "total", "grade" …    one step per definition of the individual stage
    "quota …", "distribute …"  the cohort steps as window functions (cohort.py)
    "after the cohort: …", "cohort: …"  values reading a final tier, ranks, group values
    "flags"               every flag that holds, joined by `;`

A definition's body (assignments, guarded assignments) is folded into one expression per
value, each guard a CASE; an intermediate value that grows large gets a step of its own,
so no expression is repeated without bound. Trace events are not printed: the SQL
backends keep no explanations. Each value's plan (perfdsl.lower.scaled) says where it
fails (a division by zero, a list too short …): those tests, under the guards they sit
in, make the `#fails` columns the runner reads (engine.py); each is kept with the name of
the definition it fails (`Query.failing`), so a compiled query words it there.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..lower import core as c
from ..lower import scaled as s
from . import cohort
from .dialect import Dialect
from .printer import Query, Scaler, Step
from .values import col, lit_str

ROW = "#row"  # the subject's position in the input, 0-based
FAILS = "#fails"  # the row fails in the individual stage (its error is worded by the reference)
LATE_FAILS = "#fails after the cohort"
FLAGS = "flags"
_BIG = 25  # nodes: an intermediate value larger than this gets a column of its own


@dataclass(frozen=True)
class Input:
    """How an input column arrives in the table: its kind (num bool text list), for
    numbers (or lists of them) their Num, for lists the item kind and most items."""
    name: str
    kind: str
    num: s.Num | None = None
    item: str | None = None
    length: int = 0

    def value(self) -> s.Value:
        wide = bool(self.num and self.num.wide)
        if self.kind == "num":
            return s.column(self.name, self.num)
        return s.Value(s.Column(self.name, wide), self.kind, self.num, None, self.item, self.length)


def _events_only(stmts) -> bool:
    return all(isinstance(x, (c.OpenIndicator, c.Adjusted, c.BoundBit, c.CloseIndicator, c.TierMoved))
               or (isinstance(x, c.Guard) and _events_only(x.then) and _events_only(x.else_)) for x in stmts)


def _size(node, memo: dict | None = None) -> int:
    """Plan nodes a value prints as (a node read twice counts twice), counted once each:
    when an intermediate value deserves a column."""
    memo = {} if memo is None else memo
    if isinstance(node, tuple):
        return sum(_size(x, memo) for x in node)
    if not hasattr(node, "__dataclass_fields__") or isinstance(node, c.Ranking):
        return 0
    if id(node) not in memo:
        memo[id(node)] = 1 + sum(_size(getattr(node, f), memo) for f in node.__dataclass_fields__)
    return memo[id(node)]


class Builder:
    def __init__(self, program: c.Program, dialect: Dialect, cohort_size: int):
        self.program = program
        self.q = Query(dialect, cohort_size)
        self.field = ""  # the definition being built: what a failure found now fails

    def scaler(self, local: dict | None = None, size: s.Value | None = None, label: str = "") -> Scaler:
        env = dict(self.q.columns)
        env.update(local or {})
        n = self.q.cohort_size
        size = size or s.Value(s.Window("len", s.Const(True), ()), "num", s.Num(0, 1, max(n, 1)))
        return Scaler(env, size, n, lambda v: self.part(label or "value", v))

    def part(self, label: str, v: s.Value) -> s.Value:
        """A large part of an expression in a column of its own (its failure test kept)."""
        if v.kind not in ("num", "int", "bool", "text") or _size(v.node) <= _BIG or isinstance(v.node, s.Window):
            return v
        fails = v.fails
        self.q.add(f"{label}: part", [(f"{label}#part", v)])
        return s.replace(self.q.columns[f"{label}#part"], fails=fails)

    def fail(self, path, v: s.Value) -> None:
        if v.fails is not None:
            self.q.fails.append((self.field, s.both(path, v.fails)))

    # ---- statements ----------------------------------------------------------------
    def run(self, stmts, local: dict, path, label: str) -> None:
        """Fold assignments and guards into `local`; `path`: the guards that lead here."""
        for x in stmts:
            if isinstance(x, c.Let):
                v = self.scaler(local, label=f"{label}: {x.name}").visit(x.expr)
                self.fail(path, v)
                local[x.name] = self.keep(label, x.name, v)
            elif isinstance(x, c.Guard) and not _events_only((x,)):
                test = self.scaler(local, label=label).visit(x.test)
                self.fail(path, test)
                if isinstance(test.node, s.Const):  # decided before any row is read
                    self.run(x.then if test.node.value else x.else_, local, path, label)
                    continue
                then, else_ = dict(local), dict(local)
                self.run(x.then, then, s.both(path, test.node), label)
                self.run(x.else_, else_, s.both(path, s.negate(test.node)), label)
                for name in [n for n in {**then, **else_} if then.get(n) is not else_.get(n)]:
                    a, b = then.get(name), else_.get(name)
                    if a is None or b is None:  # a name only one branch assigns: its own temporary
                        continue
                    merged = s.cond(test, a, b)
                    local[name] = self.keep(label, name, s.replace(merged, fails=None))

    def keep(self, label: str, name: str, v: s.Value) -> s.Value:
        """v, or a column holding it when it is large (so later uses do not repeat it)."""
        if v.kind in ("mixed", "none", "tuple") or _size(v.node) <= _BIG:
            return v
        self.q.add(f"{label}: {name}", [(name, v)])
        return self.q.columns[name]

    def define(self, d: c.Define, label: str) -> None:
        self.field = d.name
        local: dict[str, s.Value] = {}
        self.run(d.body, local, None, label)
        if d.tier is not None:  # the tier's position first: its name reads it
            t = d.tier
            self.q.add(f"{label}: position", [(n, local[n]) for n in (t.index, t.ceiling, t.pinned, t.limit)])
            self.q.tier_index[d.name] = t.index
            local = {}
        v = self.scaler(local, label=label).visit(d.result)
        self.fail(None, v)
        self.q.add(label, [(d.name, v)])

    # ---- the program ---------------------------------------------------------------
    def inputs(self, inputs: list[Input], table: str, kept: tuple[str, ...] = ()) -> None:
        """The input step: ROW, each input, and the `kept` columns of the table (--keep's
        cells as read, riding through the steps to the result table untouched)."""
        cols = [(ROW, col(ROW))]
        self.q.used.add(ROW)
        self.q.columns[ROW] = s.Value(s.Column(ROW), "int")
        for i in inputs:  # a number held in 64 bits is read as BIGINT: no 128-bit arithmetic follows from it
            self.q.used.add(i.name)
            self.q.columns[i.name] = i.value()
            narrow = i.kind == "num" and not i.num.wide
            cols.append((i.name, self.q.dialect.cast_int(col(i.name), False) if narrow else col(i.name)))
        for k in kept:
            self.q.used.add(k)
            cols.append((k, col(k)))
        self.q.steps.append(Step("input", cols, source=table))

    def flags(self, flags: tuple[c.Flag, ...]) -> None:
        self.field = FLAGS
        parts = []
        for f in flags:
            v = self.scaler().visit(f.test)
            self.fail(None, v)
            parts.append(exp.Case(ifs=[exp.If(this=self.q.sql(v.node), true=lit_str(f.label))]))
        joined = exp.Anonymous(this="concat_ws", expressions=[lit_str(";")] + parts) if parts else lit_str("")
        self.q.push("flags", [(self.q.fresh(FLAGS), joined)])
        self.q.columns[FLAGS] = s.Value(s.Column(self.q.steps[-1].columns[0][0]), "text")

    def fails(self, name: str) -> None:
        tests, self.q.fails = self.q.fails, []
        if tests:
            self.q.failing[name] = tests
            any_ = s.either(*(t for _, t in tests))
            self.q.push(name, [(name, exp.Coalesce(this=self.q.sql(any_), expressions=[exp.Boolean(this=False)]))])
            self.q.used.add(name)
            self.q.columns[name] = s.Value(s.Column(name), "bool")


def build(program: c.Program, inputs: list[Input], dialect: Dialect, cohort_size: int,
          table: str = "subjects", kept: tuple[str, ...] = ()) -> Query:
    """The query computing `program` over `table` (a ROW column and one per input, and the
    `kept` columns carried along); `cohort_size`: the most subjects it will see (the bounds
    of ranks and group sums)."""
    b = Builder(program, dialect, cohort_size)
    b.inputs(inputs, table, kept)
    for d in program.individual:
        b.define(d, d.name)
    b.fails(FAILS)
    if program.steps:  # what the run summary counts as moved by the cohort stage
        b.q.before = {ts: b.q.columns[name] for ts, name in b.q.tier_index.items()}
    for i, step in enumerate(program.steps, start=1):
        cohort.step(b, step, i)
    for d in program.post:
        b.define(d, f"after the cohort: {d.name}")
    for d in program.cohort:
        b.define(d, f"cohort: {d.name}")
    b.flags(program.cohort_flags)
    b.fails(LATE_FAILS)
    return b.q


def outputs(program: c.Program, q: Query) -> list[tuple[str, s.Value]]:
    """The output columns: the key, each output value, the flags."""
    names = ([program.key] if program.key else []) + [n for n in program.outputs if n != program.key] + [FLAGS]
    return [(n, q.columns[n]) for n in names]


def decimal(q: Query, v: s.Value) -> exp.Expression | None:
    """A number (or a list of numbers) as an exact DECIMAL (Dialect.exact_decimal); None
    where no DECIMAL(38, s) holds it (more than 38 decimals)."""
    if v.num is None or v.num.scale > 38:
        return None
    def shown(e):
        return q.dialect.exact_decimal(e, v.num.scale, v.num.magnitude)
    if v.kind == "list":
        return q.dialect.transform(q.sql(v.node), "x", shown(exp.column("x")))
    return shown(q.sql(v.node))


def render(program: c.Program, q: Query) -> str:
    """The whole query: `WITH` every step `SELECT` the output columns in input order."""
    return select(q, [(ROW, q.columns[ROW])] + outputs(program, q)).sql(q.dialect.name, pretty=True)


def select(q: Query, columns: list[tuple[str, s.Value]] | None, where=None, table: str | None = None,
           steps: int | None = None) -> exp.Select:
    """`WITH` every step (the first `steps` only, if given) `SELECT` `columns` (None: all)
    of the last one (`where`, a plan test, holds); from `table` instead, a table holding
    the last step, without the steps."""
    ctes, prev = [], None
    for st in q.steps[:steps]:
        step = exp.Select(expressions=([exp.Star()] if st.source is None else [])
                          + [exp.alias_(e, exp.to_identifier(name, quoted=True), copy=False) for name, e in st.columns])
        source = st.source if st.source is not None else prev
        step.set("from_", exp.From(this=exp.to_table(source) if st.source is not None and source.isidentifier()
                                   else exp.Table(this=exp.to_identifier(source, quoted=True))))
        ctes.append(exp.CTE(this=step, alias=exp.TableAlias(this=exp.to_identifier(st.name, quoted=True))))
        prev = st.name
    final = exp.Select(expressions=[exp.Star()] if columns is None else
                       [exp.alias_(q.sql(v.node) if isinstance(v, s.Value) else v, exp.to_identifier(n, quoted=True), copy=False)
                        for n, v in columns])
    final.set("from_", exp.From(this=exp.Table(this=exp.to_identifier(table or prev, quoted=True))))
    if where is not None:
        final.set("where", exp.Where(this=q.sql(where)))
    if columns is not None:
        final.set("order", exp.Order(expressions=[exp.Ordered(this=col(ROW))]))
    if table is None:
        final.set("with_", exp.With(expressions=ctes))
    return final
