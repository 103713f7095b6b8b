"""Exact decimals as scaled integers, decided once for every set-based printer.

A number is held as the integer round(value · 10^scale). Python's decimal with
precision 28 (runtime.CONTEXT, LANGUAGE.md §1) rounds a result only when it needs more
than 28 significant digits, and every such rounding is written out here as integer
arithmetic too, so a printer that prints the plan below gives the reference's digits
with no arithmetic of its own: polars (perfdsl.columnar) and SQL (perfdsl.sql) both
print it.

API (stable; perfdsl.sql prints the same plan):

* `Num(scale, lo, hi)`: what is known of a number: its scale and the bounds of its
  integers. `Num.wide`: the integers need 128 bits (Int128, DECIMAL(38,0)/HUGEINT)
  rather than 64. A printer learns the inputs' Nums from the data or declarations
  (`const`, `places`, `unscaled` help) and gives them to `Scaler`.
* `Value(node, kind, num, fails, item, length)`: a core expression decided: `node` is
  the integer plan that computes it, `kind` one of num (a scaled integer), int (a whole
  number that is no decimal: tier positions), bool, text, none, tuple (a constant tuple:
  what PICK picks from) and list (`item` the kind of its items, `num` theirs when
  numbers, `length` the most items it can have). `fails` is a test (a plan node, None
  when nothing can fail): where it holds, the reference raises a data error for that
  subject (division by zero, rounding needing more than 28 digits, the mean of an
  empty list, an index out of range...); a printer reports those rows, e.g. by asking
  the reference for their messages.
* `Scaler(env, size)`: a core.Visitor; `Scaler.visit(expr)` gives the Value of a core
  expression, reading `env` (variable name → Value); `hold(value)` is where a printer
  may compute a value once before larger expressions read it. Subclasses supply the cohort:
  `visit_RankOf` and `visit_GroupValue` (the helpers `rank` and `group_value` build
  their Values). Also usable piecewise: `const`, `column`, `add`, `sub`, `mul`, `neg`,
  `absolute`, `divide`, `round_to`, `round28`, `compare`, `extreme`, `cond`, `total`.
* Plan nodes (frozen dataclasses; integer nodes have `wide`):
  Const(value) · Column(name, wide) · Arith(op + - *, a, b, wide) ·
  Quotient(a, b, wide) = floor(a / b) for a ≥ 0 and b > 0 only, so truncating and
  flooring division agree (every dialect's integer division) ·
  Compare(op == != < <= > >=, a, b) · Logic(op and/or/not, args) ·
  Case(arms ((test, value), ...), else_, wide) · Extreme(op min/max, args, wide) ·
  Pick(names, index): the text at a whole-number position of a constant tuple ·
  Rank(ranking, from_bottom): 1-based competition rank in a core Ranking ·
  Window(fn sum/count/len/min/max/reach, arg, fields, wide): over the part of equal
  `fields` (len: its size; reach: the largest |running sum| of arg in input order) ·
  ListOf(items) · Concat(a, b) · ListFn(fn, list, arg, wide) with fn one of
  sum, len, times (every item times arg), count (items equal to arg), streak (trailing
  items equal to arg), min, max,
  get (the item at position arg, negative from the end), trimmed_sum (sum after
  dropping the arg lowest and arg highest).

What cannot be held exactly in 38 digits (a bound reaching 10^38 on any integer of the
plan) raises `Unsupported` naming the construct and its place; so does what the plan
has no node for (rounding to a computed number of places).
"""
from __future__ import annotations

import contextvars
from dataclasses import replace
from decimal import Decimal
from typing import Callable

from ..runtime.frozen import Frozen
from . import core as c

LIMIT = 10 ** 28       # |integer| below this: at most 28 significant digits, the reference's precision
WIDE_LIMIT = 10 ** 38  # every integer of a plan stays below this (Int128, DECIMAL(38, 0))
INT64_MAX = 2 ** 63 - 1


class Unsupported(Exception):
    """A construct that cannot be computed exactly as scaled integers; `feature` says which."""

    def __init__(self, feature: str, where: str = ""):
        self.feature, self.where = feature, where
        super().__init__(f"{feature} ({where})" if where else feature)


class Num(Frozen):
    """A number's scale and the bounds of its integers."""
    scale: int
    lo: int
    hi: int

    @property
    def magnitude(self) -> int:
        return max(abs(self.lo), abs(self.hi))

    @property
    def wide(self) -> bool:
        return self.magnitude > INT64_MAX


# ---- plan nodes --------------------------------------------------------------------
class Const(Frozen):
    value: object  # int (a scaled integer or a whole number), bool, str, None

    @property
    def wide(self) -> bool:
        return isinstance(self.value, int) and not isinstance(self.value, bool) and abs(self.value) > INT64_MAX


class Column(Frozen):
    name: str
    wide: bool = False


class Arith(Frozen):
    op: str
    a: object
    b: object
    wide: bool


class Quotient(Frozen):
    """floor(a / b) where a ≥ 0 and b > 0."""
    a: object
    b: object
    wide: bool


class Compare(Frozen):
    op: str
    a: object
    b: object


class Logic(Frozen):
    op: str
    args: tuple


class Case(Frozen):
    arms: tuple  # ((test, value), ...): the first test that holds
    else_: object
    wide: bool = False


class Extreme(Frozen):
    op: str
    args: tuple
    wide: bool = False


class Pick(Frozen):
    names: tuple
    index: object


class Rank(Frozen):
    ranking: c.Ranking
    from_bottom: bool


class Window(Frozen):
    fn: str
    arg: object
    fields: tuple
    wide: bool = False


class ListOf(Frozen):
    items: tuple


class Concat(Frozen):
    a: object
    b: object


