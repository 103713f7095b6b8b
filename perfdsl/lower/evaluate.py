"""Runs a core Program on records: the individual stage here, the cohort stage in
perfdsl.lower.cohort_stage. It gives what the reference interpreter with perfdsl.cohort gives
(values, flags, tier states, warnings, the same error texts), which is how the core is
shown to mean what the policy means before any backend is switched to it.

Arithmetic runs in runtime.CONTEXT; a decimal trap inside a Define, a Flag or a group
value is reported against its Owner, as every backend reports it.
"""
from __future__ import annotations

from decimal import Decimal

from .. import runtime as rt
from ..io import DataError, DataProblem
from ..runtime import Result, TierState
from ..runtime import AdjustStep, BoundHit, IndicatorTrace, TierChange, TierTrace, Trace
from . import core as c

C = rt.CONTEXT


def _compare(f):
    return lambda a, where, what: f(a[0], a[1])


_CALLS = {
    c.Op.ADD: lambda a, w, s: C.add(a[0], a[1]),
    c.Op.SUB: lambda a, w, s: C.subtract(a[0], a[1]),
    c.Op.MUL: lambda a, w, s: C.multiply(a[0], a[1]),
    c.Op.NEG: lambda a, w, s: C.minus(a[0]),
    c.Op.TOTAL: lambda a, w, s: rt.total(a),
    c.Op.NOT: lambda a, w, s: not a[0],
    c.Op.EQ: _compare(lambda x, y: x == y),
    c.Op.NE: _compare(lambda x, y: x != y),
    c.Op.LT: _compare(lambda x, y: x < y),
    c.Op.LE: _compare(lambda x, y: x <= y),
    c.Op.GT: _compare(lambda x, y: x > y),
    c.Op.GE: _compare(lambda x, y: x >= y),
    c.Op.LIST: lambda a, w, s: tuple(a),
    c.Op.CONCAT: lambda a, w, s: tuple(a[0]) + tuple(a[1]),
    c.Op.MIN: lambda a, w, s: min(a),
    c.Op.MAX: lambda a, w, s: max(a),
    c.Op.ABS: lambda a, w, s: C.abs(a[0]),
    c.Op.CLAMP: lambda a, w, s: rt.clamp(a[0], a[1], a[2]),
    c.Op.SUM: lambda a, w, s: rt.total((rt.ZERO,) + tuple(a[0])),
    c.Op.MEAN: lambda a, w, s: rt.mean(a[0], w),
    c.Op.LEN: lambda a, w, s: Decimal(len(a[0])),
    c.Op.COUNT: lambda a, w, s: rt.count(a[0], a[1]),
    c.Op.TRIMMED_MEAN: lambda a, w, s: rt.trimmed_mean(a[0], int(a[1]), w),
    c.Op.STREAK: lambda a, w, s: rt.streak(a[0], a[1]),
    c.Op.RATIO: lambda a, w, s: rt.ratio(a[0], a[1], w),
    c.Op.LIST_MIN: lambda a, w, s: rt.list_min(a[0], w),
    c.Op.LIST_MAX: lambda a, w, s: rt.list_max(a[0], w),
    c.Op.INDEX: lambda a, w, s: rt.index(a[0], a[1], s, w),
    c.Op.STEP: lambda a, w, s: a[0] + a[1],
    c.Op.PICK: lambda a, w, s: a[0][a[1]],
}


