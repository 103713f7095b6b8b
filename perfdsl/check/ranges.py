"""Static interval analysis: the range of every value from the inputs' declared ranges.

Sound over-approximation: the true value always lies inside the computed interval.
Sums and products are bounded in a wide context rounded outwards, so no rounding step
makes an interval too narrow; quotients are bounded as computed, to 28 significant
digits rounded outwards (see `div`).
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

from ..ir import ANY, Const, Fn, GroupAgg, If, Interval, Prim, Rank, Ref

_DOWN = Context(prec=60, rounding=ROUND_FLOOR, traps=[])
_UP = Context(prec=60, rounding=ROUND_CEILING, traps=[])
_DIV_DOWN = Context(prec=28, rounding=ROUND_FLOOR, traps=[])  # a quotient as computed (28 digits), rounded outwards
_DIV_UP = Context(prec=28, rounding=ROUND_CEILING, traps=[])
ZERO, ONE = Decimal(0), Decimal(1)


def point(v: Decimal) -> Interval:
    return Interval(v, v)


def union(a: Interval, b: Interval) -> Interval:
    lo = None if a.lo is None or b.lo is None else min(a.lo, b.lo)
    hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
    return Interval(lo, hi)


def add(a: Interval, b: Interval) -> Interval:
    lo = None if a.lo is None or b.lo is None else _DOWN.add(a.lo, b.lo)
    hi = None if a.hi is None or b.hi is None else _UP.add(a.hi, b.hi)
    return Interval(lo, hi)


def neg(a: Interval) -> Interval:
    return Interval(None if a.hi is None else -a.hi, None if a.lo is None else -a.lo)


def sub(a: Interval, b: Interval) -> Interval:
    return add(a, neg(b))


_INF = Decimal("Infinity")


def _ext(a: Interval) -> tuple[Decimal, Decimal]:
    return (-_INF if a.lo is None else a.lo), (_INF if a.hi is None else a.hi)


def _corner(x: Decimal, y: Decimal, ctx: Context) -> Decimal:
    if x == 0 or y == 0:  # 0 · ∞ is 0 for interval bounds
        return ZERO
    return ctx.multiply(x, y)


def mul(a: Interval, b: Interval) -> Interval:
    (al, ah), (bl, bh) = _ext(a), _ext(b)
    lows = [_corner(x, y, _DOWN) for x in (al, ah) for y in (bl, bh)]
    highs = [_corner(x, y, _UP) for x in (al, ah) for y in (bl, bh)]
    lo, hi = min(lows), max(highs)
    return Interval(None if lo.is_infinite() else lo, None if hi.is_infinite() else hi)


def _nonneg(a: Interval) -> bool:
    return a.lo is not None and a.lo >= 0


def _nonpos(a: Interval) -> bool:
    return a.hi is not None and a.hi <= 0


def div(a: Interval, b: Interval) -> Interval:
    """The quotients' interval, from the four corner quotients. Arithmetic divides to 28
    significant digits (LANGUAGE.md §1) and rounding is monotone, so every computed
    quotient lies between the lowest corner rounded down and the highest rounded up, both
    to 28 digits: a corner that divides exactly (300 / 3) stays exact, where a reciprocal
    (300 · 0.333…4) would leave 100.000…01 and a spurious PW104."""
    if b.lo is None or b.hi is None or (b.lo <= 0 <= b.hi):
        return ANY
    (al, ah), divisors = _ext(a), (b.lo, b.hi)
    lo = min(_DIV_DOWN.divide(x, y) for x in (al, ah) for y in divisors)
    hi = max(_DIV_UP.divide(x, y) for x in (al, ah) for y in divisors)
    return Interval(None if lo.is_infinite() else lo, None if hi.is_infinite() else hi)


def clamp(a: Interval, lo: Decimal | None, hi: Decimal | None) -> Interval:
    new_lo, new_hi = a.lo, a.hi
    if lo is not None:
        new_lo = lo if new_lo is None else max(new_lo, lo)
        new_hi = None if new_hi is None else max(new_hi, lo)
    if hi is not None:
        new_hi = hi if new_hi is None else min(new_hi, hi)
        new_lo = None if new_lo is None else min(new_lo, hi)
    return Interval(new_lo, new_hi)


def minimum(parts: list[Interval]) -> Interval:
    lo = None if any(p.lo is None for p in parts) else min(p.lo for p in parts)
    his = [p.hi for p in parts if p.hi is not None]
    return Interval(lo, min(his) if his else None)


def maximum(parts: list[Interval]) -> Interval:
    hi = None if any(p.hi is None for p in parts) else max(p.hi for p in parts)
    los = [p.lo for p in parts if p.lo is not None]
    return Interval(max(los) if los else None, hi)


def widen_integral(a: Interval) -> Interval:
    """Rounding moves a value by less than one unit either way."""
    return Interval(None if a.lo is None else a.lo - 1, None if a.hi is None else a.hi + 1)


def magnitude(a: Interval, smallest: bool = False) -> Decimal | None:
    """The largest |v| over the interval (None if unbounded), or with `smallest` the least."""
    if smallest:
        if a.lo is not None and a.lo > 0:
            return a.lo
        return -a.hi if a.hi is not None and a.hi < 0 else ZERO
    return None if a.lo is None or a.hi is None else max(-a.lo, a.hi)


_EXACT = Context(prec=1000, traps=[])


def round_digits(big: Decimal, places: int) -> int:
    """Significant digits of a value of magnitude at most `big` rounded to `places`
    decimals: rounding up can carry into a new digit, so the bound is ceil(big·10^places)."""
    coefficient = _EXACT.multiply(big, Decimal(10) ** places).to_integral_value(rounding=ROUND_CEILING)
    return len(str(int(coefficient))) if coefficient else 1


def short(v: Decimal) -> str:
    """A bound written for a reader: six significant digits are plenty."""
    return f"{v:.6g}" if abs(v) < Decimal("1e15") else f"{v:.3e}"


def contains(outer: Interval, inner: Interval) -> bool:
    lo_ok = outer.lo is None or (inner.lo is not None and inner.lo >= outer.lo)
    hi_ok = outer.hi is None or (inner.hi is not None and inner.hi <= outer.hi)
    return lo_ok and hi_ok


class RangeEnv:
    """Ranges of inputs (numbers and list elements), list lengths and definitions."""

    def __init__(self):
        self.values: dict[str, Interval] = {}
        self.elems: dict[str, Interval] = {}
        self.lengths: dict[str, Interval] = {}


def input_ranges(inputs) -> RangeEnv:
    """The ranges the inputs declare: where every definition's range starts from."""
    env = RangeEnv()
    for inp in inputs.values():
        if inp.type.kind == "num":
            env.values[inp.name] = inp.range or ANY
        elif inp.type.kind == "list":
            env.elems[inp.name] = inp.range or ANY
            env.lengths[inp.name] = inp.length or Interval(ZERO, None)
    return env