class ListFn(Frozen):
    fn: str
    list: object
    arg: object = None
    wide: bool = False


class Why(Frozen):
    """A failure test and what it means: printed as its test; `reason` words it where a
    printer says why a row has no value (a compiled query's `#error`), e.g. "division by
    zero (policy.perf:7:17)". Every failure the plan finds is one, so the reasons of a
    value's `fails` are read off its tree (`reasons`, `only`)."""
    reason: str
    test: object


class Value(Frozen):
    node: object
    kind: str
    num: Num | None = None
    fails: object = None
    item: str | None = None
    length: int = 0


# ---- tests and failure -------------------------------------------------------------
def both(guard, test):
    """`test` where `guard` holds (None: no guard); None when there is no test."""
    if test is None or guard is None:
        return test
    return Logic("and", (guard, test))


def either(*tests):
    tests = [t for t in tests if t is not None]
    if not tests:
        return None
    return tests[0] if len(tests) == 1 else Logic("or", tuple(tests))


def negate(t):
    return Logic("not", (t,))


def why(reason: str, test, where: str = ""):
    """`test`, worded: the reason a row where it holds has no value (None: no test)."""
    return None if test is None else Why(f"{reason} ({where})" if where else reason, test)


def reasons(test) -> list[str]:
    """The reasons of a failure test, in the order they appear (each once)."""
    out: list[str] = []
    def walk(t):
        if isinstance(t, Why):
            if t.reason not in out:
                out.append(t.reason)
        elif isinstance(t, Logic):
            for a in t.args:
                walk(a)
    walk(test)
    return out


def only(test, reason: str):
    """The part of a failure test with this reason: its other reasons' tests made false
    (guards, which hold no Why, are kept)."""
    if isinstance(test, Why):
        return test.test if test.reason == reason else Const(False)
    if isinstance(test, Logic) and test.op != "not":
        return Logic(test.op, tuple(only(a, reason) for a in test.args))
    return test


def _fails(*values: Value):
    return either(*(v.fails for v in values))


# ---- numbers -----------------------------------------------------------------------
def places(d: Decimal) -> int:
    """Decimals needed to write d exactly (trailing zeros ignored), read from its digits
    (never through normalize(), which rounds to 28 digits: an input may have 40)."""
    sign, digits, exp = d.as_tuple()
    if not any(digits):
        return 0
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exp + zeros))


def unscaled(d: Decimal, scale: int) -> int:
    """The exact integer d · 10^scale (d must have at most `scale` decimals)."""
    sign, digits, exp = d.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    shift = exp + scale
    if shift < 0:
        n, r = divmod(n, 10 ** -shift)
        if r:
            raise ValueError(f"{d} has more than {scale} decimals")
    else:
        n *= 10 ** shift
    return -n if sign else n


def to_decimal(n: int, scale: int) -> Decimal:
    """The Decimal n · 10^-scale, built without rounding."""
    return Decimal((1 if n < 0 else 0, tuple(int(ch) for ch in str(abs(n))), -scale))


def exact_normal(d: Decimal) -> Decimal:
    """d without trailing zeros (96.00 → 96), never rounded; zero is 0."""
    if not d:
        return Decimal(0)
    sign, digits, exp = d.as_tuple()
    text = "".join(map(str, digits))
    kept = text.rstrip("0")
    return Decimal((sign, tuple(map(int, kept)), exp + len(text) - len(kept)))


# Digits a quotient's span leaves spare (see `planned`).
ROOM: contextvars.ContextVar[int] = contextvars.ContextVar("perfdsl_quotient_room", default=0)


def planned(build: Callable, *args):
    """build(*args) with every quotient held over the widest span that fits; where a later
    operation could then pass 38 digits (budget_manager: a mean of 21-decimal scores held
    to 36 decimals, plus two scores), built again with each span a digit narrower, up to
    three: rows whose quotient falls below the narrower span are marked, never refused."""
    for room in range(4):
        token = ROOM.set(room)
        try:
            return build(*args)
        except Unsupported:
            if room == 3:
                raise
        finally:
            ROOM.reset(token)


def _checked(num: Num, what: str, where: str) -> Num:
    if num.magnitude >= WIDE_LIMIT:
        raise Unsupported(f"{what}: its exact value could need more than 38 digits", where)
    return num


def const(d: Decimal, where: str = "") -> Value:
    s = places(d)
    u = unscaled(d, s)
    return Value(Const(u), "num", _checked(Num(s, u, u), f"the number {d}", where))


def column(name: str, num: Num) -> Value:
    return Value(Column(name, num.wide), "num", _checked(num, f"`{name}`", ""))


def _int(v: int) -> Const:
    return Const(v)


def _arith(op: str, a, b, lo: int, hi: int):
    return Arith(op, a, b, max(abs(lo), abs(hi)) > INT64_MAX)


def rescale(v: Value, scale: int, what: str = "", where: str = "") -> Value:
    """The same number at a scale at least its own (times a power of ten: exact)."""
    if scale == v.num.scale:
        return v
    f = 10 ** (scale - v.num.scale)
    num = _checked(Num(scale, v.num.lo * f, v.num.hi * f), what or "a rescaled number", where)
    if isinstance(v.node, Const):
        return replace(v, node=Const(v.node.value * f), num=num)
    return replace(v, node=_arith("*", v.node, _int(f), num.lo, num.hi), num=num)


def _aligned(values, what: str, where: str) -> list[Value]:
    s = max(v.num.scale for v in values)
    return [rescale(v, s, what, where) for v in values]


