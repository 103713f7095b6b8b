"""A core Program as the chain of SQL steps of printer.py: inputs, the individual stage,
the cohort steps (cohort.py), the values after them, the flags and the output.

`build(program, policy, inputs, dialect, table)` gives the Query; `render` prints it as one
`WITH … SELECT` statement of the dialect.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..lower import core as c
from . import cohort
from .dialect import Dialect
from .printer import Printer, Query, Step, Unprintable
from .values import V, case, col, lit_str, size

ROW = "#row"  # the subject's position in the input, 0-based
FAILS = "#fails"  # the row may fail in the individual stage (its error is worded by the reference)
LATE_FAILS = "#fails after the cohort"
FLAGS = "flags"


@dataclass(frozen=True)
class Input:
    """How an input column arrives: its kind, and for numbers (or lists of them) the scale
    of the integers in the table."""
    name: str
    kind: str  # num bool text list
    scale: int = 0
    elem: str | None = None  # list: num bool text


def _events_only(stmts) -> bool:
    return all(isinstance(s, (c.OpenIndicator, c.Adjusted, c.BoundBit, c.CloseIndicator, c.TierMoved))
               or (isinstance(s, c.Guard) and _events_only(s.then) and _events_only(s.else_)) for s in stmts)


def _live(d: c.Define) -> set[str]:
    """The names a definition's value depends on (what trace events alone read is dead)."""
    out = set(c.reads(d.result))
    if d.tier is not None:
        out |= {d.tier.index, d.tier.ceiling, d.tier.pinned, d.tier.limit}

    def walk(stmts):
        for s in stmts:
            if isinstance(s, c.Let):
                out.update(c.reads(s.expr))
            elif isinstance(s, c.Guard) and not _events_only((s,)):
                out.update(c.reads(s.test))
                walk(s.then)
                walk(s.else_)
    walk(d.body)
    return out


class Builder:
    def __init__(self, program: c.Program, dialect: Dialect):
        self.program = program
        self.q = Query(dialect)

    def printer(self, local=None, size_of=None) -> Printer:
        return Printer(self.q, local, size_of)

    # ---- statements ----------------------------------------------------------------
    def run(self, stmts, local: dict, live: set[str], label: str) -> None:
        for s in stmts:
            if isinstance(s, c.Let):
                if s.name in live:
                    local[s.name] = self.keep(label, s.name, self.printer(local).expr(s.expr))
            elif isinstance(s, c.Guard):
                if _events_only((s,)):
                    continue
                test = self.printer(local).expr(s.test)
                if isinstance(test.sql, exp.Boolean):  # decided when printing
                    self.run(s.then if test.sql.this else s.else_, local, live, label)
                    continue
                then, else_ = dict(local), dict(local)
                self.run(s.then, then, live, label)
                self.run(s.else_, else_, live, label)
                for name in [n for n in {**then, **else_} if then.get(n) is not else_.get(n)]:
                    local[name] = self.keep(label, name, merge(test, then.get(name), else_.get(name), self.q))

    def keep(self, label: str, name: str, v: V) -> V:
        """v, or a column holding it when it is large (so later uses do not repeat it)."""
        if size(v.sql) <= 25 or isinstance(v.sql, exp.Column):
            return v
        self.q.add(f"{label}: {name}", [(name, v)])
        return self.q.columns[name]

    def define(self, d: c.Define, label: str) -> None:
        local: dict[str, V] = {}
        self.run(d.body, local, _live(d), label)
        if d.tier is not None:  # the tier's position first: its name reads it
            t = d.tier
            self.q.add(f"{label}: position", [(n, local[n]) for n in (t.index, t.ceiling, t.pinned, t.limit)])
            self.q.tier_index[d.name] = d.tier.index
            local = {}
        self.q.add(label, [(d.name, self.printer(local).expr(d.result))])

    # ---- the program ---------------------------------------------------------------
    def inputs(self, inputs: list[Input], table: str) -> None:
        cols = [(ROW, col(ROW))]
        for i in inputs:
            self.q.used.add(i.name)
            elem = None if i.elem is None else V(exp.Null(), i.elem, i.scale)
            self.q.columns[i.name] = V(col(i.name), i.kind, i.scale, elem)
            cols.append((i.name, col(i.name)))
        self.q.used.add(ROW)
        self.q.columns[ROW] = V(col(ROW), "pos")
        self.q.steps.append(Step("input", cols, source=table))

    def flags(self, flags: tuple[c.Flag, ...]) -> None:
        p = self.printer()
        parts = [case(p.expr(f.test).sql, lit_str(f.label), exp.Null()) for f in flags]
        joined = exp.Anonymous(this="concat_ws", expressions=[lit_str(";")] + parts) if parts else lit_str("")
        self.q.add("flags", [(FLAGS, V(joined, "text"))])

    def fails(self, name: str) -> None:
        conds, self.q.fails = self.q.fails, []
        if conds:
            any_ = conds[0]
            for x in conds[1:]:
                any_ = exp.Or(this=any_, expression=x)
            self.q.add(name, [(name, V(exp.Coalesce(this=exp.Paren(this=any_), expressions=[exp.Boolean(this=False)]),
                                       "bool"))])


