"""The rule passes alone: cohort rules (quotas, distribute), the policy-wide warnings
(§10) and properties. Each test runs the passes before the one it tests, then that
pass by itself, and states every diagnostic it adds (code, line, message) or its IR.
"""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from perfdsl.check import PASSES, check_until, passes, resolve
from perfdsl.ir import ANY, Rounding, RuleKind, Share, Stage

HEAD = '''policy p {
  key id
  input id: text
  input dept: text
  input total: decimal in 0..100
  input late: int in 0..5
'''
GRADE = "  tiers grade by total { 优秀 >= 90  良好 >= 80  合格 >= 60  不合格 otherwise }\n"


def run_pass(tmp_path, body: str, name: str, head: str = HEAD):
    """(what the pass `name` adds: [(code, line, message)], the checking record)."""
    path = tmp_path / "t.perf"
    path.write_text(head + body + "}\n", encoding="utf-8")
    program = resolve.load(path)
    names = [p.name for p in PASSES]
    ck = check_until(program, names[names.index(name) - 1])
    before = len(program.diagnostics)
    getattr(passes, name)(ck)
    return [(d.code, d.span.line - head.count("\n"), d.message) for d in program.diagnostics[before:]], ck


def test_the_passes_are_one_ordered_tuple():
    assert [p.name for p in PASSES] == ["resolve", "declare", "order", "type", "ranges", "flag", "cohort_rules", "assemble",
                                        "warnings", "examples", "properties", "uncalled", "tables"]


# ---- cohort rules ----------------------------------------------------------------------
def cohort(tmp_path, body):
    return run_pass(tmp_path, body, "cohort_rules")


def test_a_quota_is_lowered_with_its_tier_group_rank_and_rounding(tmp_path):
    got, ck = cohort(tmp_path, GRADE + "  quota 优秀 at most 20% per dept rank by total desc then id asc rounding floor\n")
    assert got == []
    [q] = ck.quotas
    assert (q.tierset, q.tier, q.lo, q.hi, q.group, q.rounding, q.ties_share) == (
        "grade", 0, None, Share(D("0.2"), True), "dept", Rounding.FLOOR, False)
    assert [(k.name, k.descending) for k in q.rank.keys] == [("total", True), ("id", False)]


def test_quota_counts_may_be_equal(tmp_path):
    got, ck = cohort(tmp_path, GRADE + "  quota 优秀 count 3..3 rank by total desc then id asc\n")
    assert got == [] and ck.quotas[0].lo == ck.quotas[0].hi == Share(D(3), False)


RANKED = " rank by total desc then id asc\n"


@pytest.mark.parametrize("lines, expected", [
    ("  quota 优秀 count 5..3" + RANKED, [("PD016", 2, "quota count 5..3 is empty")]),
    ("  quota 不合格 at most 20%" + RANKED,
     [("PD015", 2, "`不合格` is the last tier: a quota on it has nowhere to move the excess")]),
    ("  quota 合格 at most 20%" + RANKED, []),  # the tier before the last is fine
    ("  quota 优秀 at most 3" + RANKED, [("PD016", 2, "`at most` takes a percentage; use `count A..B` for a number of people")]),
    ("  quota 优秀 at most 20%\n", [("PD022", 2, "a quota needs a rank order")]),
    ("  quota 优秀 at most 20% rank by totl desc\n", [("PD002", 2, "unknown rank key `totl`")]),
    ("  let r = mean(total) per dept\n  quota 优秀 at most 20% rank by r desc then id asc\n",
     [("PD021", 3, "rank key `r` itself depends on the cohort")]),
    ("  rank by total desc then id asc\n  quota 优秀 at most 20%\n", []),  # the policy's own order
])
def test_quota_checks(tmp_path, lines, expected):
    got, _ = cohort(tmp_path, GRADE + lines)
    assert got == expected


DIST = "  distribute rank by total desc then id asc {{ {} }}\n"


