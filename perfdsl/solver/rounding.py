"""The 28-digit rounding of LANGUAGE.md §1, as the solver sees it.

Every `+ - * /` (and negation, abs) runs in a decimal context of 28 significant digits,
so its result is the exact value rounded half-even to 28 digits. Data numbers may carry
40 digits, so even `100 - x` can round. Encoding that rounding exactly needs the
exponent of every intermediate value (a case split over ~80 magnitudes): far too slow.
Instead `Rounding` over-approximates it with what is true of the real rounding `rnd`
and is cheap to state in linear arithmetic:

- |rnd(e) − e| ≤ 5·10⁻²⁸·|e|  (half an ulp at 28 digits);
- monotone: e₁ ≤ e₂ ⇒ rnd(e₁) ≤ rnd(e₂), stated for every pair of rounded results in a
  query (so two identical computations round identically, in one policy or two);
- it fixes every number of at most 28 digits, so e ≤ k ⇒ rnd(e) ≤ k and e ≥ k ⇒
  rnd(e) ≥ k for each constant k the policy and the property mention;
- it keeps a rounded result inside the static bound of the exact one (bounds.py).

A proof under these axioms holds for the real rounding, so it is a proof for every
valid input. An operation the static bound shows to be exact (bounded whole numbers,
constants) is not rounded at all. `Rounding(exact=True)` leaves every result exact: the semantics of the counterexample
search, whose findings the reference interpreter then confirms or rejects.
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import z3

from ..runtime import CONTEXT
from .bounds import PRECISION, Bound

HALF_ULP = Fraction(5, 10 ** PRECISION)  # relative: 5·10⁻²⁸
DECADES = 4  # a broken decade bound brings those of its neighbours this far on each side


def representable(c: Decimal) -> bool:
    return len(c.as_tuple().digits) <= PRECISION


def _real(d: Decimal) -> z3.ArithRef:
    n, m = d.as_integer_ratio()
    return z3.RealVal(f"{n}/{m}")


class Rounding:
    """Creates the rounded results of one query and, at the end, their shared axioms."""

    def __init__(self, exact: bool = False, constants=()):
        self.exact = exact
        self.constants = sorted({Fraction(c) for c in constants if representable(c)})
        self.snap = {k: _snap(k) for k in self.constants}
        self.apps: list[tuple[z3.ArithRef, z3.ArithRef]] = []
        self.facts: list = []
        self.seen: dict[int, z3.ArithRef] = {}  # the same exact term rounds to the same value
        self.outputs: set[int] = set()
        self.sites: dict = {}  # policy step → its rounded results (one per subject)

    def round(self, e: z3.ArithRef, bound: Bound, site=None) -> tuple[z3.ArithRef, Bound]:
        """The value of an operation whose exact result is `e`, within `bound`."""
        if self.exact or bound.exact:
            return e, bound
        e = z3.simplify(e)
        after = bound.rounded()
        if z3.is_rational_value(e):  # constants folded: round them as the context does
            f = e.as_fraction()
            d = CONTEXT.divide(Decimal(f.numerator), Decimal(f.denominator))
            return _real(d), Bound.of(d)
        if e.get_id() in self.seen:
            return self.seen[e.get_id()], after
        if e.get_id() in self.outputs:  # rounding a rounded result changes nothing
            return e, bound
        r = z3.FreshReal("rnd")
        self.seen[e.get_id()] = r
        self.outputs.add(r.get_id())
        size = e if bound.lo is not None and bound.lo >= 0 else \
            -e if bound.hi is not None and bound.hi <= 0 else z3.If(e >= 0, e, -e)
        self.facts += [r - e <= _frac(HALF_ULP) * size, e - r <= _frac(HALF_ULP) * size]
        if bound.scale is not None and bound.scale <= 60:  # few digits: nothing to round
            small = _real(Decimal(10) ** (PRECISION - bound.scale))
            self.facts.append(z3.Implies(z3.And(e < small, e > -small), r == e))
        if after.lo is not None:
            self.facts.append(r >= _real(after.lo))
        if after.hi is not None:
            self.facts.append(r <= _real(after.hi))
        for e2, r2 in self.sites.setdefault(site, []) if site is not None else ():
            self.facts += [z3.Implies(e <= e2, r <= r2), z3.Implies(e2 <= e, r2 <= r)]
        if site is not None:
            self.sites[site].append((e, r))
        self.apps.append((e, r))
        return r, after

    def axioms(self) -> list:
        """What holds of each rounded result alone (its error and its bound)."""
        return list(self.facts)

    def violated(self, model) -> list:
        """The axioms of the real rounding that `model` breaks, as lemmas to add.

        Stating them all up front (quadratic in the rounded results, or one per decade)
        slows the solver down; a model seldom breaks more than a few, so they are added
        on demand: monotonicity between two results; a constant k stays on its side;
        within the decade [10^a, 10^(a+1)) the error is at most half an ulp, 5·10^(a−28);
        and a result that close to a constant of fewer than 28 digits *is* that constant
        (round half even: such a constant ends in a 0 at the 28th digit, so ties go to it)."""
        values = [(_value(model, e), _value(model, r)) for e, r in self.apps]
        out = []
        for i, (e1, r1) in enumerate(self.apps):
            v1, w1 = values[i]
            for j in range(i + 1, len(self.apps)):
                e2, r2 = self.apps[j]
                v2, w2 = values[j]
                if v1 <= v2 and not w1 <= w2:
                    out.append(z3.Implies(e1 <= e2, r1 <= r2))
                if v2 <= v1 and not w2 <= w1:
                    out.append(z3.Implies(e2 <= e1, r2 <= r1))
            for k in self.constants:
                if (v1 <= k and not w1 <= k) or (v1 >= k and not w1 >= k):
                    kv = _frac(k)
                    out += [z3.Implies(e1 <= kv, r1 <= kv), z3.Implies(e1 >= kv, r1 >= kv)]
                near = self.snap.get(k)
                if near is not None and abs(v1 - k) <= near and w1 != k:
                    out.append(z3.Implies(z3.And(e1 >= _frac(k - near), e1 <= _frac(k + near)), r1 == _frac(k)))
            if v1 != 0:
                a = _decade(v1)
                if abs(w1 - v1) > Fraction(1, 2) * Fraction(10) ** (a - PRECISION + 1):
                    size = z3.If(e1 >= 0, e1, -e1)
                    for b in range(a - DECADES, a + DECADES + 1):  # the neighbours too: fewer rounds
                        half = _frac(Fraction(1, 2) * Fraction(10) ** (b - PRECISION + 1))
                        inside = z3.And(size >= _frac(Fraction(10) ** b), size < _frac(Fraction(10) ** (b + 1)))
                        out.append(z3.Implies(inside, z3.And(r1 - e1 <= half, e1 - r1 <= half)))
        return out


def _snap(k: Fraction) -> Fraction | None:
    """How close to k a value must be to round to k (None: do not rely on it)."""
    if k == 0:
        return None
    d = Decimal(k.numerator) / Decimal(k.denominator)
    if len(d.normalize().as_tuple().digits) >= PRECISION:
        return None
    return Fraction(1, 2) * Fraction(10) ** (_decade(k) - PRECISION)


def _decade(f: Fraction) -> int:
    """a with 10^a ≤ |f| < 10^(a+1), exactly."""
    f = abs(f)
    a = (Decimal(f.numerator) / Decimal(f.denominator)).adjusted()
    while Fraction(10) ** a > f:
        a -= 1
    while Fraction(10) ** (a + 1) <= f:
        a += 1
    return a


def _frac(f: Fraction) -> z3.ArithRef:
    return z3.RealVal(f"{f.numerator}/{f.denominator}")


def _value(model, term) -> Fraction:
    v = model.eval(term, model_completion=True)
    if z3.is_algebraic_value(v):
        v = v.approx(40)
    return v.as_fraction()
