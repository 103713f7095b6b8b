"""Prove a property of the individual stage, or find a counterexample to it.

1. The proof, under the per-property timeout: every valid input (decimals as reals,
   long lists abstract) with the 28-digit rounding over-approximated (rounding.py). No
   input that fails the property or stops with an error ⇒ PROVED, for the real semantics.
2. Only when (1) finds a candidate, within as long again: a counterexample in exact
   arithmetic over hundredths and short lists (then over all decimals), made as plain
   as the solver can (minimise.py); failing that, one that the real 28-digit rounding
   makes (exactround.py). The caller's `confirm` runs it on the reference interpreter;
   only a confirmed input is a counterexample. When none is found, the rounding is what
   could break the property: the answer says so and the caller samples.

`Outcome.status` is proved, failed or unknown (with why, for the report).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from decimal import Decimal

import z3

from ..ir import Const, Policy, PropertyDef, children
from .encode import Encoding
from .inputs import Inputs
from .minimise import minimise
from .rounding import Rounding
from .values import Num, Unsupported, fresh_context

DEFAULT_TIMEOUT = 2.0  # seconds per property (a proof, then as long again for a counterexample)


@dataclass
class Outcome:
    status: str  # proved failed unknown
    detail: list[str] = field(default_factory=list)
    record: dict | None = None
    seconds: float = 0.0


def constants(ir: Policy, *exprs) -> set[Decimal]:
    """The numbers a policy (and a property) mention: where rounding must not cross."""
    found = {Decimal(0), Decimal(1)}
    stack = list(ir.expressions()) + [e for e in exprs if e is not None]
    while stack:
        e = stack.pop()
        if isinstance(e, Const) and isinstance(e.value, Decimal):
            found.add(e.value)
        stack.extend(children(e))
    for d in ir.definitions:
        if d.tiers is not None:
            found.update(t.threshold for t in d.tiers.tiers if t.threshold is not None)
        if d.indicator is not None:
            found.update(x for b in d.indicator.bounds for x in (b.lo, b.hi) if x is not None)
            found.update(a.up_to for a in d.indicator.adjustments if a.up_to is not None)
    for i in ir.inputs:
        if i.range is not None:
            found.update(x for x in (i.range.lo, i.range.hi) if x is not None)
    return found


class Query:
    """One or two subjects of a policy in one solver, sharing one rounding model."""

    def __init__(self, ir: Policy, mode: str, exact: bool, extra=()):
        self.ir = ir
        self.inputs = Inputs(ir, mode)
        self.rounding = Rounding(exact=exact, constants=constants(ir, *extra))
        self.enc = Encoding(ir, self.inputs, self.rounding)

    def twin(self, varied: str) -> Encoding:
        """A second subject with the same inputs except `varied`."""
        other = copy.copy(self.inputs)
        other.values = dict(self.inputs.values)
        inp = next(i for i in self.ir.inputs if i.name == varied)
        other.values[varied] = self.inputs.declare(inp, "′")
        return Encoding(self.ir, other, self.rounding)

    def solver(self, goal, timeout: float) -> z3.Solver:
        s = z3.Solver()
        s.set("timeout", max(1, int(timeout * 1000)))
        s.add(*self.inputs.domain)
        s.add(*self.rounding.axioms())
        s.add(goal)
        return s

    def check(self, solver: z3.Solver, deadline: float):
        """sat, unsat or unknown, adding the rounding lemmas each model breaks."""
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return z3.unknown
            solver.set("timeout", max(1, int(left * 1000)))
            verdict = solver.check()
            if verdict != z3.sat:
                return verdict
            lemmas = self.rounding.violated(solver.model())
            if not lemmas:
                return z3.sat
            solver.add(*lemmas)


def _property_goal(q: Query, prop: PropertyDef):
    """What a counterexample satisfies: the property is false, or evaluation fails."""
    if prop.expr is not None:
        holds = q.enc.bool(prop.expr)
        return z3.Or(q.enc.failed, z3.Not(holds)), None
    target, increasing, name = prop.monotone
    inp = next(i for i in q.ir.inputs if i.name == name)
    if inp.type.kind != "num":
        raise Unsupported("monotone in an input that is not a number")
    b = q.twin(name)
    va, vb = q.enc.values.get(target), b.values.get(target)
    if not isinstance(va, Num) or not isinstance(vb, Num):
        raise Unsupported(q.enc.unsupported.get(target, f"`{target}` is not a number the solver sees"))
    xa, xb = q.enc.inputs.values[name].term, b.inputs.values[name].term
    wrong = (vb.term < va.term) if increasing else (vb.term > va.term)
    return z3.And(xa < xb, z3.Or(q.enc.failed, b.failed, wrong)), b


def prove(ir: Policy, prop: PropertyDef, confirm, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """Prove `prop` or refute it with a confirmed counterexample. `confirm(record)` — or
    `confirm((record, other_value))` for a monotone claim — returns the failure's
    description from the reference interpreter, or None when the input is fine."""
    start = time.perf_counter()
    try:
        with fresh_context():
            out = _prove(ir, prop, confirm, timeout)
    except (z3.Z3Exception, Unsupported, RecursionError) as err:  # never a traceback: sample instead
        out = Outcome("unknown", [f"not for the solver: {err}"])
    out.seconds = time.perf_counter() - start
    return out


def _prove(ir, prop, confirm, timeout) -> Outcome:
    try:
        q = Query(ir, "proof", exact=False, extra=[prop.expr])
        goal, _ = _property_goal(q, prop)
    except Unsupported as why:
        return Outcome("unknown", [f"not for the solver: {why}"])
    verdict = q.check(q.solver(goal, timeout), time.perf_counter() + timeout)
    if verdict == z3.unsat:
        if q.enc.partial:  # what it cannot see could still stop the evaluation with an error
            return Outcome("unknown", ["holds wherever the evaluation succeeds; the solver cannot see whether "
                                       + ", ".join(q.enc.partial) + " can fail"])
        return Outcome("proved", ["proved by the solver for every valid input (28-digit rounding included)"])
    if verdict == z3.unknown:
        return Outcome("unknown", [f"the solver gave up after {timeout:g} s"])
    return _refute(ir, prop, confirm, timeout)


def _refute(ir, prop, confirm, timeout) -> Outcome:
    """Within `timeout`: exact arithmetic over hundredths, then over all decimals, then
    with the real 28-digit rounding (exactround.py)."""
    deadline = time.perf_counter() + timeout
    for mode, share in (("search", 0.4), ("proof", 0.2)):
        q = Query(ir, mode, exact=True, extra=[prop.expr])
        goal, twin = _property_goal(q, prop)
        s = q.solver(goal, max(0.05, min(share * timeout, deadline - time.perf_counter())))
        if s.check() != z3.sat:
            continue
        model = minimise(s, q.inputs, ir, int(timeout * 1000))
        record = q.inputs.record(model)
        problem = confirm(record if twin is None else (record, twin.inputs.record(model)[prop.monotone[2]]))
        if problem is not None:
            return Outcome("failed", list(problem), record)
        break
    found = _refute_by_rounding(ir, prop, confirm, deadline)
    if found is not None:
        return found
    return Outcome("unknown", ["holds in exact arithmetic, but the 28-digit rounding could change the "
                               "outcome; sampled instead"])


def _refute_by_rounding(ir, prop, confirm, deadline: float) -> Outcome | None:
    """A counterexample made by the 28-digit rounding itself (exactround.py): candidates
    of the over-approximation, each tried with the real rounding in its decades."""
    from .exactround import real_rounding
    if deadline - time.perf_counter() <= 0.05:
        return None
    q = Query(ir, "digits", exact=False, extra=[prop.expr])
    goal, twin = _property_goal(q, prop)
    s = q.solver(goal, deadline - time.perf_counter())
    first = True
    while time.perf_counter() < deadline and q.check(s, deadline) == z3.sat:
        candidate = s.model()
        if first:  # zeros where they do not matter round simply
            candidate = minimise(s, q.inputs, ir, int(max(0.05, deadline - time.perf_counter()) * 1000), light=True,
                                 check=lambda solver: q.check(solver, min(deadline, time.perf_counter() + 0.5)))
            first = False
        model, elsewhere = real_rounding(q, candidate, goal, deadline)
        if model is not None:
            record = q.inputs.record(model)
            case = record if twin is None else (record, twin.inputs.record(model)[prop.monotone[2]])
            problem = confirm(case)
            return Outcome("failed", list(problem), record) if problem is not None else None
        s.add(elsewhere)
    return None
