"""One Z3 variable (or a few, for lists) per input, constrained to its valid values.

Three domains: `proof` — decimals are any reals in their declared range and a list longer
than LIST_BOUND is abstract, so a proof covers every valid input; `search` — decimals are
hundredths and lists have at most a few elements more than their minimum, so a
counterexample is short and readable (and exactly representable: it becomes a `given`
line, which the reference interpreter confirms); `digits` — decimals with up to 30
places (and 40 digits), for counterexamples that only the 28-digit rounding creates.
"""
from __future__ import annotations

from decimal import Decimal

import z3

from ..ir import InputDef, Policy
from ..numbers import MAX_DIGITS, MAX_EXPONENT
from .bounds import Bound
from .values import AbstractList, ConcreteList, Num, Tier, model_number, real

LIST_BOUND = 6  # concrete lists in proofs: declared lengths up to this many elements
SEARCH_EXTRA = 3  # elements beyond the minimum length in a counterexample search
SEARCH_SCALE = 2  # decimals in a counterexample: hundredths
DIGITS_SCALE = 30  # decimals in a search for a counterexample that rounding makes


class Inputs:
    """The variables of one subject's inputs; `domain` holds their constraints."""

    def __init__(self, ir: Policy, mode: str, prefix: str = ""):
        self.ir, self.mode, self.prefix = ir, mode, prefix
        self.values: dict[str, object] = {}
        self.domain: list = []
        self.vars: dict[str, list] = {}  # input name → its z3 variables (for minimisation)
        self.memo: dict = {}  # what is known of an abstract list, shared by a twin subject
        for inp in ir.inputs:
            self.values[inp.name] = self.declare(inp)

    def declare(self, inp: InputDef, suffix: str = ""):
        name = self.prefix + inp.name + suffix
        t = inp.type
        if t.kind == "list":
            return self._list(inp, name)
        return self._scalar(inp, t, name, inp.name)

    def _scalar(self, inp: InputDef, t, name: str, owner: str):
        own = self.vars.setdefault(owner, [])
        if t.kind == "bool":
            v = z3.Bool(name)
            own.append(v)
            return v
        if t.kind == "text":
            v = z3.String(name)
            own.append(v)
            if inp.choices:
                self.domain.append(z3.Or([v == z3.StringVal(c) for c in inp.choices]))
            else:
                self.domain.append(z3.Length(v) >= 1)
            return v
        if t.kind == "tier":
            names = self.ir.definition(t.tierset).tiers.names()
            v = z3.Int(name)
            own.append(v)
            self.domain += [v >= 0, v < len(names)]
            return Tier(v, names)
        rng = inp.range
        # Valid data has at most 40 digits and an exponent within ±40 (numbers.check_number).
        top = Decimal(10) ** (MAX_DIGITS if inp.is_int else MAX_EXPONENT + 1)
        lo = rng.lo if rng is not None and rng.lo is not None else -top
        hi = rng.hi if rng is not None and rng.hi is not None else top
        if inp.is_int:
            v = z3.Int(name)
            term = z3.ToReal(v)
            digits = Bound(lo, hi, 0)
            if abs(lo) == top or abs(hi) == top:  # below 10^40 in magnitude: strict
                self.domain.append(z3.And(term > -real(top), term < real(top)))
        elif self.mode == "digits":  # many decimals, at most 40 digits: where rounding bites
            v = z3.Int(name + "·1e" + str(DIGITS_SCALE))
            term = z3.ToReal(v) / 10 ** DIGITS_SCALE
            digits = Bound(lo, hi, DIGITS_SCALE)
            self.domain += [v < 10 ** MAX_DIGITS, v > -10 ** MAX_DIGITS]
        elif self.mode == "search":
            v = z3.Int(name + "·100")
            term = z3.ToReal(v) / 10 ** SEARCH_SCALE
            digits = Bound(lo, hi, SEARCH_SCALE)
        else:
            v = z3.Real(name)
            term, digits = v, Bound(lo, hi, None)
            tiny = real(Decimal(10) ** -MAX_EXPONENT)  # a nonzero data number is at least 10^-40
            self.domain.append(z3.Or(v == 0, v >= tiny, v <= -tiny))
        own.append(v)
        self.domain += [term >= real(lo), term <= real(hi)]
        return Num(term, digits)

    def _list(self, inp: InputDef, name: str):
        length = inp.length
        lo = int(length.lo) if length is not None and length.lo is not None else 0
        hi = int(length.hi) if length is not None and length.hi is not None else None
        n = z3.Int(name + "#len")
        self.vars.setdefault(inp.name, []).append(n)
        self.domain.append(n >= lo)
        if self.mode == "search":
            hi = lo + SEARCH_EXTRA if hi is None else min(hi, lo + SEARCH_EXTRA)
        elif hi is None or hi > LIST_BOUND:
            if hi is not None:
                self.domain.append(n <= hi)
            rng = inp.range
            return AbstractList(n, rng.lo if rng is not None else None, rng.hi if rng is not None else None)
        self.domain.append(n <= hi)
        items = [self._scalar(inp, inp.type.elem, f"{name}[{i}]", inp.name) for i in range(hi)]
        return ConcreteList(n, items)

    # ---- back from a model -----------------------------------------------------------
    def record(self, model) -> dict:
        """The input record a model describes, typed like validated data."""
        return {inp.name: self._read(model, self.values[inp.name], inp) for inp in self.ir.inputs}

    def _plain(self, inp: InputDef):
        elem = inp.type.elem
        if elem.kind == "tier":
            return self.ir.definition(elem.tierset).tiers.names()[-1]
        if elem.kind == "bool":
            return False
        if elem.kind == "text":
            return inp.choices[0] if inp.choices else "a"
        return inp.range.lo if inp.range is not None and inp.range.lo is not None else Decimal(0)

    def _read(self, model, v, inp: InputDef):
        if isinstance(v, ConcreteList):
            n = model.eval(v.length, model_completion=True).as_long()
            return tuple(self._read(model, x, inp) for x in v.items[:n])
        if isinstance(v, AbstractList):  # nothing known of the items: plain ones (confirmed later)
            n = model.eval(v.length, model_completion=True).as_long()
            return tuple(self._plain(inp) for _ in range(min(n, 50)))
        if isinstance(v, Num):
            d = model_number(model, v.term)
            return d.to_integral_value() if inp.is_int else d
        if isinstance(v, Tier):
            return v.names[model.eval(v.term, model_completion=True).as_long()]
        x = model.eval(v, model_completion=True)
        if z3.is_bool(x):
            return z3.is_true(x)
        return x.as_string() or "a"
