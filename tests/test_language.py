"""Every example of LANGUAGE.md parses, checks and behaves as the contract says."""
from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

BUDGET = '''
# 预算工程师月度考核（百分制）
policy budget_engineer "预算工程师月度考核" {
  period monthly
  key employee_id                       # the column that identifies a subject

  input employee_id: text
  input rejections: int in 0..    "工程预算方案被驳回次数"
  input overdue: int in 0..       "方案逾期上交次数"
  input overrun: decimal in 0..   "预算费用超出计划的百分点"
  input papers: int in 0..        "国家权威期刊发表论文篇数"
  input major_accident: bool      "发生重大责任事故"

  indicator quality "工作质量" weight 40% {
    base 100
    deduct 5 per rejections "被驳回一次扣5分"
    clamp 0..100
  }
  indicator efficiency "工作效率" weight 20% {
    base 100
    deduct 3 per overdue "每逾期上交一次扣3分"
    clamp 0..100
  }
  indicator cost "工作成本" weight 20% {
    base 100
    deduct 1 per overrun "每超出计划1%扣1分"
    clamp 0..100
  }
  indicator ability "工作能力" weight 20% {
    base 80
    add 3 per papers "每发表一篇论文加3分"
    clamp 0..100
  }

  score total "月度考核总分" = weighted(quality, efficiency, cost, ability)

  tiers grade "等次" by total {
    优秀 >= 90
    良好 >= 80
    合格 >= 60
    不合格 otherwise
  }
  veto major_accident -> 不合格 "发生重大责任事故，一票否决"

  quota 优秀 at most 20% rank by total desc then employee_id asc

  example "零差错" {
    given employee_id = "e1", rejections = 0, overdue = 0, overrun = 0, papers = 0, major_accident = false
    expect quality = 100, ability = 80, total = 96, grade = 优秀
  }
  example "事故一票否决" {
    given employee_id = "e2", rejections = 0, overdue = 0, overrun = 0, papers = 7, major_accident = true
    expect total = 100, grade = 不合格
  }

  property "总分不超过100分": 0 <= total <= 100
  property "论文越多总分不降": monotone total increasing in papers
}
'''


def rec(**kw):
    base = dict(employee_id="x", rejections=0, overdue=0, overrun=0, papers=0, major_accident=False)
    base.update(kw)
    return base


def test_section2_checks_without_diagnostics(check):
    result = check(BUDGET)
    assert result.policy is not None, result.rendered
    assert result.diagnostics == []
    p = result.policy
    assert [d.name for d in p.definitions] == ["quality", "efficiency", "cost", "ability", "total", "grade"]
    assert p.definition("total").range.lo == D("16") and p.definition("total").range.hi == D("100")


def test_section2_examples_and_values(load):
    policy = load(BUDGET)
    r = policy.evaluate(rec(employee_id="e1"))
    assert (r.quality, r.ability, r.total, r.grade) == (D(100), D(80), D(96), "优秀")
    r = policy.evaluate(rec(rejections=2, overdue=1, overrun="2.5", papers=3))
    # 90·40% + 97·20% + 97.5·20% + 89·20% = 36 + 19.4 + 19.5 + 17.8 = 92.7
    assert r.total == D("92.7") and r.grade == "优秀"
    r = policy.evaluate(rec(papers=7, major_accident=True))
    assert r.total == D(100) and r.grade == "不合格"
    from perfdsl.examples import run_examples
    assert all(o.passed for o in run_examples(policy))


def test_boundary_90_is_excellent_exactly(load):
    policy = load(BUDGET)
    # quality 75 (5 rejections): 30 + 20 + 20 + 16 = 86; use overrun to land on exactly 90:
    r = policy.evaluate(rec(rejections=2, overdue=0, overrun=0, papers=0))
    # 90·0.4 + 100·0.2 + 100·0.2 + 80·0.2 = 36 + 20 + 20 + 16 = 92
    assert r.total == D(92)
    r = policy.evaluate(rec(rejections=2, overrun=10))
    # 36 + 20 + 18 + 16 = 90 exactly
    assert r.total == D(90) and r.grade == "优秀"
    r = policy.evaluate(rec(rejections=2, overrun="10.05"))
    # 36 + 20 + 17.99 + 16 = 89.99
    assert r.total == D("89.99") and r.grade == "良好"


