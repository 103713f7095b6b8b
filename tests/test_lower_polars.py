"""The polars printer of the core's `distribute` step (perfdsl/lower/polars_cohort.py)
places every subject as the reference does (perfdsl.cohort with the interpreter), with
the same warnings and problems (ties, infeasible groups, fields that vary in a group),
on hypothesis cohorts — drawn, and tie-heavy — for branch_employees, a test policy with
`when` lines, and policies that rank by score alone (ties at the cuts, `ties share`)."""
from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfdsl import cohort
from perfdsl.check import compile_file
from perfdsl.eval.interpret import Interpreter
from perfdsl.lower import core as c
from perfdsl.lower import lower_policy
from perfdsl.lower.polars_cohort import exact_series, head_count_expr, place_frame, subjects_frame
from perfdsl.lower.ranking import head_count
from perfdsl.runtime import CONTEXT, EvalError, localcontext
from perfdsl.verify.strategies import cohorts

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from lower_policies import TIED, TIGHT  # noqa: E402
from test_cohort import DIST_POLICY  # noqa: E402

SOURCES = {"branch_employees": (ROOT / "policies" / "branch_employees.perf").read_text(encoding="utf-8"),
           "dist_test": DIST_POLICY, "tight": TIGHT, **{k: v for k, v in TIED.items() if k.startswith("tied_distribute")}}
POLICIES = {name: compile_file(ROOT / "policies" / f"{name}.perf", text).policy for name, text in SOURCES.items()}


def reference(ir, records):
    """Tier positions after the cohort stage, and its warnings; or ("error", problems)."""
    interp = Interpreter(ir)
    with localcontext(CONTEXT):
        results = [interp.individual(r, False) for r in records]
        try:
            warnings = cohort.apply(ir, interp, results)
        except cohort.CohortError as err:
            return ("error", [p.message for p in err.problems])
    (d,) = ir.distributes
    return [r.tiers[d.tierset].index for r in results], warnings


def printed(ir, records):
    interp = Interpreter(ir)
    program = lower_policy(ir)
    (d,) = program.steps
    with localcontext(CONTEXT):
        results = [interp.individual(r, False) for r in records]
    placed = place_frame(d, subjects_frame(d, results, ir.key), ir.key, program.language)
    if placed.problems:
        return ("error", placed.problems)
    return placed.index.to_list(), placed.warnings


def _grouped(ir, records, groups):
    """Few groups: each subject joins group g0..g2, and takes the fields a `when` reads from
    its group's first member (they must be constant in a group)."""
    (d,) = ir.distributes
    fields, first, out = ir.distributes[0].group, {}, []
    fields = (fields,) if isinstance(fields, str) else tuple(fields or ())
    for r, g in zip(records, groups):
        r = dict(r, **{f: f"g{g}" for f in fields})
        leader = first.setdefault(g, r)
        out.append(dict(r, **{f: leader[f] for f in d.when_fields}))
    return out


def _few_groups(ir):
    return st.tuples(cohorts(ir, 1, 30), st.lists(st.integers(0, 2), min_size=30, max_size=30)).map(
        lambda args: _grouped(ir, *args))


def _tie_heavy(ir):
    def spread(args):
        pool, picks = args
        out = []
        for i, p in enumerate(picks):
            r = dict(pool[p % len(pool)])
            r[ir.key] = f"t{i:03d}"
            out.append(r)
        return out
    return st.tuples(cohorts(ir, 1, 4), st.lists(st.integers(0, 3), min_size=1, max_size=30)).map(spread)


@pytest.mark.parametrize("name", sorted(POLICIES))
@pytest.mark.parametrize("kind", ["drawn", "few_groups", "tie_heavy"])
def test_printed_distribution_equals_the_reference(name, kind):
    ir = POLICIES[name]
    strategy = {"drawn": cohorts(ir, 1, 30), "few_groups": _few_groups(ir), "tie_heavy": _tie_heavy(ir)}[kind]

    @settings(max_examples=60, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(records):
        try:
            want = reference(ir, records)
        except EvalError:
            return  # a subject's own data error: no cohort to place
        assert printed(ir, records) == want
    check()


def test_branch_employees_worked_example_printed():
    ir = POLICIES["branch_employees"]
    ex = next(e for e in ir.examples if e.label.startswith("普通部门10人"))
    index, warnings = printed(ir, [rec for _, rec in ex.records])
    names = ir.definition("grade").tiers.names()
    assert [names[i] for i in index] == ["优秀", "优秀", "良好", "良好", "良好", "良好", "合格", "合格", "合格", "欠佳"]
    assert warnings == []


def test_ties_at_a_cut_name_the_tied_subjects():
    ir = POLICIES["tied_distribute"]
    records = [dict(id=f"s{i}", dept="甲", score=Decimal(95), rating="好", minor=False, severe=False, late=False)
               for i in range(10)]
    assert printed(ir, records) == ("error", [
        "甲：s0、s1、s2、s3、s4、s5、s6、s7、s8、s9 同分（score = 95），在强制分布中优秀应取 2 人的分界处"
        "无法确定谁在名额之内：其中 2 人可入选、8 人不能；请增加能区分他们的排序依据，或写 `ties share`"])
    ir = POLICIES["tied_distribute_share"]
    index, warnings = printed(ir, records)
    assert index == [0] * 10 and warnings[0] == "甲：优秀 10 人，超出上限 2 人"


@pytest.mark.parametrize("rounding", list(c.Rounding))
@pytest.mark.parametrize("share", ["0.1", "0.15", "0.25", "0.35", "0.05", "0.125", "1", "0.333"])
def test_head_counts_are_exact_integers_rounded_as_the_rule_says(rounding, share):
    h = c.HeadCount(Decimal(share), True, rounding)
    sizes = list(range(0, 64)) + [999_999, 1_000_000]
    got = pl.DataFrame({"n": sizes}).select(head_count_expr(h, pl.col("n")))["n"].to_list()
    assert got == [head_count(h, n) for n in sizes]


def test_a_number_polars_cannot_hold_exactly_is_refused():
    assert exact_series("x", [Decimal("1.5"), Decimal("90")]).to_list() == [Decimal("1.5"), Decimal("90")]
    with pytest.raises(ValueError, match="cannot hold exactly"):
        exact_series("x", [Decimal("1E-40")])


def test_an_infeasible_group_and_a_varying_when_field_are_the_reference_problems():
    ir = POLICIES["tight"]
    records = [dict(id=f"s{i}", dept="甲" if i < 4 else "乙", score=Decimal(80 + i)) for i in range(9)]
    want = reference(ir, records)
    assert want == ("error", ["甲：4 人无法分布：各等次下限合计 5 人，上限合计 5 人，怎样分布都不符合"
                              "（A 2 人；B 2 人（4 人的 40%～40%，四舍五入）；C 1 人）"])
    assert printed(ir, records) == want
    ir = POLICIES["tied_distribute"]
    records = [dict(id=f"s{i}", dept="甲", score=Decimal(90 - i), rating="好" if i % 2 else "差", minor=False,
                    severe=False, late=False) for i in range(4)]
    want = reference(ir, records)
    assert want == ("error", ["甲：`rating` 须全组一致（强制分布的 `when` 要读取它），但各人取值不同：差（s0、s2）；好（s1、s3）"])
    assert printed(ir, records) == want
