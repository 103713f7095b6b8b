"""The interval analysis alone (perfdsl/check/ranges.py): small IR expression → the exact
interval it must get, and conditions → whether the declared ranges decide them.

Each case is computed by hand. The intervals must be sound (every value the expression
can take lies inside) and, where the rule is exact, tight: a bound moved either way fails.
"""
from __future__ import annotations

from decimal import Context, localcontext
from decimal import Decimal as D

import pytest

from perfdsl.check import check_until, passes, resolve
from perfdsl.check import ranges as R
from perfdsl.diagnostics import Span
from perfdsl.ir import ANY, BOOL, NUM, AggFn, Const, Fn, GroupAgg, If, Interval, Prim, Ref, RefKind, list_type

SP = Span("t.perf", 1, 1, 1, 2)


def num(v) -> Const:
    return Const(SP, NUM, D(str(v)))


def ref(name: str, kind=RefKind.INPUT, typ=NUM) -> Ref:
    return Ref(SP, typ, name, kind)


def call(fn: Fn, *args, typ=NUM) -> Prim:
    return Prim(SP, typ, fn, tuple(args))


def iv(lo, hi) -> Interval:
    return Interval(None if lo is None else D(str(lo)), None if hi is None else D(str(hi)))


def env(**ranges) -> R.RangeEnv:
    """Numeric inputs by name; `xs` a list input of 2..4 elements in 1..5."""
    e = R.RangeEnv()
    for name, (lo, hi) in ranges.items():
        e.values[name] = iv(lo, hi)
    e.elems["xs"] = iv(1, 5)
    e.lengths["xs"] = iv(2, 4)
    return e


XS = ref("xs", typ=list_type(NUM))


@pytest.mark.parametrize("expr, expected", [
    (call(Fn.ADD, ref("a"), ref("b")), (-2, 7)),  # a in -2..3, b in 0..4
    (call(Fn.SUB, ref("a"), ref("b")), (-6, 3)),
    (call(Fn.MUL, ref("a"), ref("c")), (-15, 12)),  # c in -5..4: every corner counts
    (call(Fn.MUL, ref("c"), ref("c")), (-20, 25)),  # one value twice is still two corners apart
    (call(Fn.NEG, ref("a")), (-3, 2)),
    (call(Fn.DIV, ref("b"), num(2)), (0, 2)),
    (call(Fn.DIV, num(1), ref("d")), (D(1) / 4, 1)),  # d in 1..4
    (call(Fn.DIV, ref("a"), ref("b")), (None, None)),  # a divisor range holding 0: unbounded
    (call(Fn.DIV, ref("a"), ref("z")), (None, None)),  # z in 0..0
    (call(Fn.DIV, ref("d"), ref("b")), (None, None)),  # b in 0..4 may be 0: no bound, not 1/4..
    (call(Fn.DIV, ref("d"), call(Fn.NEG, ref("b"))), (None, None)),  # -4..0
    (call(Fn.ABS, ref("a")), (0, 3)),
    (call(Fn.ABS, ref("c")), (0, 5)),  # the larger side may be the negative one
    (call(Fn.ABS, call(Fn.NEG, ref("d"))), (1, 4)),
    (call(Fn.MIN, ref("a"), ref("d")), (-2, 3)),
    (call(Fn.MAX, ref("a"), ref("d")), (1, 4)),
    (call(Fn.CLAMP, ref("c"), num(0), num(3)), (0, 3)),
    (call(Fn.CLAMP, call(Fn.NEG, ref("d")), num(0), num(3)), (0, 0)),  # all below the floor
    (call(Fn.CLAMP, ref("d"), num(-9), num(-1)), (-1, -1)),  # all above the cap
    (call(Fn.ROUND_HALF_UP, ref("f"), num(0)), (-1, 2)),  # f in 0..1: one unit either way
    (call(Fn.TOTAL, ref("a"), ref("b"), ref("d")), (-1, 11)),
    (call(Fn.SUM, XS), (2, 20)),
    (call(Fn.LEN, XS), (2, 4)),
    (call(Fn.MEAN, XS), (1, 5)),
    (call(Fn.COUNT, XS, num(3)), (0, 4)),
    (call(Fn.STREAK, XS, num(3)), (0, 4)),
    (call(Fn.INDEX, XS, num(0)), (1, 5)),
    (call(Fn.LEN, call(Fn.LIST, num(1), num(2), num(3), typ=list_type(NUM))), (3, 3)),
    (call(Fn.SUM, call(Fn.CONCAT, XS, call(Fn.LIST, num(-1), typ=list_type(NUM)), typ=list_type(NUM))), (-5, 25)),
    (call(Fn.RATIO, ref("b"), ref("d")), (0, 1)),
    (call(Fn.RATIO, ref("a"), ref("d")), (None, 1)),
    (If(SP, NUM, Const(SP, BOOL, True), ref("a"), ref("d")), (-2, 4)),
    (GroupAgg(SP, NUM, AggFn.COUNT, Const(SP, BOOL, True), "dept"), (0, None)),
    (GroupAgg(SP, NUM, AggFn.MEAN, ref("d"), "dept"), (1, 4)),
    (GroupAgg(SP, NUM, AggFn.SUM, ref("d"), "dept"), (None, None)),
    (ref("size", RefKind.SIZE), (None, None)),
    (ref("p", RefKind.PARAM), (None, None)),
])
def test_expression_gets_its_interval(expr, expected):
    e = env(a=(-2, 3), b=(0, 4), c=(-5, 4), d=(1, 4), f=(0, 1), z=(0, 0))
    assert R.range_of(expr, e) == iv(*expected)