def range_of(e, env: RangeEnv) -> Interval:
    """The interval of a numeric IR expression (ANY for what it cannot bound)."""
    if isinstance(e, Const):
        return point(e.value) if isinstance(e.value, Decimal) else ANY
    if isinstance(e, Ref):  # a parameter of an uncalled def, or `size`, is unbounded
        return env.values.get(e.name, ANY) if e.kind in ("input", "value") else ANY
    if isinstance(e, If):  # walk an else-if chain (a table) without recursing down it
        out = range_of(e.then, env)
        while isinstance(e.else_, If):
            e = e.else_
            out = union(out, range_of(e.then, env))
        return union(out, range_of(e.else_, env))
    if isinstance(e, Rank):
        return Interval(ONE, None)
    if isinstance(e, GroupAgg):
        inner = range_of(e.arg, env)
        return Interval(ZERO, None) if e.fn == "count" else (inner if e.fn in ("mean", "min", "max") else ANY)
    if not isinstance(e, Prim):
        return ANY
    f, args = e.fn, e.args
    r = [range_of(a, env) if a.type.kind == "num" else ANY for a in args]
    if f is Fn.ADD:
        return add(r[0], r[1])
    if f is Fn.TOTAL:
        out = r[0]
        for x in r[1:]:
            out = add(out, x)
        return out
    if f is Fn.SUB:
        return sub(r[0], r[1])
    if f is Fn.MUL:
        return mul(r[0], r[1])
    if f is Fn.DIV:
        return div(r[0], r[1])
    if f is Fn.NEG:
        return neg(r[0])
    if f is Fn.MIN:
        return minimum(r)
    if f is Fn.MAX:
        return maximum(r)
    if f is Fn.ABS:
        a = r[0]
        if _nonneg(a):
            return a
        if _nonpos(a):
            return neg(a)
        return Interval(ZERO, None if a.lo is None or a.hi is None else max(-a.lo, a.hi))
    if f is Fn.CLAMP:
        return clamp(r[0], r[1].lo, r[2].hi)
    if f in (Fn.ROUND_HALF_UP, Fn.ROUND_HALF_EVEN, Fn.ROUND_FLOOR, Fn.ROUND_CEIL):
        return widen_integral(r[0])
    if f in (Fn.MEAN, Fn.TRIMMED_MEAN, Fn.LIST_MIN, Fn.LIST_MAX, Fn.INDEX):
        return _elems(args[0], env)
    if f is Fn.SUM:
        el, ln = _elems(args[0], env), _length(args[0], env)
        return mul(el, ln)
    if f is Fn.LEN:
        return _length(args[0], env)
    if f in (Fn.COUNT, Fn.STREAK):
        ln = _length(args[0], env)
        return Interval(ZERO, ln.hi)
    if f is Fn.RATIO:
        a, t = r[0], r[1]
        lo = ZERO if _nonneg(a) and t.lo is not None and t.lo > 0 else None
        return Interval(lo, ONE)
    return ANY


