"""List functions for the encoder: exact over concrete lists, bounded over abstract ones.

A concrete list has a symbolic length n and one value per position; position i counts
only when i < n. An abstract list (a proof over lists of any length) knows only n and its
declared element range, so `sum` lies in [n·lo, n·hi], `mean` in [lo, hi] and so on:
weaker, but true of every list, which is what a proof needs. The errors are the
interpreter's: `mean`, `min`, `max` of an empty list, `trimmed_mean` of too few.
"""
from __future__ import annotations

from decimal import Decimal

import z3

from ..ir import Const, Fn, Prim
from . import bounds as B
from .bounds import Bound
from .values import AbstractList, ConcreteList, Num, Tier, Unsupported, merge, real

UNKNOWN = B.UNKNOWN


def apply(enc, e: Prim):
    """The value of list function `e`; on an abstract list, the same unknown for the same
    call, so that two subjects sharing the list (a monotone claim, a diff) agree on it."""
    xs = enc.value(e.args[0])
    if not isinstance(xs, AbstractList) or e.fn is Fn.CONCAT or e.fn is Fn.LEN:
        return _apply(enc, e, xs)
    key = (e.fn, id(xs), tuple(_key(enc.value(a)) for a in e.args[1:]))
    if key not in enc.inputs.memo:
        enc.inputs.memo[key] = (xs, _apply(enc, e, xs))  # xs kept alive: its id stays its own
    return enc.inputs.memo[key][1]


def _memo_sum(enc, xs):
    if not isinstance(xs, AbstractList):
        return _sum(enc, xs)
    key = (Fn.SUM, id(xs), ())
    if key not in enc.inputs.memo:
        enc.inputs.memo[key] = (xs, _sum(enc, xs))
    return enc.inputs.memo[key][1]


def _key(v):
    if isinstance(v, (Num, Tier)):
        return v.term.get_id()
    return v.get_id() if hasattr(v, "get_id") else id(v)


def _apply(enc, e: Prim, xs):
    f = e.fn
    if f is Fn.CONCAT:
        return concat(xs, enc.value(e.args[1]))
    if f is Fn.LEN:
        return Num(z3.ToReal(xs.length), Bound(Decimal(0), None, 0, True))
    if f is Fn.COUNT:
        return _count(enc, xs, enc.value(e.args[1]))
    if f is Fn.STREAK:
        return _streak(enc, xs, enc.value(e.args[1]))
    if f is Fn.SUM:
        return _sum(enc, xs)
    if f is Fn.MEAN:
        enc._error(xs.length == 0)
        return _mean(enc, xs, _memo_sum(enc, xs), xs.length)
    if f in (Fn.LIST_MIN, Fn.LIST_MAX):
        enc._error(xs.length == 0)
        return _extreme(xs, f is Fn.LIST_MIN)
    if f is Fn.TRIMMED_MEAN:
        k = e.args[1]
        if not (isinstance(k, Const) and isinstance(k.value, Decimal)):
            raise Unsupported("trimmed_mean with a computed count")
        return _trimmed(enc, xs, int(k.value))
    raise Unsupported(f"the list function {f.value}")


def _fresh(lo, hi) -> tuple[z3.ArithRef, list]:
    v = z3.FreshReal("listfn")
    facts = []
    if lo is not None:
        facts.append(v >= real(lo))
    if hi is not None:
        facts.append(v <= real(hi))
    return v, facts


def _bounded(enc, lo, hi, extra=()) -> Num:
    v, facts = _fresh(lo, hi)
    enc.inputs.domain.extend(facts + [f(v) for f in extra])
    return Num(v, Bound(lo, hi, None, True))  # a count, or a rounded sum or mean


def _at(xs: ConcreteList, idx):
    """The item at a symbolic index (an if-chain over the positions)."""
    items = xs.items
    out = items[-1]
    for i in reversed(range(len(items) - 1)):
        out = merge(idx == i, items[i], out)
    return out


def _eq(a, b):
    if isinstance(a, Num):
        return a.term == b.term
    if isinstance(a, Tier):
        return a.term == b.term
    return a == b


def concat(a, b):
    if isinstance(a, ConcreteList) and isinstance(b, ConcreteList):
        if not a.items or not b.items:
            return ConcreteList(a.length + b.length, list(a.items or b.items))
        items = []
        for p in range(len(a.items) + len(b.items)):
            tail = _at(b, p - a.length)
            items.append(merge(p < a.length, a.items[p], tail) if p < len(a.items) else tail)
        return ConcreteList(a.length + b.length, items)
    lo = [x.lo for x in (a, b) if isinstance(x, AbstractList)]
    hi = [x.hi for x in (a, b) if isinstance(x, AbstractList)]
    return AbstractList(a.length + b.length, None if None in lo else min(lo), None if None in hi else max(hi))


