"""The input check generated into each policy's module (codegen/validation.py) against the
pydantic model (perfdsl/validate.py + perfdsl/numbers.py), on good and hostile records.

The generated `check` may say "not sure" (None) for anything; whatever it accepts, the
model must accept with the very same record (same keys in the same order, same types,
same Decimal digits and exponents). Then `Policy.evaluate` (the fast path by default)
must give what the model-validated reference interpreter gives, or the same errors."""
from __future__ import annotations

import random
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfdsl import DataError, load
from perfdsl.datafuzz import cell_value, soup_text
from perfdsl.numbers import MAX_DIGITS
from perfdsl.runtime import CONTEXT, localcontext
from perfdsl.runtime import checks

ROOT = Path(__file__).resolve().parent.parent

POLICY = """
policy fastcheck "fast check" {
  key id
  input id: text
  input kind: one of ("甲", "乙", "a b")
  input x: decimal in -100..100.5
  input free: decimal
  input n: int in 0..1000
  input m: int
  input ok: bool
  input xs: list of decimal in 0..25 length 1..3
  input ns: list of int in 0..9
  input hist: list of grade
  score total = x + n + free / 1000000 + m / 1000000 + sum(xs) + sum(ns)
  tiers grade by total {
    high >= 50
    mid >= 0
    low otherwise
  }
  veto ok == false -> low "vetoed"
  flag "many" if count(hist + [grade], high) >= 2
}
"""

BUNDLED = ["budget_engineer", "branch_employees", "village_clinic", "county_towns"]


@pytest.fixture(scope="module")
def fixture_policy(tmp_path_factory):
    path = tmp_path_factory.mktemp("fast") / "fastcheck.perf"
    path.write_text(POLICY, encoding="utf-8")
    return load(path)


@pytest.fixture(scope="module")
def bundled():
    return {name: load(ROOT / "policies" / f"{name}.perf") for name in BUNDLED}


# ---- values ----------------------------------------------------------------------------
def _decimals():
    digits = st.lists(st.integers(0, 9), min_size=1, max_size=45).map(tuple)
    return st.one_of(
        st.builds(lambda s, d, e: D((s, d, e)), st.integers(0, 1), digits, st.integers(-50, 50)),
        st.sampled_from([D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity"), D("-0"), D("0E-41"), D("0E+41"),
                         D("1.0"), D("5"), D("-5"), D("100.5"), D("100.50"), D("100.51"), D("1E+2"), D("0.000")]),
    )


def _ints():
    return st.one_of(st.integers(-2000, 2000), st.sampled_from([10 ** 40 - 1, 10 ** 40, -(10 ** 40 - 1), -(10 ** 40),
                                                                 10 ** 400]))


def _texts():
    return st.one_of(st.text(max_size=8), st.sampled_from(["甲", "乙", "a b", " 甲", "true", " YES ", "否", "on",
                                                           "1", "0", "1.0", "1,000", "95%", "1e3", "9_5", "١٢",
                                                           "\ud800", "high", "mid", "low"]),
                     st.randoms(use_true_random=False).map(soup_text))


def _cells():
    """A value of any field: what a good record holds and what a hostile one might."""
    from_fuzzer = st.tuples(st.randoms(use_true_random=False), st.booleans()).map(
        lambda rw: cell_value(rw[0], rw[1])[0])
    scalar = st.one_of(_decimals(), _ints(), _texts(), st.booleans(), from_fuzzer,
                       st.sampled_from([None, 0.5, float("nan"), b"1", (), [], {}]))
    return st.one_of(scalar, st.lists(scalar, max_size=4), st.lists(scalar, max_size=4).map(tuple))


GOOD = {"id": "s1", "kind": "甲", "x": D("12.5"), "free": D("-3"), "n": 7, "m": D(-2), "ok": True,
        "xs": [D(1), D("2.5")], "ns": (1, D(2)), "hist": ["high", "mid"]}
FIELDS = list(GOOD)


