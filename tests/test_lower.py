"""The core program (perfdsl/lower) means what the policy means. The reference interpreter
now runs it, so it is compared with the independently written generated Python — output
rows, warnings and error texts — on every bundled policy and every policy in tests/ that
checks clean, on hypothesis cohorts (drawn, extreme values, and tie-heavy: copies of a few
drawn subjects); its program run directly traces like the Interpreter's wrapper, and it
meets every `example` of those policies.
"""
from __future__ import annotations

import ast
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfdsl.check import compile_file
from perfdsl.eval.interpret import Interpreter
from perfdsl.lower import core as c
from perfdsl.lower import lower_policy
from perfdsl.lower.evaluate import Machine, evaluate_cohort, individual
from perfdsl.lower.lower import exactness, lower_expression
from perfdsl.lower.cohort_stage import run_cohort
from perfdsl.runtime import CONTEXT, EvalError, localcontext
from perfdsl.verify import disagreements
from perfdsl.verify.agreement import BACKENDS, REFERENCE
from perfdsl.verify.strategies import cohorts, strategies
from perfdsl.io import DataError

ROOT = Path(__file__).resolve().parent.parent


def _policy_files():
    files = sorted((ROOT / "policies").glob("*.perf")) + sorted((ROOT / "tests").rglob("*.perf"))
    out = []
    for path in files:
        result = compile_file(path)
        if result.policy is not None:
            out.append((path.relative_to(ROOT).as_posix(), result.policy))
    return out


def _inline_policies():
    """Every whole policy written as a string literal in tests/*.py that checks clean."""
    out = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value \
                    and re.search(r"^\s*policy \w+", node.value, re.M):
                result = compile_file(path.parent / f"{path.stem}_{node.lineno}.perf", node.value)
                if result.policy is not None:
                    out.append((f"{path.name}:{node.lineno}", result.policy))
    return out


def _tied_policies():
    from lower_policies import TIED
    return [(name, compile_file(ROOT / "tests" / f"{name}.perf", text).policy) for name, text in TIED.items()]


POLICIES = _policy_files() + _inline_policies() + _tied_policies()
BY_NAME = {name: ir for name, ir in POLICIES}


def test_the_policies_compared_include_every_bundled_one():
    bundled = {p.stem for p in (ROOT / "policies").glob("*.perf") if not compile_file(p).module}
    assert len(bundled) == 11
    assert {Path(n).stem for n in BY_NAME if n.startswith("policies/")} == bundled
    assert len(POLICIES) >= 90


@pytest.mark.parametrize("name", [n for n, _ in POLICIES])
def test_generated_code_agrees_with_the_core_on_drawn_cohorts(name):
    """The reference interpreter runs the core program now: the generated Python, written
    independently, is what it is compared with."""
    assert disagreements(BY_NAME[name], examples=40, seed=3, backends=["python"]) == []


@pytest.mark.parametrize("name", [n for n, _ in POLICIES])
def test_generated_code_agrees_with_the_core_on_the_extremes_valid_data_may_hold(name):
    """40-digit inputs, exponents at the limits: overflow, digits beyond 28, traps."""
    assert disagreements(BY_NAME[name], examples=20, seed=5, backends=["python"], wide=True) == []


def _tie_heavy(ir):
    """Cohorts of up to 24 copies of 1–4 drawn subjects (keys made distinct): equal scores
    at every cut, groups of many, `when` fields constant as the drawn cohort made them."""
    def spread(args):
        pool, picks = args
        out = []
        for i, p in enumerate(picks):
            r = dict(pool[p % len(pool)])
            if ir.key:
                r[ir.key] = f"t{i:03d}"
            out.append(r)
        return out
    return st.tuples(cohorts(ir, 1, 4), st.lists(st.integers(0, 3), min_size=1, max_size=24)).map(spread)


def _generated_outcome(ir):
    return BACKENDS["python"](ir)


COHORT_POLICIES = [n for n, ir in POLICIES if ir.has_cohort_stage]


