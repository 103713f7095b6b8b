"""IR → polars expressions over scaled-integer columns (see scaled.py).

`lower(expr, scope)` gives a `Col`: a polars expression with what is known of its
values (kind, and for numbers the scale and bounds). `definition_steps` turns one IR
definition into the `with_columns` steps that compute it; `Unsupported` says which
construct cannot be evaluated exactly here, and the caller runs that definition per
row in Python instead. The operations and their order follow
perfdsl.eval.interpret.Interpreter; only exact ones are lowered.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal, Inexact, localcontext

import polars as pl

from ..ir import Const, Definition, Fn, GroupAgg, If, Prim, Rank, Ref, children
from .scaled import (Num, Unsupported, cast, checked, const, div_round, exact_normal, fits_column, lit, rescale,
                     round_bounds)

TIER_DTYPE = pl.Int32


@dataclass(frozen=True)
class Col:
    """A lowered expression: its polars expression and what is known of its values."""
    expr: pl.Expr
    kind: str                   # num bool text tier
    num: Num | None = None      # numbers: scale and bounds
    tierset: str | None = None  # tiers: the tier set (values are tier indices)
    const: bool = False         # a literal (one value, not a column)


class Scope:
    """What expressions may read; a table run supplies columns, ranks and aggregates."""

    def ref(self, name: str) -> Col:
        raise NotImplementedError

    def tier_names(self, tierset: str) -> tuple[str, ...]:
        raise NotImplementedError

    def size(self, span) -> Col:
        raise Unsupported("`size`", span)

    def rank(self, node: Rank) -> Col:
        raise Unsupported("`rank` outside the cohort stage", node.span)

    def aggregate(self, node: GroupAgg) -> Col:
        raise Unsupported("a group aggregate outside the cohort stage", node.span)


# ---- numbers ----------------------------------------------------------------------------
def num_const(d: Decimal) -> Col:
    u, num = const(d)
    if not fits_column(num):
        raise Unsupported(f"the constant {d}, too wide for a column")
    return Col(lit(u, num), "num", num, const=True)


def _align(cols: list[Col], what: str, span) -> tuple[list[pl.Expr], list[Num], int]:
    """The operands at their largest scale, all Int128 if any of them needs it."""
    s = max(c.num.scale for c in cols)
    pairs = [rescale(c.expr, c.num, s, what, span) for c in cols]
    wide = any(n.wide for _, n in pairs)
    exprs = [e.cast(pl.Int128) if wide and not n.wide else e for e, n in pairs]
    return exprs, [n for _, n in pairs], s


def _arith(op: str, a: Col, b: Col, span) -> Col:
    what = f"`{op}`"
    if op == "*":
        x, y = a.num, b.num
        prods = [x.lo * y.lo, x.lo * y.hi, x.hi * y.lo, x.hi * y.hi]
        out = checked(Num(x.scale + y.scale, min(prods), max(prods)), what, span)
        return Col(cast(a.expr, out) * cast(b.expr, out), "num", out)
    (ea, eb), (x, y), s = _align([a, b], what, span)
    if op == "+":
        out = Num(s, x.lo + y.lo, x.hi + y.hi)
    else:
        out = Num(s, x.lo - y.hi, x.hi - y.lo)
    out = checked(out, what, span)
    ea, eb = cast(ea, out), cast(eb, out)
    return Col(ea + eb if op == "+" else ea - eb, "num", out)


def _neg(a: Col, span) -> Col:
    # exact only within 28 digits: beyond, the reference's `-x` rounds (an input may have 40)
    checked(a.num, "`-`", span)
    out = Num(a.num.scale, -a.num.hi, -a.num.lo)
    return Col(lit(0, out) - a.expr, "num", out)  # polars has no unary minus for Int128


def _abs(a: Col, span) -> Col:
    n = checked(a.num, "`abs`", span)  # as `-`: the reference rounds a value beyond 28 digits
    lo, hi = (n.lo, n.hi) if n.lo >= 0 else (-n.hi, -n.lo) if n.hi <= 0 else (0, max(-n.lo, n.hi))
    return Col(a.expr.abs(), "num", Num(n.scale, lo, hi))


def _fold(exprs: list[pl.Expr], upper: bool) -> pl.Expr:
    """min (upper) or max of the expressions, folded with `clip`: pl.min_horizontal and
    pl.max_horizontal return one row where every input happens to be a scalar at run time."""
    out = exprs[0]
    for e in exprs[1:]:
        out = out.clip(upper_bound=e) if upper else out.clip(lower_bound=e)
    return out


def _extreme(fn: Fn, cols: list[Col], span) -> Col:
    cols = sorted(cols, key=lambda c: c.const)  # a column first: clipping a literal gives one row
    exprs, nums, s = _align(cols, f"`{fn.value}`", span)
    if fn is Fn.MIN:
        out = Num(s, min(n.lo for n in nums), min(n.hi for n in nums))
        return Col(_fold(exprs, True), "num", out)
    out = Num(s, max(n.lo for n in nums), max(n.hi for n in nums))
    return Col(_fold(exprs, False), "num", out)


def _union(nums: list[Num], s: int) -> Num:
    return Num(s, min(n.lo for n in nums), max(n.hi for n in nums))


def _clamp(x: Col, lo: Col, hi: Col, span) -> Col:
    (ex, el, eh), nums, s = _align([x, lo, hi], "`clamp`", span)
    expr = pl.when(ex < el).then(el).when(ex > eh).then(eh).otherwise(ex)
    return Col(expr, "num", _union(nums, s))


def _round(x: Col, places: int, mode: str, span) -> Col:
    n = x.num
    if places >= n.scale:
        expr, out = rescale(x.expr, n, places, "`round`", span)
        return Col(expr, "num", checked(out, "`round`", span))  # the reference's limit too
    digits = n.scale - places
    lo, hi = round_bounds(n, digits)
    expr = div_round(x.expr, n, digits, mode)
    if places >= 0:
        return Col(expr, "num", checked(Num(places, lo, hi), "`round`", span))
    f = 10 ** -places
    out = checked(Num(0, lo * f, hi * f), "`round`", span)
    return Col(cast(expr, out) * lit(f, out), "num", out)


def reciprocal(d: Decimal) -> Decimal | None:
    """1/d when it is a finite decimal (d = ±2^a·5^b·10^k), else None."""
    if not d:
        return None
    m = int("".join(map(str, exact_normal(d).as_tuple().digits)))
    for p in (2, 5):
        while m % p == 0:
            m //= p
    if m != 1:
        return None
    with localcontext() as ctx:
        ctx.prec, ctx.traps[Inexact] = 400, True
        return Decimal(1) / d


_ROUND = {Fn.ROUND_HALF_UP: "half_up", Fn.ROUND_HALF_EVEN: "half_even", Fn.ROUND_FLOOR: "floor", Fn.ROUND_CEIL: "ceil"}
_CMP = {Fn.EQ: "eq", Fn.NE: "ne", Fn.LT: "lt", Fn.LE: "le", Fn.GT: "gt", Fn.GE: "ge"}
_LISTS = {Fn.LIST, Fn.CONCAT, Fn.SUM, Fn.MEAN, Fn.LEN, Fn.COUNT, Fn.TRIMMED_MEAN, Fn.STREAK,
          Fn.LIST_MIN, Fn.LIST_MAX}


def _compare(fn: Fn, a: Col, b: Col, span) -> Col:
    if a.kind == "num":
        (ea, eb), _, _ = _align([a, b], f"`{fn.value}`", span)
    else:
        ea, eb = a.expr, b.expr
    return Col(getattr(ea, _CMP[fn])(eb), "bool")


# ---- expressions ------------------------------------------------------------------------
def lower(e, scope: Scope) -> Col:
    """One IR expression as a Col; Unsupported where it cannot be exact.

    A node shared by several parents (an inlined function using its parameter twice)
    is lowered once per definition: `scope.memo` keeps its Col."""
    memo = scope.__dict__.setdefault("memo", {})
    hit = memo.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    col = _lower(e, scope)
    memo[id(e)] = (e, col)
    return col


def _lower(e, scope: Scope) -> Col:
    if isinstance(e, Const):
        v = e.value
        if isinstance(v, bool):
            return Col(pl.lit(v), "bool")
        if isinstance(v, Decimal):
            return num_const(v)
        if isinstance(v, str):
            if e.type.kind == "tier":
                return Col(pl.lit(scope.tier_names(e.type.tierset).index(v), dtype=TIER_DTYPE), "tier",
                           tierset=e.type.tierset)
            return Col(pl.lit(v, dtype=pl.String), "text")
        raise Unsupported("a list value", e.span)
    if isinstance(e, Ref):
        return scope.size(e.span) if e.kind == "size" else scope.ref(e.name)
    if isinstance(e, If):
        return _if_chain(e, scope)
    if isinstance(e, Rank):
        return scope.rank(e)
    if isinstance(e, GroupAgg):
        return scope.aggregate(e)
    if isinstance(e, Prim):
        return _prim(e, scope)
    raise Unsupported(f"`{type(e).__name__}`", getattr(e, "span", None))


def _if_chain(e: If, scope: Scope) -> Col:
    """`if a then x else if b then y else z` (tables) as one when/then chain, without
    recursing down the else branches."""
    conds, branches = [], []
    while isinstance(e, If):
        conds.append(lower(e.cond, scope).expr)
        branches.append(lower(e.then, scope))
        e = e.else_
    branches.append(lower(e, scope))
    if branches[0].kind == "num":
        exprs, nums, s = _align(branches, "`if`", None)
        out = Col(None, "num", _union(nums, s))
    else:
        exprs, out = [b.expr for b in branches], Col(None, branches[0].kind, tierset=branches[0].tierset)
    chain = None
    for c, x in zip(conds, exprs):
        chain = (pl.when(c) if chain is None else chain.when(c)).then(x)
    return replace(out, expr=chain.otherwise(exprs[-1]))


def _prim(e: Prim, scope: Scope) -> Col:
    f = e.fn
    if f in _LISTS:
        raise Unsupported(f"`{f.value}` of a list", e.span)
    if f is Fn.DIV or f is Fn.RATIO:
        return _divide(e, scope)
    if f in _ROUND:
        places = e.args[1]
        if not isinstance(places, Const):
            raise Unsupported("rounding to a computed number of places", e.span)
        return _round(lower(e.args[0], scope), int(places.value), _ROUND[f], e.span)
    a = [lower(x, scope) for x in e.args]
    if any(c.kind == "list" for c in a):
        raise Unsupported("a list value", e.span)
    if f is Fn.AND:
        return Col(a[0].expr & a[1].expr, "bool")
    if f is Fn.OR:
        return Col(a[0].expr | a[1].expr, "bool")
    if f is Fn.NOT:
        return Col(~a[0].expr, "bool")
    if f in _CMP:
        return _compare(f, a[0], a[1], e.span)
    if f is Fn.ADD:
        return _arith("+", a[0], a[1], e.span)
    if getattr(Fn, "TOTAL", None) is f:  # n-ary sum, added left to right
        out = a[0]
        for x in a[1:]:
            out = _arith("+", out, x, e.span)
        return out
    if f is Fn.SUB:
        return _arith("-", a[0], a[1], e.span)
    if f is Fn.MUL:
        return _arith("*", a[0], a[1], e.span)
    if f is Fn.NEG:
        return _neg(a[0], e.span)
    if f is Fn.ABS:
        return _abs(a[0], e.span)
    if f in (Fn.MIN, Fn.MAX):
        return _extreme(f, a, e.span)
    if f is Fn.CLAMP:
        return _clamp(a[0], a[1], a[2], e.span)
    raise Unsupported(f"`{f.value}`", e.span)


def _divide(e: Prim, scope: Scope) -> Col:
    """a / d and ratio(a, d) for a constant d whose reciprocal is a finite decimal: then
    the quotient is exact, and equals a · (1/d)."""
    d = e.args[1]
    r = reciprocal(d.value) if isinstance(d, Const) and isinstance(d.value, Decimal) else None
    if r is None:
        name = "division `/`" if e.fn is Fn.DIV else "`ratio`"
        raise Unsupported(f"{name} by a value that is not a constant power of 2 and 5", e.span)
    q = _arith("*", lower(e.args[0], scope), num_const(r), e.span)
    if e.fn is Fn.DIV:
        return q
    one = num_const(Decimal(1))
    (eq, e1), nums, s = _align([q, one], "`ratio`", e.span)
    return Col(pl.when(eq > e1).then(e1).otherwise(eq), "num", _union(nums, s))


# ---- definitions ------------------------------------------------------------------------
@dataclass
class Lowered:
    """One definition as sequential `with_columns` steps and what its column holds."""
    steps: list[dict[str, pl.Expr]]
    col: Col          # the value column (pl.col of its name)
    state: dict | None = None  # tiers: column names of changed/pinned/limit/ceiling, or None


def definition_steps(d: Definition, out: str, scope: Scope) -> Lowered:
    """The steps that compute definition `d` into column `out` (and `out~…` for tier state)."""
    scope.memo = {}
    try:
        return _definition_steps(d, out, scope)
    except RecursionError:
        raise Unsupported("an expression nested too deeply for columns", d.span) from None


def _definition_steps(d: Definition, out: str, scope: Scope) -> Lowered:
    if d.tiers is not None:
        return _tiers(d, out, scope)
    col = _indicator(d, scope) if d.indicator is not None else lower(d.expr, scope)
    return Lowered([{out: col.expr}], replace(col, expr=pl.col(out)))


def _indicator(d: Definition, scope: Scope) -> Col:
    body = d.indicator
    if body.computed is not None:
        return lower(body.computed, scope)
    value = lower(body.base, scope) if body.base is not None else num_const(Decimal(0))
    for adj in body.adjustments:
        amount = lower(adj.amount, scope)
        if adj.per is not None:
            moved = _arith("*", amount, lower(adj.per, scope), adj.span)
        else:
            cond = lower(adj.cond, scope)
            zero = num_const(Decimal(0))
            (ea, ez), nums, s = _align([amount, zero], "an adjustment", adj.span)
            moved = Col(pl.when(cond.expr).then(ea).otherwise(ez), "num", _union(nums, s))
        if adj.up_to is not None:
            moved = _extreme(Fn.MIN, [moved, num_const(adj.up_to)], adj.span)
        value = _arith("+" if adj.sign > 0 else "-", value, moved, adj.span)
    for b in body.bounds:
        if b.lo is not None:
            value = _extreme(Fn.MAX, [value, num_const(b.lo)], b.span)
        if b.hi is not None:
            value = _extreme(Fn.MIN, [value, num_const(b.hi)], b.span)
    return value


def _tiers(d: Definition, out: str, scope: Scope) -> Lowered:
    body = d.tiers
    by = lower(body.by, scope)
    last = len(body.tiers) - 1
    band = None
    for i, t in enumerate(body.tiers):
        if t.threshold is None:
            continue
        hit = _compare(Fn.LT if body.ascending else Fn.GE, by, num_const(t.threshold), t.span).expr
        band = (pl.when(hit) if band is None else band.when(hit)).then(pl.lit(i, dtype=TIER_DTYPE))
    idx = pl.lit(last, dtype=TIER_DTYPE) if band is None else band.otherwise(pl.lit(last, dtype=TIER_DTYPE))
    col = Col(pl.col(out), "tier", tierset=d.name)
    if not body.rules:
        return Lowered([{out: idx}], col)
    names = {k: f"{out}~{k}" for k in ("changed", "pinned", "limit", "ceiling")}
    c_idx, c_ch, c_pin, c_lim = pl.col(out), pl.col(names["changed"]), pl.col(names["pinned"]), pl.col(names["limit"])
    # full-length columns, not literals: the optimizer may otherwise fold them to scalars
    false, zero = pl.repeat(False, pl.len(), dtype=pl.Boolean), pl.repeat(0, pl.len(), dtype=TIER_DTYPE)
    steps = [{out: idx, names["changed"]: false, names["pinned"]: false, names["limit"]: zero}]
    for rule in body.rules:
        active = lower(rule.cond, scope).expr & ~c_pin
        t = pl.lit(rule.tier, dtype=TIER_DTYPE)
        if rule.kind == "veto":
            steps.append({out: pl.when(active).then(t).otherwise(c_idx), names["pinned"]: c_pin | active})
            continue
        if rule.kind == "downgrade":
            new = (c_idx + pl.lit(rule.steps, dtype=TIER_DTYPE)).clip(upper_bound=pl.lit(last, dtype=TIER_DTYPE))
        else:
            new = c_idx.clip(lower_bound=t)
        step = {out: pl.when(active).then(new).otherwise(c_idx),
                names["changed"]: c_ch | (active & (new != c_idx))}
        if rule.kind == "limit":
            step[names["limit"]] = pl.when(active).then(c_lim.clip(lower_bound=t)).otherwise(c_lim)
        steps.append(step)
    steps.append({names["ceiling"]: pl.when(c_ch).then(c_idx).otherwise(pl.lit(0, dtype=TIER_DTYPE)).clip(lower_bound=c_lim)})
    return Lowered(steps, col, names)


def flag_col(cond, scope: Scope) -> Col:
    scope.memo = {}
    try:
        col = lower(cond, scope)
    except RecursionError:
        raise Unsupported("a condition nested too deeply for columns", getattr(cond, "span", None)) from None
    if col.kind != "bool":
        raise Unsupported("a flag condition that is not true or false", getattr(cond, "span", None))
    return col


# ---- walking the IR ---------------------------------------------------------------------
def walk(exprs: list):
    """Every node under `exprs` (GroupAgg arguments included)."""
    stack = list(exprs)
    while stack:
        e = stack.pop()
        yield e
        stack.extend(children(e))


def names_read(exprs: list) -> set[str]:
    """Inputs and definitions the expressions read (not `size`)."""
    return {e.name for e in walk(exprs) if isinstance(e, Ref) and e.kind != "size"}
