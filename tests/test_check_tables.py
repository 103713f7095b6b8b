"""Table coverage alone (perfdsl/check/tables.py): sets of numbers as segments, the
region a row's condition takes, and a table → the exact coverage error or dead row.

The last tests run the checker's passes up to `tables` and then that pass by itself,
so what is asserted is what the tables pass says, and nothing else.
"""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from perfdsl.check import check_until, passes, resolve
from perfdsl.check import tables as T
from perfdsl.diagnostics import Span
from perfdsl.ir import BOOL, NUM, Const, Fn, Interval, Prim, Ref, RefKind

SP = Span("t.perf", 1, 1, 1, 2)
X = Ref(SP, NUM, "x", RefKind.INPUT)


def num(v) -> Const:
    return Const(SP, NUM, D(str(v)))


def cmp(fn: Fn, a, b) -> Prim:
    return Prim(SP, BOOL, fn, (a, b))


def seg(lo, lo_c, hi, hi_c):
    return (None if lo is None else D(lo), lo_c, None if hi is None else D(hi), hi_c)


# ---- segments ------------------------------------------------------------------------
def test_an_empty_or_open_point_segment_is_nothing():
    assert T._seg(D(5), True, D(5), True) == [seg(5, True, 5, True)]
    assert T._seg(D(5), True, D(5), False) == []
    assert T._seg(D(5), False, D(5), True) == []
    assert T._seg(D(6), True, D(5), True) == []
    assert T._seg(None, True, None, True) == [seg(None, False, None, False)]  # an infinite end is open


def test_union_joins_touching_segments_and_keeps_a_gap_of_one_point():
    below, above = T._seg(None, False, D(50), False), T._seg(D(50), False, None, False)
    assert T.union(below, above) == below + above  # 50 itself is in neither
    closed = T._seg(D(50), True, None, False)
    assert T.union(below, closed) == [seg(None, False, None, False)]
    assert T.union(T._seg(D(0), True, D(10), True), T._seg(D(5), True, D(20), False)) == [seg(0, True, 20, False)]
    assert T.union(T._seg(D(0), True, D(10), True), T._seg(D(11), True, D(20), True)) == [
        seg(0, True, 10, True), seg(11, True, 20, True)]


def test_complement_flips_which_ends_are_closed():
    assert T.complement(T._seg(D(0), True, D(10), False)) == [seg(None, False, 0, False), seg(10, True, None, False)]
    assert T.complement([]) == [seg(None, False, None, False)]
    assert T.complement(T._seg(None, False, None, False)) == []
    assert T.intersect(T._seg(D(0), True, D(10), True), T._seg(D(10), True, D(20), True)) == [seg(10, True, 10, True)]


@pytest.mark.parametrize("cond, expected", [
    (cmp(Fn.GE, X, num(50)), [seg(50, True, None, False)]),
    (cmp(Fn.GT, X, num(50)), [seg(50, False, None, False)]),
    (cmp(Fn.LE, X, num(50)), [seg(None, False, 50, True)]),
    (cmp(Fn.LT, X, num(50)), [seg(None, False, 50, False)]),
    (cmp(Fn.EQ, X, num(50)), [seg(50, True, 50, True)]),
    (cmp(Fn.NE, X, num(50)), [seg(None, False, 50, False), seg(50, False, None, False)]),
    (cmp(Fn.LE, num(50), X), [seg(50, True, None, False)]),  # the constant first: 50 <= x
    (cmp(Fn.GT, num(50), X), [seg(None, False, 50, False)]),  # 50 > x
    (Prim(SP, BOOL, Fn.AND, (cmp(Fn.GE, X, num(10)), cmp(Fn.LT, X, num(20)))), [seg(10, True, 20, False)]),
    (Prim(SP, BOOL, Fn.OR, (cmp(Fn.LT, X, num(10)), cmp(Fn.GE, X, num(20)))),
     [seg(None, False, 10, False), seg(20, True, None, False)]),
    (Prim(SP, BOOL, Fn.NOT, (cmp(Fn.GE, X, num(10)),)), [seg(None, False, 10, False)]),
    (cmp(Fn.GE, Ref(SP, NUM, "y", RefKind.INPUT), num(1)), None),  # not about the argument
])
def test_region_of_a_row(cond, expected):
    assert T._region(cond, X) == expected


def rows(*conds):
    return [(c, None) for c in conds]


def test_coverage_finds_the_gap_between_rows():
    dead, gap, unknown = T._coverage(X, rows(cmp(Fn.GE, X, num(90)), cmp(Fn.LT, X, num(60))), Interval(D(0), D(100)))
    assert (dead, gap, unknown) == (set(), [seg(60, True, 90, False)], False)


