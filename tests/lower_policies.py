"""Policies for tests/test_lower.py and tests/test_lower_polars.py whose cohort rules rank
by a score alone, so copies of a subject tie at the cuts (every bundled policy breaks
ties by its key), with `when` lines, vetoes, limits and downgrades upsetting the bounds."""

TIED_DISTRIBUTE = """
policy tied_distribute "并列分布" {
  key id
  input id: text
  input dept: one of ("甲", "乙")
  input score: decimal in 0..100
  input rating: one of ("好", "中", "差")
  input minor: bool
  input severe: bool
  input late: bool
  tiers grade by score { 优秀 >= 90  良好 >= 80  合格 >= 60  欠佳 otherwise }
  downgrade late by 1 "迟交，降一档"
  limit minor -> at most 合格 "违纪，至多合格"
  veto severe -> 欠佳 "一票否决"
  distribute per dept rank by score desc TIES {
    优秀 10%..20%
    良好 30%..50%
    合格 20%..40%
    欠佳 0%..20%
    when rating == "差": 优秀 0..0, 良好 20%..60%
    when size < 4: 优秀 0..1, 良好 0.., 合格 0.., 欠佳 0..
  }
  outcome bonus = if grade == 优秀 then score * 3 / 7 else score / 4
  flag "末位" if rank_from_bottom(score) <= 1
  flag "高于部门平均" if score > mean(score) per dept
}
"""

TIED_QUOTA = """
policy tied_quota "并列名额" {
  key id
  input id: text
  input dept: one of ("甲", "乙")
  input score: decimal in 0..100
  input severe: bool
  tiers grade by score { 先进 >= 90  良好 >= 80  合格 >= 60  不合格 otherwise }
  veto severe -> 良好 "一票否决"
  quota 先进 at most 25% per dept rank by score desc TIES
  quota 良好 count 1..3 per dept rank by score desc TIES
}
"""


TIGHT = """
policy tight "名额刚好" {
  key id
  input id: text
  input dept: text
  input score: decimal in 0..100
  tiers grade by score { A >= 90  B >= 80  C otherwise }
  distribute per dept rank by score desc then id asc { A 2..2  B 40%..40%  C 1..1 }
}
"""


def tied(text: str, share: bool) -> str:
    return text.replace("TIES", "ties share" if share else "")


TIED = {f"{name}{'_share' if share else ''}": tied(text, share)
        for name, text in (("tied_distribute", TIED_DISTRIBUTE), ("tied_quota", TIED_QUOTA)) for share in (False, True)}
