"""Readable counterexamples: once the solver has one, ask it for a simpler one.

Input by input, in declaration order, try a plainer value and keep it when the failure
survives: 0 (or the lower bound) for numbers, whole numbers for decimals, then the
least whole bound on its size (by bisection); `false` for booleans; the first choice; the
shortest list. Each try is one cheap solver call with a short timeout; a try that times
out is simply not taken.
"""
from __future__ import annotations

import z3

from ..ir import Policy
from .inputs import SEARCH_SCALE, Inputs
from .values import AbstractList, ConcreteList, Num, Tier

TRY_MS = 500


def minimise(solver: z3.Solver, inputs: Inputs, ir: Policy, budget_ms: int) -> z3.ModelRef:
    """A model of `solver` (already satisfiable) with the plainest inputs found."""
    solver.set("timeout", min(TRY_MS, budget_ms))
    for inp in ir.inputs:
        v = inputs.values[inp.name]
        for tries in _tries(v, inp):
            for c in tries:
                if isinstance(c, _Smallest):
                    c.apply(solver)
                elif _keep(solver, c):
                    break
    solver.check()
    return solver.model()


class _Smallest:
    """Bisect the least whole bound on |t| that keeps the failure (15, not 87)."""

    def __init__(self, t):
        self.t = t

    def apply(self, solver: z3.Solver) -> None:
        if solver.check() != z3.sat:
            return
        size = z3.If(self.t >= 0, self.t, -self.t)
        value = solver.model().eval(size, model_completion=True)
        if not z3.is_rational_value(value):
            return
        f = value.as_fraction()
        lo, hi = 0, -(-f.numerator // f.denominator)
        for _ in range(64):
            if lo >= hi:
                break
            mid = (lo + hi) // 2
            solver.push()
            solver.add(size <= mid)
            ok = solver.check() == z3.sat
            solver.pop()
            lo, hi = (lo, mid) if ok else (mid + 1, hi)
        solver.add(size <= hi)


def _smallest(t):
    return _Smallest(t)


def _keep(solver: z3.Solver, c) -> bool:
    solver.push()
    solver.add(c)
    if solver.check() == z3.sat:
        return True
    solver.pop()
    return False


def _tries(v, inp):
    """Groups of alternatives, each group tried in order until one holds."""
    if isinstance(v, (ConcreteList, AbstractList)):
        yield [v.length == n for n in range(0, 4)]
        if isinstance(v, ConcreteList):
            for item in v.items:
                yield from _tries(item, inp)
        return
    if isinstance(v, Num):
        t = v.term
        yield [t == 0] + ([t == _lo(inp)] if _lo(inp) is not None else [])
        if not inp.is_int:
            raw = z3.ToInt(t * 10 ** SEARCH_SCALE)
            yield [raw % 10 ** SEARCH_SCALE == 0, raw % 10 == 0]
        yield [_smallest(t)]
        return
    if isinstance(v, Tier):
        yield [v.term == i for i in range(len(v.names))]
        return
    if z3.is_bool(v):
        yield [z3.Not(v)]
        return
    choices = inp.choices or ("a", "b", "x1")
    yield [v == z3.StringVal(c) for c in choices]


def _lo(inp):
    return z3.RealVal(str(inp.range.lo)) if inp.range is not None and inp.range.lo is not None else None
