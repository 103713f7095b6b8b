"""The cohort stage's warnings and problems speak the policy's language
(perfdsl.language.policy_language, carried by the core Program): a policy with Chinese
labels hears them in Chinese, word for word the same on every backend (the reference, the
generated Python, the columnar backend); an English policy keeps its English text."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from perfdsl.verify.agreement import BACKENDS, REFERENCE
from test_cohort import COUNT_POLICY, DIST_POLICY, QUOTA_POLICY, compile_policy, dist_staff, staff

RUNNERS = {"reference": REFERENCE, **{name: BACKENDS[name] for name in ("python", "columnar")}}
ZH_COUNT_POLICY = COUNT_POLICY.replace("policy count_test {", 'policy count_test "计数测试" {')
TIE_ADVICE = "请增加能区分他们的排序依据，或写 `ties share`"


@pytest.fixture(params=sorted(RUNNERS))
def outcome(request):
    """outcome(policy text, records) on one backend: (rows, warnings) or ("error", text)."""
    return lambda text, records: RUNNERS[request.param](compile_policy(text))(records)


def warnings_of(result) -> list[str]:
    assert result[0] != "error", result
    return result[1]


def quota(rules: str, veto_to: str = "良好") -> str:
    return QUOTA_POLICY.replace("veto vetoed -> 良好", f"veto vetoed -> {veto_to}").replace("RULES", rules)


def test_a_quota_overflowing_by_ties_warns_in_chinese(outcome):
    text = quota("quota 先进 at most 25% per dept rank by score desc ties share")
    result = outcome(text, staff([99, 95, 95, 93, 92, 91, 90], dept="审计部"))
    assert warnings_of(result) == ["审计部：先进 3 人，超出名额 2 人（并列者同享最后名次）"]


def test_a_quota_overflowing_by_vetoed_subjects_warns_in_chinese(outcome):
    text = quota("quota 先进 count 0..1 per dept rank by score desc then id asc", veto_to="先进")
    records = staff([70, 65, 99, 80], dept="审计部")
    records[0]["vetoed"] = records[1]["vetoed"] = True
    assert warnings_of(outcome(text, records)) == ["审计部：先进 2 人，超出名额 1 人（经否决定等次者保留其等次）"]


def test_a_quota_shortfall_warns_in_chinese(outcome):
    text = quota("quota 先进 count 3..5 per dept rank by score desc then id asc")
    result = outcome(text, staff([99, 95, 89, 85, 70], dept="审计部"))
    assert warnings_of(result) == ["审计部：先进仅 2 人，不足名额下限 3 人（名额只降不升，不会补足）"]


def test_a_distribute_shortfall_warns_in_chinese(outcome):
    result = outcome(DIST_POLICY, dist_staff([95, 94, 93, 92, 91], "研发部", "h", minor={2, 3, 4, 5}))
    assert warnings_of(result) == [
        "研发部：良好应再取 2 人，但剩余人员中只有 0 人可评良好（其他人受降级或等次上限所限）",
        "研发部：良好 0 人，低于下限 2 人",
        "研发部：合格 3 人，超出上限 2 人",
    ]


def test_an_infeasible_group_is_an_error_in_chinese(outcome):
    text = ZH_COUNT_POLICY.replace("RANK", "rank by score desc then id asc")
    records = [dict(id=f"{d}{i}", dept=d, score=D(95 - i)) for d, n in (("销售部", 3), ("财务部", 5)) for i in range(n)]
    assert outcome(text, records) == ("error", "销售部：3 人无法分布：各等次下限合计 4 人，上限合计 6 人，"
                                               "怎样分布都不符合（A 1 人；B 1～2 人；C 1～2 人；D 1 人）")


def test_a_tie_at_a_quota_cut_is_an_error_in_chinese(outcome):
    result = outcome(quota("quota 先进 at most 25% rank by score desc"), staff([99, 95, 95, 93, 92, 91, 90]))
    assert result == ("error", "全体人员：t2、t3 同分（score = 95），在先进名额至多 2 人（7 人的 25%，四舍五入）的分界处"
                               f"无法确定谁在名额之内：其中 1 人可入选、1 人不能；{TIE_ADVICE}")


def test_a_tie_at_a_distribution_cut_is_an_error_in_chinese(outcome):
    text = ZH_COUNT_POLICY.replace("RANK", "rank by score desc")
    records = [dict(id=f"k{i}", dept="审计部", score=D(s)) for i, s in enumerate([95, 95, 85, 75, 50], start=1)]
    assert outcome(text, records) == ("error", "审计部：k1、k2 同分（score = 95），在强制分布中A应取 1 人的分界处"
                                               f"无法确定谁在名额之内：其中 1 人可入选、1 人不能；{TIE_ADVICE}")


def test_an_english_policy_keeps_its_english_messages(outcome):
    text = COUNT_POLICY.replace("RANK", "rank by score desc")
    records = [dict(id=f"k{i}", dept="K", score=D(s)) for i, s in enumerate([95, 95, 85, 75, 50], start=1)]
    assert outcome(text, records) == ("error", "group dept=K: k1, k2 tie (score = 95) at the cut of distribute A (takes 1): "
                                               "1 of them would get in and 1 would not; add a rank key that separates "
                                               "them, or write `ties share`")
    text = COUNT_POLICY.replace("RANK", "rank by score desc ties share")
    assert warnings_of(outcome(text, records)) == ["group dept=K: A holds 2, above its maximum 1"]