def _sign_split(node, num: Num, positive) -> tuple:
    """(node of f(|x|) with its sign restored, bounds): `positive(a, hi)` computes on a ≥ 0."""
    if num.lo >= 0:
        return positive(node, num.hi)
    mag = num.magnitude
    a = Case(((Compare("<", node, _int(0)), _arith("-", _int(0), node, 0, mag)),), node, mag > INT64_MAX)
    out, hi = positive(a, mag)
    neg = _arith("-", _int(0), out, 0, hi)
    return Case(((Compare("<", node, _int(0)), neg),), out, hi > INT64_MAX), hi


def _odd(q, hi: int):
    half = Quotient(q, _int(2), hi > INT64_MAX)
    return Compare("==", _arith("-", q, _arith("*", half, _int(2), 0, hi), 0, hi), _int(1))


def _round_div(a, b, a_hi: int, b_hi: int, mode: str):
    """round(a / b) as `mode` says, for a ≥ 0 and b > 0 (half_up: half away from zero)."""
    wide = max(a_hi, 2 * b_hi) > INT64_MAX
    q = Quotient(a, b, wide)
    if mode == "floor":
        return q
    r = _arith("-", a, _arith("*", q, b, 0, a_hi), 0, a_hi)
    if mode == "ceil":
        up = Compare(">", r, _int(0))
    else:
        two_r = _arith("*", r, _int(2), 0, 2 * b_hi)
        up = Compare(">=" if mode == "half_up" else ">", two_r, b)
        if mode == "half_even":
            up = Logic("or", (up, Logic("and", (Compare("==", two_r, b), _odd(q, a_hi)))))
    return _arith("+", q, Case(((up, _int(1)),), _int(0)), 0, a_hi + 1)


def round28(v: Value, where: str = "") -> Value:
    """v rounded to 28 significant digits, half even, as the reference rounds every result."""
    n = v.num
    if n.magnitude < LIMIT:
        return v
    top = len(str(n.magnitude)) - 28  # digits to drop from the largest values
    bound = n.magnitude + 10 ** top

    def positive(a, hi):
        arms = []
        for j in range(1, top + 1):  # |x| < 10^(28+j): drop j digits
            k = 10 ** j
            rounded = _arith("*", _round_div(a, _int(k), hi, k, "half_even"), _int(k), 0, bound)
            arms.append((Compare("<", a, _int(10 ** (28 + j))), rounded))
        return Case(((Compare("<", a, _int(LIMIT)), a),) + tuple(arms[:-1]), arms[-1][1], bound > INT64_MAX), bound
    _checked(Num(n.scale, 0, bound), "a result rounded to 28 digits", where)
    node, hi = _sign_split(v.node, n, positive)
    return replace(v, node=node, num=Num(n.scale, -hi if n.lo < 0 else max(0, n.lo - 10 ** top), hi))


def add(a: Value, b: Value, where: str = "", op: str = "+") -> Value:
    a, b = _aligned([a, b], f"`{op}`", where)
    x, y = a.num, b.num
    num = Num(x.scale, x.lo + y.lo, x.hi + y.hi) if op == "+" else Num(x.scale, x.lo - y.hi, x.hi - y.lo)
    _checked(num, f"`{op}`", where)
    return round28(Value(_arith(op, a.node, b.node, num.lo, num.hi), "num", num, _fails(a, b)), where)


def sub(a: Value, b: Value, where: str = "") -> Value:
    return add(a, b, where, "-")


def mul(a: Value, b: Value, where: str = "") -> Value:
    x, y = a.num, b.num
    prods = [x.lo * y.lo, x.lo * y.hi, x.hi * y.lo, x.hi * y.hi]
    num = _checked(Num(x.scale + y.scale, min(prods), max(prods)), "`*`", where)
    return round28(Value(_arith("*", a.node, b.node, num.lo, num.hi), "num", num, _fails(a, b)), where)


def neg(a: Value, where: str = "") -> Value:
    num = Num(a.num.scale, -a.num.hi, -a.num.lo)
    return round28(Value(_arith("-", _int(0), a.node, num.lo, num.hi), "num", num, a.fails), where)


def absolute(a: Value, where: str = "") -> Value:
    n = a.num
    if n.lo >= 0:
        return round28(a, where)
    lo, hi = (-n.hi, -n.lo) if n.hi <= 0 else (0, n.magnitude)
    node = Case(((Compare("<", a.node, _int(0)), _arith("-", _int(0), a.node, 0, hi)),), a.node, n.wide)
    return round28(Value(node, "num", Num(n.scale, lo, hi), a.fails), where)


def total(values: list[Value], where: str = "") -> Value:
    """Left to right, each partial sum rounded as the reference adds (runtime.total)."""
    out = values[0]
    for v in values[1:]:
        out = add(out, v, where)
    return out


def _exp10(p: int, q: int) -> int:
    """floor(log10(p / q)) for p, q > 0."""
    e = len(str(p)) - len(str(q))
    return e if (p * 10 ** max(0, -e) >= q * 10 ** max(0, e)) else e - 1


