"""Explanations (LANGUAGE.md §12.3): every value, every tier step and every cohort decision,
in the policy's language, as text and as versioned JSON.

The expected lines are the seeds' worked examples, checked by hand in the comments (the
policies' own example comments give the same numbers).
"""
from __future__ import annotations

import json
import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from perfdsl import load
from perfdsl.cli import main
from perfdsl.explain import VERSION, dumps, language

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
BUDGET = str(POLICIES / "budget_engineer.perf")
BUDGET_DATA = str(POLICIES / "data" / "budget_engineer.csv")


def cohort_example(policy, fragment: str):
    ex = next(e for e in policy.ir.examples if e.cohort and fragment in e.label)
    return {r.key: r for r in policy.evaluate_cohort([rec for _, rec in ex.records], validate=False)}


def lines(result, *kinds):
    return [s.text for s in result.explanation().steps if s.kind in kinds]


# ---- budget_engineer: a run of the bundled data ------------------------------------------------
def test_budget_engineer_e10_reads_like_the_scheme(capsys):
    # e10: 1 rejection, 0 overdue, overrun 2.5, 1 paper. quality 100 − 5 = 95, cost 97.5,
    # ability 103; 95×40% + 100×20% + 97.5×20% + 103×20% = 38 + 20 + 19.5 + 20.6 = 98.1 → 优秀.
    # Holders of 优秀 by total: e09 103, e01 100, e10 98.1, e02 90, e03 90; 20% × 10 = 2 keep it.
    assert main(["explain", BUDGET, "--input", BUDGET_DATA, "--id", "e10"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "预算工程师月度考核：工号 e10",
        "工作质量 = 95（权重 40%）",
        "  基础分 100",
        "  工程预算方案被驳回一次扣5分：5 × 1 = 5，100 − 5 = 95",
        "工作效率 = 100（权重 20%）",
        "  基础分 100",
        "工作成本 = 97.5（权重 20%）",
        "  基础分 100",
        "  预算费用每超出计划的1%则加扣1分：1 × 2.5 = 2.5，100 − 2.5 = 97.5",
        "工作能力 = 103（权重 20%）",
        "  基础分 100",
        "  在国家权威期刊上每发表一篇论文加3分：3 × 1 = 3，100 + 3 = 103",
        "月度考核总分 = 98.1",
        "  工作质量 40% × 95 = 38",
        "  工作效率 20% × 100 = 20",
        "  工作成本 20% × 97.5 = 19.5",
        "  工作能力 20% × 103 = 20.6",
        "  合计 38 + 20 + 19.5 + 20.6 = 98.1",
        "等次 = 良好",
        "  月度考核总分 98.1 ≥ 90，按分数为优秀",
        "  名额：全体 10 名中优秀至多 2 名（10 × 20% = 2）；按月度考核总分降序、工号升序，本人第 3 名（共 10 名）；"
        "个人等次为优秀的 5 名中可保留 2 名，本人排第 3 位，超出名额，由优秀降为良好",
        "标记：无",
    ]


def test_floor_and_a_subject_the_quota_does_not_touch(capsys):
    # e06: 25 rejections: 100 − 125 = −25, floored at 0; 0 + 20 + 20 + 20 = 60 → 合格.
    assert main(["explain", BUDGET, "--input", BUDGET_DATA, "--id", "e06"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:5] == ["工作质量 = 0（权重 40%）", "  基础分 100",
                        "  工程预算方案被驳回一次扣5分：5 × 25 = 125，100 − 125 = -25", "  保底 0：-25 调整为 0"]
    assert out[-4:] == ["等次 = 合格", "  月度考核总分 60 ≥ 60，按分数为合格",
                        "  名额：全体 10 名中优秀至多 2 名（10 × 20% = 2）；本人为合格，不受此名额影响", "标记：无"]


# ---- county_departments: tables, imported lets, limits, the 25% quota --------------------------
def test_county_department_moved_by_the_quota():
    by_key = cohort_example(load(POLICIES / "county_departments.perf"), "32个部门")
    # 供销总社: 指标 60 × 0.95 = 57; 公众 25% × (30 + 30 + 30 + 22) = 28; 领导 9; 减分 0.5 → 93.5.
    # 13 units hold 先进 on their own; 32 × 25% = 8 places; it is 13th of 32 and 10th of the 13.
    text = by_key["供销总社"].explain().splitlines()
    assert "  中期指标完成率（实际完成 ÷ 下达指标） 50% × min(1, 1) = 0.5" in text
    assert "  因损害发展环境问题受到投诉举报并查实，扣0.5分：0.5 × 1 = 0.5，0 + 0.5 = 0.5" in text
    assert text[text.index("b4 = 22") + 1] == "  第四季度公众满意率 0.79 ≥ 70% 成立，取 22"
    assert text[text.index("指标评估 = 57（满分 60）") + 1] == "  60 × index_completion 0.95 = 57"
    assert text[text.index("公众评估 = 28（满分 30）") + 1] == "  25% × (b1 30 + b2 30 + b3 30 + b4 22) = 28"
    assert text[text.index("综合得分 = 93.5") + 1] == (
        "  指标评估 57 + 公众评估 28 + 领导评估 9 + 加分 0 − 减分 0.5 = 93.5")
    assert text[-4:] == [
        "评估档次 = 合格",
        "  综合得分 93.5 ≥ 90，按分数为先进",
        "  名额：全体 32 名中先进至多 8 名（32 × 25% = 8）；按综合得分降序、被考核单位升序，本人第 13 名（共 32 名）；"
        "个人等次为先进的 13 名中可保留 8 名，本人排第 10 位，超出名额，由先进降为合格",
        "标记：无"]
    # 公安局 90.3: 特大安全事故 → at most 合格, so it never competes for a place.
    assert lines(by_key["公安局"], "band", "limit", "quota") == [
        "综合得分 90.3 ≥ 90，按分数为先进",
        "限制：发生特大生产安全事故，取消评先资格，至多合格，由先进降为合格",
        "名额：全体 32 名中先进至多 8 名（32 × 25% = 8）；本人为合格，不受此名额影响"]


def test_a_capped_penalty_shows_each_line_then_the_cap():
    policy = load(POLICIES / "county_departments.perf")
    ex = next(e for e in policy.ir.examples if "最低分" in e.label)
    r = policy.evaluate(ex.records[0][1], validate=False)
    # 减分 1×3 + 1×2 = 5 → 4 (累计不超过4分)
    text = r.explain().splitlines()
    i = text.index("减分 = 4（满分 4）")
    assert text[i:i + 5] == ["减分 = 4（满分 4）", "  基础分 0", "  受到市通报批评，扣1分：1 × 3 = 3，0 + 3 = 3",
                             "  班子成员受到党政纪处分，扣1分：1 × 2 = 2，3 + 2 = 5", "  封顶 4：5 调整为 4"]


# ---- branch_employees: forced distribution, step by step -----------------------------------------
def test_distribution_of_a_department_rated_qualified_with_four_vetoed():
    # The policy's example: 10 people, department rated 合格 → 优秀 0..0, 良好 40%..70% = 4..7;
    # 合格 25%..35% = 2.5→3..3.5→4; 欠佳 5%..10% = 0.5→1..1. V1–V4 are vetoed into 欠佳 first;
    # the other six: 优秀 takes 0; 良好: lower bound 4 beats upper min(7, 6 − 3) = 3 → X1..X4;
    # 合格: the last two, X5 X6 (X6, 55, is promoted).
    by_key = cohort_example(load(POLICIES / "branch_employees.perf"), "4人一票否决")
    common = [
        "因部门年度绩效（三级经理一组为分公司年度绩效） “合格” = “合格” 成立：优秀 0 名、良好 4～7 名（10 名的 40%～70%）",
        "各等次人数（四舍五入）：优秀 0 名、良好 4～7 名（10 名的 40%～70%）、合格 3～4 名（10 名的 25%～35%）、"
        "欠佳 1 名（10 名的 5%～10%）",
        "经否决的先定等次（欠佳 4 名），其余 6 名参与分布"]
    kinds = ("distribute", "when", "bounds", "pinned", "cut", "placed")
    good = ("良好：剩余 6 名，个人等次达到良好的 3 名，取 4 名（至少 4 名，至多 3 名，以至少为准，须为后面的等次留出 3 名）；"
            "本人在剩余人员中排第 {}")
    assert lines(by_key["X1"], *kinds) == [
        "强制分布：企划部组共 10 名，按年度绩效得分降序、工号升序，本人第 2 名（共 10 名），个人等次为优秀", *common,
        "优秀：剩余 6 名，个人等次达到优秀的 1 名，取 0 名（至少 0 名，至多 0 名）；本人在剩余人员中排第 1 位，未入选",
        good.format("1 位，评为良好"),
        "由优秀调整为良好"]
    assert lines(by_key["X6"], *kinds)[-3:] == [
        good.format("6 位，未入选"),
        "合格：剩余 2 名，个人等次达到合格的 1 名，取 2 名（至少 3 名，至多 2 名，以至少为准，但只剩 2 名）；"
        "本人在剩余人员中排第 2 位，评为合格",
        "由欠佳调整为合格"]
    assert lines(by_key["V1"], "veto", *kinds) == [
        "否决：违规违纪被公司通报（情节严重），个人绩效等级直接进入欠佳，定为欠佳（原为优秀）",
        "强制分布：企划部组共 10 名，按年度绩效得分降序、工号升序，本人第 1 名（共 10 名），个人等次为欠佳",
        *common[:2],
        "经否决的先定等次（欠佳 4 名），本人经否决定为欠佳，不参与分布"]


def test_a_limit_that_holds_without_changing_the_tier_is_still_explained():
    # s07: 59.15 is 欠佳 already; "至多合格" changes nothing but still bounds distribution.
    policy = load(POLICIES / "branch_employees.perf")
    ex = next(e for e in policy.ir.examples if "不提高欠佳人员" in e.label)
    r = policy.evaluate(ex.records[0][1], validate=False)
    assert lines(r, "band", "limit") == [
        "年度绩效得分 59.15 < 60，按分数为欠佳",
        "限制：违规违纪被公司通报（情节较轻），个人绩效等级直接进入合格，至多合格，现为欠佳，不变"]


def test_flags_show_the_values_they_compared():
    by_key = cohort_example(load(POLICIES / "village_clinic.perf"), "全镇八个")
    # c8: 60 < 80 → 不合格, last of 8: 通报批评 and 诫勉 hold; the subsidy is 60 / 80 of 6000.00.
    assert lines(by_key["c8"], "outcome", "formula", "flag")[-8:] == [
        "补助金额（元） = 4500",
        "考核等次 不合格 = 合格 不成立，取 round(考核得分 60 ÷ 80 × standard 6000.00, 2) = 4500.00",
        "标记「优秀村卫生室」：否（考核等次 不合格 = 合格 不成立）",
        "标记「通报批评」：是（考核等次 不合格 = 不合格 成立，且 倒数第 1 名（共 8 名） ≤ 3 成立）",
        "标记「负责人诫勉半年」：是（考核等次 不合格 = 不合格 成立，且 倒数第 1 名（共 8 名） = 1 成立）",
        "标记「奖励负责人1000元」：否（上一年考核合格且位列全镇前3名 = 否）",
        "标记「免去负责人职务」：否（上一年考核不合格且位列全镇后3名 = 否）",
        "标记「建议收回执业证书」：否（本年上半年考核不合格 = 否）"]
    assert "standard = 6000.00" in by_key["c8"].explain().splitlines()  # round(…, 2) keeps its decimals


# ---- languages ---------------------------------------------------------------------------------
ENGLISH = '''
policy sales "Quarterly sales review" {
  key rep_id
  input rep_id: text            "Rep"
  input revenue: decimal in 0.. "Revenue (k$)"
  input target: decimal in 1..  "Target (k$)"
  input complaints: int in 0..  "Customer complaints"
  input fraud: bool             "Fraud confirmed"
  let attainment "Attainment" = ratio(revenue, target)
  indicator sales_score "Sales" weight 70% {
    = 100 * attainment
  }
  indicator service "Service" weight 30% {
    base 100
    deduct 10 per complaints "10 points per complaint" up to 40
  }
  score total "Total score" = weighted(sales_score, service)
  tiers grade "Grade" by total {
    A >= 90
    B >= 75
    C otherwise
  }
  veto fraud -> C "Fraud: straight to C"
  quota A at most 25% rank by total desc then rep_id asc
  outcome bonus "Bonus" = if grade == A then round(revenue * 2%, 2) else 0
  flag "Coaching" if grade == C or complaints >= 3
}
'''


def test_an_english_policy_is_explained_in_english(load):
    policy = load(ENGLISH)
    records = [dict(rep_id=f"r{i}", revenue=D(r), target=D(100), complaints=c, fraud=False)
               for i, (r, c) in enumerate([(120, 0), (95, 1), (99, 5), (80, 0)], start=1)]
    by_key = {r.key: r for r in policy.evaluate_cohort(records)}
    # r2: 95/100 → 95 × 70% = 66.5; 100 − 10 = 90 × 30% = 27; 93.5 ≥ 90 → A, but 25% × 4 = 1
    # place goes to r1 (100 × 70% + 100 × 30% = 100).
    assert by_key["r2"].explain().splitlines() == [
        "Quarterly sales review (sales) — Rep = r2",
        "Attainment = 0.95",
        "  ratio(Revenue (k$) 95, Target (k$) 100) = 0.95",
        "Sales = 95 (weight 70%)",
        "  100 × Attainment 0.95 = 95",
        "Service = 90 (weight 30%)",
        "  base 100",
        "  10 points per complaint: 10 × 1 = 10, 100 − 10 = 90",
        "Total score = 93.5",
        "  Sales 70% × 95 = 66.5",
        "  Service 30% × 90 = 27",
        "  sum 66.5 + 27 = 93.5",
        "Grade = B",
        "  Total score 93.5 ≥ 90: A by score",
        "  quota: at most 1 of the 4 in the whole cohort may hold A (25% of 4 = 1); ranked by Total score desc, "
        "then Rep asc: rank 2 of 4; 1 of the 2 holding A keep it; this one is 2nd, beyond the quota: A → B",
        "Bonus = 0",
        "  Grade B = A (does not hold), so 0",
        "flag \"Coaching\": no (Grade B = C (does not hold), or Customer complaints 1 ≥ 3 (does not hold))",
        "flags: none"]
    # r3: 5 complaints × 10 = 50, up to 40; r1 keeps A and its bonus keeps round's 2 decimals.
    assert lines(by_key["r3"], "adjust") == ["10 points per complaint: 10 × 5 = 50, up to 40, 100 − 40 = 60"]
    assert lines(by_key["r1"], "formula")[-1] == "Grade A = A (holds), so round(Revenue (k$) 120 × 2%, 2) = 2.40"
    vetoed = policy.evaluate(dict(rep_id="x", revenue=D(150), target=D(100), complaints=0, fraud=True))
    assert lines(vetoed, "veto") == ["veto (Fraud: straight to C): A → C"]


CHINESE_POLICIES = ["budget_engineer", "branch_employees", "county_departments", "county_towns", "village_clinic",
                    "hospital_safety", "teacher_ethics", "section_units", "daily_monthly_pay", "budget_manager",
                    "county_old_town"]


@pytest.mark.parametrize("name", CHINESE_POLICIES)
def test_no_english_words_in_a_chinese_explanation(name):
    """Latin letters appear only where the policy itself writes them: an unlabelled value's
    name, a function name (§9: names, not keywords), a key or text from the data."""
    policy = load(POLICIES / f"{name}.perf")
    assert language(policy) == "zh"
    allowed = {d.name for d in policy.ir.definitions if not d.label} | {i.name for i in policy.ir.inputs if not i.label}
    allowed |= {"round", "min", "max", "mean", "sum", "streak", "count", "ratio", "trimmed_mean", "abs", "clamp", "len",
                "floor", "ceil", "last"}
    for ex in policy.ir.examples:
        records = [rec for _, rec in ex.records]
        results = policy.evaluate_cohort(records, validate=False) if ex.cohort else [policy.evaluate(records[0], validate=False)]
        for r in results:
            data = {str(v) for v in r.record.values()}
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", r.explain()))
            assert words <= allowed | data | {w for v in data for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", v)}, \
                (ex.label, words - allowed - data)


# ---- the same explanation whichever way it was computed ------------------------------------------
@pytest.mark.parametrize("name", ["budget_engineer", "branch_employees", "county_departments", "village_clinic"])
def test_backends_and_the_fast_path_explain_identically(name):
    python, reference = load(POLICIES / f"{name}.perf"), load(POLICIES / f"{name}.perf", backend="reference")
    for ex in python.ir.examples:
        records = [rec for _, rec in ex.records]
        if ex.cohort:
            a = python.evaluate_cohort(records, validate=False)
            b = reference.evaluate_cohort(records, validate=False)
            assert [r.explanation().as_json() for r in a] == [r.explanation().as_json() for r in b]
        else:
            fast = python.evaluate(records[0], trace=False, validate=False)
            traced = reference.evaluate(records[0], validate=False)
            assert fast.trace is None and fast.explanation().as_json() == traced.explanation().as_json()


# ---- JSON for audit trails -----------------------------------------------------------------------
def test_explain_format_json_is_versioned_and_exact(capsys):
    assert main(["explain", BUDGET, "--input", BUDGET_DATA, "--id", "e10", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_float=D)
    assert data["version"] == VERSION == 1
    assert (data["policy"], data["language"], data["key_field"], data["key"]) == ("budget_engineer", "zh", "employee_id", "e10")
    assert data["values"] == {"quality": 95, "efficiency": 100, "cost": D("97.5"), "ability": 103, "total": D("98.1"),
                              "grade": "良好"}
    assert data["flags"] == []
    steps = data["steps"]
    assert [s["kind"] for s in steps] == [
        "subject", "indicator", "base", "adjust", "indicator", "base", "indicator", "base", "adjust", "indicator",
        "base", "adjust", "score", "term", "term", "term", "term", "sum", "tiers", "band", "quota", "flags"]
    cost = steps[8]
    assert {k: cost[k] for k in ("kind", "name", "label", "line", "inputs", "value", "text")} == {
        "kind": "adjust", "name": "cost", "label": "预算费用每超出计划的1%则加扣1分", "line": 63,
        "inputs": {"overrun": D("2.5")}, "value": D("97.5"), "text": "预算费用每超出计划的1%则加扣1分：1 × 2.5 = 2.5，100 − 2.5 = 97.5"}
    quota = steps[-2]["data"]["decision"]
    assert (quota["rank"], quota["outcome"], quota["place"]) == (3, "moved", 3)
    assert (quota["group"]["bound"]["hi"], quota["group"]["bound"]["hi_share"], quota["group"]["holders"]) == (2, D("0.2"), 5)
    assert main(["explain", BUDGET, "--input", BUDGET_DATA, "--id", "e10"]) == 0
    assert "\n".join("  " * s["depth"] + s["text"] for s in steps) + "\n" == capsys.readouterr().out


def test_run_trace_writes_one_json_object_per_subject(tmp_path, capsys):
    out, trace = tmp_path / "out.csv", tmp_path / "trace.jsonl"
    assert main(["run", BUDGET, "--input", BUDGET_DATA, "--output", str(out), "--trace", str(trace), "--quiet"]) == 0
    objects = [json.loads(line, parse_float=D) for line in trace.read_text(encoding="utf-8").splitlines()]
    assert [o["key"] for o in objects] == [f"e{i:02}" for i in range(1, 11)]  # input order
    capsys.readouterr()
    assert main(["explain", BUDGET, "--input", BUDGET_DATA, "--id", "e10", "--format", "json"]) == 0
    assert objects[9] == json.loads(capsys.readouterr().out, parse_float=D)
    assert main(["run", BUDGET, "--input", BUDGET_DATA, "--output", str(out), "--trace", str(trace), "--backend", "columnar"]) == 2


def test_json_text_is_safe_to_print_and_reads_back():
    text = dumps({"key": "a\u202eb\x1b[2J", "n": D("1.10"), "big": D("123456789012345678901234567.8")})
    assert "\u202e" not in text and "\x1b" not in text
    assert json.loads(text, parse_float=D) == {"key": "a\u202eb\x1b[2J", "n": D("1.1"), "big": D("123456789012345678901234567.8")}


# ---- never a traceback ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["budget_engineer", "branch_employees", "county_departments", "village_clinic",
                                  "section_units", "teacher_ethics", "daily_monthly_pay"])
def test_random_cohorts_always_explain_every_value(name):
    """Drawn cohorts (boundary values favoured): every subject explains, each value's step
    shows the value the result holds, and the JSON reads back."""
    from hypothesis import HealthCheck, given, settings

    from perfdsl.io import DataError
    from perfdsl.verify.strategies import cohorts
    policy = load(POLICIES / f"{name}.perf")
    heads = {"let", "score", "outcome", "indicator", "tiers"}

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(cohorts(policy.ir, 1, 12))
    def check(records):
        try:
            results = policy.evaluate_cohort(records, validate=False)
        except DataError:
            return  # a tie at a cut, or an infeasible group: the run reports it, nothing to explain
        for r in results:
            ex = r.explanation()
            shown = {s.name: s.value for s in ex.steps if s.kind in heads}
            assert shown == {n: r.values[n] for n in shown} and set(shown) == set(r.values)
            assert json.loads(dumps(ex.as_json()), parse_float=D)["values"] == json.loads(dumps(dict(ex.values)), parse_float=D)
    check()


def test_a_part_that_cannot_be_explained_still_shows_its_value(monkeypatch):
    import sys
    build = sys.modules["perfdsl.explain.build"]
    original = build._Builder.indicator

    def failing(self, d):
        if d.name == "cost":
            raise RuntimeError("cannot explain")
        return original(self, d)

    monkeypatch.setattr(build._Builder, "indicator", failing)
    r = load(BUDGET).evaluate(dict(employee_id="a", rejections=1, overdue=0, overrun=0, papers=0))
    text = r.explain().splitlines()
    assert "工作成本 = 100" in text and "  工程预算方案被驳回一次扣5分：5 × 1 = 5，100 − 5 = 95" in text


def test_a_list_function_inside_arithmetic_is_also_shown_by_its_value():
    policy = load(POLICIES / "section_units.perf")
    ex = next(e for e in policy.ir.examples if not e.cohort and "89.9" in e.label)
    r = policy.evaluate(ex.records[0][1], validate=False)
    line = next(s.text for s in r.explanation().steps if s.kind == "formula" and s.name == "democratic")
    # 去掉一个最高分和一个最低分: the mean of the middle score of each three; 20% × 100 = 20
    assert line.endswith(") = 20% × (25 + 25 + 25 + 25) = 20") and line.startswith("20% × (trimmed_mean(")


def test_list_elements_are_shown_as_written(load):
    policy = load('''
policy idx "历史" {
  key id
  scale 0..200
  input id: text "工号"
  input history: list of decimal in 0..100 length 2.. "历年得分"
  score last_year "上年得分" = history[-1]
  score both "首末两年合计" = last(history) + history[0]
  flag "上年低于60" if history[-1] < 60
}
''')
    r = policy.evaluate(dict(id="a", history=(D(70), D(55))))
    assert r.explain().splitlines() == [
        "历史：工号 a",
        "上年得分 = 55",
        "  历年得分 [70, 55][-1] = 55",
        "首末两年合计 = 125",
        "  历年得分 [70, 55][-1] = 55",
        "  历年得分 [70, 55][0] = 70",
        "  合计 55 + 70 = 125",
        "标记「上年低于60」：是（历年得分 [70, 55][-1] = 55 < 60 成立）",
        "标记：上年低于60"]


def test_ranks_and_group_values_say_which_group():
    import sys
    sys.path.insert(0, str(ROOT / "tests"))
    from test_cohort import RANK_POLICY, compile_policy, run
    policy = compile_policy(RANK_POLICY)
    records = [dict(id="a1", dept="A", score=D(95)), dict(id="a2", dept="A", score=D(85)),
               dict(id="b1", dept="B", score=D(91)), dict(id="b2", dept="B", score=D(70))]
    by_key, _ = run(policy, records)
    # dept A: 95 and 85 → mean 90, a2 is 2nd of 2 (last); 先进 25% × 4 = 1 place, a1 (95) holds it
    assert by_key["a2"].explain().splitlines()[4:] == [
        "bonus = 0", "  等次 良好 = 先进 不成立，取 0",
        "place = 2", "  A组内第 2 名（共 2 名）",
        "gap = -5", "  score 85 − A组 score 的平均值 90 = -5",
        "top_in_dept = 1", "  A组 等次 = 先进 的人数 1",
        "dept_total = 180", "  A组 score 的合计 180",
        "dept_low = 85", "  A组 score 的最低值 85",
        "dept_high = 95", "  A组 score 的最高值 95",
        "标记「部门第一」：否（A组内第 2 名（共 2 名） = 1 不成立）",
        "标记「部门末位」：是（A组内倒数第 1 名（共 2 名） ≤ 1 成立）",
        "标记：部门末位"]
    # one subject alone has no ranks: the flags that need them say so
    from perfdsl.eval.interpret import Interpreter
    alone = Interpreter(policy).individual(records[0])
    assert lines(alone, "flag") == ["标记「部门第一」：需按全体排名或分组统计判断，单独计算时不判断",
                                    "标记「部门末位」：需按全体排名或分组统计判断，单独计算时不判断"]
