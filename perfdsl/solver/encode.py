"""The individual stage of a checked policy as Z3 terms, mirroring eval/interpret.py.

`Encoding(ir, inputs, rounding)` computes every definition and flag that the individual
stage computes, in the same order and with the same arithmetic (rounding.py models the
28-digit context; `round`, `floor`, `ceil` are exact). It also collects `errors`: the
conditions under which the interpreter would stop with an EvalError (a division by zero,
the mean of an empty list, a rounded result beyond 28 digits), each guarded by the path
that reaches it, since `and`, `or` and `if` evaluate lazily. Tiers follow §5: band by
score, downgrades, limits, then the first veto that holds. Cohort-stage values (ranks,
group aggregates, `size`) raise Unsupported.
"""
from __future__ import annotations

from decimal import Decimal

import z3

from ..ir import Const, Definition, Fn, GroupAgg, If, Policy, Prim, Rank, Ref
from .inputs import Inputs
from . import bounds as B
from .bounds import Bound
from .rounding import Rounding
from .values import AbstractList, ConcreteList, Num, Tier, Unsupported, merge, real, terminating

_ARITH = {Fn.ADD: lambda a, b: a + b, Fn.SUB: lambda a, b: a - b, Fn.MUL: lambda a, b: a * b}
_CMP = {Fn.EQ: lambda a, b: a == b, Fn.NE: lambda a, b: a != b, Fn.LT: lambda a, b: a < b,
        Fn.LE: lambda a, b: a <= b, Fn.GT: lambda a, b: a > b, Fn.GE: lambda a, b: a >= b}