def divide(a: Value, b: Value, exactness: c.Exactness, where: str = "", at_most_one: bool = False,
           most: Decimal | None = None) -> Value:
    """a / b as runtime.divide: fails where b is 0, else the quotient rounded to 28
    significant digits half even (exact when it has no more). TERMINATING: b is a
    constant 2^i·5^j, so the quotient is a · (1/b), a finite decimal.

    `at_most_one` (a ≥ 0 and b ≥ 0 only): min(a / b, 1), runtime.ratio. Only quotients
    below 1 are computed, so their scale is decided by the smallest alone: a ratio of
    numbers spanning twenty powers of ten still fits 38 digits.

    One scale holds 28 significant digits of quotients over about ten powers of ten.
    When the bounds allow a wider spread, the quotient is held over the widest span
    that fits, from the largest down, and a row whose nonzero quotient lies below it
    fails (`Value.fails`): a table run then goes per row and says so, a compiled query
    reports the row. Never a wrong digit.

    `most`: the largest |quotient| known from elsewhere (a mean lies within its items),
    where the bounds of a and b alone allow more (a sum of 64 items over a count of 1):
    the span, and so how far down one scale reaches, is planned from it."""
    zero = Compare("==", b.node, _int(0))
    fails = either(a.fails, b.fails, why("division by zero", zero, where) if b.num.lo <= 0 <= b.num.hi else None)
    if b.num.magnitude == 0:
        return Value(_int(0), "num", Num(0, 0, 0), either(a.fails, why("division by zero", Const(True), where)))
    if exactness is c.Exactness.TERMINATING and isinstance(b.node, Const):
        return replace(mul(a, const(_exact_inverse(b.node.value, b.num.scale)), where), fails=fails)
    x, y = a.num, b.num
    n_hi, d_hi = x.magnitude, y.magnitude
    d_lo = 1 if y.lo <= 0 <= y.hi else min(abs(y.lo), abs(y.hi))
    n_lo = 0 if x.lo <= 0 <= x.hi else min(abs(x.lo), abs(x.hi))
    if n_hi == 0:
        return Value(_int(0), "num", Num(0, 0, 0), fails)
    # |quotient| = N / D in integers: the scales moved onto one side
    up_n, up_d = max(0, y.scale - x.scale), max(0, x.scale - y.scale)
    e_min = _exp10(max(n_lo, 1) * 10 ** up_n, d_hi * 10 ** up_d)
    e_max = _exp10(n_hi * 10 ** up_n, d_lo * 10 ** up_d)
    if most is not None and most > 0:
        e_max = min(e_max, most.adjusted())
    capped = at_most_one and e_max >= 0
    if capped:  # quotients of 1 or more are 1: the arms need only those below
        e_max = max(-1, e_min)
    safe = Case(((zero, _int(1)),), b.node, y.wide) if y.lo <= 0 <= y.hi else b.node
    # the arms compute on |a| and |b| as they are: quotient = (A / B) · 10^s
    q = _Quotient(_magnitude(a.node, x), _magnitude(safe, y), n_hi, d_hi, y.scale - x.scale, where, most)
    refused = None
    room = ROOM.get()
    for e_lo in range(e_min, e_max + 1):
        try:
            node, scale, bound = q.held(d_lo, e_lo, e_max, capped, room)
        except Unsupported as err:
            refused = refused or err
            continue
        if e_lo > e_min:  # below the span: a nonzero quotient under 10^e_lo
            below = Logic("and", (Compare("!=", a.node, _int(0)), negate(q.at_least(e_lo))))
            fails = either(fails, why(f"the quotient lies below 10^{e_lo}, outside the span one scale holds "
                                      f"for this query's ranges", below, where))
        break
    else:
        raise refused
    lo = 0
    if x.lo < 0 or y.lo < 0:
        negative = Logic("or", (Logic("and", (Compare("<", a.node, _int(0)), Compare(">", b.node, _int(0)))),
                                Logic("and", (Compare(">", a.node, _int(0)), Compare("<", b.node, _int(0))))))
        node = Case(((negative, _arith("-", _int(0), node, 0, bound)),), node, bound > INT64_MAX)
        lo = -bound
    return Value(node, "num", Num(scale, lo, bound), fails)