def test_coverage_of_a_table_whose_rows_meet_at_an_open_point():
    dead, gap, _ = T._coverage(X, rows(cmp(Fn.GT, X, num(50)), cmp(Fn.LT, X, num(50))), Interval(D(0), D(100)))
    assert gap == [seg(50, True, 50, True)]


def test_coverage_up_to_the_ends_of_the_arguments_range():
    _, gap, _ = T._coverage(X, rows(cmp(Fn.GE, X, num(0))), Interval(D(0), D(100)))
    assert gap == []
    _, gap, _ = T._coverage(X, rows(cmp(Fn.GT, X, num(0))), Interval(D(0), D(100)))
    assert gap == [seg(0, True, 0, True)]
    _, gap, _ = T._coverage(X, rows(cmp(Fn.LE, X, num(99))), Interval(D(0), D(100)))
    assert gap == [seg(99, False, 100, True)]


def test_a_row_is_dead_when_earlier_rows_or_the_range_take_all_it_accepts():
    dead, gap, _ = T._coverage(X, rows(cmp(Fn.GE, X, num(50)), cmp(Fn.GE, X, num(60)), cmp(Fn.LT, X, num(50)),
                                       cmp(Fn.GE, X, num(200))), Interval(D(0), D(100)))
    assert (dead, gap) == ({1, 3}, [])


def test_an_otherwise_row_covers_the_rest_and_a_complex_row_hides_dead_ones():
    dead, gap, unknown = T._coverage(X, rows(cmp(Fn.GE, X, num(50)), None), Interval(D(0), D(100)))
    assert (dead, gap, unknown) == (set(), [], False)
    odd = cmp(Fn.GE, Prim(SP, NUM, Fn.MUL, (X, X)), num(4))
    dead, gap, unknown = T._coverage(X, rows(odd, cmp(Fn.GE, X, num(50)), cmp(Fn.GE, X, num(60))), Interval(D(0), D(100)))
    assert unknown and dead == set()  # after a row it cannot solve, no row is called dead


# ---- the tables pass by itself --------------------------------------------------------
def tables_pass(tmp_path, text: str):
    """The diagnostics the tables pass adds, after every pass before it ran."""
    path = tmp_path / "t.perf"
    path.write_text(text, encoding="utf-8")
    program = resolve.load(path)
    ck = check_until(program, "uncalled")
    before = len(program.diagnostics)
    passes.tables(ck)
    return [(d.code, d.span.line, d.message, d.hint) for d in program.diagnostics[before:]]


def test_tables_pass_reports_an_uncovered_range(tmp_path):
    got = tables_pass(tmp_path, '''policy p {
  input a: decimal in 0..100
  table band(x) { x >= 90: 3  x >= 60: 2  x < 50: 1 }
  let b = band(a)
}''')
    assert got == [("PD014", 3, "table `band` has no `otherwise` and values [50, 60) match no row",
                    "add a last row `otherwise: VALUE`")]


def test_tables_pass_is_quiet_for_a_covering_table_and_a_range_inside_it(tmp_path):
    assert tables_pass(tmp_path, '''policy p {
  input a: decimal in 50..100
  table band(x) { x >= 90: 3  x >= 60: 2  x >= 50: 1 }
  let b = band(a)
}''') == []


def test_tables_pass_reports_a_row_dead_at_every_call(tmp_path):
    got = tables_pass(tmp_path, '''policy p {
  input a: decimal in 0..80
  input c: decimal in 0..60
  table band(x) { x >= 90: 3  x >= 70: 2  otherwise: 1 }
  let b = band(a)
  let d = band(c)
}''')
    assert got == [("PW103", 4, "this row can never match: earlier rows or the argument's range already take every value it accepts",
                    "the argument ranges over 0..60 and 0..80")]


def test_tables_pass_reports_rows_after_otherwise(tmp_path):
    got = tables_pass(tmp_path, '''policy p {
  input a: decimal in 0..100
  table band(x) { x >= 90: 3  otherwise: 1  x >= 10: 2 }
  let b = band(a)
}''')
    assert got == [("PW103", 3, "this row comes after `otherwise` and can never match", "move `otherwise` to the end")]


def test_tables_pass_cannot_prove_coverage_of_conditions_it_cannot_solve(tmp_path):
    got = tables_pass(tmp_path, '''policy p {
  input a: decimal in 0..100
  table band(x) { x * 2 >= 90: 3  x < 45: 1 }
  let b = band(a)
}''')
    assert got == [("PD014", 3, "table `band` has no `otherwise` and its rows' conditions are not simple comparisons, "
                                "so coverage cannot be proven", "add a last row `otherwise: VALUE`")]