@pytest.mark.parametrize("bounds, expected", [
    ("优秀 10%..20%  良好 30%..40%  合格 30%..40%  不合格 0%..10%", []),
    ("优秀 40%..50%  良好 30%..40%  合格 30%..40%  不合格 0%..10%", []),  # minima exactly 100%
    ("优秀 50%..60%  良好 30%..40%  合格 30%..40%  不合格 0%..10%",
     [("PD016", 2, "the tiers' minimum shares sum to 110%, above 100%")]),
    ("优秀 10%..20%  良好 20%..30%  合格 20%..30%  不合格 0%..20%", []),  # maxima exactly 100%
    ("优秀 10%..20%  良好 20%..30%  合格 20%..30%  不合格 0%..10%",
     [("PD016", 2, "the tiers' maximum shares sum to 90%, below 100%")]),
    ("优秀 10%..20%  良好 20%..30%  合格 20%..30%", []),  # a tier left out takes the rest
    ("优秀 20%..10%  良好 30%..40%", [("PD016", 2, "the range 20%..10% is empty")]),
    ("优秀 1..1  良好 30%..40%", []),
])
def test_distribute_bounds(tmp_path, bounds, expected):
    got, _ = cohort(tmp_path, GRADE + DIST.format(bounds))
    assert got == expected


def test_distribute_minimum_shares_of_exactly_100_percent_are_feasible(tmp_path):
    got, _ = cohort(tmp_path, GRADE + DIST.format("优秀 10%..20%  良好 40%..50%  合格 40%..50%  不合格 10%..20%"))
    assert got == []
    got, _ = cohort(tmp_path, GRADE + DIST.format("优秀 11%..20%  良好 40%..50%  合格 40%..50%  不合格 10%..20%"))
    assert got == [("PD016", 2, "the tiers' minimum shares sum to 101%, above 100%")]


def test_distribute_bounds_name_tiers_of_one_set_once(tmp_path):
    two = GRADE + "  tiers level by total { 高 >= 50  低 otherwise }\n"
    got, _ = cohort(tmp_path, two + DIST.format("优秀 10%..20%  高 10%..20%"))
    assert got == [("PD015", 3, "`高` is a tier of `level`, not of `grade`")]
    got, _ = cohort(tmp_path, GRADE + DIST.format("优秀 10%..20%  优秀 10%..20%"))
    assert got == [("PD004", 2, "tier `优秀` is bounded twice in one line")]


def test_one_distribute_per_tier_set_and_no_quota_beside_it(tmp_path):
    d = DIST.format("优秀 10%..20%")
    got, _ = cohort(tmp_path, GRADE + d + "  quota 优秀 at most 20% rank by total desc then id asc\n")
    assert got == [("PD016", 2, "a tier set takes one `distribute` and no quotas beside it")]
    got, _ = cohort(tmp_path, GRADE + d + d)
    assert got == [("PD016", 3, "a tier set takes one `distribute` and no quotas beside it")]


def test_when_reads_group_facts_only_and_records_its_fields(tmp_path):
    body = GRADE + '''  distribute per dept rank by total desc then id asc {
    优秀 10%..20%
    when size < 5 and dept == "甲": 优秀 0..1
  }
'''
    got, ck = cohort(tmp_path, body)
    assert got == [] and ck.distributes[0].when_fields == ("dept",)
    assert ck.distributes[0].rounding is Rounding.HALF_UP
    got, _ = cohort(tmp_path, body.replace('dept == "甲"', "s > 3").replace(GRADE, GRADE + "  let s = total\n"))
    assert got == [("PD021", 5, "`when` reads group facts: inputs constant in a group, or `size`; `s` is computed per subject")]


def test_size_is_a_name_only_inside_when(tmp_path):
    got, _ = run_pass(tmp_path, GRADE + "  let s = size\n", "type")
    assert [c for c, _, _ in got] == ["PD002"]


# ---- the warnings pass -----------------------------------------------------------------
def warnings(tmp_path, body, head=HEAD):
    got, _ = run_pass(tmp_path, body, "warnings", head)
    return got


def test_a_tier_reached_exactly_at_the_top_of_the_range_is_reachable(tmp_path):
    head = HEAD.replace("total: decimal in 0..100", "total: decimal in 0..90")
    assert warnings(tmp_path, GRADE, head) == []
    head = HEAD.replace("total: decimal in 0..100", "total: decimal in 0..89.9")
    assert warnings(tmp_path, GRADE, head) == [
        ("PW102", 1, "tier `优秀` can never be reached: `grade` is banded by a value in 0..89.9")]