def _records():
    """Records near a good one: some fields replaced by any value, some dropped, extras added."""
    return st.builds(
        lambda changes, drop, extra: {**{k: v for k, v in {**GOOD, **changes}.items() if k not in drop}, **extra},
        st.dictionaries(st.sampled_from(FIELDS), _cells(), max_size=4),
        st.sets(st.sampled_from(FIELDS), max_size=1),
        st.dictionaries(st.sampled_from(["extra", "X"]), _cells(), max_size=1))


# ---- the comparison ----------------------------------------------------------------------
def _shape(rec):
    """A record as plain data in which 1, 1.0, True and Decimal('1.0') all differ."""
    def one(v):
        if isinstance(v, tuple):
            return ("tuple", tuple(one(x) for x in v))
        return (type(v).__name__, v.as_tuple() if isinstance(v, D) else v)
    return [(k, one(v)) for k, v in rec.items()]


def agree(policy, raw):
    """The generated check accepts only what the model accepts, giving the same record; the
    default evaluate gives the model-validated reference's values, or its very errors."""
    check = policy.backend.module.check
    fast = check(raw)
    model, problems = policy._validator.one(raw, None)
    if fast is not None:
        assert not problems, (raw, [str(p) for p in problems])
        assert _shape(fast) == _shape(model), raw
    # what `perfdsl check` reads examples with: it also reads list and bool cells given as text
    # (a cohort example's table), which the generated check leaves to the model
    plain = checks.check_record(checks.fields(policy.ir), raw)
    if plain is not None:
        assert not problems and _shape(plain) == _shape(model), raw
        assert fast is None or _shape(plain) == _shape(fast), raw
    try:
        got = policy.evaluate(raw)
    except DataError as err:
        got_errors = [str(p) for p in err.problems]
    else:
        got_errors = None
    if problems:
        assert got_errors == [str(p) for p in problems]
        return "rejected"
    try:
        with localcontext(CONTEXT):
            want = policy.reference.individual(model, True)
    except Exception as err:  # an evaluation error of this subject (EvalError)
        assert got_errors is not None and str(err) in got_errors[0]
        return "error"
    assert got_errors is None, (raw, got_errors)
    assert repr(got.values) == repr(want.values) and got.flags == want.flags and got.tiers == want.tiers
    assert _shape(got.record) == _shape(model)
    return "accepted" if fast is not None else "model"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_generated_check_agrees_with_the_model(fixture_policy, raw):
    agree(fixture_policy, raw)


def test_good_records_take_the_fast_path(fixture_policy):
    fast = fixture_policy.backend.module.check(GOOD)
    assert fast is not None
    assert fast == {"id": "s1", "kind": "甲", "x": D("12.5"), "free": D(-3), "n": D(7), "m": D(-2), "ok": True,
                    "xs": (D(1), D("2.5")), "ns": (D(1), D(2)), "hist": ("high", "mid")}
    assert agree(fixture_policy, GOOD) == "accepted"
    # text as CSV gives it, the booleans' words, a whole number written 7: fast too
    text = {**GOOD, "x": " 12.5 ", "n": "7", "ok": " YES ", "xs": ["1", "2.5"], "m": "-2", "free": "1,000.5"}
    assert agree(fixture_policy, text) == "accepted"
    assert fixture_policy.backend.module.check(text)["ok"] is True


