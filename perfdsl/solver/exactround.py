"""Counterexamples that only the 28-digit rounding creates.

`1 per x` rounds a 31-digit x before `100 − …` rounds again, so `cost == max(0, 100 −
overrun)` fails for overrun = 95.12345678901234567890123456789 although it holds in exact
arithmetic. The over-approximation of rounding.py finds such a candidate but not a
real input. Here each rounded result the property reads is made exact in the decade
the candidate put it in: for 10^a ≤ |e| < 10^(a+1), r = n·10^(a−27) for a whole n and
|r − e| < half that ulp (ties, where half even decides, are left out: parity constraints
stall the solver). A model of that is a real evaluation — a search, not a proof, since
another decade may hold the counterexample — which the reference interpreter confirms.
"""
from __future__ import annotations

import time
from fractions import Fraction

import z3

from .rounding import PRECISION, _decade, _frac, _value


ATTEMPT = 1.0  # seconds for one assignment of decades


def real_rounding(query, candidate, goal, deadline: float):
    """(model, None) where every rounded result that `goal` depends on is the real one,
    with the values in the decades they have in `candidate` (a model of the rounding
    over-approximation); else (None, a constraint excluding those decades). A fresh
    solver holds only the inputs' domain, the goal and the exact rounding: the
    over-approximation's lemmas would only slow it down."""
    exact = z3.Solver()
    exact.set("timeout", max(1, int(min(ATTEMPT, deadline - time.perf_counter()) * 1000)))
    exact.add(*query.inputs.domain)
    exact.add(goal)
    places = []
    for i in _cone(goal, query.rounding.apps):
        e, r = query.rounding.apps[i]
        v = _value(candidate, e)
        if v == 0:
            places.append(e == 0)
            exact.add(e == 0, r == 0)
        else:
            inside, rounded = _exact_in_decade(e, r, _decade(v), v > 0)
            places.append(inside)
            exact.add(inside, rounded)
    if exact.check() == z3.sat:
        return exact.model(), None
    return None, z3.Not(z3.And(places)) if places else z3.BoolVal(False)


def _cone(goal, apps) -> list[int]:
    """The rounded results `goal` reads, directly or through other rounded results."""
    index = {r.get_id(): i for i, (_, r) in enumerate(apps)}
    found: set[int] = set()
    stack, seen = [goal], set()
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        i = index.get(t.get_id())
        if i is not None and i not in found:
            found.add(i)
            stack.append(apps[i][0])
        stack.extend(t.children())
    return sorted(found)


def _exact_in_decade(e, r, a: int, positive: bool):
    """(±e lies in the decade 10^a ≤ ±e < 10^(a+1), r is e rounded to 28 digits there)."""
    ulp = Fraction(10) ** (a - PRECISION + 1)
    n = z3.FreshInt("digits")
    err = r - e
    half = _frac(ulp / 2)
    lo, hi = _frac(Fraction(10) ** a), _frac(Fraction(10) ** (a + 1))
    inside = z3.And(e >= lo, e < hi) if positive else z3.And(e <= -lo, e > -hi)
    return inside, z3.And(r == z3.ToReal(n) * _frac(ulp), err < half, -err < half)
