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


def minimise(solver: z3.Solver, inputs: Inputs, ir: Policy, budget_ms: int, light: bool = False,
             check=None) -> z3.ModelRef:
    """A model of `solver` (just found satisfiable) with the plainest inputs found.
    `light`: only zeros, false, first choices and short lists (the other tries assume
    exact arithmetic, which a model of the rounding over-approximation is not);
    `check(solver)` replaces `solver.check()` (to add rounding lemmas, say)."""
    check = check or (lambda s: s.check())
    best = solver.model()
    solver.set("timeout", min(TRY_MS, budget_ms))
    for inp in ir.inputs:
        v = inputs.values[inp.name]
        for n, tries in enumerate(_tries(v, inp)):
            if light and n > 0:
                break
            for c in tries:
                if isinstance(c, _Smallest):
                    best = c.apply(solver, best)
                elif _keep(solver, c, check):
                    best = solver.model()
                    break
    return best


class _Smallest:
    """Bisect the least whole bound on |t| that keeps the failure (15, not 87)."""

    def __init__(self, t):
        self.t = t

    def apply(self, solver: z3.Solver, best):
        size = z3.If(self.t >= 0, self.t, -self.t)
        value = best.eval(size, model_completion=True)
        if not z3.is_rational_value(value):
            return best
        f = value.as_fraction()
        lo, hi = 0, -(-f.numerator // f.denominator)
        for _ in range(64):
            if lo >= hi:
                break
            mid = (lo + hi) // 2
            solver.push()
            solver.add(size <= mid)
            if solver.check() == z3.sat:
                best, hi = solver.model(), mid
            else:
                lo = mid + 1
            solver.pop()
        solver.add(size <= hi)
        return best


def _smallest(t):
    return _Smallest(t)


def _keep(solver: z3.Solver, c, check) -> bool:
    solver.push()
    solver.add(c)
    if check(solver) == z3.sat:
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