def test_an_earlier_definition_is_read_by_its_range():
    e = env(a=(-2, 3))
    e.values["total"] = iv(10, 20)
    assert R.range_of(call(Fn.ADD, ref("total", RefKind.VALUE), ref("a")), e) == iv(8, 23)
    assert R.range_of(ref("unbounded"), e) == ANY


def test_rounding_keeps_every_value_it_can_give():
    """round(0.5) is 1, floor(0.5) is 0, ceil(-0.5) is 0: the interval holds them all."""
    e = env(h=("0.4", "0.6"))
    for fn in (Fn.ROUND_HALF_UP, Fn.ROUND_HALF_EVEN, Fn.ROUND_FLOOR, Fn.ROUND_CEIL):
        got = R.range_of(call(fn, ref("h"), num(0)), e)
        assert got.lo <= 0 and got.hi >= 1, (fn, got)


@pytest.mark.parametrize("a, b, expected", [
    ((0, 10), (20, 30), (0, 300)), ((1, 10), (20, 30), (20, 300)), ((-1, 2), (-3, 4), (-6, 8)), ((None, 0), (1, 2), (None, 0)),
    ((0, None), (0, 0), (0, 0)),  # 0 · ∞ counts as 0 for a bound
])
def test_multiplication_of_intervals(a, b, expected):
    assert R.mul(iv(*a), iv(*b)) == iv(*expected)


def test_division_bounds_are_rounded_outwards():
    """1/3 is not a decimal: the interval must still hold it."""
    got = R.div(iv(1, 1), iv(3, 3))
    with localcontext(Context(prec=200)):
        assert got.lo * 3 < 1 < got.hi * 3
    assert R.div(iv(1, 2), iv(-1, -1)) == iv(-2, -1)


@pytest.mark.parametrize("fn, a, b, expected", [
    (Fn.LT, (0, 5), (5, 9), None),  # 5 < 5 is false, 0 < 5 true
    (Fn.LT, (0, 4), (5, 9), True),
    (Fn.LE, (0, 5), (5, 9), True),
    (Fn.LT, (5, 9), (0, 5), False),
    (Fn.LE, (5, 9), (0, 5), None),  # 5 <= 5
    (Fn.LE, (6, 9), (0, 5), False),
    (Fn.GT, (6, 9), (0, 5), True),
    (Fn.GE, (5, 9), (0, 5), True),
    (Fn.GT, (5, 9), (0, 5), None),
    (Fn.EQ, (3, 3), (3, 3), True),
    (Fn.EQ, (0, 2), (3, 4), False),
    (Fn.EQ, (0, 3), (3, 4), None),
    (Fn.NE, (0, 2), (3, 4), True),
    (Fn.NE, (3, 3), (3, 3), False),
])
def test_comparison_decided_by_ranges(fn, a, b, expected):
    e = env(x=a, y=b)
    assert R.truth(call(fn, ref("x"), ref("y"), typ=BOOL), e) is expected


