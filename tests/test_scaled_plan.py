"""The scaled-integer plan (perfdsl/lower/scaled.py) gives the reference's digits.

The plan is evaluated here by a few lines of Python integers (what any printer does
with its own integers) and compared with the core Machine — runtime.CONTEXT, 28
significant digits half even — on drawn numbers: division rounded and terminating,
sums and products beyond 28 digits, every rounding mode, comparisons and failures."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from perfdsl import runtime as rt
from perfdsl.lower import core as c
from perfdsl.lower import scaled as s
from perfdsl.lower.evaluate import Machine


def run(node, env, memo=None):
    """A plan node over Python integers (floor division only of a ≥ 0 by b > 0); every
    integer it computes stays below 10^38 (what Int128 / DECIMAL(38) holds). A plan is a
    DAG (a node shared by several arms): each node is computed once per row."""
    memo = {} if memo is None else memo
    if id(node) not in memo:
        memo[id(node)] = (node, _run(node, env, memo))
    v = memo[id(node)][1]
    assert isinstance(v, bool) or not isinstance(v, int) or abs(v) < 10 ** 38, v
    return v


def _run(node, env, memo):
    def run(n, env, outer=globals()["run"]):
        return outer(n, env, memo)
    t = type(node)
    if t is s.Const:
        return node.value
    if t is s.Column:
        return env[node.name]
    if t is s.Arith:
        a, b = run(node.a, env), run(node.b, env)
        return a + b if node.op == "+" else a - b if node.op == "-" else a * b
    if t is s.Quotient:
        a, b = run(node.a, env), run(node.b, env)
        assert a >= 0 and b > 0, (a, b)
        return a // b
    if t is s.Compare:
        a, b = run(node.a, env), run(node.b, env)
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]
    if t is s.Why:
        return run(node.test, env)
    if t is s.Logic:
        if node.op == "not":
            return not run(node.args[0], env)
        vals = [run(a, env) for a in node.args]
        return all(vals) if node.op == "and" else any(vals)
    if t is s.Case:
        for test, value in node.arms:
            if run(test, env):
                return run(value, env)
        return run(node.else_, env)
    if t is s.Extreme:
        vals = [run(a, env) for a in node.args]
        return min(vals) if node.op == "min" else max(vals)
    raise AssertionError(t)


def plan_of(expr, values: dict[str, list[Decimal]]):
    """The Value of a core expression over columns holding `values` (bounds from them)."""
    env = {}
    for name, vs in values.items():
        scale = max(s.places(v) for v in vs)
        ints = [s.unscaled(v, scale) for v in vs]
        env[name] = s.column(name, s.Num(scale, min(ints), max(ints)))
    return s.Scaler(env).visit(expr), env


def agree(expr, values: dict[str, list[Decimal]], refusable: bool = False) -> int:
    """The plan's value (or failure) on every row is the reference's. `refusable`: values
    spread too widely for one scale in 38 digits may be refused (the draw is dropped), or
    held over a narrower span whose rows outside are marked failing though the reference
    has a value (never a wrong one). Gives how many rows were so marked."""
    try:
        value, env = plan_of(expr, values)
    except s.Unsupported:
        if not refusable:
            raise
        reject()
    n, outside = len(next(iter(values.values()))), 0
    for i in range(n):
        row = {k: vs[i] for k, vs in values.items()}
        ints = {k: s.unscaled(v, env[k].num.scale) for k, v in row.items()}
        try:
            with rt.localcontext(rt.CONTEXT):
                want = Machine(dict(row)).eval(expr)
        except (rt.EvalError, rt.DecimalException):
            want = "error"
        failed = value.fails is not None and run(value.fails, ints)
        if failed:
            got = "error"
            if want != "error" and refusable:
                outside += 1
                continue
        else:
            got = s.to_decimal(run(value.node, ints), value.num.scale)
        assert got == want, (expr, row, got, want)
    return outside


def var(name):
    return c.Var(name)


decimals = st.decimals(min_value=Decimal("-1E6"), max_value=Decimal("1E6"), places=3, allow_nan=False, allow_infinity=False)


divisors = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2E4"), places=2).flatmap(lambda d: st.sampled_from([d, -d]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(decimals, divisors), min_size=1, max_size=6))
def test_rounded_division_has_the_reference_digits(pairs):
    """Divisors of at least 0.5: a quotient's digits vary over at most ten powers of ten,
    which one scale holds in 38 digits (wider spans are refused)."""
    agree(c.Div(var("a"), var("b"), c.Exactness.ROUNDED, "t.perf:1:1"),
          {"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]}, refusable=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(decimals, min_size=1, max_size=6), st.sampled_from(["8", "0.25", "1200", "-40", "3", "7"]))
def test_division_by_a_constant(xs, d):
    den = c.Lit(Decimal(d))
    from perfdsl.lower.lower import exactness
    agree(c.Div(var("a"), den, exactness(den), "t.perf:1:1"), {"a": xs}, refusable=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(decimals, decimals), min_size=1, max_size=6))
def test_quotient_times_a_number_rounds_to_28_digits(pairs):
    """village_clinic: round(population / 1200 * 8000, 2)."""
    q = c.Div(var("a"), c.Lit(Decimal(1200)), c.Exactness.ROUNDED, "t.perf:1:1")
    expr = c.Call(c.Op.ADD, (c.Call(c.Op.MUL, (q, c.Lit(Decimal(8000)))), var("b")))
    agree(c.Round(expr, c.Lit(Decimal(2)), c.Rounding.HALF_UP), {"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]},
          refusable=True)


def test_village_clinic_standard():
    q = c.Div(var("population"), c.Lit(Decimal(1200)), c.Exactness.ROUNDED, "t.perf:1:1")
    agree(c.Round(c.Call(c.Op.MUL, (q, c.Lit(Decimal(8000)))), c.Lit(Decimal(2)), c.Rounding.HALF_UP),
          {"population": [Decimal(n) for n in (1, 7, 1199, 1200, 1201, 3333, 9999, 123457)]})


@settings(max_examples=100, deadline=None)
@given(st.lists(decimals, min_size=1, max_size=6), st.integers(-3, 4),
       st.sampled_from(list(c.Rounding)))
def test_every_rounding(xs, places, mode):
    agree(c.Round(c.Call(c.Op.MUL, (var("a"), c.Lit(Decimal("1.2345")))), c.Lit(Decimal(places)), mode), {"a": xs})


@pytest.mark.parametrize("a, b", [("1E+26", "0.001"), ("9999999999999999999999999999", "1"),
                                  ("-123456789012345678901234567.8", "0.05"), ("1E-10", "12345678901234567890")])
def test_sums_and_products_beyond_28_digits(a, b):
    for op in (c.Op.ADD, c.Op.SUB, c.Op.MUL):
        agree(c.Call(op, (var("a"), var("b"))), {"a": [Decimal(a), Decimal(1)], "b": [Decimal(b), Decimal(2)]})


def test_division_by_zero_fails_on_its_row_only():
    agree(c.Div(var("a"), var("b"), c.Exactness.ROUNDED, "t.perf:1:1"),
          {"a": [Decimal(1), Decimal(-2), Decimal("0.5")], "b": [Decimal(0), Decimal(3), Decimal(7)]})


def test_rounding_that_needs_more_than_28_digits_fails():
    q = c.Div(var("a"), c.Lit(Decimal(3)), c.Exactness.ROUNDED, "t.perf:1:1")
    agree(c.Round(q, c.Lit(Decimal(27)), c.Rounding.HALF_UP), {"a": [Decimal(50), Decimal("0.5")]})


def test_what_needs_more_than_38_digits_is_refused():
    with pytest.raises(s.Unsupported, match="38 digits"):
        plan_of(c.Call(c.Op.MUL, (var("a"), var("b"))), {"a": [Decimal("1E+20")], "b": [Decimal("1E+20")]})


def test_a_mean_of_a_list_and_its_empty_list():
    env = {"xs": s.Value(s.Column("xs"), "list", s.Num(1, 0, 1000), None, "num", 12)}
    v = s.Scaler(env).visit(c.Call(c.Op.MEAN, (var("xs"),), "t.perf:1:1"))
    assert v.kind == "num" and v.fails is not None


def test_a_quotient_below_one_is_sized_by_its_own_arm():
    """Drawn sales data (test_explain.py:173): quotients from 10^-5 to 10^3. The arm of
    the smallest quotients holds numerators below D / 10^5, not below D: no refusal."""
    agree(c.Div(var("a"), var("b"), c.Exactness.ROUNDED, "t.perf:1:1"),
          {"a": [Decimal(x) for x in ("1000", "1000", "89.59", "0", "7.79", "0.01")],
           "b": [Decimal(x) for x in ("1001", "1001", "135.69", "1", "1001", "1001")]})


nonneg = st.decimals(min_value=Decimal(0), max_value=Decimal("1E9"), places=2, allow_nan=False, allow_infinity=False)
targets = st.decimals(min_value=Decimal(1), max_value=Decimal("1E8"), places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(nonneg, targets), min_size=1, max_size=6))
def test_a_ratio_of_numbers_spanning_twenty_powers_of_ten(pairs):
    """ratio(revenue, target) with revenue 0..10^9, target 1..10^8: quotients from 10^-10 to
    10^9, which no one scale holds; only those below 1 are computed, so none is refused.
    (10^-11 is the edge: 28 digits of it need scale 38, where 1 is 10^38, one digit too many.)"""
    agree(c.Call(c.Op.RATIO, (var("a"), var("b")), "t.perf:1:1"),
          {"a": [p[0] for p in pairs] + [Decimal("0.01"), Decimal("1E9"), Decimal(5)],
           "b": [p[1] for p in pairs] + [Decimal("1E8"), Decimal(1), Decimal(5)]})


def test_a_quotient_spread_too_wide_is_held_from_the_top_and_marks_the_rows_below():
    """Quotients from 10^-11 to 10^9 (twenty powers of ten): one scale holds 28 digits of
    about ten. The plan holds the largest exactly and marks the tiny one failing (a table
    run goes per row for it, a compiled query reports it): no row gets a wrong digit."""
    a = [Decimal(x) for x in ("0.01", "1E9", "7.79", "0", "123456.78")]
    b = [Decimal(x) for x in ("1E9", "1", "3", "1E9", "0.07")]
    assert agree(c.Div(var("a"), var("b"), c.Exactness.ROUNDED, "t.perf:1:1"), {"a": a, "b": b}, refusable=True) == 1