def test_clamp_bites_and_is_explained(load):
    policy = load(BUDGET)
    r = policy.evaluate(rec(rejections=30, papers=10))
    assert r.quality == D(0) and r.ability == D(100)
    text = r.explain().splitlines()
    assert "  被驳回一次扣5分：5 × 30 = 150，100 − 150 = -50" in text
    assert "  限定 0～100：-50 调整为 0" in text
    assert "  每发表一篇论文加3分：3 × 10 = 30，80 + 30 = 110" in text and "  限定 0～100：110 调整为 100" in text


SECTION5 = '''
policy units {
  key id
  input id: text
  input total: decimal in 0..100
  input violation: bool
  input criticized: bool
  input corruption: bool
  input major_accident: bool
  tiers grade by total {  优秀 >= 90   良好 >= 80   达标 >= 70   诫勉 otherwise  }
  downgrade violation by 2 "违纪违法受到查处，降低二个等次"
  downgrade criticized by 1 "受到上级通报批评，降低一个等次"
  limit corruption -> at most 良好 "班子成员发生腐败案件，取消评先资格"
  veto major_accident -> 诫勉 "一票否决"
}
'''


@pytest.mark.parametrize("flags, total, tier", [
    ({}, 95, "优秀"),
    ({"violation": True}, 95, "达标"),                      # down two
    ({"violation": True, "criticized": True}, 95, "诫勉"),  # three steps, capped at the last tier
    ({"violation": True, "criticized": True}, 75, "诫勉"),
    ({"criticized": True}, 80, "达标"),
    ({"corruption": True}, 95, "良好"),                     # limit: at most 良好
    ({"corruption": True}, 72, "达标"),                     # a limit never promotes
    ({"corruption": True, "criticized": True}, 95, "良好"), # downgrade first (良好), then the limit
    ({"major_accident": True}, 100, "诫勉"),
    ({"major_accident": True, "corruption": True}, 100, "诫勉"),
])
def test_section5_order_of_rules(load, flags, total, tier):
    policy = load(SECTION5)
    record = dict(id="u", total=total, violation=False, criticized=False, corruption=False, major_accident=False)
    record.update(flags)
    assert policy.evaluate(record).grade == tier


def test_section5_explanation_lists_each_rule(load):
    policy = load(SECTION5)
    r = policy.evaluate(dict(id="u", total=95, violation=True, criticized=False, corruption=False, major_accident=True))
    # Chinese reasons make it a Chinese explanation (LANGUAGE.md §12.3): no English words.
    assert r.explain().splitlines() == [
        "units：id u",
        "grade = 诫勉",
        "  total 95 ≥ 90，按分数为优秀",
        "  降级：违纪违法受到查处，降低二个等次，由优秀降为达标",
        "  否决：一票否决，定为诫勉（原为达标）",
        "标记：无"]


ASCENDING = '''
policy ethics {
  input deducted: decimal in 0..
  input major_accident: bool
  tiers grade by deducted ascending { 合格 < 20  基本合格 < 30  不合格 otherwise }
  veto major_accident -> 不合格 "一票否决"
}
'''


@pytest.mark.parametrize("deducted, tier", [(0, "合格"), ("19.5", "合格"), (20, "基本合格"), (29, "基本合格"), (30, "不合格")])
def test_ascending_tiers(load, deducted, tier):
    assert load(ASCENDING).evaluate({"deducted": deducted, "major_accident": False}).grade == tier


NUMBERS = '''
policy numbers {
  input x: decimal
  let a = 0.1 + 0.2
  let b = a == 0.3
  let c = 100 / 3 * 3
  let d = round(2.5)
  let e = round(-0.125, 2)
  let f = round(2.5, 0, half_even)
  let g = floor(-1.5)
  let h = ceil(1.2)
  let i = round(x, 2)
  let j = 40%
  let k = 3 per 4
  let l = if x >= 0 then x else -x
  let m = 如果 x >= 0 则 1 否则 2
  let n = clamp(x, 0, 10)
  let o = min(x, 5, 7) + max(1, 2)
  let q = 0 <= x <= 10
  let r = abs(x)
  let s = ratio(x, 8)
}
'''


def test_section1_exact_numbers(load):
    r = load(NUMBERS).evaluate({"x": "2.675"})
    assert r.a == D("0.3") and r.b is True
    assert str(r.c) == "99.99999999999999999999999999"
    assert r.d == D(3) and r.e == D("-0.13") and r.f == D(2)
    assert r.g == D(-2) and r.h == D(2)
    assert r.i == D("2.68")  # half up on the exact decimal, not the float 2.67499…
    assert r.j == D("0.40") and r.k == D(12)
    assert r.l == D("2.675") and r.m == D(1) and r.n == D("2.675")
    assert r.o == D("4.675") and r.q is True and r.r == D("2.675")
    assert r.s == D("0.334375")
    assert load(NUMBERS).evaluate({"x": 9}).s == D(1)  # 达到及超过标准值的计满分