class Machine(c.Visitor):
    """Evaluates core expressions and statements over one subject's environment.

    `ctx` answers what needs the cohort (`size`, ranks, group values); `trace`, when not
    None, receives the trace events as runtime.trace records."""

    def __init__(self, env: dict, ctx=None, trace: Trace | None = None):
        self.env, self.ctx, self.trace = env, ctx, trace
        self._indicator: IndicatorTrace | None = None
        self._tiers: dict[str, TierTrace] = {}

    def eval(self, e: c.Expr):
        return self.visit(e)

    # ---- expressions ---------------------------------------------------------------
    def visit_Lit(self, e: c.Lit):
        return e.value

    def visit_Var(self, e: c.Var):
        return self.env[e.name]

    def visit_Size(self, e: c.Size):
        return self.ctx.size

    def visit_Call(self, e: c.Call):
        if e.op is c.Op.AND:
            return bool(self.visit(e.args[0])) and bool(self.visit(e.args[1]))
        if e.op is c.Op.OR:
            return bool(self.visit(e.args[0])) or bool(self.visit(e.args[1]))
        return _CALLS[e.op]([self.visit(a) for a in e.args], e.where, e.what)

    def visit_Div(self, e: c.Div):
        return rt.divide(self.visit(e.num), self.visit(e.den), e.where)

    def visit_Round(self, e: c.Round):
        return rt.quantize(self.visit(e.value), int(self.visit(e.places)), e.mode.value)

    def visit_Cond(self, e: c.Cond):
        while isinstance(e, c.Cond):  # else-if chains (tables) loop instead of recursing
            e = e.then if self.visit(e.test) else e.else_
        return self.visit(e)

    def visit_RankOf(self, e: c.RankOf):
        return self.ctx.rank(e)

    def visit_GroupValue(self, e: c.GroupValue):
        return self.ctx.aggregate(e.aggregate)

    # ---- statements ----------------------------------------------------------------
    def run(self, stmts) -> None:
        for s in stmts:
            self.visit(s)

    def visit_Let(self, s: c.Let) -> None:
        self.env[s.name] = self.visit(s.expr)

    def visit_Guard(self, s: c.Guard) -> None:
        self.run(s.then if self.visit(s.test) else s.else_)

    def define(self, d: c.Define, result: Result) -> None:
        """Run one definition into `result` (its value, and its tier state if a tier)."""
        try:
            self.run(d.body)
            value = self.visit(d.result)
        except rt.DecimalException as exc:
            raise rt.arithmetic_error(exc, d.owner.where, d.owner.what) from None
        self.env[d.name] = result.values[d.name] = value
        if d.tier is not None:
            t, env = d.tier, self.env
            result.tiers[d.name] = TierState(env[t.index], env[t.ceiling], env[t.pinned], env[t.limit])

    def holds(self, f: c.Flag) -> bool:
        try:
            return bool(self.visit(f.test))
        except rt.DecimalException as exc:
            raise rt.arithmetic_error(exc, f.owner.where, f.owner.what) from None

    # ---- trace events --------------------------------------------------------------
    def visit_OpenIndicator(self, s: c.OpenIndicator) -> None:
        if self.trace is not None:
            base = None if s.base is None else self.visit(s.base)
            self._indicator = IndicatorTrace(s.name, s.label, base, weight=s.weight)

    def visit_Adjusted(self, s: c.Adjusted) -> None:
        if self.trace is not None:
            self._indicator.steps.append(AdjustStep(s.sign, s.reason, self.visit(s.amount), self.visit(s.uncapped), s.line))

    def visit_BoundBit(self, s: c.BoundBit) -> None:
        if self.trace is not None:
            self._indicator.bounds.append(BoundHit(s.kind, self.visit(s.before), self.visit(s.after), s.line))

    def visit_CloseIndicator(self, s: c.CloseIndicator) -> None:
        if self.trace is not None:
            it, self._indicator = self._indicator, None
            it.value = self.visit(s.value)
            # a value recomputed after the cohort stage replaces its earlier explanation
            self.trace.indicators = [x for x in self.trace.indicators if x.name != it.name] + [it]

    def visit_TierMoved(self, s: c.TierMoved) -> None:
        if self.trace is None:
            return
        after, line = s.names[self.visit(s.after)], self.visit(s.line)
        if s.kind is c.RuleKind.BAND:
            tt = self._tiers[s.tierset] = TierTrace(s.tierset, s.label, self.visit(s.by))
            tt.changes.append(TierChange("band", None, after, None, line))
            self.trace.tiers.append(tt)
            return
        change = TierChange(s.kind.value, s.names[self.visit(s.before)], after, s.reason, line)
        tt = self._tiers[s.tierset]
        (tt.held if s.held else tt.changes).append(change)


def individual(program: c.Program, policy, record: dict, trace: bool = False) -> Result:
    """One subject through the individual stage (§5 up to the veto), as a Result of
    `policy` (the IR: it names the key and the outputs)."""
    tr = Trace() if trace else None
    result = Result(policy, record, {}, [], tr)
    m = Machine(dict(record), None, tr)
    for d in program.individual:
        m.define(d, result)
    result.flags = [f.label for f in program.flags if m.holds(f)]
    return result


def evaluate_cohort(program: c.Program, policy, records: list[dict], numbers: list[int] | None = None,
                    trace: bool = False):
    """(results, warnings) of the whole pipeline on validated records, in input order;
    DataError naming every bad row, or the cohort's problems, as the reference words them.
    `trace`: each result carries its explanation trace, cohort decisions included."""
    from .cohort_stage import run_cohort
    numbers = numbers or list(range(1, len(records) + 1))
    results, problems = [], []
    with rt.localcontext(C):
        for number, rec in zip(numbers, records):
            try:
                results.append(individual(program, policy, rec, trace))
            except rt.EvalError as err:
                problems.append(DataProblem(number, None, str(err)))
        if problems:
            raise DataError(problems)
        warnings = run_cohort(program, results, numbers)
    return results, warnings