def merge(test: V, a: V | None, b: V | None, q: Query) -> V:
    """CASE WHEN test THEN a ELSE b (a value one branch of a guard did not assign is NULL)."""
    known = a if a is not None else b
    if known.kind == "bool" and a is not None and b is not None and isinstance(a.sql, exp.Boolean) \
            and isinstance(b.sql, exp.Boolean) and a.sql.this != b.sql.this:
        return test if a.sql.this else V(exp.Not(this=exp.Paren(this=test.sql)), "bool")
    if known.kind == "num":
        from . import numeric
        have = [v for v in (a, b) if v is not None]
        s = max(v.scale for v in have)
        x = numeric.rescale(a, s, q.wide) if a is not None else exp.Null()
        y = numeric.rescale(b, s, q.wide) if b is not None else exp.Null()
        return V(case(test.sql, x, y), "num", s)
    return known.at(case(test.sql, a.sql if a is not None else exp.Null(), b.sql if b is not None else exp.Null()))


def build(program: c.Program, inputs: list[Input], dialect: Dialect, table: str = "subjects") -> Query:
    """The query computing `program` over `table` (one row per subject: ROW and the inputs)."""
    b = Builder(program, dialect)
    b.inputs(inputs, table)
    for d in program.individual:
        b.define(d, d.name)
    b.fails(FAILS)
    for i, step in enumerate(program.steps, start=1):
        cohort.step(b, step, i)
    for d in program.post:
        b.define(d, f"after the cohort: {d.name}")
    for d in program.cohort:
        b.define(d, f"cohort: {d.name}")
    b.flags(program.cohort_flags if program.steps or program.cohort or program.post else program.flags)
    b.fails(LATE_FAILS)
    return b.q


def outputs(program: c.Program, q: Query) -> list[tuple[str, V]]:
    """The output columns: the key, each output value, the flags."""
    names = ([program.key] if program.key else []) + [n for n in program.outputs if n != program.key] + [FLAGS]
    return [(n, q.columns[n]) for n in names]


def render(program: c.Program, q: Query) -> str:
    """The whole query: `WITH` every step `SELECT` the output columns in input order."""
    return select(q, [(ROW, q.columns[ROW])] + outputs(program, q)).sql(q.dialect.name, pretty=True)


def select(q: Query, columns: list[tuple[str, V]], where: exp.Expression | None = None) -> exp.Select:
    """`WITH` every step `SELECT` `columns` of the last one (`where` they hold), in input order."""
    ctes, prev = [], None
    for s in q.steps:
        source = s.source if s.source is not None else prev
        step = exp.select(*([exp.Star()] if s.source is None else []),
                          *[exp.alias_(e, exp.to_identifier(name, quoted=True)) for name, e in s.columns])
        step = step.from_(exp.to_table(source) if s.source is not None and not _quoted(source)
                          else exp.Table(this=exp.to_identifier(source, quoted=True)))
        ctes.append((s.name, step))
        prev = s.name
    final = exp.select(*[exp.alias_(v.sql, exp.to_identifier(n, quoted=True)) for n, v in columns])
    final = final.from_(exp.Table(this=exp.to_identifier(prev, quoted=True)))
    if where is not None:
        final = final.where(where)
    final = final.order_by(col(ROW))
    for name, step in ctes:
        final = final.with_(exp.to_identifier(name, quoted=True), as_=step)
    return final


def _quoted(source: str) -> bool:
    return not source.isidentifier()