def test_unreachable_tiers_at_both_ends(tmp_path):
    head = HEAD.replace("total: decimal in 0..100", "total: decimal in 80..85")
    assert warnings(tmp_path, GRADE, head) == [
        ("PW102", 1, "tier `优秀` can never be reached: `grade` is banded by a value in 80..85"),
        ("PW102", 1, "tier `合格` can never be reached: `grade` is banded by a value in 80..85"),
        ("PW102", 1, "tier `不合格` can never be reached: `grade` is banded by a value in 80..85")]
    head = HEAD.replace("total: decimal in 0..100", "total: decimal in 60..79.9")
    assert [m for _, _, m in warnings(tmp_path, GRADE, head)] == [
        "tier `优秀` can never be reached: `grade` is banded by a value in 60..79.9",
        "tier `良好` can never be reached: `grade` is banded by a value in 60..79.9",
        "tier `不合格` can never be reached: `grade` is banded by a value in 60..79.9"]


def test_ascending_tiers_are_reached_below_their_threshold(tmp_path):
    asc = "  tiers grade by late ascending { 优 < 1  中 < 3  差 otherwise }\n"
    assert warnings(tmp_path, asc) == []
    head = HEAD.replace("late: int in 0..5", "late: int in 1..2")
    assert warnings(tmp_path, asc, head) == [
        ("PW102", 1, "tier `优` can never be reached: `grade` is banded by a value in 1..2"),
        ("PW102", 1, "tier `差` can never be reached: `grade` is banded by a value in 1..2")]
    head = HEAD.replace("late: int in 0..5", "late: int in 0..3")
    assert warnings(tmp_path, asc, head) == []  # 3 is not < 3: 差


def test_rules_make_tiers_reachable_that_the_band_cannot(tmp_path):
    head = HEAD.replace("total: decimal in 0..100", "total: decimal in 85..100")
    veto = GRADE + '  veto late > 4 -> 不合格 "屡次迟到"\n'
    assert warnings(tmp_path, veto, head) == [
        ("PW102", 1, "tier `合格` can never be reached: `grade` is banded by a value in 85..100")]
    down = GRADE + '  downgrade late > 4 by 1 "屡次迟到"\n'
    assert warnings(tmp_path, down, head) == []  # 良好 by band; 合格, 不合格 by a downgrade


def test_a_rule_that_never_fires_does_not_reach_a_tier(tmp_path):
    head = HEAD.replace("total: decimal in 0..100", "total: decimal in 85..100")
    veto = GRADE + '  veto late > 5 -> 不合格 "屡次迟到"\n'
    assert warnings(tmp_path, veto, head) == [
        ("PW109", 2, "this veto can never fire: its condition is false for every input within the declared ranges"),
        ("PW102", 1, "tier `合格` can never be reached: `grade` is banded by a value in 85..100"),
        ("PW102", 1, "tier `不合格` can never be reached: `grade` is banded by a value in 85..100")]


def test_a_score_outside_the_scale_warns_and_one_at_its_edge_does_not(tmp_path):
    assert warnings(tmp_path, "  score s = total\n") == []
    assert warnings(tmp_path, "  score s = total + 0.5\n") == [
        ("PW104", 1, "score `s` can range over 0.5..100.5, outside the policy's scale 0..100")]
    assert warnings(tmp_path, "  let s = total + 0.5\n") == []  # only scores are held to the scale


def test_the_mean_of_three_scores_stays_on_the_scale(tmp_path):
    """(a+b+c)/3 over 0..100 is 0..100 exactly (300 / 3 divides exactly): no PW104."""
    head = HEAD + "  input a: decimal in 0..100\n  input b: decimal in 0..100\n"
    got, ck = run_pass(tmp_path, "  score s = (total + a + b) / 3\n", "warnings", head)
    assert got == [] and str(ck.policy.definition("s").range) == "0..100"


# ---- the properties pass ---------------------------------------------------------------
def props(tmp_path, body):
    return run_pass(tmp_path, body, "properties")


def test_properties_are_checked_on_one_subject(tmp_path):
    got, ck = props(tmp_path, '  let avg = mean(total) per dept\n  property "不超过平均": total <= avg\n')
    assert got == [("PD020", 2, "a property is checked on one subject; this depends on the cohort")] and ck.properties == []
    got, ck = props(tmp_path, '  property "在范围内": 0 <= total <= 100\n')
    assert got == [] and [(p.label, p.cohort) for p in ck.properties] == [("在范围内", False)]


