"""Tests for perfdsl.cohort: quotas, forced distribution, ties, ranks and group aggregates.

Every expected tier is worked out by hand in a comment (LANGUAGE.md §6), on policies
written here and run through the reference interpreter.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfdsl import cohort
from perfdsl.check import compile_file
from perfdsl.cohort import CohortError
from perfdsl.eval.interpret import Interpreter

D = Decimal

QUOTA_POLICY = """
policy quota_test "名额测试" {
  key id
  input id: text
  input dept: text
  input score: decimal in 0..100
  input vetoed: bool
  tiers grade "等次" by score {
    先进 >= 90
    良好 >= 80
    合格 >= 60
    不合格 otherwise
  }
  veto vetoed -> 良好 "一票否决"
  RULES
}
"""

DIST_POLICY = """
policy dist_test "分布测试" {
  key id
  input id: text
  input dept: text
  input score: decimal in 0..100
  input dept_rating: one of ("优秀", "良好", "合格", "欠佳")
  input minor: bool
  input severe: bool
  tiers grade "等次" by score {
    优秀 >= 90
    良好 >= 80
    合格 >= 60
    欠佳 otherwise
  }
  limit minor -> at most 合格 "违纪，至多合格"
  veto severe -> 欠佳 "一票否决"
  distribute per dept rank by score desc then id asc {
    优秀 10%..20%
    良好 40%..50%
    合格 25%..35%
    欠佳 5%..10%
    when dept_rating == "合格": 优秀 0..0, 良好 40%..70%
    when size < 5: 优秀 0..0, 良好 0.., 合格 0.., 欠佳 0..
    when size < 5 and dept_rating == "优秀": 优秀 0..1
    when size < 5 and dept_rating == "欠佳": 欠佳 1..
  }
}
"""

COUNT_POLICY = """
policy count_test {
  key id
  input id: text
  input dept: text
  input score: decimal in 0..100
  tiers grade by score { A >= 90  B >= 80  C >= 60  D otherwise }
  distribute per dept RANK { A 1..1  B 1..2  C 1..2  D 1..1 }
}
"""


# ---- helpers ---------------------------------------------------------------------------
def compile_policy(text: str):
    result = compile_file("cohort_test.perf", text)
    assert result.policy is not None, "\n".join(str(d) for d in result.diagnostics)
    return result.policy


def quota_policy(rules: str):
    return compile_policy(QUOTA_POLICY.replace("RULES", rules))


def run(policy, records):
    """Individual stage, then the cohort stage; results by key, and the warnings."""
    interp = Interpreter(policy)
    results = [interp.individual(rec) for rec in records]
    warnings = cohort.apply(policy, interp, results)
    return {r.key: r for r in results}, warnings


def staff(scores, dept="A", prefix="t", **extra):
    """Quota-policy records t1, t2, ... with the given scores."""
    return [dict(id=f"{prefix}{i}", dept=dept, score=D(str(s)), vetoed=False, **extra)
            for i, s in enumerate(scores, start=1)]


def dist_staff(scores, dept, prefix, rating="良好", minor=(), severe=()):
    """Distribute-policy records; `minor` and `severe` list the positions (1-based) flagged."""
    return [dict(id=f"{prefix}{i}", dept=dept, score=D(str(s)), dept_rating=rating,
                 minor=i in minor, severe=i in severe) for i, s in enumerate(scores, start=1)]


def grades(by_key, keys):
    return [by_key[k].grade for k in keys]


def line_of(policy_text: str, fragment: str) -> int:
    """The 1-based line of the source that contains `fragment`."""
    return next(i for i, line in enumerate(policy_text.splitlines(), start=1) if fragment in line)


def cohort_changes(result, kind):
    return [c for c in result.trace.tier("grade").changes if c.kind == kind]


def texts(result, *kinds):
    """The explanation lines of the given step kinds, in order."""
    return [s.text for s in result.explanation().steps if s.kind in kinds]


# ---- quotas ------------------------------------------------------------------------------
def test_seven_subjects_quarter_quota_two_keep_top_tier():
    # 7 × 25% = 1.75 → 2 (county_towns: 7个乡镇评出2个先进); the rest move down one tier.
    policy = quota_policy("quota 先进 at most 25% rank by score desc then id asc")
    by_key, warnings = run(policy, staff([99, 98, 97, 96, 95, 94, 93]))
    assert grades(by_key, ["t1", "t2"]) == ["先进", "先进"]
    assert grades(by_key, ["t3", "t4", "t5", "t6", "t7"]) == ["良好"] * 5
    assert by_key["t3"].tiers["grade"].index == 1
    assert by_key["t1"].tiers["grade"].index == 0
    assert warnings == []


def test_quota_trace_notes_rank_and_bound_for_every_subject():
    policy = quota_policy("quota 先进 at most 25% rank by score desc then id asc")
    line = line_of(QUOTA_POLICY, "RULES")
    by_key, _ = run(policy, staff([99, 98, 97, 96, 95, 94, 93]))
    moved = cohort_changes(by_key["t3"], "quota")
    assert len(moved) == 1
    assert (moved[0].before, moved[0].after, moved[0].reason, moved[0].line) == ("先进", "良好", None, line)
    decision = moved[0].detail
    assert (decision.rank, decision.outcome, decision.place) == (3, "moved", 3)
    group = decision.group
    assert (group.tier, group.next_tier, group.group.size, group.bound.hi, group.bound.hi_share) == ("先进", "良好", 7, 2, D("0.25"))
    assert (group.holders, group.pinned, group.kept, group.moved) == (7, 0, 2, 5)
    assert texts(by_key["t3"], "quota") == [
        "名额：全体 7 名中先进至多 2 名（7 × 25% = 1.75，四舍五入为 2）；按 score 降序、id 升序，本人第 3 名（共 7 名）；"
        "个人等次为先进的 7 名中可保留 2 名，本人排第 3 位，超出名额，由先进降为良好"]
    kept = cohort_changes(by_key["t2"], "quota")
    assert (kept[0].before, kept[0].after) == ("先进", "先进")
    assert (kept[0].detail.rank, kept[0].detail.outcome) == (2, "kept")
    assert texts(by_key["t2"], "quota")[0].endswith("本人第 2 名（共 7 名）；个人等次为先进的 7 名中可保留 2 名，本人排第 2 位，保留先进")
    assert list(by_key["t7"].cohort_notes) == [group]
    assert "第 3 名（共 7 名）" in by_key["t3"].explain()


def test_thirty_two_departments_keep_eight():
    # 32 × 25% = 8 exactly: the 8 best keep 先进, rank 9 is the first to move.
    policy = quota_policy("quota 先进 at most 25% rank by score desc then id asc")
    scores = [D(90) + D("0.25") * i for i in range(32)]  # t1 = 90 ... t32 = 97.75
    by_key, _ = run(policy, staff(scores))
    top = {k for k, r in by_key.items() if r.grade == "先进"}
    assert top == {f"t{i}" for i in range(25, 33)}
    assert texts(by_key["t24"], "quota") == [
        "名额：全体 32 名中先进至多 8 名（32 × 25% = 8）；按 score 降序、id 升序，本人第 9 名（共 32 名）；"
        "个人等次为先进的 32 名中可保留 8 名，本人排第 9 位，超出名额，由先进降为良好"]


@pytest.mark.parametrize("n, share, rounding, keep", [
    (7, "25%", "", 2),            # 1.75 → 2
    (32, "25%", "", 8),           # 8
    (5, "20%", "", 1),            # 1
    (5, "10%", "", 1),            # 0.5 → 1, half up
    (2, "20%", "", 0),            # 0.4 → 0: nobody keeps it
    (7, "25%", "rounding floor", 1),      # 1.75 → 1
    (5, "10%", "rounding half_even", 0),  # 0.5 → 0
    (5, "30%", "rounding ceil", 2),       # 1.5 → 2
])
def test_quota_head_count_rounding(n, share, rounding, keep):
    policy = quota_policy(f"quota 先进 at most {share} rank by score desc then id asc {rounding}")
    by_key, _ = run(policy, staff([99 - i for i in range(n)]))
    assert [r.grade for r in by_key.values()].count("先进") == keep
    assert all(by_key[f"t{i}"].grade == "先进" for i in range(1, keep + 1))


@pytest.mark.parametrize("order", ["top first", "second first"])
def test_quota_excess_cascades_into_next_tiers_quota(order):
    # 8 subjects: 5 先进 and 3 良好 by score. 先进 at most 25% → 2 keep (t1 t2), t3 t4 t5 move
    # to 良好, which now has 6 holders; 良好 at most 50% → 4 keep (t3..t6), t7 t8 → 合格.
    # Quotas run best tier first whatever order the policy writes them in.
    top = "quota 先进 at most 25% rank by score desc then id asc"
    second = "quota 良好 at most 50% rank by score desc then id asc"
    policy = quota_policy(f"{top}\n  {second}" if order == "top first" else f"{second}\n  {top}")
    by_key, _ = run(policy, staff([98, 96, 94, 92, 91, 88, 85, 82]))
    assert grades(by_key, [f"t{i}" for i in range(1, 9)]) == ["先进"] * 2 + ["良好"] * 4 + ["合格"] * 2
    t3 = [(c.before, c.after) for c in cohort_changes(by_key["t3"], "quota")]
    assert t3 == [("先进", "良好"), ("良好", "良好")]
    t7 = [(c.before, c.after) for c in cohort_changes(by_key["t7"], "quota")]
    assert t7 == [("良好", "良好"), ("良好", "合格")]


def test_quota_count_range_caps_at_upper_bound():
    # count 3..5 with 7 holders: the best 5 keep 先进.
    policy = quota_policy("quota 先进 count 3..5 rank by score desc then id asc")
    by_key, warnings = run(policy, staff([99, 98, 97, 96, 95, 94, 93]))
    assert grades(by_key, [f"t{i}" for i in range(1, 8)]) == ["先进"] * 5 + ["良好"] * 2
    assert warnings == []


def test_quota_lower_bound_never_promotes_and_warns():
    # count 3..5 with only 2 holders: nobody is promoted; the shortfall is a warning.
    policy = quota_policy("quota 先进 count 3..5 rank by score desc then id asc")
    by_key, warnings = run(policy, staff([99, 95, 89, 85, 70]))
    assert grades(by_key, ["t1", "t2", "t3", "t4", "t5"]) == ["先进", "先进", "良好", "良好", "合格"]
    assert warnings == ["全体人员：先进仅 2 人，不足名额下限 3 人（名额只降不升，不会补足）"]


def test_quota_per_group():
    # dept A: 4 × 25% = 1; dept B: 8 × 25% = 2. Each group keeps its own best.
    policy = quota_policy("quota 先进 at most 25% per dept rank by score desc then id asc")
    records = staff([91, 99, 95, 93], dept="A", prefix="a") + staff([90, 91, 92, 93, 94, 95, 96, 97], dept="B", prefix="b")
    by_key, _ = run(policy, records)
    assert {k for k, r in by_key.items() if r.grade == "先进"} == {"a2", "b8", "b7"}
    decision = cohort_changes(by_key["a3"], "quota")[0].detail
    assert (decision.group.group.fields, decision.group.group.values, decision.rank) == (("dept",), ("A",), 2)
    assert texts(by_key["a3"], "quota") == [
        "名额：A组 4 名中先进至多 1 名（4 × 25% = 1）；按 score 降序、id 升序，本人第 2 名（共 4 名）；"
        "个人等次为先进的 4 名中可保留 1 名，本人排第 2 位，超出名额，由先进降为良好"]


def test_quota_vetoed_subject_keeps_its_tier_and_counts():
    # v1 is vetoed into 良好 (pinned). 良好 count 0..2: v1 takes one place, so of the three
    # free 良好 holders only the best (t2, 88) keeps 良好; t3 and t4 move to 合格.
    policy = quota_policy("quota 良好 count 0..2 rank by score desc then id asc")
    records = [dict(id="v1", dept="A", score=D(99), vetoed=True)] + staff([70, 88, 85, 82])
    by_key, warnings = run(policy, records)
    assert grades(by_key, ["v1", "t2", "t3", "t4", "t1"]) == ["良好", "良好", "合格", "合格", "合格"]
    assert cohort_changes(by_key["v1"], "quota")[0].detail.outcome == "vetoed"
    assert texts(by_key["v1"], "quota") == ["名额：全体 5 名中良好 0～2 名；本人经否决定为良好，保留并占用名额"]
    assert texts(by_key["t3"], "quota") == [
        "名额：全体 5 名中良好 0～2 名；按 score 降序、id 升序，本人第 3 名（共 5 名）；个人等次为良好的 3 名中可保留 1 名"
        "（另有 1 名经否决定为良好，占用名额），本人排第 2 位，超出名额，由良好降为合格"]
    assert texts(by_key["t1"], "quota") == ["名额：全体 5 名中良好 0～2 名；本人为合格，不受此名额影响"]
    assert warnings == []


# ---- ties ----------------------------------------------------------------------------------
def test_tie_at_the_quota_cut_is_an_error_naming_both():
    # 7 × 25% = 2 places; t2 and t3 tie on the only rank key, on both sides of the cut.
    policy = quota_policy("quota 先进 at most 25% rank by score desc")
    with pytest.raises(CohortError) as err:
        run(policy, staff([99, 95, 95, 93, 92, 91, 90]))
    assert [p.message for p in err.value.problems] == [
        "全体人员：t2、t3 同分（score = 95），在先进名额至多 2 人（7 人的 25%，四舍五入）的分界处无法确定谁在名额之内："
        "其中 1 人可入选、1 人不能；请增加能区分他们的排序依据，或写 `ties share`"]


def test_tie_away_from_the_cut_is_fine():
    # t4 and t5 tie, but both move down: they land on the same side.
    policy = quota_policy("quota 先进 at most 25% rank by score desc")
    by_key, _ = run(policy, staff([99, 98, 95, 93, 93, 91, 90]))
    assert grades(by_key, ["t1", "t2", "t3", "t4", "t5"]) == ["先进", "先进", "良好", "良好", "良好"]


def test_ties_share_lets_all_tied_subjects_in():
    policy = quota_policy("quota 先进 at most 25% rank by score desc ties share")
    by_key, warnings = run(policy, staff([99, 95, 95, 93, 92, 91, 90]))
    assert grades(by_key, ["t1", "t2", "t3", "t4"]) == ["先进", "先进", "先进", "良好"]
    assert warnings == ["全体人员：先进 3 人，超出名额 2 人（并列者同享最后名次）"]


def test_every_problem_is_reported_not_just_the_first():
    policy = quota_policy("quota 先进 at most 25% per dept rank by score desc")
    records = (staff([99, 95, 95, 93, 92, 91, 90], dept="A", prefix="a")
               + staff([99, 98, 94, 94], dept="B", prefix="b"))  # 4 × 25% = 1: fine, tie below
    records += staff([97, 97, 92, 91], dept="C", prefix="c")     # 1 place, c1 c2 tie at it
    with pytest.raises(CohortError) as err:
        run(policy, records)
    problems = [p.message for p in err.value.problems]
    assert len(problems) == 2
    assert problems == [
        "A：a2、a3 同分（score = 95），在先进名额至多 2 人（7 人的 25%，四舍五入）的分界处无法确定谁在名额之内："
        "其中 1 人可入选、1 人不能；请增加能区分他们的排序依据，或写 `ties share`",
        "C：c1、c2 同分（score = 97），在先进名额至多 1 人（4 人的 25%，四舍五入）的分界处无法确定谁在名额之内："
        "其中 1 人可入选、1 人不能；请增加能区分他们的排序依据，或写 `ties share`"]
    assert str(err.value) == "\n".join(problems)
    assert all(p.row is None and p.field is None for p in err.value.problems)


# ---- distribute ----------------------------------------------------------------------------
def test_distribute_group_of_ten_demotes_to_fill_bounds():
    # n = 10: 优秀 1..2, 良好 4..5, 合格 2.5→3..3.5→4, 欠佳 0.5→1..1. Everyone is 优秀 by score.
    # 优秀: q=10, lo max(1, 10−10)=1, hi min(2, 10−8)=2 → 2.  良好: rem 8, max(4, 8−5)=4, min(5, 8−4)=4 → 4.
    # 合格: rem 4, max(3, 4−1)=3, min(4, 4−1)=3 → 3.  欠佳: the rest, 1.
    policy = compile_policy(DIST_POLICY)
    by_key, warnings = run(policy, dist_staff(range(99, 89, -1), "A", "x"))
    assert grades(by_key, [f"x{i}" for i in range(1, 11)]) == ["优秀"] * 2 + ["良好"] * 4 + ["合格"] * 3 + ["欠佳"]
    assert warnings == []
    change = cohort_changes(by_key["x10"], "distribute")
    assert (change[0].before, change[0].after, change[0].line) == ("优秀", "欠佳", line_of(DIST_POLICY, "distribute per"))
    decision = change[0].detail
    assert (decision.rank, decision.individual, decision.placed, decision.pinned) == (10, 0, 3, False)
    assert decision.tried == ((0, 10), (1, 8), (2, 4))  # its place among those left at each cut
    group = decision.group
    assert [(b.lo, b.hi) for b in group.bounds] == [(1, 2), (4, 5), (3, 4), (1, 1)]
    assert [(st.rem, st.q, st.lo, st.hi, st.k) for st in group.steps] == [(10, 10, 1, 2, 2), (8, 8, 4, 4, 4), (4, 4, 3, 3, 3)]
    assert group.counts == (2, 4, 3, 1)
    assert list(by_key["x1"].cohort_notes) == [group]
    assert texts(by_key["x10"], "distribute", "bounds", "cut", "placed") == [
        "强制分布：A组共 10 名，按 score 降序、id 升序，本人第 10 名（共 10 名），个人等次为优秀",
        "各等次人数（四舍五入）：优秀 1～2 名（10 名的 10%～20%）、良好 4～5 名（10 名的 40%～50%）、"
        "合格 3～4 名（10 名的 25%～35%）、欠佳 1 名（10 名的 5%～10%）",
        "优秀：剩余 10 名，个人等次达到优秀的 10 名，取 2 名（至少 1 名，至多 2 名）；本人在剩余人员中排第 10 位，未入选",
        "良好：剩余 8 名，个人等次达到良好的 8 名，取 4 名（至少 4 名，至多 4 名，须为后面的等次留出 4 名）；"
        "本人在剩余人员中排第 8 位，未入选",
        "合格：剩余 4 名，个人等次达到合格的 4 名，取 3 名（至少 3 名，至多 3 名，须为后面的等次留出 1 名）；"
        "本人在剩余人员中排第 4 位，未入选",
        "其余人员定为欠佳；由优秀调整为欠佳"]


def test_distribute_promotes_a_weak_group():
    # Everyone 合格 by score (79..70). 优秀: q=0 but lo 1 → y1. 良好: rem 9, max(4, 9−5)=4 → y2..y5.
    # 合格: rem 5, max(3, 5−1)=4, min(4, 5−1)=4 → y6..y9. 欠佳: y10.
    policy = compile_policy(DIST_POLICY)
    by_key, _ = run(policy, dist_staff(range(79, 69, -1), "A", "y"))
    assert grades(by_key, [f"y{i}" for i in range(1, 11)]) == ["优秀"] + ["良好"] * 4 + ["合格"] * 4 + ["欠佳"]


def test_distribute_small_groups_follow_when_lines_of_their_own_size():
    # d (4 people, 良好): `size < 5` → 优秀 0..0, rest 0..4 — individual tiers, no 优秀:
    #   优秀 takes 0; 良好 q=2 → d1 d2; 合格 q=1 → d3; 欠佳 d4.
    # e (3 people, 优秀): 优秀 0..1 — 优秀: q=2, hi min(1, 3−0)=1 → e1; 良好 q=1 → e2; 合格 e3.
    # f (3 people, 欠佳): 欠佳 1..3 — 良好: q=3, hi min(3, 3−1)=2 → f1 f2; 合格: rem 1,
    #   hi min(3, 1−1)=0 → none; 欠佳 f3 (良好 by score).
    policy = compile_policy(DIST_POLICY)
    records = (dist_staff([93, 85, 72, 58], "D", "d") + dist_staff([95, 91, 70], "E", "e", rating="优秀")
               + dist_staff([92, 85, 80], "F", "f", rating="欠佳"))
    by_key, warnings = run(policy, records)
    assert grades(by_key, ["d1", "d2", "d3", "d4"]) == ["良好", "良好", "合格", "欠佳"]
    assert grades(by_key, ["e1", "e2", "e3"]) == ["优秀", "良好", "合格"]
    assert grades(by_key, ["f1", "f2", "f3"]) == ["良好", "良好", "欠佳"]
    assert warnings == []
    when_line = line_of(DIST_POLICY, 'size < 5 and dept_rating == "欠佳"')
    assert by_key["f3"].cohort_notes[0].bounds[3].when_line == when_line
    assert texts(by_key["f3"], "when") == [
        "因本组人数 3 < 5 成立：优秀 0 名、良好 0～3 名、合格 0～3 名",
        "因本组人数 3 < 5 成立，且 dept_rating “欠佳” = “欠佳” 成立：欠佳 1～3 名"]
    assert texts(by_key["f3"], "cut")[2] == (
        "合格：剩余 1 名，个人等次达到合格的 1 名，取 0 名（至少 0 名，至多 0 名，须为后面的等次留出 1 名）；"
        "本人在剩余人员中排第 1 位，未入选")


def test_distribute_department_rated_qualified_has_no_excellent():
    # 合格-rated group of 10, all 优秀 by score: 优秀 0..0, 良好 4..7.
    # 良好: rem 10, max(4, 10−5)=5, min(7, 10−4)=6 → 6. 合格: rem 4, max(3, 3)=3, min(4, 3)=3 → 3. 欠佳: 1.
    policy = compile_policy(DIST_POLICY)
    by_key, _ = run(policy, dist_staff(range(99, 89, -1), "Q", "q", rating="合格"))
    assert grades(by_key, [f"q{i}" for i in range(1, 11)]) == ["良好"] * 6 + ["合格"] * 3 + ["欠佳"]


def test_distribute_pins_vetoed_and_respects_limits():
    # s9 (99) is vetoed: pinned in 欠佳, so the 9 free see 欠佳 0..0. s1 (98) is limited: at most 合格.
    # 优秀: q=3 (s2 s3 s4), max(1, 9−9)=1, min(2, 9−7)=2 → 2 among those allowed: s2 s3.
    # 良好: rem 7, q=3, max(4, 7−4)=4, min(5, 7−3)=4 → s4 s5 s6 s7 (s1 not allowed; s7 promoted).
    # 合格: rem 3 (s1 s8 s10) → all. 欠佳: s9 only.
    policy = compile_policy(DIST_POLICY)
    records = dist_staff([98, 96, 94, 91, 86, 84, 79, 72, 99, 64], "G", "s", minor={1}, severe={9})
    by_key, warnings = run(policy, records)
    assert grades(by_key, [f"s{i}" for i in range(1, 11)]) == [
        "合格", "优秀", "优秀", "良好", "良好", "良好", "良好", "合格", "欠佳", "合格"]
    assert warnings == []
    assert cohort_changes(by_key["s9"], "distribute")[0].detail.pinned
    assert texts(by_key["s9"], "veto", "pinned", "cut") == [
        "否决：一票否决，定为欠佳（原为优秀）", "经否决的先定等次（欠佳 1 名），本人经否决定为欠佳，不参与分布"]
    # s1 is limited: at most 合格 keeps it out of the 优秀 and 良好 cuts; s7 (79) is promoted.
    assert texts(by_key["s1"], "limit", "cut", "placed") == [
        "限制：违纪，至多合格，至多合格，由优秀降为合格",
        "优秀：剩余 9 名，个人等次达到优秀的 3 名，取 2 名（至少 1 名，至多 2 名）；本人至多合格，不参加优秀的评定",
        "良好：剩余 7 名，个人等次达到良好的 3 名，取 4 名（至少 4 名，至多 4 名，须为后面的等次留出 3 名）；本人至多合格，不参加良好的评定",
        "合格：剩余 3 名，个人等次达到合格的 3 名，取 3 名（至少 3 名，至多 3 名）；本人在剩余人员中排第 1 位，评为合格",
        "最终为合格，与个人等次相同"]
    assert texts(by_key["s7"], "cut", "placed")[1:] == [
        "良好：剩余 7 名，个人等次达到良好的 3 名，取 4 名（至少 4 名，至多 4 名，须为后面的等次留出 3 名）；"
        "本人在可评良好的 6 名中排第 4 位，评为良好",
        "由合格调整为良好"]


def test_distribute_too_few_allowed_is_a_warning_and_limits_hold():
    # n = 5: 优秀 1..1, 良好 2..3, 合格 1..2, 欠佳 0..1. h2..h5 are limited to 合格.
    # 优秀: h1. 良好: k = max(2, 4−3) = 2 but nobody may receive it (warning).
    # 合格: rem 4, clamp(4, max(1, 4−1)=3, min(2, 4)=2): the lower end wins → 3 (h2 h3 h4).
    # 欠佳: h5.
    policy = compile_policy(DIST_POLICY)
    by_key, warnings = run(policy, dist_staff([95, 94, 93, 92, 91], "H", "h", minor={2, 3, 4, 5}))
    assert grades(by_key, ["h1", "h2", "h3", "h4", "h5"]) == ["优秀", "合格", "合格", "合格", "欠佳"]
    assert warnings == [
        "H：良好应再取 2 人，但剩余人员中只有 0 人可评良好（其他人受降级或等次上限所限）",
        "H：良好 0 人，低于下限 2 人",
        "H：合格 3 人，超出上限 2 人",
    ]


def test_vetoed_beyond_a_tiers_maximum_is_a_warning():
    # Two vetoed in 欠佳 (hi 1) of 10: both stay 欠佳; the free 8 fill the rest.
    policy = compile_policy(DIST_POLICY)
    by_key, warnings = run(policy, dist_staff(range(99, 89, -1), "V", "v", severe={1, 2}))
    assert grades(by_key, ["v1", "v2"]) == ["欠佳", "欠佳"]
    assert "V：欠佳 2 人（其中 2 人经否决定等次），超出上限 1 人" in warnings


def test_infeasible_groups_are_errors_with_their_numbers():
    # Bounds A 1..1, B 1..2, C 1..2, D 1..1: minimums sum to 4, maximums to 6.
    # X (3 people): 4 > 3. Y (7 people): 6 < 7. Z (5 people) is fine. Both errors at once.
    policy = compile_policy(COUNT_POLICY.replace("RANK", "rank by score desc then id asc"))
    records = [dict(id=f"{d}{i}", dept=d, score=D(95 - i)) for d, n in (("X", 3), ("Y", 7), ("Z", 5)) for i in range(n)]
    with pytest.raises(CohortError) as err:
        run(policy, records)
    assert [p.message for p in err.value.problems] == [
        "group dept=X: cannot distribute 3 subjects: the tiers' minimums sum to 4 and their maximums to 6, "
        "so no placement fits (A 1..1, B 1..2, C 1..2, D 1..1)",
        "group dept=Y: cannot distribute 7 subjects: the tiers' minimums sum to 4 and their maximums to 6, "
        "so no placement fits (A 1..1, B 1..2, C 1..2, D 1..1)",
    ]


def test_infeasible_group_is_left_unplaced():
    policy = compile_policy(COUNT_POLICY.replace("RANK", "rank by score desc then id asc"))
    interp = Interpreter(policy)
    results = [interp.individual(dict(id=f"x{i}", dept="X", score=D(95))) for i in range(3)]
    with pytest.raises(CohortError):
        cohort.apply(policy, interp, results)
    assert [r.grade for r in results] == ["A", "A", "A"]
    assert all(not cohort_changes(r, "distribute") for r in results)


def test_when_field_varying_within_a_group_is_an_error():
    policy = compile_policy(DIST_POLICY)
    records = dist_staff([95, 90, 85, 80], "W", "w")
    records[3]["dept_rating"] = "欠佳"
    with pytest.raises(CohortError) as err:
        run(policy, records)
    assert [p.message for p in err.value.problems] == [
        "W：`dept_rating` 须全组一致（强制分布的 `when` 要读取它），但各人取值不同：良好（w1、w2、w3）；欠佳（w4）"]


def test_tie_at_a_distribution_cut_is_an_error():
    # A takes 1 (lo 1, hi 1), but k1 and k2 tie at 95 on the only rank key.
    policy = compile_policy(COUNT_POLICY.replace("RANK", "rank by score desc"))
    with pytest.raises(CohortError) as err:
        run(policy, [dict(id=f"k{i}", dept="K", score=D(s)) for i, s in enumerate([95, 95, 85, 75, 50], start=1)])
    assert [p.message for p in err.value.problems] == [
        "group dept=K: k1, k2 tie (score = 95) at the cut of distribute A (takes 1): 1 of them would get in "
        "and 1 would not; add a rank key that separates them, or write `ties share`"]


def test_ties_share_in_distribute():
    # With `ties share` both take A. B: rem 3, q=1, max(1, 3−3)=1, min(2, 3−2)=1 → k3.
    # C: rem 2, max(1, 2−1)=1, min(2, 2−1)=1 → k4. D: k5. A holds 2 > 1: a warning.
    policy = compile_policy(COUNT_POLICY.replace("RANK", "rank by score desc ties share"))
    by_key, warnings = run(policy, [dict(id=f"k{i}", dept="K", score=D(s)) for i, s in enumerate([95, 95, 85, 75, 50], start=1)])
    assert grades(by_key, ["k1", "k2", "k3", "k4", "k5"]) == ["A", "A", "B", "C", "D"]
    assert warnings == ["group dept=K: A holds 2, above its maximum 1"]


# ---- ranks and group aggregates --------------------------------------------------------------
RANK_POLICY = """
policy rank_test "排名测试" {
  key id
  rank by score desc then id asc per dept
  input id: text
  input dept: text
  input score: decimal in 0..100
  tiers grade "等次" by score {
    先进 >= 90
    良好 >= 80
    合格 otherwise
  }
  quota 先进 at most 25% rank by score desc then id asc
  outcome bonus = if grade == 先进 then 1000 else 0
  outcome place = rank(score)
  outcome gap = score - mean(score) per dept
  outcome top_in_dept = count(grade == 先进) per dept
  outcome dept_total = sum(score) per dept
  outcome dept_low = min(score) per dept
  outcome dept_high = max(score) per dept
  flag "部门第一" if rank(score) == 1
  flag "部门末位" if rank_from_bottom(score) <= 1
}
"""


def test_ranks_aggregates_and_post_values_see_final_tiers():
    # Whole-cohort quota: 7 × 25% = 2 → a1 (98) and b1 (97) keep 先进; a2 a3 b2 → 良好.
    # Dept A: 98 95 91 (mean 284/3); dept B: 97 92 80 70 (mean 339/4 = 84.75).
    policy = compile_policy(RANK_POLICY)
    records = ([dict(id=f"a{i}", dept="A", score=D(s)) for i, s in enumerate([98, 95, 91], start=1)]
               + [dict(id=f"b{i}", dept="B", score=D(s)) for i, s in enumerate([97, 92, 80, 70], start=1)])
    by_key, _ = run(policy, records)
    assert [by_key[k].grade for k in ("a1", "a2", "a3", "b1", "b2")] == ["先进", "良好", "良好", "先进", "良好"]
    assert by_key["a2"].bonus == 0 and by_key["a1"].bonus == 1000  # post: recomputed from the final tier
    assert [by_key[k].place for k in ("b1", "b2", "b3", "b4")] == [1, 2, 3, 4]
    assert by_key["b1"].gap == D("12.25")
    assert by_key["a1"].gap == D("3.33333333333333333333333333")  # 98 − 94.66666666666666666666666667
    assert by_key["a3"].top_in_dept == 1 and by_key["b4"].top_in_dept == 1
    assert (by_key["b2"].dept_total, by_key["b2"].dept_low, by_key["b2"].dept_high) == (339, 70, 97)
    assert by_key["a1"].flags == ["部门第一"] and by_key["a3"].flags == ["部门末位"]
    assert by_key["b1"].flags == ["部门第一"] and by_key["b4"].flags == ["部门末位"]
    assert by_key["b2"].flags == []


def test_equal_keys_share_the_smaller_rank():
    # Competition ranking: 90, 85, 85, 70 → 1, 2, 2, 4; from the bottom n + 1 − rank → 4, 3, 3, 1.
    policy = compile_policy("""