@pytest.mark.parametrize("field, value, accepted", [
    ("n", D("7.0"), True),         # integral, but not exponent 0: the model reads it (as 7)
    ("n", D("-0"), True),          # -0 in a whole field is 0
    ("n", 7.0, False),             # binary float
    ("n", True, False),            # a bool is not 1
    ("n", 1001, False),            # out of range
    ("x", D("100.50"), True),
    ("x", D("100.51"), False),
    ("x", D("1E+1"), True),
    ("x", D("NaN"), False),
    ("free", D("1" * MAX_DIGITS), True),
    ("free", D("1" * (MAX_DIGITS + 1)), False),
    ("free", D("1E+41"), False),
    ("free", D("0E-41"), False),
    ("free", 10 ** MAX_DIGITS, False),
    ("free", -(10 ** MAX_DIGITS), False),     # found by the hypothesis test: -limit rounded at 28 digits
    ("free", -(10 ** MAX_DIGITS - 1), True),
    ("m", -(10 ** MAX_DIGITS), False),
    ("m", -(10 ** MAX_DIGITS - 1), True),
    ("ok", "on", True),            # pydantic's own word, read through the model
    ("kind", " 甲", False),
    ("xs", [], False),             # length 1..3
    ("xs", "1;2", True),           # a list as text goes through the model
    ("hist", ["high", "top"], False),
])
def test_edges(fixture_policy, field, value, accepted):
    outcome = agree(fixture_policy, {**GOOD, field: value})
    assert (outcome in ("accepted", "model")) is accepted


def test_errors_are_worded_by_the_model(fixture_policy):
    with pytest.raises(DataError) as err:
        fixture_policy.evaluate({**GOOD, "n": 7.5, "x": "abc"})
    assert [str(p) for p in err.value.problems] == [
        "field x: expected a number, got 'abc'",
        "field n: binary floats are not accepted; give the number as text or a JSON number"]


def test_limit_constant_matches_numbers():
    assert checks._LIMIT == 10 ** MAX_DIGITS


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_policies(bundled, name):
    policy = bundled[name]
    rng = random.Random(name)
    model = policy.input_model
    assert model is policy.input_model  # built once
    for _ in range(300):
        raw = {}
        for inp in policy.ir.inputs:
            t = inp.type
            if t.kind == "num":
                lo = int(inp.range.lo) if inp.range and inp.range.lo is not None else -5
                hi = int(inp.range.hi) if inp.range and inp.range.hi is not None else 200
                v = rng.randint(lo, hi)
                raw[inp.name] = rng.choice([v, D(v), str(v), D(v) / 4, D(v) + D("0.5")])
            elif t.kind == "bool":
                raw[inp.name] = rng.choice([True, False, "true", "否"])
            elif inp.choices:
                raw[inp.name] = rng.choice(inp.choices)
            elif t.kind == "list":
                names = policy.ir.definition(t.elem.tierset).tiers.names()
                raw[inp.name] = [rng.choice(names) for _ in range(rng.randint(0, 3))]
            else:
                raw[inp.name] = f"u{rng.randint(0, 99)}"
        if rng.random() < 0.2:
            raw[rng.choice(list(raw))] = cell_value(rng, False)[0]
        agree(policy, raw)


def test_evaluate_many_rows(bundled):
    policy = bundled["budget_engineer"]
    recs = [{"employee_id": f"e{i}", "rejections": i, "overdue": D(1), "overrun": f"{i}.5", "papers": D("1.0")}
            for i in range(5)]
    assert policy.evaluate_many(recs) == [policy.evaluate(r).as_row() for r in recs]
    assert policy.evaluate_many(recs)[2] == {"employee_id": "e2", "quality": D(90), "efficiency": D(97),
                                             "cost": D("97.5"), "ability": D(103), "total": D("95.500"),
                                             "grade": "优秀", "flags": ""}
    with pytest.raises(DataError) as err:
        policy.evaluate_many(recs[:1] + [{**recs[1], "papers": 0.5}, "no"], first_row=2)
    assert [str(p) for p in err.value.problems] == [
        "row 3, field papers: binary floats are not accepted; give the number as text or a JSON number",
        "row 4: expected an object of field values"]


def test_default_result_explains_on_demand(bundled):
    policy = bundled["budget_engineer"]
    rec = {"employee_id": "e1", "rejections": 3, "overdue": 4, "overrun": "2.5", "papers": 2}
    lazy, traced = policy.evaluate(rec), policy.evaluate(rec, trace=True)
    assert lazy.trace == traced.trace and lazy.explain() == traced.explain()
    assert policy.evaluate(rec, trace=False).trace is None