_FLIP = {Fn.LT: Fn.GT, Fn.LE: Fn.GE, Fn.GT: Fn.LT, Fn.GE: Fn.LE, Fn.EQ: Fn.EQ, Fn.NE: Fn.NE}


def truth(e, env: RangeEnv) -> bool | None:
    """Whether a condition is true (or false) for every input the declared ranges allow,
    decided from the ranges of the numbers it compares; None when it can go either way."""
    if isinstance(e, Const) and isinstance(e.value, bool):
        return e.value
    if not isinstance(e, Prim):
        return None
    if e.fn is Fn.NOT:
        inner = truth(e.args[0], env)
        return None if inner is None else not inner
    if e.fn in (Fn.AND, Fn.OR):
        parts = [truth(a, env) for a in e.args]
        decisive = e.fn is Fn.OR  # one true settles `or`, one false settles `and`
        if decisive in parts:
            return decisive
        return None if None in parts else not decisive
    if e.fn not in _FLIP or e.args[0].type.kind != "num":
        return None
    a, b = range_of(e.args[0], env), range_of(e.args[1], env)
    return _compare(e.fn, a, b)


def _compare(fn, a: Interval, b: Interval) -> bool | None:
    """a OP b over two intervals: True or False when every pair agrees."""
    if fn in (Fn.GT, Fn.GE):
        return _compare(_FLIP[fn], b, a)
    if fn in (Fn.LT, Fn.LE):
        strict = fn is Fn.LT
        if a.hi is not None and b.lo is not None and (a.hi < b.lo or (not strict and a.hi == b.lo)):
            return True
        if a.lo is not None and b.hi is not None and (a.lo > b.hi or (strict and a.lo == b.hi)):
            return False
        return None
    disjoint = _compare(Fn.LT, a, b) is True or _compare(Fn.LT, b, a) is True
    same_point = a.lo is not None and a.lo == a.hi == b.lo == b.hi
    equal = False if disjoint else True if same_point else None
    return equal if fn is Fn.EQ or equal is None else not equal


def _elems(lst, env: RangeEnv) -> Interval:
    if isinstance(lst, Ref):
        return env.elems.get(lst.name, ANY) if lst.kind == "input" else ANY
    if isinstance(lst, Prim) and lst.fn is Fn.LIST:
        parts = [range_of(a, env) for a in lst.args]
        out = parts[0] if parts else ANY
        for p in parts[1:]:
            out = union(out, p)
        return out
    if isinstance(lst, Prim) and lst.fn is Fn.CONCAT:
        return union(_elems(lst.args[0], env), _elems(lst.args[1], env))
    return ANY


def _length(lst, env: RangeEnv) -> Interval:
    if isinstance(lst, Ref):
        return env.lengths.get(lst.name, Interval(ZERO, None)) if lst.kind == "input" else Interval(ZERO, None)
    if isinstance(lst, Prim) and lst.fn is Fn.LIST:
        return point(Decimal(len(lst.args)))
    if isinstance(lst, Prim) and lst.fn is Fn.CONCAT:
        return add(_length(lst.args[0], env), _length(lst.args[1], env))
    return Interval(ZERO, None)