policy tied_ranks {
  key id
  rank by score desc
  input id: text
  input score: decimal in 0..100
  outcome place = rank(score)
  outcome from_bottom = rank_from_bottom(score)
}
""")
    by_key, _ = run(policy, [dict(id=f"r{i}", score=D(s)) for i, s in enumerate([90, 85, 85, 70], start=1)])
    assert [by_key[f"r{i}"].place for i in range(1, 5)] == [1, 2, 2, 4]
    assert [by_key[f"r{i}"].from_bottom for i in range(1, 5)] == [4, 3, 3, 1]


# ---- the seed policy's own cohort examples -----------------------------------------------------
BRANCH = Path(__file__).resolve().parent.parent / "policies" / "branch_employees.perf"


@pytest.mark.skipif(not BRANCH.exists(), reason="policies/branch_employees.perf not written yet")
def test_branch_employees_cohort_examples():
    result = compile_file(BRANCH)
    assert result.policy is not None, "\n".join(str(d) for d in result.diagnostics)
    policy, interp = result.policy, Interpreter(result.policy)
    examples = [ex for ex in policy.examples if ex.cohort]
    assert examples
    for ex in examples:
        by_key, _ = run(policy, [rec for _, rec in ex.records])
        for e in ex.expects:
            if e.cond is not None:
                got = sum(1 for r in by_key.values() if interp.eval(e.cond, {**r.record, **r.values}, None))
            else:
                r = by_key[e.subject]
                got = r.flags if e.name == "flags" else r.values[e.name]
            assert (list(got) if e.name == "flags" else got) == (list(e.value) if e.name == "flags" else e.value), \
                f"{ex.label}: {e.name} of {e.subject}"


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from("abc")), max_size=30), st.booleans(), st.booleans())
def test_ranked_orders_as_compare_and_keeps_input_order_for_ties(rows, first_down, second_down):
    """lower.ranking.ranked (one key sort per key) orders exactly as its comparison `compare`,
    tied subjects in input order, whichever way each key runs."""
    from functools import cmp_to_key
    from types import SimpleNamespace

    from perfdsl.lower import core as c
    from perfdsl.lower.ranking import compare, ranked
    ranking = c.Ranking((c.RankKey("x", first_down, False), c.RankKey("y", second_down, False)),
                        c.Partition(None), c.TieRule.ERROR)
    members = [SimpleNamespace(values={"x": x, "y": y}, record={}, tiers={}) for x, y in rows]
    expected = sorted(members, key=cmp_to_key(lambda a, b: compare(ranking, a, b)))
    assert [id(m) for m in ranked(ranking, members)] == [id(m) for m in expected]