@pytest.mark.parametrize("name", COHORT_POLICIES)
def test_generated_code_agrees_with_the_core_on_tie_heavy_cohorts(name):
    ir = BY_NAME[name]
    core, reference = _generated_outcome(ir), REFERENCE(ir)

    @settings(max_examples=40, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(_tie_heavy(ir))
    def check(records):
        assert core(records) == reference(records)
    check()


def _snapshot(results):
    return [(r.values, r.flags, r.tiers, r.trace) for r in results]


@pytest.mark.parametrize("name", [n for n, _ in POLICIES])
def test_core_individual_stage_traces_like_the_interpreter(name):
    """Values, flags, tier states and the explanation trace of one subject, step by step."""
    ir = BY_NAME[name]
    program, interp = lower_policy(ir), Interpreter(ir)

    def run(f, record):
        with localcontext(CONTEXT):
            try:
                return _snapshot([f(record)])
            except EvalError as err:
                return ("error", str(err))

    @settings(max_examples=40, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategies(ir))
    def check(record):
        assert run(lambda r: individual(program, ir, r, True), record) == run(lambda r: interp.individual(r, True), record)
    check()


def _cohort_snapshot(results):
    return [(r.values, r.flags, r.tiers, r.trace, r.cohort_notes, r.explain()) for r in results]


def _traced_reference(ir, records):
    from perfdsl.policy import Policy
    policy = Policy(ir, backend="reference")
    try:
        results = policy.evaluate_cohort(records, trace=True, validate=False)
    except DataError as err:
        return ("error", str(err))
    return _cohort_snapshot(results), policy.last_warnings


def _traced_core(program, ir, records):
    try:
        results, warnings = evaluate_cohort(program, ir, records, trace=True)
    except DataError as err:
        return ("error", str(err))
    return _cohort_snapshot(results), warnings


@pytest.mark.parametrize("name", COHORT_POLICIES)
@pytest.mark.parametrize("kind", ["drawn", "tie_heavy"])
def test_core_cohort_traces_and_explanations_like_the_reference(name, kind):
    """Every value, flag, tier state, trace (quota and distribution decisions, ranks and
    group values included), group record and explanation text of a whole cohort."""
    ir = BY_NAME[name]
    program = lower_policy(ir)

    @settings(max_examples=25, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(cohorts(ir, 1, 12) if kind == "drawn" else _tie_heavy(ir))
    def check(records):
        assert _traced_core(program, ir, records) == _traced_reference(ir, records)
    check()


# ---- the policies' own examples, on the core alone ---------------------------------------
def _run_example(ir, program, ex):
    records = [rec for _, rec in ex.records]
    with localcontext(CONTEXT):
        results = [individual(program, ir, r) for r in records]
        if ex.cohort:
            run_cohort(program, results, list(range(1, len(results) + 1)))
    return results


def _met(ir, results, exp) -> bool:
    if exp.cond is not None:
        test = lower_expression(ir, exp.cond)
        return Decimal(sum(1 for r in results if Machine({**r.record, **r.values}).eval(test))) == exp.value
    if exp.subject is not None:
        results = [r for r in results if str(r.record.get(ir.key)) == exp.subject]
    r = results[0]
    got = tuple(r.flags) if exp.name == "flags" else r.values.get(exp.name, r.record.get(exp.name))
    return got == exp.value and (type(got) is type(exp.value) or isinstance(got, Decimal))


EXAMPLES = [(n, i) for n, ir in POLICIES for i, ex in enumerate(ir.examples)]


def _reference_example(ir, ex):
    from perfdsl import cohort
    interp = Interpreter(ir)
    with localcontext(CONTEXT):
        results = [interp.individual(rec, False) for _, rec in ex.records]
        if ex.cohort:
            cohort.apply(ir, interp, results)
    return results


@pytest.mark.parametrize("name,index", EXAMPLES)
def test_core_meets_every_example(name, index):
    """Every expectation the reference meets, and only those (a test in tests/ writes a
    wrong expectation on purpose); a bundled policy meets all of its own."""
    ir = BY_NAME[name]
    ex = ir.examples[index]
    missed = [exp.span.line for exp in ex.expects if not _met(ir, _run_example(ir, lower_policy(ir), ex), exp)]
    assert missed == [exp.span.line for exp in ex.expects if not _met(ir, _reference_example(ir, ex), exp)]
    if name.startswith("policies/"):
        assert missed == []


def _example(path: str, label: str):
    ir = BY_NAME[path]
    ex = next(e for e in ir.examples if e.label == label)
    return Counter(r.values["grade"] for r in _run_example(ir, lower_policy(ir), ex)), ir, ex


def test_county_towns_seven_towns_two_advanced():
    counts, _, ex = _example("policies/county_towns.perf", "七个乡镇评出两个先进")
    assert len(ex.records) == 7
    assert counts == {"先进": 2, "合格": 3, "不合格": 2}


def test_county_departments_thirty_two_eight_advanced():
    counts, _, ex = _example("policies/county_departments.perf", "32个部门和单位评出8个先进")
    assert len(ex.records) == 32
    assert counts["先进"] == 8 and counts["合格"] == 21 and counts["不合格"] == 3


def test_branch_employees_forced_distribution_examples():
    counts, ir, ex = _example("policies/branch_employees.perf", "普通部门10人：优秀1-2、良好4-5、合格3-4、欠佳1")
    assert counts == {"优秀": 2, "良好": 4, "合格": 3, "欠佳": 1}
    results = _run_example(ir, lower_policy(ir), ex)
    by_id = {r.record["employee_id"]: r for r in results}
    assert [by_id[k].values["grade"] for k in ("a01", "a02", "a03", "a06", "a07", "a10")] == \
        ["优秀", "优秀", "良好", "良好", "合格", "欠佳"]
    assert by_id["a03"].values["total"] == 91 and by_id["a10"].flags == ["解除或终止劳动合同"]
    counts, _, _ = _example("policies/branch_employees.perf", "得分普遍偏低的部门：强制分布会提档也会降档")
    assert counts == {"优秀": 1, "良好": 4, "合格": 4, "欠佳": 1}


# ---- the core itself --------------------------------------------------------------------
def test_division_exactness_is_decided_once_from_the_divisor():
    assert exactness(c.Lit(Decimal(8))) is c.Exactness.TERMINATING
    assert exactness(c.Lit(Decimal("0.25"))) is c.Exactness.TERMINATING
    assert exactness(c.Lit(Decimal(3))) is c.Exactness.ROUNDED
    assert exactness(c.Var("n")) is c.Exactness.ROUNDED


def test_lowering_leaves_no_policy_vocabulary_for_the_cohort():
    program = lower_policy(BY_NAME["policies/branch_employees.perf"])
    (dist,) = program.steps
    assert isinstance(dist, c.Distribute)
    assert [p.tier for p in dist.placements] == [0, 1, 2]  # the last tier takes the rest
    assert dist.placements[0].later == (1, 2, 3)
    assert dist.ranking.tie is c.TieRule.ERROR and dist.ranking.partition.fields == ("dist_group",)
    bounds = {b.tier: (b.lo.value, b.hi.value) for b in dist.bounds}
    assert bounds[0] == (Decimal("0.1"), Decimal("0.2"))


def test_what_an_expression_reads_is_found_by_the_one_visitor():
    program = lower_policy(BY_NAME["tied_distribute"])
    (dist,) = program.steps
    assert [sorted(c.reads(w.test)) for w in dist.whens] == [["rating"], []]  # `size` is no field
    flags = {f.label: sorted(c.reads(f.test)) for f in program.cohort_flags}
    assert flags == {"末位": ["score"], "高于部门平均": ["dept", "score"]}  # rank over the whole cohort


def test_a_decimal_trap_names_its_definition_and_a_division_by_zero_its_place():
    ir = BY_NAME["policies/village_clinic.perf"]
    program = lower_policy(ir)
    divisions = [d for d in program.individual if "Div(" in repr(d)]
    assert divisions, "village_clinic divides"
    record = next(iter(ir.examples)).records[0][1]
    with localcontext(CONTEXT):
        assert individual(program, ir, record).values == Interpreter(ir).individual(record, False).values


def _ten_tied():
    return [dict(id=f"s{i}", dept="甲", score=Decimal(95), rating="好", minor=False, severe=False, late=False)
            for i in range(10)]


def test_a_tie_at_a_distribution_cut_is_the_error_the_reference_words():
    # 优秀 1..2 of 10: q = 10, k = clamp(10, max(1, 10 − (5+4+2)), min(2, 10 − (3+2+0))) = 2,
    # and all ten tie on score
    ir = BY_NAME["tied_distribute"]
    want = ("error", "甲：s0、s1、s2、s3、s4、s5、s6、s7、s8、s9 同分（score = 95），在强制分布中优秀应取 2 人的分界处"
            "无法确定谁在名额之内：其中 2 人可入选、8 人不能；请增加能区分他们的排序依据，或写 `ties share`")
    assert _generated_outcome(ir)(_ten_tied()) == want == REFERENCE(ir)(_ten_tied())
    with pytest.raises(DataError):
        evaluate_cohort(lower_policy(ir), ir, _ten_tied())


def test_ties_share_lets_all_ten_in_and_warns_about_the_bounds():
    ir = BY_NAME["tied_distribute_share"]
    rows, warnings = _generated_outcome(ir)(_ten_tied())
    assert [r["grade"] for r in rows] == ["优秀"] * 10
    assert rows[0]["bonus"] == Decimal("40.71428571428571428571428571")  # 95 × 3 / 7 to 28 digits, half even
    assert warnings == ["甲：优秀 10 人，超出上限 2 人", "甲：良好 0 人，低于下限 3 人", "甲：合格 0 人，低于下限 2 人"]
    assert (rows, warnings) == REFERENCE(ir)(_ten_tied())