def test_inexact_division_feeding_threshold_warns(check):
    result = check('''
policy w {
  input a: decimal in 0..100
  score total = a / 3 * 3
  tiers grade by total { 优秀 >= 90  合格 otherwise }
}''')
    assert result.policy is not None
    assert "warning[PW106]: an inexact division feeds the thresholds of `grade` without `round`" in result.rendered
    rounded = check('''
policy w {
  input a: decimal in 0..100
  score total = round(a / 3 * 3, 2)
  tiers grade by total { 优秀 >= 90  合格 otherwise }
}''')
    assert "PW106" not in rounded.rendered


LISTS = '''
policy lists {
  key id
  input id: text
  input scores: list of decimal in 0..25 length 3..
  input history: list of grade
  input total: decimal in 0..100
  tiers grade by total { 优秀 >= 90  良好 >= 80  合格 >= 60  欠佳 otherwise }
  let tm = trimmed_mean(scores, 1)
  let avg = mean(scores)
  let n = len(scores)
  let s = sum(scores)
  let lo = min(scores)
  let bad_run = streak(history + [grade], 欠佳)
  let bad_count = count(history + [grade], 欠佳)
  flag "解除劳动合同" if streak(history + [grade], 欠佳) >= 2 or count(history + [grade], 欠佳) >= 3
}
'''


def test_lists_and_history_flags(load):
    policy = load(LISTS)
    r = policy.evaluate({"id": "a", "scores": ["20", "25", "10", "22"], "history": ["良好", "欠佳"], "total": 50})
    assert r.tm == D(21) and r.avg == D("19.25") and r.n == D(4) and r.s == D(77) and r.lo == D(10)
    assert r.bad_run == D(2) and r.bad_count == D(2) and r.flags == ["解除劳动合同"]
    r = policy.evaluate({"id": "a", "scores": "20;25;10", "history": "欠佳;良好;欠佳", "total": 85})
    assert r.tm == D(20) and r.bad_run == D(0) and r.bad_count == D(2) and r.flags == []
    r = policy.evaluate({"id": "a", "scores": [20, 25, 10], "history": ["欠佳", "良好", "欠佳"], "total": 10})
    assert r.bad_count == D(3) and r.flags == ["解除劳动合同"]


SECTION7 = '''
policy pay {
  key id
  input id: text
  input daily: decimal
  input monthly: decimal in 0..100
  input standard: decimal in 0..
  score final "最后得分" = monthly + daily
  outcome pay_change "绩效工资浮动" = (final - 100) * 1%
  outcome subsidy "补助" = if final >= 80 then standard else standard * final / 80
}
'''


@pytest.mark.parametrize("daily, monthly, final, pay", [(-5, 95, 90, "-0.10"), (10, 98, 108, "0.08")])
def test_section7_outcomes_seed_examples(load, daily, monthly, final, pay):
    r = load(SECTION7).evaluate({"id": "a", "daily": daily, "monthly": monthly, "standard": 8000})
    assert r.final == D(final) and r.pay_change == D(pay) and r.subsidy == D(8000)


def test_section7_subsidy_proportional(load):
    r = load(SECTION7).evaluate({"id": "a", "daily": 0, "monthly": 60, "standard": 8000})
    assert r.subsidy == D(6000)


TABLES = '''
policy t {
  input q1: decimal in 0..1
  table band(r) "满意率档次" { r >= 90%: 30  r >= 80%: 26  r >= 70%: 22  r >= 60%: 18  otherwise: 12 }
  def quarter(r) = 25% * band(r)
  let b = band(q1)
  let p = quarter(q1)
}
'''


@pytest.mark.parametrize("q, band", [("1", 30), ("0.9", 30), ("0.8999", 26), ("0.8", 26), ("0.7", 22), ("0.6", 18), ("0.5999", 12), ("0", 12)])
def test_table_first_row_wins(load, q, band):
    r = load(TABLES).evaluate({"q1": q})
    assert r.b == D(band) and r.p == D(band) * D("0.25")