def test_a_cohort_property_may_count_the_cohort_and_read_size(tmp_path):
    got, ck = props(tmp_path, GRADE + '  property cohort "优秀不多": count(grade == 优秀) <= size\n')
    assert got == [] and [(p.label, p.cohort) for p in ck.properties] == [("优秀不多", True)]
    got, _ = props(tmp_path, GRADE + '  property "优秀不多": count(grade == 优秀) <= size\n')
    assert [c for c, _, _ in got] == ["PD029"]  # not a cohort property: count(list, value)


def test_monotone_needs_a_numeric_value_and_input(tmp_path):
    got, ck = props(tmp_path, "  score s = total - late\n  monotone s decreasing in late\n")
    assert got == [] and ck.properties[0].monotone == ("s", False, "late")
    assert ck.properties[0].label == "s decreasing in late"
    got, ck = props(tmp_path, '  score s = total - late\n  property "迟到扣分": monotone s decreasing in late\n')
    assert got == [] and ck.properties[0].label == "迟到扣分"
    got, _ = props(tmp_path, GRADE + "  monotone grade increasing in total\n")
    assert got == [("PD002", 2, "`monotone` needs a numeric value; `grade` is not one")]
    got, _ = props(tmp_path, "  score s = total\n  monotone s increasing in dept\n")
    assert got == [("PD002", 2, "`monotone ... in` needs a numeric input; `dept` is not one")]


def test_property_flagged_reads_a_flag(tmp_path):
    got, ck = props(tmp_path, '  flag "高分" if total >= 90\n  property "高分不迟到": not flagged("高分") or late <= 5\n')
    assert got == [] and len(ck.properties) == 1


# ---- the declarations and definitions passes -------------------------------------------
def test_declare_reads_weights_maxima_and_scale(tmp_path):
    body = ('  scale 0..120\n  indicator q "质量" weight 60% { = total }\n  indicator r "效率" weight 40% { = total }\n'
            '  indicator c "成本" max 40 { = late * 8 }\n')
    got, ck = run_pass(tmp_path, body, "declare")
    assert got == []
    d = ck.decls
    assert (d.scale.lo, d.scale.hi) == (D(0), D(120))
    assert {n: w for n, (w, _) in d.weights.items()} == {"q": D("0.6"), "r": D("0.4")}
    assert d.maxima == {"c": D(40)}


def test_type_gives_each_definition_its_variant_and_stage_and_ranges_its_range(tmp_path):
    body = GRADE + '''  indicator att "出勤" max 20 { base 20  deduct 2 per late "迟到"  floor 0 }
  let avg = mean(total) per dept
  veto late > 4 -> 不合格 "屡次迟到"
'''
    got, ck = run_pass(tmp_path, body, "type")
    assert got == [] and ck.definitions == []  # typed, not yet bounded
    assert all(d.range == ANY for d in ck.typed)
    got, ck = run_pass(tmp_path, body, "ranges")
    assert got == []
    defs = {d.name: d for d in ck.definitions}
    assert [d.name for d in ck.typed] == list(defs)
    assert type(defs["att"]).__name__ == "IndicatorDef" and defs["att"].tiers is None and defs["att"].max == 20
    assert (defs["att"].range.lo, defs["att"].range.hi) == (D(10), D(20))
    assert ck.ranges.env.values["att"] == defs["att"].range
    assert type(defs["grade"]).__name__ == "TiersDef" and defs["grade"].expr is None
    assert [r.kind for r in defs["grade"].tiers.rules] == [RuleKind.VETO] and defs["grade"].tiers.rules[0].tier == 3
    assert defs["avg"].stage is Stage.COHORT and defs["grade"].stage is Stage.INDIVIDUAL
    assert ck.typer.stages["grade"] is Stage.POST  # what reads a tier waits for the final one


def test_maxima_are_checked_against_the_declared_scale(tmp_path):
    body = '''  scale 0..60
  indicator q "质量" max 20 { = total * 0.2 }
  indicator c "成本" max 40 { = late * 8 }
  score s = sum(q, c)
'''
    got, _ = run_pass(tmp_path, body, "type")
    assert got == []
    got, _ = run_pass(tmp_path, body.replace("0..60", "0..100"), "type")
    assert got == [("PW105", 4, "the indicators' maxima sum to 60, but the scale is 0..100")]