def test_and_or_not_are_decided_by_one_decisive_side():
    e = env(x=(0, 4), y=(0, 9))
    never = call(Fn.GT, ref("x"), num(5), typ=BOOL)  # false everywhere
    maybe = call(Fn.GT, ref("y"), num(5), typ=BOOL)
    always = call(Fn.LT, ref("x"), num(5), typ=BOOL)
    assert R.truth(call(Fn.AND, maybe, never, typ=BOOL), e) is False
    assert R.truth(call(Fn.AND, maybe, always, typ=BOOL), e) is None
    assert R.truth(call(Fn.AND, always, always, typ=BOOL), e) is True
    assert R.truth(call(Fn.OR, maybe, always, typ=BOOL), e) is True
    assert R.truth(call(Fn.OR, maybe, never, typ=BOOL), e) is None
    assert R.truth(call(Fn.OR, never, never, typ=BOOL), e) is False
    assert R.truth(call(Fn.NOT, never, typ=BOOL), e) is True
    assert R.truth(call(Fn.NOT, maybe, typ=BOOL), e) is None


@pytest.mark.parametrize("a, lo, hi, expected", [
    ((-10, -5), 0, 100, (0, 0)), ((50, 150), 0, 100, (50, 100)), ((None, None), 0, None, (0, None)),
    ((120, 130), 0, 100, (100, 100)), ((None, 5), None, 3, (None, 3)),
])
def test_clamp_of_an_interval(a, lo, hi, expected):
    got = R.clamp(iv(*a), None if lo is None else D(lo), None if hi is None else D(hi))
    assert got == iv(*expected)


def test_digits_rounding_needs():
    """round(x, d) of |x| <= big needs the digits of ceil(big·10^d), a carry included."""
    assert R.round_digits(D(100), 2) == 5
    assert R.round_digits(D("99.995"), 2) == 5  # rounds up to 100.00
    assert R.round_digits(D("9.9"), 0) == 2
    assert R.magnitude(iv(-7, 3)) == 7 and R.magnitude(iv(None, 3)) is None
    assert R.magnitude(iv(2, 9), smallest=True) == 2 and R.magnitude(iv(-9, -2), smallest=True) == 2
    assert R.magnitude(iv(-1, 1), smallest=True) == 0


def test_an_exact_quotient_of_bounds_stays_exact():
    """(a+b+c)/3 over 0..100 is 0..100 exactly: 300/3 divides exactly, so no 100.000…01
    (which raised a spurious PW104 against the scale 0..100)."""
    e = env(a=(0, 100), b=(0, 100), c=(0, 100))
    mean3 = call(Fn.DIV, call(Fn.ADD, call(Fn.ADD, ref("a"), ref("b")), ref("c")), num(3))
    assert R.range_of(mean3, e) == iv(0, 100)
    assert R.div(iv(-6, 9), iv(3, 3)) == iv(-2, 3)
    assert R.div(iv(1, 2), iv(4, 8)) == iv("0.125", "0.5")
    assert R.div(iv(None, 6), iv(2, 3)) == iv(None, 3)


def test_an_inexact_quotient_bounds_what_28_digits_compute():
    """2/3 computes as 0.6666666666666666666666666667 (28 digits, half even): the interval
    must hold that, and 1/3's 0.3333333333333333333333333333, and be no wider than 28 digits."""
    hi = R.div(iv(2, 2), iv(3, 3))
    assert hi == iv("0.6666666666666666666666666666", "0.6666666666666666666666666667")
    assert D(2) / D(3) == hi.hi  # the default context (28 digits, half even) rounds up here
    lo = R.div(iv(1, 1), iv(3, 3))
    assert lo == iv("0.3333333333333333333333333333", "0.3333333333333333333333333334")


# ---- the ranges pass by itself ---------------------------------------------------------
HEAD = '''policy p {
  key id
  input id: text
  input a: decimal in 0..100
  input b: decimal in 0..100
  input c: decimal in 0..100
  input n: int in 0..10
  input pay: decimal in 0..
'''