def test_a_policy_without_inputs_compiles_and_checks(policy_file):
    """The generated check had an empty `try:` for a policy with no inputs (found by
    comparing the generated code with the core on every test policy)."""
    from perfdsl.check import compile_file
    from perfdsl.policy import Policy
    result = compile_file(policy_file("policy p {\n  let t = max(1, 2)\n}\n"))
    assert result.policy is not None
    policy = Policy(result.policy, backend="python")
    assert policy.backend.module.check({}) == {}
    assert policy.evaluate({}).values["t"] == D(2)


# ---- a whole file's rows: Validator.many with the generated check (the `perfdsl run` path) ----
def _text_cells():
    """A cell as a CSV or XLSX reader gives it: text (lists as `a;b` or `[1, 2]`), sometimes a number."""
    return st.one_of(_texts(), _decimals(), _ints(),
                     st.lists(st.sampled_from(["1", "2.5", "high", "mid", "x", "", " 7 ", "1e99", "NaN"]),
                              max_size=4).map(lambda xs: ";".join(xs)),
                     st.sampled_from(["[1, 2.5]", "[\"high\"]", "[1,", "[]", "[1e999]", "[NaN]", "high；mid", ""]))


TEXT_GOOD = {"id": "s1", "kind": "甲", "x": "12.5", "free": "-3", "n": "7", "m": "-2", "ok": "yes",
             "xs": "1;2.5", "ns": "[1, 2]", "hist": "high;mid"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.builds(lambda changes, drop, extra, key: {**{k: v for k, v in {**TEXT_GOOD, **changes, "id": key}.items()
                                                                if k not in drop}, **extra},
                          st.dictionaries(st.sampled_from(FIELDS[1:]), _text_cells(), max_size=3),
                          st.sets(st.sampled_from(FIELDS), max_size=1),
                          st.dictionaries(st.sampled_from(["extra"]), _text_cells(), max_size=1),
                          st.sampled_from(["s1", "s2", "s3", "s4", "s5", "s6"])), max_size=6))
def test_many_with_the_check_is_many_without(fixture_policy, raws):
    """The run path validates each row with the generated check first (lists given as text
    read as the model reads them); the records, every error and warning are the same as
    the model's alone."""
    rows = list(enumerate(raws, start=2))
    v = fixture_policy._validator
    fast = v.many(rows, fixture_policy._check)
    model = v.many(rows)
    assert [_shape(r) for r in fast[0]] == [_shape(r) for r in model[0]]
    assert [str(p) for p in fast[1]] == [str(p) for p in model[1]]
    assert [str(p) for p in fast[2]] == [str(p) for p in model[2]]


def test_text_rows_take_the_fast_path(fixture_policy):
    v = fixture_policy._validator
    rec = fixture_policy._check(v._listed(TEXT_GOOD))
    assert rec is not None and rec["xs"] == (D(1), D("2.5")) and rec["hist"] == ("high", "mid")
    assert [_shape(rec)] == [_shape(r) for r in v.many([(2, TEXT_GOOD)])[0]]


@pytest.mark.parametrize("name", ["hospital_safety", "budget_engineer", "branch_employees", "county_towns",
                                  "village_clinic", "county_departments"])
def test_check_of_a_bundled_policy_loads_no_heavy_library(name):
    """`perfdsl check` reads examples (cohort tables give bools and lists as text) with the plain
    check: pydantic, polars, jinja2, z3, openpyxl and lark stay unloaded (LANGUAGE.md start-up)."""
    code = ("import sys; from perfdsl.cli import main; rc = main(['check', 'policies/%s.perf']); "
            "print(rc, sorted(m for m in ('pydantic', 'polars', 'jinja2', 'z3', 'openpyxl', 'lark') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code % name], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent, check=True).stdout.splitlines()[-1]
    assert out == "0 []"
