"""Walking core programs: the children of an expression, the expressions of statements,
and the cohort nodes a program reads, numbered.

`cohort_nodes` is the numbering generated code asks the cohort stage by (its RANKINGS and
GROUPS tables): the printer numbers a program's rankings and aggregates with it, and the
cohort stage, which lowers the same policy, maps the numbers back to the core's nodes
with it, so a compiled module carries no IR objects and is handed none when loaded.
"""
from __future__ import annotations

from . import core as c


def kids(e) -> tuple:
    """The subexpressions of `e`, in evaluation order (none for a leaf)."""
    if isinstance(e, c.Call):
        return e.args
    if isinstance(e, c.Div):
        return (e.num, e.den)
    if isinstance(e, c.Round):
        return (e.value, e.places)
    if isinstance(e, c.Cond):
        return (e.test, e.then, e.else_)
    return ()


def stmt_exprs(s) -> tuple:
    """The expressions statement `s` evaluates itself (not those of a guard's branches)."""
    if isinstance(s, c.Let):
        return (s.expr,)
    if isinstance(s, c.Guard):
        return (s.test,)
    if isinstance(s, c.OpenIndicator):
        return () if s.base is None else (s.base,)
    if isinstance(s, c.Adjusted):
        return (s.amount, s.uncapped)
    if isinstance(s, c.BoundBit):
        return (s.before, s.after)
    if isinstance(s, c.CloseIndicator):
        return (s.value,)
    if isinstance(s, c.TierMoved):
        return tuple(x for x in (s.before, s.after, s.line, s.by) if x is not None)
    return ()


def exprs_of(stmts) -> list:
    """The expressions of statements, nested ones included, in order."""
    out = []
    for s in stmts:
        out += stmt_exprs(s)
        if isinstance(s, c.Guard):
            out += exprs_of(s.then) + exprs_of(s.else_)
    return out


def cohort_nodes(program: c.Program) -> tuple[list[c.Ranking], list[object], list[c.Aggregate]]:
    """(rankings, their trace keys, aggregates) by number: the rankings the program's values
    read, in program order, then those its cohort steps place by; the aggregates they read."""
    rankings: list[c.Ranking] = []
    facts: list[object] = []  # each ranking's trace key (RankOf.fact)
    aggregates: list[c.Aggregate] = []
    exprs: list = []
    for d in (*program.individual, *program.post, *program.cohort):
        exprs += exprs_of(d.body)
        exprs.append(d.result)
    exprs.extend(f.test for f in (*program.flags, *program.cohort_flags))
    for e in exprs:
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, c.RankOf):
                if not any(r is n.ranking for r in rankings):
                    rankings.append(n.ranking)
                    facts.append(n.fact)
            elif isinstance(n, c.GroupValue):
                if n.aggregate not in aggregates:
                    aggregates.append(n.aggregate)
                stack.append(n.aggregate.arg)
            else:
                stack.extend(reversed(kids(n)))
    for step in program.steps:  # the orders quotas and `distribute` place by
        if not any(r is step.ranking for r in rankings):
            rankings.append(step.ranking)
            facts.append(None)
    return rankings, facts, aggregates