def ranges_pass(tmp_path, body: str):
    """(what the type pass added, what the ranges pass then adds, the checking record):
    diagnostics as (code, line in `body`, message, [(note line, note)])."""
    path = tmp_path / "t.perf"
    path.write_text(HEAD + body + "}\n", encoding="utf-8")
    program = resolve.load(path)
    ck = check_until(program, "type")
    typed = len(program.diagnostics)
    passes.ranges(ck)
    lines = HEAD.count("\n")

    def rows(diags):
        return [(d.code, d.span.line - lines, d.message, [(n.span.line - lines, n.message) for n in d.notes]) for d in diags]
    return rows(program.diagnostics[:typed]), rows(program.diagnostics[typed:]), ck


def test_the_ranges_pass_bounds_each_definition_from_the_earlier_ones(tmp_path):
    typed, got, ck = ranges_pass(tmp_path, '''  let s = (a + b + c) / 3
  let d = s * 2 - n
  indicator q "质量" { base 100  deduct 5 per n "每次扣5分"  floor 60 }
  let t = if a > 50 then q else -1
''')
    assert typed == [] and got == []
    assert [(d.name, str(d.range)) for d in ck.definitions] == [("s", "0..100"), ("d", "-10..200"), ("q", "60..100"), ("t", "-1..100")]
    assert ck.ranges.env.values["d"] == iv(-10, 200) and ck.ranges.failed == set()


def test_round_digits_are_decided_by_the_ranges_pass_at_the_call(tmp_path):
    """Typing records the check; the ranges pass decides it over the argument's range and
    names the call it was typed under (PD023 for the bounded call, PW110 unbounded)."""
    typed, got, _ = ranges_pass(tmp_path, '''  def third(x) = round(x / 3, 27)
  let fine = third(n / 100)
  let bad = third(a)
  let risky = round(pay, 16)
''')
    assert typed == []
    assert got == [
        ("PD023", 1, "`round` to 27 decimal places needs 29 significant digits here, but arithmetic keeps 28: the value can reach 33.3333",
         [(3, "for the value passed by this call")]),
        ("PW110", 4, "`round` to 16 decimal places fails for values of 1e12 or more, and this value has no bound", [])]


def test_a_divisor_that_can_be_0_warns_unless_a_guard_shows_it_is_not(tmp_path):
    typed, got, _ = ranges_pass(tmp_path, '''  def share(x, y) = x / y
  let r = a / n
  let g = if n == 0 then 0 else a / n
  let k = share(a, n + 1)
  let z = share(a, n - 1)
''')
    assert typed == []
    assert got == [
        ("PW111", 2, "the divisor can be 0 (its range is 0..10): a subject for whom it is 0 stops with a division-by-zero data error", []),
        ("PW111", 1, "the divisor can be 0 (its range is -1..9): a subject for whom it is 0 stops with a division-by-zero data error",
         [(5, "for the value passed by this call")])]


def test_an_indicator_leaving_its_maximum_fails_and_its_readers_stay_quiet(tmp_path):
    typed, got, ck = ranges_pass(tmp_path, '''  indicator bonus "加分" max 4 { add 2 per n "每项加2分" }
  let r = a / (bonus - 3)
  let s = round(r, 27)
  let ok = a / n
''')
    assert typed == []
    assert got == [("PD011", 1, "indicator `bonus` is worth at most 4 points, but its value can range over 0..20", []),
                   ("PW111", 4, "the divisor can be 0 (its range is 0..10): a subject for whom it is 0 stops with a division-by-zero data error", [])]
    assert ck.ranges.failed == {"bonus", "r", "s"} and [d.name for d in ck.definitions] == ["ok"]


def test_indicator_lines_that_can_never_change_it(tmp_path):
    typed, got, ck = ranges_pass(tmp_path, '''  indicator q "质量" { base 100  add 3 per n "加分"  clamp 0..100 }
  indicator r "纪律" { base 50  deduct 1 if a > 200 "不会" }
''')
    assert typed == []
    assert got == [("PW101", 1, "this line can never change `q`: it is already at its upper bound 100 before the line", []),
                   ("PW101", 2, "this line can never change `r`: its condition is false for every input within the declared ranges", [])]
    assert [str(d.range) for d in ck.definitions] == ["100..100", "49..50"]