class Encoding:
    """One subject through the individual stage: `values`, `flags`, `errors`."""

    def __init__(self, ir: Policy, inputs: Inputs, rounding: Rounding):
        self.ir, self.inputs, self.rnd = ir, inputs, rounding
        self.values: dict[str, object] = {}
        self.unsupported: dict[str, str] = {}  # value name → why the solver cannot see it
        self.partial: list[str] = []  # individual-stage values it cannot see: their errors are unknown
        self.flags: dict[str, z3.BoolRef] = {}
        self.errors: list = []
        self.guard = z3.BoolVal(True)
        for d in ir.definitions:
            try:
                if d.stage == "cohort":
                    raise Unsupported(f"`{d.name}` is computed in the cohort stage")
                self.values[d.name] = self.definition(d)
            except Unsupported as why:
                self.unsupported[d.name] = str(why)
                if d.stage != "cohort":
                    self.partial.append(f"`{d.name}`")
        for f in ir.flags:
            try:
                if f.stage == "cohort":
                    raise Unsupported(f'flag "{f.label}" reads the cohort stage')
                self.flags[f.label] = self.bool(f.cond)
            except Unsupported as why:
                self.unsupported["flag:" + f.label] = str(why)
                if f.stage != "cohort":
                    self.partial.append(f'flag "{f.label}"')

    @property
    def failed(self) -> z3.BoolRef:
        """Evaluation of this subject stops with an error."""
        return z3.Or(self.errors) if self.errors else z3.BoolVal(False)

    def _error(self, cond) -> None:
        self.errors.append(z3.And(self.guard, cond))

    # ---- definitions -----------------------------------------------------------------
    def definition(self, d: Definition):
        if d.indicator is not None:
            return self._indicator(d)
        if d.tiers is not None:
            return self._tiers(d)
        return self.value(d.expr)

    def _indicator(self, d: Definition) -> Num:
        body = d.indicator
        if body.computed is not None:
            return self.num(body.computed)
        value = self.num(body.base) if body.base is not None else _zero()
        for adj in body.adjustments:
            amount = self.num(adj.amount)
            if adj.per is not None:
                moved = self._arith(Fn.MUL, amount, self.num(adj.per), (id(adj), 0))
            else:
                moved = Num(z3.If(self.bool(adj.cond), amount.term, 0), B.join(amount.digits, Bound.of(Decimal(0))))
            if adj.up_to is not None:
                cap = real(adj.up_to)
                moved = Num(z3.If(moved.term > cap, cap, moved.term), B.smallest(moved.digits, Bound.of(adj.up_to)))
            value = self._arith(Fn.ADD if adj.sign > 0 else Fn.SUB, value, moved, (id(adj), 1))
        for b in body.bounds:
            t = value.term
            if b.lo is not None:
                t = z3.If(t < real(b.lo), real(b.lo), t)
            if b.hi is not None:
                t = z3.If(t > real(b.hi), real(b.hi), t)
            value = Num(t, B.clip(value.digits, b.lo, b.hi))
        return value

    def _tiers(self, d: Definition) -> Tier:
        body = d.tiers
        names = body.names()
        last = len(names) - 1
        by = self.num(body.by).term
        idx = z3.IntVal(last)
        for i in reversed(range(len(body.tiers))):
            t = body.tiers[i].threshold
            if t is not None:
                idx = z3.If((by < real(t)) if body.ascending else (by >= real(t)), i, idx)
        vetoed = z3.BoolVal(False)
        outer = self.guard
        for rule in body.rules:
            self.guard = z3.And(outer, z3.Not(vetoed))
            cond = self.bool(rule.cond)
            live = z3.And(cond, z3.Not(vetoed))
            if rule.kind == "veto":
                idx = z3.If(live, rule.tier, idx)
                vetoed = z3.Or(vetoed, cond)
            elif rule.kind == "downgrade":
                down = idx + rule.steps
                idx = z3.If(live, z3.If(down > last, last, down), idx)
            else:
                idx = z3.If(z3.And(live, idx < rule.tier), rule.tier, idx)
        self.guard = outer
        return Tier(idx, names)

    # ---- expressions -----------------------------------------------------------------
    def value(self, e):
        if isinstance(e, If):
            return self._if(e)
        if isinstance(e, Const):
            return self._const(e)
        if isinstance(e, Ref):
            if e.kind == "size":
                raise Unsupported("`size` is a cohort-stage value")
            if e.kind == "input":
                return self.inputs.values[e.name]
            if e.name in self.values:
                return self.values[e.name]
            raise Unsupported(self.unsupported.get(e.name, f"`{e.name}` is not known to the solver"))
        if isinstance(e, (Rank, GroupAgg)):
            raise Unsupported("ranks and group aggregates are cohort-stage values")
        return self._prim(e)

    def num(self, e) -> Num:
        v = self.value(e)
        if not isinstance(v, Num):
            raise Unsupported(f"a number was expected at line {e.span.line}")
        return v

    def bool(self, e) -> z3.BoolRef:
        return self.value(e)

    def _const(self, e: Const):
        v = e.value
        if isinstance(v, bool):
            return z3.BoolVal(v)
        if isinstance(v, Decimal):
            return Num(real(v), Bound.of(v))
        if e.type.kind == "tier":
            names = self.ir.definition(e.type.tierset).tiers.names()
            return Tier(z3.IntVal(names.index(v)), names)
        if isinstance(v, str):
            return z3.StringVal(v)
        if isinstance(v, tuple):
            items = [self._const(Const(e.span, e.type.elem, x)) for x in v]
            return ConcreteList(z3.IntVal(len(items)), items)
        raise Unsupported(f"a constant {v!r}")

    def _if(self, e: If):
        cond = self.bool(e.cond)
        outer = self.guard
        self.guard = z3.And(outer, cond)
        a = self.value(e.then)
        self.guard = z3.And(outer, z3.Not(cond))
        b = self.value(e.else_)
        self.guard = outer
        return merge(cond, a, b)

    def _arith(self, fn: Fn, a: Num, b: Num, site=None) -> Num:
        """`site` names the place in the policy, so the same step of two subjects is
        related by monotonicity up front (rounding.py)."""
        same = _identity(fn, a, b)
        if same is not None and same.digits.representable:  # x + 0, x − 0, 1 · x: x itself
            return same
        digits = {Fn.MUL: B.mul, Fn.ADD: B.add, Fn.SUB: B.sub}[fn](a.digits, b.digits)
        t, d = self.rnd.round(_ARITH[fn](a.term, b.term), digits, site)
        return Num(t, d)

    def _lazy(self, e: Prim) -> z3.BoolRef:
        """`and` / `or`: the right side is evaluated (and can fail) only when it decides."""
        a = self.bool(e.args[0])
        outer = self.guard
        self.guard = z3.And(outer, a if e.fn is Fn.AND else z3.Not(a))
        b = self.bool(e.args[1])
        self.guard = outer
        return z3.And(a, b) if e.fn is Fn.AND else z3.Or(a, b)

    def _prim(self, e: Prim):
        f = e.fn
        if f in (Fn.AND, Fn.OR):
            return self._lazy(e)
        if f is Fn.NOT:
            return z3.Not(self.bool(e.args[0]))
        if f in _CMP:
            return self._compare(f, self.value(e.args[0]), self.value(e.args[1]))
        if f in _ARITH:
            return self._arith(f, self.num(e.args[0]), self.num(e.args[1]), id(e))
        if f is Fn.TOTAL:
            out = self.num(e.args[0])
            for i, x in enumerate(e.args[1:]):
                out = self._arith(Fn.ADD, out, self.num(x), (id(e), i))
            return out
        if f in (Fn.NEG, Fn.ABS):
            a = self.num(e.args[0])
            if f is Fn.NEG:
                return Num(*self.rnd.round(-a.term, B.neg(a.digits), id(e)))
            return Num(*self.rnd.round(z3.If(a.term >= 0, a.term, -a.term), B.absolute(a.digits), id(e)))
        if f is Fn.DIV:
            return self._divide(self.num(e.args[0]), self.num(e.args[1]), e.args[1], id(e))
        if f in (Fn.MIN, Fn.MAX):
            xs = [self.num(x) for x in e.args]
            t = xs[0].term
            for x in xs[1:]:
                t = z3.If(x.term < t, x.term, t) if f is Fn.MIN else z3.If(x.term > t, x.term, t)
            return Num(t, (B.smallest if f is Fn.MIN else B.largest)(*(x.digits for x in xs)))
        if f is Fn.CLAMP:
            x, lo, hi = (self.num(a) for a in e.args)
            t = z3.If(x.term < lo.term, lo.term, z3.If(x.term > hi.term, hi.term, x.term))
            return Num(t, B.join(x.digits, lo.digits, hi.digits))
        if f in (Fn.ROUND_HALF_UP, Fn.ROUND_HALF_EVEN, Fn.ROUND_FLOOR, Fn.ROUND_CEIL):
            return self._quantize(f, self.num(e.args[0]), e.args[1])
        if f is Fn.RATIO:
            q = self._divide(self.num(e.args[0]), self.num(e.args[1]), e.args[1], id(e))
            return Num(z3.If(q.term > 1, z3.RealVal(1), q.term), B.smallest(q.digits, Bound.of(Decimal(1))))
        if f is Fn.LIST:
            items = [self.value(x) for x in e.args]
            return ConcreteList(z3.IntVal(len(items)), items)
        from . import lists
        return lists.apply(self, e)

    def _compare(self, f: Fn, a, b) -> z3.BoolRef:
        if isinstance(a, Num) and isinstance(b, Num):
            return _CMP[f](a.term, b.term)
        if isinstance(a, Tier) and isinstance(b, Tier) and f in (Fn.EQ, Fn.NE):
            return _CMP[f](a.term, b.term)
        if isinstance(a, (ConcreteList, AbstractList)) or isinstance(b, (ConcreteList, AbstractList)):
            raise Unsupported("comparing lists")
        if f in (Fn.EQ, Fn.NE):
            return _CMP[f](a, b)
        raise Unsupported("ordering text or tiers")

    def _divide(self, a: Num, b: Num, divisor, site) -> Num:
        if isinstance(divisor, Const) and isinstance(divisor.value, Decimal) and terminating(divisor.value):
            inverse = Decimal(1) / divisor.value  # a finite decimal: exact
            return self._arith(Fn.MUL, a, Num(real(inverse), Bound.of(inverse)), site)
        if not B.excludes_zero(b.digits):
            self._error(b.term == 0)
        t, d = self.rnd.round(a.term / b.term, B.div(a.digits, b.digits), site)
        return Num(t, d)

    def _quantize(self, f: Fn, x: Num, places) -> Num:
        if not (isinstance(places, Const) and isinstance(places.value, Decimal)):
            raise Unsupported("rounding to a computed number of places")
        d = int(places.value)
        scale = real(Decimal(10) ** d)
        y = x.term * scale
        if f is Fn.ROUND_FLOOR:
            q = z3.ToInt(y)
        elif f is Fn.ROUND_CEIL:
            q = -z3.ToInt(-y)
        elif f is Fn.ROUND_HALF_UP:
            q = z3.If(y >= 0, z3.ToInt(y + z3.RealVal("1/2")), -z3.ToInt(-y + z3.RealVal("1/2")))
        else:
            up = z3.ToInt(y + z3.RealVal("1/2"))
            tie = z3.ToReal(up) == y + z3.RealVal("1/2")
            q = z3.If(z3.And(tie, up % 2 == 1), up - 1, up)
        mag = x.digits.mag
        if mag is None or (mag + 1).scaleb(d) >= Decimal(10) ** 28:  # else the static bound rules it out
            self._error(z3.Or(q >= 10 ** 28, q <= -10 ** 28))
        step = Decimal(1).scaleb(-d)
        lo, hi = x.digits.lo, x.digits.hi
        return Num(z3.ToReal(q) / scale, Bound(None if lo is None else lo - step, None if hi is None else hi + step, max(d, 0), True))


def _zero() -> Num:
    return Num(z3.RealVal(0), Bound.of(Decimal(0)))


def _identity(fn: Fn, a: Num, b: Num) -> Num | None:
    """The operand an operation leaves unchanged, if it is one: x + 0, 0 + x, x − 0, 1·x, x·1."""
    unit = Decimal(1) if fn is Fn.MUL else Decimal(0)

    def is_unit(x: Num) -> bool:
        return x.digits.lo == unit and x.digits.hi == unit

    if is_unit(b):
        return a
    if is_unit(a) and fn is not Fn.SUB:
        return b
    return None