class _Quotient:
    """A / B · 10^s for integers A ≥ 0 (below a_hi), B > 0 (below b_hi), rounded to 28
    significant digits: one arm per power of ten of the quotient."""

    def __init__(self, a, b, a_hi: int, b_hi: int, s: int, where: str, most: Decimal | None = None):
        self.a, self.b, self.a_hi, self.b_hi, self.s, self.where = a, b, a_hi, b_hi, s, where
        self.most = most  # the largest quotient, when known tighter than a_hi / b_lo

    def at_least(self, e: int):
        """The test A/B · 10^s ≥ 10^e."""
        k = e - self.s  # A/B ≥ 10^k
        _checked(Num(0, 0, max(self.a_hi * 10 ** max(0, -k), self.b_hi * 10 ** max(0, k))), "`/`", self.where)
        return Compare(">=", _scale_up(self.a, max(0, -k), self.a_hi), _scale_up(self.b, max(0, k), self.b_hi))

    def held(self, b_lo: int, e_min: int, e_max: int, capped: bool, room: int = 0):
        """(node, scale, bound): the quotient at one scale for the rows where it is 0 or
        in [10^e_min, 10^(e_max+1)) (capped: 1 where it is 1 or more); `b_lo`: the least
        B but 0. Unsupported when an integer could pass 10^38, or the quotient 10^(38 − room)."""
        a, b, a_hi, b_hi, s, where = self.a, self.b, self.a_hi, self.b_hi, self.s, self.where
        scale = max(0, 27 - e_min)
        # the largest quotient at this scale, and what rounding its 28th digit may add
        up = scale + s
        slack = 1 + 10 ** max(0, e_max + scale - 27)
        bound = 10 ** scale if capped else a_hi * 10 ** max(0, up) // (b_lo * 10 ** max(0, -up)) + slack
        if self.most is not None and not capped:
            p = places(self.most)
            top = unscaled(self.most, p) * 10 ** max(0, scale - p)
            bound = min(bound, -(-top // 10 ** max(0, p - scale)) + slack)
        _checked(Num(scale, 0, bound * 10 ** room), "`/`", where)
        arms = []
        for e in range(e_max, e_min - 1, -1):
            # rows of this arm have 10^k <= A/B < 10^(k+1), so A <= 10^(k+1)·B − 1 (for
            # k + 1 < 0: A <= (B − 1) // 10^-(k+1)); the others are clamped there first, so
            # no row's integers grow past 10^38 (a SQL engine would trap)
            k, p = e - s, 27 - e  # 28 digits of the arm: round(A · 10^(27 − k) / B) · 10^-p
            if e == e_max and not capped:
                a_e, a_e_hi = a, a_hi
            else:
                _checked(Num(0, 0, b_hi * 10 ** max(0, k + 1)), "`/`", where)
                cap = _arith("-", _scale_up(b, k + 1, b_hi), _int(1), 0, b_hi * 10 ** (k + 1)) if k + 1 >= 0 else \
                    Quotient(_arith("-", b, _int(1), 0, b_hi), _int(10 ** -(k + 1)), b_hi > INT64_MAX)
                a_e_hi = min(a_hi, b_hi * 10 ** (k + 1) - 1 if k + 1 >= 0 else (b_hi - 1) // 10 ** -(k + 1))
                a_e = Extreme("min", (a, cap), max(a_hi, b_hi * 10 ** max(0, k + 1)) > INT64_MAX)
            if 27 - k >= 0:
                r = _shifted_round_div(a_e, b, a_e_hi, b_hi, 27 - k, where)
            else:
                den_hi = b_hi * 10 ** (k - 27)
                _checked(Num(0, 0, max(a_e_hi, 2 * den_hi)), "`/`", where)
                r = _round_div(a_e, _scale_up(b, k - 27, b_hi), a_e_hi, den_hi, "half_even")
            shift = scale - p
            value = _arith("*", r, _int(10 ** shift), 0, bound) if shift else r
            arms.append((None if e == e_min else self.at_least(e), value))
        node = Case(tuple(arms[:-1]), arms[-1][1], bound > INT64_MAX) if len(arms) > 1 else arms[0][1]
        if capped:
            node = Case(((self.at_least(0), _int(10 ** scale)),), node, bound > INT64_MAX)
        return node, scale, bound


def _shifted_round_div(n, d, n_hi: int, d_hi: int, p: int, where: str):
    """round(n · 10^p / d) half even, for n ≥ 0, d > 0, p ≥ 0, in a division arm (its
    quotient below 10^28). When n · 10^p could pass
    10^38 (a large denominator: a 28-digit quotient needs n up to d · 10^28), two steps of
    long division: q1 = n·10^p1 // d, then the remainder r1 < d carries on,
    round(r1 · 10^p2 / d), whose parity is the whole quotient's (p2 ≥ 1)."""
    if n_hi * 10 ** p < WIDE_LIMIT and 2 * d_hi < WIDE_LIMIT:
        return _round_div(_scale_up(n, p, n_hi), d, n_hi * 10 ** p, d_hi, "half_even")
    p2 = min(p, 37 - len(str(d_hi)))  # 2 · d · 10^p2 < 10^38
    p1 = p - p2
    if p2 < 1:
        raise Unsupported("`/`: its exact value could need more than 38 digits", where)
    x_hi = n_hi * 10 ** p1
    _checked(Num(0, 0, max(x_hi, d_hi)), "`/`", where)
    x = _scale_up(n, p1, n_hi)
    q1 = Quotient(x, d, x_hi > INT64_MAX)
    r1 = _arith("-", x, _arith("*", q1, d, 0, x_hi), 0, d_hi)
    q2 = _round_div(_scale_up(r1, p2, d_hi), d, d_hi * 10 ** p2, d_hi, "half_even")
    q_hi = 10 ** 28 + 10 ** p2  # an arm's n/d is below 10^(e+1): its 28 digits stay below 10^28
    return _arith("+", _arith("*", q1, _int(10 ** p2), 0, q_hi), q2, 0, q_hi)


def _exact_inverse(u: int, scale: int) -> Decimal:
    """1 / (u · 10^-scale) for u made of 2s and 5s, exactly."""
    n, twos, fives = abs(u), 0, 0
    while n % 2 == 0:
        n, twos = n // 2, twos + 1
    while n % 5 == 0:
        n, fives = n // 5, fives + 1
    k = max(twos, fives)  # 1/(2^t·5^f) = 2^(k−t)·5^(k−f) / 10^k
    inv = Decimal(2 ** (k - twos) * 5 ** (k - fives)).scaleb(scale - k)
    return -inv if u < 0 else inv


def _scale_up(node, k: int, hi: int):
    return node if k == 0 else _arith("*", node, _int(10 ** k), 0, hi * 10 ** k)


def _magnitude(node, num: Num):
    """|x| as a plan node."""
    if num.lo >= 0:
        return node
    return Case(((Compare("<", node, _int(0)), _arith("-", _int(0), node, 0, num.magnitude)),), node, num.wide)


def round_to(x: Value, places_: int, mode: c.Rounding, where: str = "") -> Value:
    """runtime.quantize: x to `places_` decimals as `mode` says (half_up: half away from
    zero); fails where the result needs more than 28 significant digits (TooManyDigits)."""
    n = x.num
    if places_ >= n.scale:
        out = rescale(x, places_, "`round`", where)
        coef, coef_num = out.node, out.num
    else:
        k = 10 ** (n.scale - places_)
        pos_mode, neg_mode = {c.Rounding.HALF_UP: ("half_up", "half_up"), c.Rounding.HALF_EVEN: ("half_even", "half_even"),
                              c.Rounding.FLOOR: ("floor", "ceil"), c.Rounding.CEIL: ("ceil", "floor")}[mode]
        hi = n.magnitude // k + 1
        if n.lo >= 0:
            coef = _round_div(x.node, _int(k), n.magnitude, k, pos_mode)
        else:
            below = _round_div(_magnitude(x.node, n), _int(k), n.magnitude, k, neg_mode)
            above = _round_div(x.node, _int(k), max(n.hi, 0), k, pos_mode) if n.hi > 0 else _int(0)
            coef = Case(((Compare("<", x.node, _int(0)), _arith("-", _int(0), below, -hi, 0)),), above, hi > INT64_MAX)
        coef_num = Num(max(places_, 0), -hi if n.lo < 0 else n.lo // k, hi if n.hi > 0 else 0)
        out = Value(coef, "num", coef_num, x.fails)
        if places_ < 0:
            f = 10 ** -places_
            num = _checked(Num(0, coef_num.lo * f, coef_num.hi * f), "`round`", where)
            out = Value(_arith("*", coef, _int(f), num.lo, num.hi), "num", num, x.fails)
    if coef_num.magnitude >= LIMIT:
        too_many = why("rounding needs more than 28 significant digits",
                       Logic("or", (Compare(">=", coef, _int(LIMIT)), Compare("<=", coef, _int(-LIMIT)))), where)
        out = replace(out, fails=either(out.fails, too_many))
    return out


def compare(op: str, a: Value, b: Value, where: str = "") -> Value:
    if a.kind == "num" and b.kind == "num":
        a, b = _aligned([a, b], f"`{op}`", where)
    elif a.kind != b.kind and {a.kind, b.kind} != {"num", "int"}:
        return Value(Const(op == "!="), "bool", None, _fails(a, b)) if "none" in (a.kind, b.kind) else \
            _mismatch(a, b, where)
    elif {a.kind, b.kind} == {"num", "int"}:
        raise Unsupported("comparing a number with a tier position", where)
    picked = _picked(op, a, b)
    if picked is not None:
        return replace(picked, fails=_fails(a, b))
    return Value(Compare(op, a.node, b.node), "bool", None, _fails(a, b))


def _mismatch(a: Value, b: Value, where: str) -> Value:
    raise Unsupported(f"comparing {a.kind} with {b.kind}", where)


def _picked(op: str, a: Value, b: Value) -> Value | None:
    """A tier name compared with a constant name: the positions compared instead."""
    if op not in ("==", "!=") or a.kind != "text":
        return None
    if isinstance(b.node, Pick) and isinstance(a.node, Const):
        a, b = b, a
    if isinstance(a.node, Pick) and isinstance(b.node, Const):
        names = a.node.names
        if b.node.value not in names:
            return Value(Const(op == "!="), "bool")
        return Value(Compare(op, a.node.index, _int(names.index(b.node.value))), "bool")
    return None


def extreme(op: str, values: list[Value], where: str = "") -> Value:
    if values[0].kind == "num":
        values = _aligned(values, f"`{op}`", where)
        nums = [v.num for v in values]
        pick = min if op == "min" else max
        num = Num(nums[0].scale, pick(n.lo for n in nums), pick(n.hi for n in nums))
        return Value(Extreme(op, tuple(v.node for v in values), num.wide), "num", num, _fails(*values))
    return Value(Extreme(op, tuple(v.node for v in values)), values[0].kind, None, _fails(*values))


def cond(test: Value, then: Value, else_: Value, where: str = "") -> Value:
    """`if test then … else …`: a branch fails only where it is taken."""
    fails = either(test.fails, both(test.node, then.fails), both(negate(test.node), else_.fails))
    if then.kind == "num" and else_.kind == "num":
        then, else_ = _aligned([then, else_], "`if`", where)
        num = Num(then.num.scale, min(then.num.lo, else_.num.lo), max(then.num.hi, else_.num.hi))
        return Value(Case(((test.node, then.node),), else_.node, num.wide), "num", num, fails)
    if then.kind != else_.kind or then.kind in ("none", "tuple"):
        return Value(None, "mixed", None, fails)  # only a trace reads it (an `up to` not hit is none)
    if then.kind == "list":
        raise Unsupported("a list chosen by `if`", where)
    return Value(Case(((test.node, then.node),), else_.node), then.kind, None, fails)


# ---- lists -------------------------------------------------------------------------
def list_value(items: list[Value], where: str = "") -> Value:
    if not items:
        return Value(ListOf(()), "list", None, None, None, 0)
    kinds = {v.kind for v in items}
    if len(kinds) != 1:
        raise Unsupported("a list of mixed values", where)
    kind = kinds.pop()
    num = None
    if kind == "num":
        items = _aligned(items, "a list", where)
        num = Num(items[0].num.scale, min(v.num.lo for v in items), max(v.num.hi for v in items))
    return Value(ListOf(tuple(v.node for v in items)), "list", num, _fails(*items), kind, len(items))


def concat(a: Value, b: Value, where: str = "") -> Value:
    if b.node == ListOf(()) or a.node == ListOf(()):
        return a if b.node == ListOf(()) else b
    if a.item != b.item and a.length and b.length:
        raise Unsupported("joining lists of different values", where)
    num = a.num
    if a.item == "num" and b.item == "num":
        a, b = _list_rescale(a, b.num.scale, where), _list_rescale(b, a.num.scale, where)
        num = Num(a.num.scale, min(a.num.lo, b.num.lo), max(a.num.hi, b.num.hi))
    return Value(Concat(a.node, b.node), "list", num or b.num, _fails(a, b), a.item or b.item, a.length + b.length)


def _list_rescale(xs: Value, scale: int, where: str) -> Value:
    """A list of numbers at a scale at least its own (every item times a power of ten)."""
    if scale <= xs.num.scale:
        return xs
    f = 10 ** (scale - xs.num.scale)
    num = _checked(Num(scale, xs.num.lo * f, xs.num.hi * f), "a list", where)
    return replace(xs, node=ListFn("times", xs.node, _int(f), num.wide), num=num)


def _list_sum(xs: Value, where: str) -> Value:
    n = xs.num
    num = Num(n.scale, min(0, n.lo * xs.length), max(0, n.hi * xs.length))
    if num.magnitude >= LIMIT:  # a partial sum could be rounded: the order of additions would matter
        raise Unsupported("a sum of a list that could exceed 28 significant digits", where)
    return Value(ListFn("sum", xs.node, None, num.wide), "num", num, xs.fails)


def _count(xs: Value) -> Value:
    return Value(ListFn("len", xs.node), "num", Num(0, 0, xs.length), xs.fails)


def list_call(op: c.Op, args: list[Value], where: str = "") -> Value:
    """sum, mean, len, count, trimmed_mean, streak, list min/max and index of a list."""
    xs = args[0]
    if xs.kind != "list":
        raise Unsupported(f"`{op.value}` of a value that is not a list", where)
    if op is c.Op.LEN:
        return Value(_int(0), "num", Num(0, 0, 0), xs.fails) if xs.node == ListOf(()) else _count(xs)
    if op in (c.Op.COUNT, c.Op.STREAK):
        v = args[1]
        if v.kind == "num":
            if xs.num is None or v.num.scale > xs.num.scale:
                raise Unsupported(f"`{op.value}` of a number with more decimals than the list's", where)
            v = rescale(v, xs.num.scale, f"`{op.value}`", where)
        fn = "count" if op is c.Op.COUNT else "streak"
        return Value(ListFn(fn, xs.node, v.node), "num", Num(0, 0, xs.length), _fails(xs, v))
    if op is c.Op.INDEX:
        i = args[1]
        if i.kind != "num" or (i.num.scale and not isinstance(i.node, Const)):
            raise Unsupported("an index that may not be a whole number", where)
        length = ListFn("len", xs.node)
        if i.num.scale:  # a constant with decimals: never a position
            outside = Const(True)
        else:
            outside = Logic("or", (Compare("<", i.node, _arith("-", _int(0), length, -xs.length, 0)),
                                   Compare(">=", i.node, length)))
        outside = why("the list has no item at that position", outside, where)
        return Value(ListFn("get", xs.node, i.node, bool(xs.num and xs.num.wide)), xs.item, xs.num, either(xs.fails, i.fails, outside))
    if xs.item != "num":
        raise Unsupported(f"`{op.value}` of a list that is not of numbers", where)
    empty = Compare("==", ListFn("len", xs.node), _int(0))

    def of_empty(what: str):
        return why(f"{what} of an empty list", empty, where)
    if op is c.Op.SUM:
        return _list_sum(xs, where)
    if op is c.Op.MEAN:
        out = divide(_list_sum(xs, where), _count(xs), c.Exactness.ROUNDED, where, most=_largest(xs.num))
        return replace(out, fails=either(of_empty("mean"), out.fails))
    if op in (c.Op.LIST_MIN, c.Op.LIST_MAX):
        fn = "min" if op is c.Op.LIST_MIN else "max"
        return Value(ListFn(fn, xs.node, None, xs.num.wide), "num", xs.num, either(xs.fails, of_empty(fn)))
    if op is c.Op.TRIMMED_MEAN:
        k = args[1]
        if not isinstance(k.node, Const) or k.num.scale != 0:
            raise Unsupported("`trimmed_mean` dropping a computed number of items", where)
        kk = k.node.value
        total_ = _list_sum(xs, where)
        kept_sum = Value(ListFn("trimmed_sum", xs.node, _int(kk), total_.num.wide), "num", total_.num, xs.fails)
        kept_len = Value(_arith("-", ListFn("len", xs.node), _int(2 * kk), 0, xs.length), "num",
                         Num(0, 1, max(1, xs.length - 2 * kk)))
        out = divide(kept_sum, kept_len, c.Exactness.ROUNDED, where, most=_largest(xs.num))
        short = why(f"trimmed_mean drops {kk} highest and {kk} lowest, but the list has only {2 * kk} item(s) or fewer",
                    Compare("<=", ListFn("len", xs.node), _int(2 * kk)), where)
        return replace(out, fails=either(short, out.fails))
    raise Unsupported(f"`{op.value}`", where)


# ---- the visitor -------------------------------------------------------------------
_ARITH = {c.Op.ADD: add, c.Op.SUB: sub, c.Op.MUL: mul}
_CMP = {c.Op.EQ: "==", c.Op.NE: "!=", c.Op.LT: "<", c.Op.LE: "<=", c.Op.GT: ">", c.Op.GE: ">="}
_LISTS = {c.Op.SUM, c.Op.MEAN, c.Op.LEN, c.Op.COUNT, c.Op.TRIMMED_MEAN, c.Op.STREAK, c.Op.LIST_MIN, c.Op.LIST_MAX,
          c.Op.INDEX}


def literal(value, where: str = "") -> Value:
    if isinstance(value, bool):
        return Value(Const(value), "bool")
    if isinstance(value, Decimal):
        return const(value, where)
    if isinstance(value, int):
        return Value(Const(value), "int")
    if isinstance(value, str):
        return Value(Const(value), "text")
    if value is None:
        return Value(Const(None), "none")
    if isinstance(value, tuple):
        return Value(Const(value), "tuple")
    raise Unsupported(f"the constant {value!r}", where)


class Scaler(c.Visitor):
    """Decides every core expression over `env` (name → Value); `size`: the Value of `size`."""

    def __init__(self, env: dict, size: Value | None = None):
        self.env, self.size = env, size

    def visit_Lit(self, e: c.Lit) -> Value:
        return literal(e.value)

    def visit_Var(self, e: c.Var) -> Value:
        v = self.env.get(e.name)
        if v is None:
            raise Unsupported(f"`{e.name}`, which is not held as a column")
        return v

    def visit_Size(self, e: c.Size) -> Value:
        if self.size is None:
            raise Unsupported("`size` outside the cohort stage")
        return self.size

    def hold(self, v: Value) -> Value:
        """Where a printer may hold a value computed once (a column, a CTE) before larger
        expressions read it: a division, a rounding, a result rounded to 28 digits.
        The plan is a DAG (a node read by several arms); printed as a tree it would
        grow with every such step. By default nothing is held."""
        return v

    def visit_Div(self, e: c.Div) -> Value:
        return self.hold(divide(self.visit(e.num), self.visit(e.den), e.exactness, e.where))

    def visit_Round(self, e: c.Round) -> Value:
        places_ = self.visit(e.places)
        if not isinstance(places_.node, Const):
            raise Unsupported("rounding to a computed number of places")
        p = places_.node.value
        if places_.kind == "num":
            if places_.num.scale:
                raise Unsupported("rounding to a number of places that is not whole")
        return self.hold(round_to(self.visit(e.value), int(p), e.mode))

    def visit_Cond(self, e: c.Cond) -> Value:
        arms = []
        while isinstance(e, c.Cond):  # else-if chains (tables) loop instead of recursing
            arms.append((self.visit(e.test), self.visit(e.then)))
            e = e.else_
        out = self.visit(e)
        for test, then in reversed(arms):
            out = cond(test, then, out)
        return out

    def visit_Call(self, e: c.Call) -> Value:
        op, w = e.op, e.where
        args = [self.visit(a) for a in e.args]
        v = self._call(op, args, w)
        return self.hold(v) if isinstance(v.node, Case) and v.kind == "num" else v

    def _call(self, op: c.Op, args: list[Value], w: str) -> Value:
        if op in _ARITH:
            return _ARITH[op](args[0], args[1], w)
        if op in _CMP:
            return compare(_CMP[op], args[0], args[1], w)
        if op is c.Op.AND or op is c.Op.OR:
            a, b = args
            guard = a.node if op is c.Op.AND else negate(a.node)  # b is evaluated only then
            return Value(Logic(op.value, (a.node, b.node)), "bool", None, either(a.fails, both(guard, b.fails)))
        if op is c.Op.NOT:
            return Value(Logic("not", (args[0].node,)), "bool", None, args[0].fails)
        if op is c.Op.NEG:
            return neg(args[0], w)
        if op is c.Op.ABS:
            return absolute(args[0], w)
        if op is c.Op.TOTAL:
            return total(args, w)
        if op is c.Op.MIN or op is c.Op.MAX:
            return extreme(op.value, args, w)
        if op is c.Op.CLAMP:
            x, lo, hi = args
            return cond(compare("<", x, lo, w), lo, cond(compare(">", x, hi, w), hi, x, w), w)
        if op is c.Op.RATIO:
            if args[0].kind == "num" and args[1].kind == "num" and args[0].num.lo >= 0 and args[1].num.lo >= 0:
                return divide(args[0], args[1], c.Exactness.ROUNDED, w, at_most_one=True)
            q = divide(args[0], args[1], c.Exactness.ROUNDED, w)
            one = const(Decimal(1))
            return cond(compare(">", q, one, w), one, q, w)
        if op is c.Op.STEP:
            a, b = args
            return Value(Arith("+", a.node, b.node, False), "int", None, _fails(a, b))
        if op is c.Op.PICK:
            names, i = args
            if not isinstance(names.node, Const):
                raise Unsupported("picking from a computed tuple", w)
            return Value(Pick(names.node.value, i.node), "text", None, i.fails)
        if op is c.Op.LIST:
            return list_value(args, w)
        if op is c.Op.CONCAT:
            return concat(args[0], args[1], w)
        if op in _LISTS:
            return list_call(op, args, w)
        raise Unsupported(f"`{op.value}`", w)

    def visit_RankOf(self, e: c.RankOf) -> Value:
        raise Unsupported("`rank` outside the cohort stage")

    def visit_GroupValue(self, e: c.GroupValue) -> Value:
        raise Unsupported("a group value outside the cohort stage")


def rank(e: c.RankOf, n: int) -> Value:
    """The Value of a RankOf in a cohort of n subjects."""
    return Value(Rank(e.ranking, e.from_bottom), "num", Num(0, 1, max(n, 1)))


def group_value(a: c.Aggregate, arg: Value, n: int) -> Value:
    """The Value of a group aggregate over a cohort of n subjects: sums and counts as
    windows, a mean their quotient rounded to 28 digits (cohort_stage.aggregate_values)."""
    fields = a.partition.fields
    if a.fn is c.AggFn.COUNT:
        return Value(Window("count", arg.node, fields), "num", Num(0, 0, n), arg.fails)
    if arg.kind != "num":
        raise Unsupported(f"`{a.fn.value}` of a value that is not a number", a.owner.where)
    if a.fn in (c.AggFn.MIN, c.AggFn.MAX):
        return Value(Window(a.fn.value, arg.node, fields, arg.num.wide), "num", arg.num, arg.fails)
    x = arg.num
    num = _checked(Num(x.scale, min(0, n * x.lo), max(0, n * x.hi)), "a group sum", a.owner.where)
    fails = arg.fails
    if num.magnitude >= LIMIT:  # the reference would round a partial sum of 28 digits or more
        fails = either(fails, why("a partial group sum needs 28 digits or more",
                                  Compare(">=", Window("reach", arg.node, fields, True), _int(LIMIT)), a.owner.where))
    total_ = Value(Window("sum", arg.node, fields, num.wide), "num", num, fails)
    if a.fn is c.AggFn.SUM:
        return total_
    members = Value(Window("len", Const(True), fields), "num", Num(0, 1, max(n, 1)))
    return divide(total_, members, c.Exactness.ROUNDED, a.owner.where, most=_largest(x))


def _largest(n: Num) -> Decimal:
    """The largest |value| a number's bounds allow: what a mean of such numbers stays within."""
    return to_decimal(n.magnitude, n.scale)