CHINESE = '''
方案 预算 "预算工程师" {
  主键 工号
  输入 工号: text
  输入 驳回: int 于 0..
  输入 论文: int 于 0..
  输入 事故: bool
  指标 质量 "工作质量" 权重 60% { 基础分 100  扣 5 每 驳回 "驳回一次扣5分"  限定 0..100 }
  指标 能力 "工作能力" 权重 40% { 基础分 80  加 3 每 论文 "每篇加3分" 上限 9  封顶 100 }
  得分 总分 "总分" = weighted(质量, 能力)
  等次 等级 "等次" 按 总分 { 优秀 >= 90  合格 >= 60  不合格 其他 }
  否决 事故 -> 不合格 "一票否决"
  标记 "需谈话" 如果 等级 == 不合格 且 非 事故
  示例 "满分" { 已知 工号 = "a", 驳回 = 0, 论文 = 5, 事故 = 假  预期 能力 = 89, 总分 = 95.6, 等级 = 优秀 }
}
'''

ENGLISH = '''
policy budget "预算工程师" {
  key 工号
  input 工号: text
  input 驳回: int in 0..
  input 论文: int in 0..
  input 事故: bool
  indicator 质量 "工作质量" weight 60% { base 100  deduct 5 per 驳回 "驳回一次扣5分"  clamp 0..100 }
  indicator 能力 "工作能力" weight 40% { base 80  add 3 per 论文 "每篇加3分" up to 9  cap 100 }
  score 总分 "总分" = weighted(质量, 能力)
  tiers 等级 "等次" by 总分 { 优秀 >= 90  合格 >= 60  不合格 otherwise }
  veto 事故 -> 不合格 "一票否决"
  flag "需谈话" if 等级 == 不合格 and not 事故
}
'''


@pytest.mark.parametrize("record", [
    {"工号": "a", "驳回": 0, "论文": 5, "事故": False},
    {"工号": "b", "驳回": 9, "论文": 1, "事故": False},
    {"工号": "c", "驳回": 20, "论文": 0, "事故": False},
    {"工号": "d", "驳回": 0, "论文": 2, "事故": True},
])
def test_section9_chinese_keywords_mean_the_same(load, record):
    zh, en = load(CHINESE).evaluate(record), load(ENGLISH).evaluate(record)
    assert zh.values == en.values and zh.flags == en.flags


def test_section9_chinese_values(load):
    policy = load(CHINESE)
    r = policy.evaluate({"工号": "a", "驳回": 0, "论文": 5, "事故": False})
    assert r.能力 == D(89) and r.总分 == D("95.6") and r.等级 == "优秀"  # 3·5 = 15, up to 9
    r = policy.evaluate({"工号": "c", "驳回": 20, "论文": 0, "事故": False})
    # 0·60% + 80·40% = 32 → 不合格 → flag
    assert r.总分 == D(32) and r.flags == ["需谈话"]
    text = r.explain().splitlines()
    assert "  驳回一次扣5分：5 × 20 = 100，100 − 100 = 0" in text and "等次 = 不合格" in text
    assert "标记「需谈话」：是（等次 不合格 = 不合格 成立，且 事故 = 否）" in text


def test_keywords_are_reserved_only_where_expected(load):
    policy = load('''
policy k {
  input score: decimal in 0..100
  input tiers: int in 0..
  let 得分 = score + tiers
  tiers grade by 得分 { 合格 >= 60  不合格 otherwise }
}''')
    r = policy.evaluate({"score": 59, "tiers": 1})
    assert r.得分 == D(60) and r.grade == "合格"


def test_fullwidth_punctuation_and_escapes(load):
    policy = load('''
policy f {
  input a：decimal in 0..100  "标签\\"引号\\"\\\\反斜杠"
  let b = max（a，10）
  let c = 【1，2】
  tiers grade by b { 合格 >= 60  不合格 otherwise }
}''')
    r = policy.evaluate({"a": 70})
    assert r.b == D(70) and r.c == (D(1), D(2))
    assert policy.ir.inputs[0].label == '标签"引号"\\反斜杠'


def test_stdlib_modules_work_in_policies():
    from perfdsl.cli import main
    fixtures = Path(__file__).resolve().parent / "fixtures"
    assert main(["test", str(fixtures / "stdlib_bands.perf"), str(fixtures / "stdlib_warn.perf")]) == 0


def test_fast_path_explains_on_demand_exactly_as_a_traced_run(load):
    policy = load(BUDGET)
    for r in (rec(rejections=30, papers=10), rec(overrun="2.5", papers=3), rec(major_accident=True)):
        fast, traced = policy.evaluate(r, trace=False), policy.evaluate(r)
        assert fast.trace is None and fast.values == traced.values
        assert fast.explain() == traced.explain()
    cohort = policy.evaluate_cohort([rec(employee_id="a"), rec(employee_id="b")], trace=False)
    with pytest.raises(ValueError, match="trace=True"):
        cohort[0].explain()
