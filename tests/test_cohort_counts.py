"""perfdsl.cohort_counts: the counts and bounds the run summary and the report both state,
worked out by hand on small cohorts (LANGUAGE.md §6)."""
from __future__ import annotations

import perfdsl
from perfdsl import cohort_counts
from perfdsl.report.model import individual_tier
from report_data import ROOT, example_records

TOWNS = ROOT / "policies" / "county_towns.perf"


def test_seven_towns_keep_two_of_three_under_a_quarter_quota():
    # 南牛乡 102.7, 新城铺镇 98.75, 西平乐乡 95 reach 先进; 新安镇 (an accident) and 南楼乡 83 are
    # 合格; 曲阳桥乡 (dereliction) and 北早现乡 52 are 不合格. The quota: round(7 × 25%) =
    # round(1.75) = 2, so 西平乐乡 moves down to 合格.
    policy = perfdsl.load(TOWNS)
    results = policy.evaluate_cohort(example_records(TOWNS, "七个乡镇评出两个先进"))
    (rule,) = cohort_counts.rules(policy.ir, cohort_counts.Columns.of_results(policy.ir, results, individual_tier))
    assert rule.names == ("先进", "合格", "不合格") and rule.bounds == {0}
    (group,) = rule.groups
    assert (group.value, group.size) == (None, 7)
    assert [(t.tier, t.before, t.final) for t in group.tiers] == [("先进", 3, 2), ("合格", 2, 3), ("不合格", 2, 2)]
    top, *others = group.tiers
    assert (top.lo, top.hi, top.bounded, top.when) == (0, 2, True, None)  # `at most`: no lower bound
    assert top.shares == (None, rule.rule.hi) and cohort_counts.share_text(top.shares[1]) == "25%"
    assert all((t.lo, t.hi, t.bounded) == (None, None, False) for t in others)
    # without a source for the tiers before the cohort stage, those counts are unknown
    (unknown,) = cohort_counts.rules(policy.ir, cohort_counts.Columns.of_results(policy.ir, results))[0].groups
    assert [t.before for t in unknown.tiers] == [None] * 3
    assert [t.final for t in unknown.tiers] == [2, 3, 2]


DISTRIBUTE = """
policy spread {
  key id
  input id: text
  input dept: text
  input score: decimal in 0..100
  tiers grade by score { A >= 90  B >= 80  C >= 60  D otherwise }
  distribute per dept rank by score desc then id asc {
    A 20%..40%
    B 1..
    when size < 4: A 0..0
    when size > 10: D 1..1
  }
}
"""


def test_distribute_bounds_per_group_and_the_when_that_set_them(policy_file):
    policy = perfdsl.load(policy_file(DISTRIBUTE))
    scores = {"X": [95, 93, 91, 85, 50], "Y": [99, 70, 65]}
    results = policy.evaluate_cohort([{"id": f"{dept}{i}", "dept": dept, "score": s}
                                      for dept, row in scores.items() for i, s in enumerate(row)])
    (rule,) = cohort_counts.rules(policy.ir, cohort_counts.Columns.of_results(policy.ir, results, individual_tier))
    assert rule.bounds == {0, 1, 3}  # D by a `when` that holds for no group here
    x, y = rule.groups
    # X, 5 subjects: A 20%..40% = round(1)..round(2) = 1..2 of the three at 90 or more; the
    # third (91) goes to B, which takes 1..5; C and D are unbounded (0..5).
    assert (x.value, x.size) == ("X", 5)
    assert [(t.before, t.final, t.lo, t.hi, t.bounded, t.when) for t in x.tiers] == [
        (3, 2, 1, 2, True, None), (1, 2, 1, 5, True, None), (0, 0, 0, 5, False, None), (1, 1, 0, 5, False, None)]
    assert cohort_counts.share_text(x.tiers[0].shares[0]) == "20%" and x.tiers[1].shares[1] is None
    # Y, 3 subjects: `when size < 4` (line 11 of the file) takes A away: 99 goes to B.
    line = DISTRIBUTE.splitlines().index("    when size < 4: A 0..0") + 1
    assert [(t.before, t.final, t.lo, t.hi, t.bounded, t.when) for t in y.tiers] == [
        (1, 0, 0, 0, True, line), (0, 1, 1, 3, True, None), (2, 2, 0, 3, False, None), (0, 0, 0, 3, False, None)]