def _count(enc, xs, v) -> Num:
    if isinstance(xs, AbstractList):
        return _bounded(enc, 0, None, [lambda c: c <= z3.ToReal(xs.length)])
    total = sum((z3.If(z3.And(i < xs.length, _eq(x, v)), 1, 0) for i, x in enumerate(xs.items)), z3.IntVal(0))
    return Num(z3.ToReal(total), Bound(Decimal(0), Decimal(len(xs.items)), 0))


def _streak(enc, xs, v) -> Num:
    if isinstance(xs, AbstractList):
        return _bounded(enc, 0, None, [lambda c: c <= z3.ToReal(xs.length)])
    total, run = z3.IntVal(0), z3.BoolVal(True)
    for j in range(1, len(xs.items) + 1):
        run = z3.And(run, xs.length >= j, _eq(_at(xs, xs.length - j), v))
        total = total + z3.If(run, 1, 0)
    return Num(z3.ToReal(total), Bound(Decimal(0), Decimal(len(xs.items)), 0))


def _sum(enc, xs) -> Num:
    if isinstance(xs, AbstractList):
        n = z3.ToReal(xs.length)
        extra = []
        if xs.lo is not None:
            extra.append(lambda s: s >= n * real(xs.lo))
        if xs.hi is not None:
            extra.append(lambda s: s <= n * real(xs.hi))
        return _bounded(enc, None, None, extra)
    acc = Num(z3.RealVal(0), Bound.of(Decimal(0)))
    for i, x in enumerate(xs.items):
        t, d = enc.rnd.round(acc.term + x.term, B.add(acc.digits, x.digits))
        acc = Num(z3.If(i < xs.length, t, acc.term), B.join(acc.digits, d))
    return acc


def _mean(enc, xs, total: Num, n) -> Num:
    if isinstance(xs, AbstractList):  # the runtime's mean: the rounded sum ÷ n, rounded
        t, d = enc.rnd.round(total.term / z3.ToReal(n), Bound(xs.lo, xs.hi, None))
        if enc.rnd.exact:
            return Num(t, d)
        return Num(t, d)
    out = z3.RealVal(0)
    within = B.join(*(x.digits for x in xs.items))
    for k in range(len(xs.items), 0, -1):
        t, d = enc.rnd.round(total.term / k, Bound(within.lo, within.hi, None))
        out = z3.If(n == k, t, out)
    return Num(out, d)


def _extreme(xs, smallest: bool) -> Num:
    if isinstance(xs, AbstractList):
        raise Unsupported("min or max of a list of any length")
    m = xs.items[0]
    t = m.term
    for i, x in enumerate(xs.items[1:], start=1):
        better = (x.term < t) if smallest else (x.term > t)
        t = z3.If(z3.And(i < xs.length, better), x.term, t)
    return Num(t, B.join(*(x.digits for x in xs.items)))


def _trimmed(enc, xs, k: int) -> Num:
    enc._error(xs.length <= 2 * k)
    if isinstance(xs, AbstractList) or k != 1 or not enc.rnd.exact:
        lo = xs.lo if isinstance(xs, AbstractList) else _declared(enc, xs, "lo")
        hi = xs.hi if isinstance(xs, AbstractList) else _declared(enc, xs, "hi")
        if isinstance(xs, ConcreteList):
            low, high = _extreme(xs, True), _extreme(xs, False)
            if enc.rnd.exact:
                return _bounded(enc, lo, hi, [lambda m: m >= low.term, lambda m: m <= high.term])
        return _bounded(enc, lo, hi)
    total = _sum(enc, xs)
    kept = total.term - _extreme(xs, True).term - _extreme(xs, False).term
    out = z3.RealVal(0)
    for n in range(len(xs.items), 2, -1):
        out = z3.If(xs.length == n, kept / (n - 2), out)
    return Num(out, UNKNOWN)


def _declared(enc, xs: ConcreteList, side: str):
    """The declared element bound of a concrete list input, when it is one."""
    for inp in enc.ir.inputs:
        v = enc.inputs.values.get(inp.name)
        if v is xs and inp.range is not None:
            return inp.range.lo if side == "lo" else inp.range.hi
    return None
